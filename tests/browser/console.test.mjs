// End-to-end tests of the practitioner's page "Video-Räume" (index.html): the
// overview of rooms, resending invitations, the create form and the call window.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test --test-concurrency=1 tests/browser/console.test.mjs'

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { addDays, dateInTimeZone, describePage, germanDate, pickDaytimeTimeZone, waitFor, withResources } from './helpers.mjs';

/** Limit of one whole test: server and browser start-up plus several waits. */
const TEST_TIMEOUT_MS = 120_000;

/**
 * Send time of the morning invitations. The rooms of these tests are in a
 * zone where it is between 02:00 and 22:00, so the server sends invitations
 * only on the page's resend request.
 */
const LATE_MORNING_ARGS = ['--morning-time', '23:59'];

/** Size of the call window that the page opens, in CSS pixels. */
const CALL_WINDOW_WIDTH = 480;
const CALL_WINDOW_HEIGHT = 360;

const INVITEE = { name: 'Anna Beispiel', email: 'anna@example.org', locale: 'de' };

/**
 * Sends a request to the rooms API of `server` and returns the status and the parsed body.
 *
 * @param {import('./helpers.mjs').TestServer} server
 * @param {string} method
 * @param {string} pathname such as "/api/rooms"
 * @param {unknown} [body]
 */
async function callApi(server, method, pathname, body) {
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${server.apiToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.origin}${pathname}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, text };
}

/** Creates a room through the API with any fields of `POST /api/rooms` and returns it. */
async function createRoomWith(server, request) {
  const { status, body, text } = await callApi(server, 'POST', '/api/rooms', request);
  assert.equal(status, 201, `POST /api/rooms ${JSON.stringify(request)} returned ${status}: ${text}`);
  return body;
}

/** Returns the names of the `.eml` files in the server's outbox, [] while it does not exist. */
async function outboxFiles(server) {
  try {
    return (await readdir(path.join(server.dataDir, 'outbox'))).filter((name) => name.endsWith('.eml')).sort();
  } catch (error) {
    if (error.code === 'ENOENT') return [];
    throw error;
  }
}

/** Returns "HH:MM" of an RFC 3339 instant in `timeZone`. */
function timeInTimeZone(instant, timeZone) {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(instant),
  );
}

/**
 * Sets the time zone of `page` through the Chrome DevTools Protocol, as
 * Playwright's `timezoneId` context option does. The session stays open, so
 * the zone holds for the page's lifetime, across navigations.
 *
 * @param {import('playwright-core').Page} page
 * @param {string} timeZone IANA name
 */
async function emulateTimeZone(page, timeZone) {
  const session = await page.context().newCDPSession(page);
  await session.send('Emulation.setTimezoneOverride', { timezoneId: timeZone });
}

/**
 * Opens the page, enters the API token as a practitioner would and returns the page.
 * With `rooms`, the browser fulfils the list request itself with those rooms.
 * With `now`, the page's clock is fixed at that instant, while its timers run.
 *
 * @param {import('./helpers.mjs').TestResources} resources
 * @param {import('./helpers.mjs').TestServer} server
 * @param {{ locale?: string, label?: string, initScript?: () => void, browserTimeZone?: string, rooms?: object[], now?: Date }} [options]
 */
async function openOverview(
  resources,
  server,
  { locale = 'de-DE', label = 'practitioner', initScript, browserTimeZone = 'Europe/Berlin', rooms, now } = {},
) {
  const browser = await resources.launchBrowser();
  const page = await resources.openPage(browser, { locale, label });
  await emulateTimeZone(page, browserTimeZone);
  if (now) await page.clock.setFixedTime(now);
  if (initScript) await page.addInitScript(initScript);
  if (rooms) {
    await page.route('**/api/rooms?*', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ rooms }) }),
    );
  }
  await page.goto(`${server.origin}/`);
  const token = page.getByTestId('api-token');
  await token.fill(server.apiToken);
  await token.press('Enter');
  return page;
}

/** Waits until the overview shows the row of `roomId` and returns its locator. */
async function waitForRoomRow(page, roomId) {
  const row = page.locator(`[data-testid="room-row"][data-room-id="${roomId}"]`);
  await waitFor(async () => (await row.count()) === 1, {
    description: `the overview row of room ${roomId}`,
    diagnose: () => describePage(page),
  });
  return row;
}

/** Waits until the text of `locator` satisfies `check` and returns the text. */
async function waitForText(page, locator, check, description) {
  let lastText = '';
  return waitFor(
    async () => {
      lastText = ((await locator.count()) > 0 ? await locator.first().textContent() : '') ?? '';
      return check(lastText) ? lastText : null;
    },
    { description, diagnose: async () => `last text: ${JSON.stringify(lastText)}\n${await describePage(page)}` },
  );
}

test('overview shows today and resends', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('overview today resend', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const timeZone = pickDaytimeTimeZone();
    const today = dateInTimeZone(timeZone);
    const room = await createRoomWith(server, {
      date: today,
      startTime: '09:30',
      timeZone,
      title: 'Erstgespräch',
      patientId: 'P-4711',
      invitees: [INVITEE],
    });
    // In the browser's own zone, the start time needs no zone label.
    const page = await openOverview(resources, server, { browserTimeZone: timeZone });

    assert.equal(await page.title(), 'Video-Räume');
    assert.equal(await page.locator('h1').textContent(), 'Video-Räume');
    const row = await waitForRoomRow(page, room.id);
    assert.equal(await row.getByTestId('room-status').textContent(), 'Heute');
    const dateText = await row.getByTestId('room-date').textContent();
    const datePattern = new RegExp(`^(Mo|Di|Mi|Do|Fr|Sa|So)\\., ${germanDate(today).replaceAll('.', '\\.')}, 09:30 Uhr$`);
    assert.match(dateText, datePattern, 'weekday, date and start time without a zone');
    assert.equal(await row.getByTestId('room-title').textContent(), 'Erstgespräch');
    assert.equal(await row.getByTestId('room-patient-id').textContent(), 'PatientInnen-Kennung: P-4711');
    assert.equal(await row.getByTestId('room-duration').textContent(), '0 Min.', 'a room of today without a call has 0 minutes');
    assert.equal(await row.getByTestId('invitee-status').textContent(), 'E-Mail ausstehend');
    assert.match(await row.getByTestId('invitee').textContent(), /Anna Beispiel/);
    assert.equal(await row.getByTestId('start-call').textContent(), 'Anruf starten');

    const filesBefore = await outboxFiles(server);
    const resend = row.getByTestId('resend');
    assert.equal(await resend.textContent(), 'E-Mail jetzt senden', 'no email went out yet, so it is not sent again');
    await resend.click();

    const statusText = await waitForText(
      page,
      row.getByTestId('invitee-status'),
      (text) => text.startsWith('E-Mail gesendet um '),
      'the invitee status "E-Mail gesendet um …"',
    );
    const filesAfter = await outboxFiles(server);
    assert.equal(filesAfter.length, filesBefore.length + 1, `one new .eml in the outbox, found ${JSON.stringify(filesAfter)}`);
    const newFile = filesAfter.find((name) => !filesBefore.includes(name));
    const eml = await readFile(path.join(server.dataDir, 'outbox', newFile), 'utf8');
    assert.match(eml, /^To:.*anna@example\.org/m, 'the new email is addressed to the invitee');

    const { body: stored } = await callApi(server, 'GET', `/api/rooms/${room.id}`);
    assert.equal(stored.invitees[0].status, 'sent');
    const expectedTime = timeInTimeZone(stored.invitees[0].sentAt, timeZone);
    assert.equal(statusText, `E-Mail gesendet um ${expectedTime}\u00a0Uhr`, `the time of sentAt ${stored.invitees[0].sentAt} in ${timeZone}`);
    assert.equal(await row.getByTestId('row-status').textContent(), 'Die Einladungs-E-Mail wurde gesendet.', 'singular for one invitee');
    assert.equal(await row.getByTestId('resend').textContent(), 'E-Mail erneut senden', 'after the email went out');
  });
});

test('planned room shows Geplant', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('overview planned room', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const timeZone = pickDaytimeTimeZone();
    // Beyond the old default of 30 days, within the new one of 25 weeks.
    const date = addDays(dateInTimeZone(timeZone), 100);
    const room = await createRoomWith(server, { date, timeZone, title: 'Folgetermin', invitees: [INVITEE] });
    const page = await openOverview(resources, server);

    const berlinToday = dateInTimeZone('Europe/Berlin');
    assert.equal(await page.locator('#list-from').inputValue(), addDays(berlinToday, -7));
    assert.equal(await page.locator('#list-to').inputValue(), addDays(berlinToday, 25 * 7));

    const row = await waitForRoomRow(page, room.id);
    assert.equal(await row.getByTestId('room-status').textContent(), 'Geplant');
    assert.equal(await row.getByTestId('room-duration').textContent(), '–');
    // The send time is an option of the server, so the text names no time of day.
    assert.equal(await row.getByTestId('invitee-status').textContent(), 'E-Mail wird am Termintag verschickt');
    assert.match(await row.getByTestId('invitee-status').getAttribute('class'), /\binvitee-scheduled\b/, 'styled as a plan, not as a delay');
    assert.equal(await row.getByTestId('resend').count(), 0, 'no resend before the room\'s day');
    assert.equal(await row.getByTestId('start-call').count(), 0, 'no call before the room\'s day');
    assert.equal(await row.getByTestId('copy-link').count(), 1, 'the link of a planned room can be copied');

    const english = await openOverview(resources, server, { locale: 'en-US', label: 'english' });
    const englishRow = await waitForRoomRow(english, room.id);
    assert.equal(await english.locator('h1').textContent(), 'Video rooms');
    assert.equal(await englishRow.getByTestId('room-status').textContent(), 'Planned');
    assert.equal(await englishRow.getByTestId('invitee-status').textContent(), 'Email goes out on the appointment day');
  });
});

test('missing date shows German message', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('create without date', async (resources) => {
    const server = await resources.startServer();
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');

    await page.locator('#room-date').fill('');
    await page.getByTestId('create-room').click();

    const error = page.getByTestId('error');
    const text = await waitForText(page, error, (value) => value !== '', 'an error message');
    assert.match(text, /Bitte prüfen Sie das Feld „Datum“\./);
    assert.match(text, /Bitte wählen Sie ein gültiges Datum\./);
    assert.equal(await page.locator('#room-date').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByTestId('created-link').isVisible(), false);

    const { body } = await callApi(server, 'GET', '/api/rooms');
    assert.deepEqual(body.rooms, [], 'no room was created');
  });
});

test('room outside the overview is noted', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('room outside overview', async (resources) => {
    const server = await resources.startServer();
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    const note = page.getByTestId('created-outside');

    // The overview ends 25 weeks ahead, so a room in 200 days is not listed.
    const later = addDays(dateInTimeZone('Europe/Berlin'), 200);
    await page.locator('#room-date').fill(later);
    await page.getByTestId('create-room').click();
    const text = await waitForText(page, note, (value) => value !== '', 'the note on the overview period');
    assert.equal(
      text,
      `Der ${later.split('-').reverse().join('.')} liegt außerhalb des Zeitraums der Übersicht oben. Damit der Raum dort erscheint, passen Sie „Von“ und „Bis“ an.`,
    );

    // A room within the period needs no note.
    await page.locator('#room-date').fill(addDays(dateInTimeZone('Europe/Berlin'), 1));
    await page.getByTestId('create-room').click();
    await waitFor(async () => !(await note.isVisible()), { description: 'the note to go', diagnose: () => describePage(page) });
  });
});

test('invitee name follows the API rules', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('invitee name rules', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    const tomorrow = addDays(dateInTimeZone('Europe/Berlin'), 1);

    // A name of 101 characters is caught at the field, before any request.
    await page.locator('#room-date').fill(tomorrow);
    await page.locator('#add-invitee').click();
    const nameInput = page.locator('#invitee-rows [name="name"]');
    await nameInput.fill('ä'.repeat(101));
    await page.locator('#invitee-rows [name="email"]').fill('anna@example.org');
    await page.getByTestId('create-room').click();
    const tooLong = await waitForText(page, page.getByTestId('error'), (value) => value !== '', 'an error message');
    assert.match(tooLong, /höchstens 100 Zeichen/);
    assert.equal(await nameInput.getAttribute('aria-invalid'), 'true');

    // The API's 100 characters arrive whole, also where emoji take two
    // UTF-16 code units each, which an input's maxlength would count.
    const longName = `${'ä'.repeat(50)}${'😀'.repeat(50)}`;
    await nameInput.fill(longName);
    await page.locator('#invitee-rows [name="email"]').fill('anna@example.org');
    await page.getByTestId('create-room').click();
    await waitFor(async () => page.getByTestId('created-link').isVisible(), {
      description: 'the link of the created room',
      diagnose: () => describePage(page),
    });
    const { body: listed } = await callApi(server, 'GET', `/api/rooms?from=${tomorrow}&to=${tomorrow}`);
    assert.deepEqual(
      listed.rooms.map((room) => room.invitees.map((invitee) => invitee.name)),
      [[longName]],
      'the room has the whole name',
    );

    // A name of zero-width spaces has no visible character, shown at the name field.
    await page.locator('#room-date').fill(tomorrow);
    await page.locator('#add-invitee').click();
    await nameInput.fill('\u200B\u200B');
    await page.locator('#invitee-rows [name="email"]').fill('ben@example.org');
    await page.getByTestId('create-room').click();
    const text = await waitForText(page, page.getByTestId('error'), (value) => value !== '', 'an error message');
    assert.match(text, /Bitte prüfen Sie das Feld „Name \(Person 1\)“\./);
    assert.match(text, /höchstens 100 Zeichen, davon mindestens ein sichtbares/);
    assert.equal(await nameInput.getAttribute('aria-invalid'), 'true');
    const { body: after } = await callApi(server, 'GET', `/api/rooms?from=${tomorrow}&to=${tomorrow}`);
    assert.equal(after.rooms.length, 1, 'no second room was created');
  });
});

/**
 * Fills a new invitee row of the create form with `name` and `email` and
 * returns the row's locator.
 *
 * @param {import('playwright-core').Page} page
 * @param {string} name
 * @param {string} email
 */
async function addInvitee(page, name, email) {
  await page.locator('#add-invitee').click();
  const row = page.locator('#invitee-rows > *').last();
  await row.locator('[name="name"]').fill(name);
  await row.locator('[name="email"]').fill(email);
  return row;
}

/**
 * Clicks "Raum anlegen" and returns the text of the error box.
 *
 * @param {import('playwright-core').Page} page
 */
async function submitForError(page) {
  await page.getByTestId('create-room').click();
  return waitForText(page, page.getByTestId('error'), (value) => value !== '', 'an error message');
}

/**
 * Makes the page's next create requests reach the server with the body that
 * `change` returns, so that a test gets the server's real response to an entry
 * that the page itself would not send.
 *
 * @param {import('playwright-core').Page} page
 * @param {(body: Record<string, any>) => Record<string, any>} change
 */
async function changeCreateRequests(page, change) {
  await page.route('**/api/rooms', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const body = change(JSON.parse(route.request().postData() ?? '{}'));
    return route.continue({ postData: JSON.stringify(body) });
  });
}

test('control characters get their own hint', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('control characters hint', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    const tomorrow = addDays(dateInTimeZone('Europe/Berlin'), 1);
    await page.locator('#room-date').fill(tomorrow);
    const titleInput = page.locator('#room-title');

    // A tab pasted from a table, inside the title.
    await titleInput.fill('Erstgespräch\tHerr M.');
    const titleText = await submitForError(page);
    assert.match(titleText, /Bitte prüfen Sie das Feld „Titel“\./);
    assert.match(titleText, /Der Titel darf keine Tabulatoren, Zeilenumbrüche oder anderen Steuerzeichen enthalten\./);
    assert.doesNotMatch(titleText, /höchstens 200 Zeichen/, 'not the hint on the length');
    assert.equal(await titleInput.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'room-title', 'the title has the focus');

    // Names: a tab, then a character that turns the reading order around.
    await titleInput.fill('Erstgespräch');
    const row = await addInvitee(page, 'Anna\tBeispiel', 'anna@example.org');
    const nameInput = row.locator('[name="name"]');
    const tabText = await submitForError(page);
    assert.match(tabText, /Bitte prüfen Sie das Feld „Name \(Person 1\)“\./);
    assert.match(tabText, /Der Name darf keine Tabulatoren, Zeilenumbrüche oder anderen Steuerzeichen enthalten\./);
    assert.equal(await nameInput.getAttribute('aria-invalid'), 'true');

    await nameInput.fill('Anna \u202EleipsieB');
    const bidiText = await submitForError(page);
    assert.match(bidiText, /Bitte prüfen Sie das Feld „Name \(Person 1\)“\./);
    assert.match(bidiText, /unsichtbares Zeichen, das die Schreibrichtung steuert/);
    assert.match(bidiText, /ändern die Reihenfolge, in der die Buchstaben erscheinen/);
    assert.equal(await nameInput.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'invitee-1-name', 'the name has the focus');

    const { body: none } = await callApi(server, 'GET', `/api/rooms?from=${tomorrow}&to=${tomorrow}`);
    assert.deepEqual(none.rooms, [], 'no room was created');

    // Should a control character reach the server anyway, its response gets the same hint.
    await nameInput.fill('Anna Beispiel');
    await changeCreateRequests(page, (body) => ({ ...body, title: 'Erst\tgespräch' }));
    const serverText = await submitForError(page);
    assert.match(serverText, /Der Titel darf keine Tabulatoren, Zeilenumbrüche oder anderen Steuerzeichen enthalten\./);
    assert.match(serverText, /control characters/, 'the server\'s message is in the details line');

    const english = await openOverview(resources, server, { locale: 'en-US', label: 'english' });
    await waitForText(english, english.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    await english.locator('#room-date').fill(tomorrow);
    await english.locator('#room-title').fill('First\tsession');
    assert.match(
      await submitForError(english),
      /The title cannot contain tabs, line breaks or other control characters\./,
    );
    await english.locator('#room-title').fill('First session');
    await addInvitee(english, 'Anna \u2067Beispiel', 'anna@example.org');
    assert.match(await submitForError(english), /invisible character that controls the writing direction/);
  });
});

test('repeated email address is caught', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('repeated email address', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    const tomorrow = addDays(dateInTimeZone('Europe/Berlin'), 1);
    await page.locator('#room-date').fill(tomorrow);

    await addInvitee(page, 'Anna Beispiel', 'anna@example.org');
    await addInvitee(page, 'Ben Beispiel', 'ben@example.org');
    const third = await addInvitee(page, 'Carla Beispiel', ' ANNA@Example.org ');
    const text = await submitForError(page);
    assert.match(text, /Bitte prüfen Sie das Feld „E-Mail-Adresse \(Person 3\)“\./);
    assert.match(text, /Diese E-Mail-Adresse ist schon bei Person 1 eingetragen\./);
    assert.match(text, /Bitte tragen Sie jede Adresse nur einmal ein\./);
    assert.equal(await third.locator('[name="email"]').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'invitee-3-email', 'the later address has the focus');
    const { body: none } = await callApi(server, 'GET', `/api/rooms?from=${tomorrow}&to=${tomorrow}`);
    assert.deepEqual(none.rooms, [], 'no room was created');

    // The server's response to a repeated address names the same rows.
    await third.locator('[name="email"]').fill('carla@example.org');
    await changeCreateRequests(page, (body) => ({
      ...body,
      invitees: body.invitees.map((invitee, index) => (index === 2 ? { ...invitee, email: 'Ben@example.org' } : invitee)),
    }));
    const serverText = await submitForError(page);
    assert.match(serverText, /Bitte prüfen Sie das Feld „E-Mail-Adresse \(Person 3\)“\./);
    assert.match(serverText, /Diese E-Mail-Adresse ist schon bei Person 2 eingetragen\./);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'invitee-3-email');

    const english = await openOverview(resources, server, { locale: 'en-US', label: 'english' });
    await waitForText(english, english.locator('#list-status'), (value) => value !== '' && !value.endsWith('…'), 'the overview to load');
    await english.locator('#room-date').fill(tomorrow);
    await addInvitee(english, 'Anna Beispiel', 'anna@example.org');
    await addInvitee(english, 'Ben Beispiel', 'Anna@Example.org');
    const englishText = await submitForError(english);
    assert.match(englishText, /Please check the field “Email address \(person 2\)”\./);
    assert.match(englishText, /This email address is already entered for person 1\./);

    // Different addresses go through.
    await page.unrouteAll();
    await page.getByTestId('create-room').click();
    await waitFor(async () => page.getByTestId('created-link').isVisible(), {
      description: 'the link of the created room',
      diagnose: () => describePage(page),
    });
    const { body: created } = await callApi(server, 'GET', `/api/rooms?from=${tomorrow}&to=${tomorrow}`);
    assert.deepEqual(
      created.rooms.map((room) => room.invitees.map((invitee) => invitee.email)),
      [['anna@example.org', 'ben@example.org', 'carla@example.org']],
    );
  });
});

/**
 * Returns, for each invitee row of the create form, its group name, the
 * accessible name of its remove button, and for each field its id, the
 * number of elements with that id and the texts of its labels.
 *
 * @param {import('playwright-core').Page} page
 */
async function describeInviteeRows(page) {
  return page.locator('#invitee-rows > *').evaluateAll((rows) =>
    rows.map((row) => ({
      role: row.getAttribute('role'),
      group: document.getElementById(row.getAttribute('aria-labelledby') ?? '')?.textContent ?? null,
      remove: row.querySelector('button')?.getAttribute('aria-label') ?? null,
      fields: [...row.querySelectorAll('input, select')].map((control) => ({
        id: control.id,
        elementsWithId: document.querySelectorAll(`[id="${CSS.escape(control.id)}"]`).length,
        labels: [...control.labels].map((label) => label.textContent),
      })),
    })),
  );
}

test('invitee rows stay unique after removal', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('invitee rows after removal', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    const addInviteeButton = page.locator('#add-invitee');
    const inviteeRows = page.locator('#invitee-rows > *');
    for (let count = 0; count < 3; count += 1) await addInviteeButton.click();
    await inviteeRows.first().getByRole('button').click();
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.id);
    assert.equal(await focused(), 'Person 1 entfernen', 'the focus stays in the list, on the row that moved up');
    await inviteeRows.nth(1).getByRole('button').click();
    assert.equal(await focused(), 'Person 1 entfernen', 'after the last row, the focus goes to the row above');
    await inviteeRows.first().getByRole('button').click();
    assert.equal(await focused(), 'add-invitee', 'without rows, the focus goes to the add button');
    for (let count = 0; count < 3; count += 1) await addInviteeButton.click();
    await inviteeRows.first().getByRole('button').click();
    await addInviteeButton.click();

    const rows = await describeInviteeRows(page);
    const fields = rows.flatMap((row) => row.fields);
    assert.equal(new Set(fields.map((field) => field.id)).size, 9, `nine distinct ids: ${JSON.stringify(fields)}`);
    for (const field of fields) {
      assert.equal(field.elementsWithId, 1, `only one element has the id ${field.id}`);
      assert.equal(field.labels.length, 1, `${field.id} has exactly one label, not ${JSON.stringify(field.labels)}`);
    }
    assert.deepEqual(
      rows.map((row) => row.fields.map((field) => field.labels[0])),
      Array(3).fill(['Name', 'E-Mail-Adresse', 'Sprache']),
    );
    assert.deepEqual(
      rows.map((row) => [row.role, row.group, row.remove]),
      [
        ['group', 'Person 1', 'Person 1 entfernen'],
        ['group', 'Person 2', 'Person 2 entfernen'],
        ['group', 'Person 3', 'Person 3 entfernen'],
      ],
      'rows are numbered anew, and each remove button names its row',
    );

    // The label of the new row's name field focuses that field.
    const thirdRow = inviteeRows.nth(2);
    await thirdRow.locator('label', { hasText: 'Name' }).click();
    const thirdName = await thirdRow.locator('[name="name"]').getAttribute('id');
    assert.equal(await page.evaluate(() => document.activeElement?.id), thirdName);

    // Validation names the row by the number it shows.
    await thirdRow.locator('[name="name"]').fill('Carla Beispiel');
    await thirdRow.locator('[name="email"]').fill('carla@');
    const text = await submitForError(page);
    assert.match(text, /Bitte prüfen Sie das Feld „E-Mail-Adresse \(Person 3\)“\./);
    const thirdEmail = await thirdRow.locator('[name="email"]').getAttribute('id');
    assert.equal(await page.evaluate(() => document.activeElement?.id), thirdEmail, 'the address of row 3 has the focus');

    // Removing a row above renumbers the rows, so the error naming "Person 3" goes.
    await page.getByRole('button', { name: 'Person 1 entfernen', exact: true }).click();
    assert.equal(await page.getByTestId('error').isVisible(), false, 'the error with the old row number is gone');
    assert.deepEqual(
      (await describeInviteeRows(page)).map((row) => row.remove),
      ['Person 1 entfernen', 'Person 2 entfernen'],
    );

    const english = await openOverview(resources, server, { locale: 'en-GB', label: 'english' });
    await english.locator('#add-invitee').click();
    assert.deepEqual(
      (await describeInviteeRows(english)).map((row) => [row.group, row.remove]),
      [['Person 1', 'Remove person 1']],
    );
  });
});

test('deleting a room keeps the keyboard focus', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('focus after delete', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const tomorrow = addDays(dateInTimeZone('Europe/Berlin'), 1);
    const rooms = [];
    for (const startTime of ['09:00', '10:00', '11:00']) {
      rooms.push(await createRoomWith(server, { date: tomorrow, startTime, timeZone: 'Europe/Berlin', title: `Termin ${startTime}` }));
    }
    const page = await openOverview(resources, server);
    page.on('dialog', (dialog) => void dialog.accept());
    for (const room of rooms) await waitForRoomRow(page, room.id);

    /** Deletes the room of `roomId` from the keyboard and returns where the focus went. */
    const deleteByKeyboard = async (roomId) => {
      const row = page.locator(`[data-testid="room-row"][data-room-id="${roomId}"]`);
      await row.getByTestId('delete').focus();
      await page.keyboard.press('Enter');
      await waitFor(async () => (await row.count()) === 0, {
        description: `the row of room ${roomId} to disappear`,
        diagnose: () => describePage(page),
      });
      return page.evaluate(() => {
        const active = document.activeElement;
        return {
          testid: active?.getAttribute('data-testid') ?? null,
          roomId: active?.closest('[data-testid="room-row"]')?.getAttribute('data-room-id') ?? null,
          id: active?.id ?? null,
        };
      });
    };

    assert.deepEqual(
      await deleteByKeyboard(rooms[1].id),
      { testid: 'delete', roomId: rooms[2].id, id: '' },
      'the focus moves to the delete button of the next row',
    );
    assert.deepEqual(
      await deleteByKeyboard(rooms[2].id),
      { testid: 'delete', roomId: rooms[0].id, id: '' },
      'without a next row, the focus moves to the previous row',
    );
    assert.deepEqual(
      await deleteByKeyboard(rooms[0].id),
      { testid: null, roomId: null, id: 'list-heading' },
      'without rows, the focus moves to the heading of the overview',
    );
  });
});

test('delete confirmation says nobody is notified', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('delete confirmation', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const timeZone = pickDaytimeTimeZone();
    const today = dateInTimeZone(timeZone);
    const room = await createRoomWith(server, { date: today, timeZone, title: 'Erstgespräch', invitees: [INVITEE] });
    const second = await createRoomWith(server, { date: today, timeZone, title: 'Folgetermin', invitees: [INVITEE] });

    const page = await openOverview(resources, server);
    /** @type {string[]} */
    const dialogs = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    const row = await waitForRoomRow(page, room.id);
    await row.getByTestId('delete').click();
    await waitFor(async () => (await page.locator(`[data-testid="room-row"][data-room-id="${room.id}"]`).count()) === 0, {
      description: 'the row of the deleted room to disappear',
      diagnose: () => describePage(page),
    });
    assert.deepEqual(dialogs, [
      'Diesen Raum wirklich löschen? Der Link funktioniert danach nicht mehr. Eingeladene Personen werden darüber nicht benachrichtigt.',
    ]);
    assert.equal((await callApi(server, 'GET', `/api/rooms/${room.id}`)).status, 404, 'the room is gone');
    assert.deepEqual(await outboxFiles(server), [], 'deleting sent no email');

    const english = await openOverview(resources, server, { locale: 'en-US', label: 'english' });
    /** @type {string[]} */
    const englishDialogs = [];
    english.on('dialog', (dialog) => {
      englishDialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const englishRow = await waitForRoomRow(english, second.id);
    await englishRow.getByTestId('delete').click();
    await waitFor(() => englishDialogs.length === 1, { description: 'the English confirmation', diagnose: () => describePage(english) });
    assert.equal(
      englishDialogs[0],
      'Really delete this room? The link will stop working. Invited people will not be notified of this.',
    );
    assert.equal((await callApi(server, 'GET', `/api/rooms/${second.id}`)).status, 200, 'cancelling keeps the room');
  });
});

/**
 * Records every window.open call in `window.__openCalls`, then opens the
 * window as usual. Runs in the page as an init script.
 */
function recordWindowOpen() {
  const open = window.open.bind(window);
  window.__openCalls = [];
  window.open = (url, target, features) => {
    window.__openCalls.push({ url: String(url), target, features });
    return open(url, target, features);
  };
}

test('start call opens top-centre popup', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('start call popup', async (resources) => {
    const server = await resources.startServer();
    const timeZone = pickDaytimeTimeZone();
    const room = await createRoomWith(server, { date: dateInTimeZone(timeZone), timeZone, title: 'Sprechstunde' });
    const page = await openOverview(resources, server, { initScript: recordWindowOpen });

    const row = await waitForRoomRow(page, room.id);
    assert.equal(await row.getByTestId('resend').count(), 0, 'no resend for a room without invitees');
    const startCall = row.getByTestId('start-call');
    assert.equal(await startCall.textContent(), 'Anruf starten');
    const [popup] = await Promise.all([page.waitForEvent('popup'), startCall.click()]);
    await popup.waitForLoadState();
    assert.equal(popup.url(), room.joinUrl);
    assert.equal(await popup.evaluate(() => window.opener), null, 'the call window has no opener');

    const [call] = await page.evaluate(() => window.__openCalls);
    const features = Object.fromEntries(call.features.split(',').map((entry) => entry.split('=')));
    const screenArea = await page.evaluate(() => ({
      availWidth: screen.availWidth,
      availLeft: screen.availLeft ?? 0,
      availTop: screen.availTop ?? 0,
    }));
    assert.equal(call.url, room.joinUrl);
    assert.equal(Number(features.width), CALL_WINDOW_WIDTH);
    assert.equal(Number(features.height), CALL_WINDOW_HEIGHT);
    assert.equal(
      Number(features.left),
      Math.round(screenArea.availLeft + (screenArea.availWidth - CALL_WINDOW_WIDTH) / 2),
      `centred on a screen of ${JSON.stringify(screenArea)}`,
    );
    assert.equal(Number(features.top), screenArea.availTop, 'at the top of the screen');
  });
});

test('resend errors are explained', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('resend errors', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const timeZone = pickDaytimeTimeZone();
    const today = dateInTimeZone(timeZone);
    const room = await createRoomWith(server, { date: today, timeZone, invitees: [INVITEE] });
    const page = await openOverview(resources, server);
    const row = await waitForRoomRow(page, room.id);

    // The browser fulfils the resend requests itself with one error per round.
    /** @type {{ status: number, error: string } | 'network'} */
    let nextAnswer = 'network';
    await page.route('**/api/rooms/*/invitations', (route) => {
      if (nextAnswer === 'network') return route.abort('connectionrefused');
      return route.fulfill({
        status: nextAnswer.status,
        contentType: 'application/json',
        body: JSON.stringify({ error: nextAnswer.error, message: `test answer ${nextAnswer.error}` }),
      });
    });

    const cases = [
      {
        answer: { status: 409, error: 'not-room-day' },
        expected: `Einladungen lassen sich nur am Tag des Termins erneut senden, hier also am ${germanDate(today)}.`,
      },
      {
        answer: { status: 409, error: 'no-invitees' },
        expected: 'Zu diesem Raum ist niemand mit E-Mail-Adresse eingeladen. Es wurde keine E-Mail gesendet.',
      },
      { answer: 'network', expected: 'Der Server ist nicht erreichbar. Daher ist unklar, ob die E-Mail gesendet wurde.' },
    ];
    for (const { answer, expected } of cases) {
      nextAnswer = answer;
      await row.getByTestId('resend').click();
      const text = await waitForText(
        page,
        row.getByTestId('row-status'),
        (value) => value.includes(expected),
        `the message for ${JSON.stringify(answer)}`,
      );
      if (answer !== 'network') assert.match(text, new RegExp(`test answer ${answer.error}`), 'the server message is a details line');
    }

    nextAnswer = { status: 404, error: 'room-not-found' };
    await row.getByTestId('resend').click();
    await waitForText(
      page,
      page.getByTestId('error'),
      (value) => value.includes('Diesen Raum gibt es nicht mehr.'),
      'the error box for room-not-found',
    );
    assert.deepEqual(await outboxFiles(server), [], 'no request reached the server, so nothing was sent');

    // A room deleted elsewhere: the real server returns 404, and the row goes away.
    await page.unroute('**/api/rooms/*/invitations');
    await page.getByTestId('error').evaluate((element) => element.replaceChildren());
    const { status } = await callApi(server, 'DELETE', `/api/rooms/${room.id}`);
    assert.equal(status, 204);
    await row.getByTestId('resend').click();
    await waitForText(
      page,
      page.getByTestId('error'),
      (value) => value.includes('Diesen Raum gibt es nicht mehr.'),
      'the error box for the deleted room',
    );
    await waitFor(async () => (await row.count()) === 0, {
      description: 'the row of the deleted room to disappear',
      diagnose: () => describePage(page),
    });
  });
});

/**
 * Returns a room as the rooms API lists it, with the fields of `overrides`.
 * The join URL points at the test server but is never opened.
 */
function listedRoom(server, overrides) {
  return {
    id: overrides.id,
    date: '2026-03-02',
    timeZone: 'Europe/Berlin',
    invitees: [],
    status: 'held',
    callSeconds: 0,
    joinUrl: `${server.origin}/join#not-a-real-token`,
    validFrom: '2026-03-01T23:00:00Z',
    validUntil: '2026-03-02T23:00:00Z',
    createdAt: '2026-02-20T08:00:00Z',
    ...overrides,
  };
}

test('past rooms and failures are shown', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('overview past rooms', async (resources) => {
    const server = await resources.startServer();
    // Past rooms with call times and failed emails take a day to arise on a
    // real server, so the browser fulfils the list request itself.
    const rooms = [
      listedRoom(server, {
        id: 'held-room',
        callSeconds: 65 * 60 + 10,
        invitees: [
          { name: 'Anna Beispiel', locale: 'de', status: 'sent', sentAt: '2026-03-02T05:00:12Z' },
          { name: 'Ben Muster', locale: 'en', status: 'sent', sentAt: '2026-03-01T16:30:00Z' },
        ],
      }),
      listedRoom(server, {
        id: 'short-room',
        date: '2026-03-03',
        callSeconds: 12 * 60 + 20,
        invitees: [{ name: 'Cem Yılmaz', email: 'cem@example.org', locale: 'de', status: 'failed', failure: 'mailbox unavailable' }],
      }),
      listedRoom(server, {
        id: 'missed-room',
        date: '2026-03-04',
        status: 'not-held',
        invitees: [{ name: 'Dora Test', email: 'dora@example.org', locale: 'de', status: 'pending', failure: 'connection timed out' }],
      }),
    ];
    const browser = await resources.launchBrowser();
    const pages = {};
    // The German page is in the rooms' zone, the English one is not.
    const browserZones = { 'de-DE': 'Europe/Berlin', 'en-GB': 'America/New_York' };
    for (const locale of ['de-DE', 'en-GB']) {
      const page = await resources.openPage(browser, { locale, label: locale });
      await emulateTimeZone(page, browserZones[locale]);
      await page.route('**/api/rooms?*', (route) =>
        route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ rooms }) }),
      );
      await page.goto(`${server.origin}/`);
      await page.getByTestId('api-token').fill(server.apiToken);
      await page.getByTestId('api-token').press('Enter');
      pages[locale] = page;
    }

    const german = pages['de-DE'];
    const heldRow = await waitForRoomRow(german, 'held-room');
    assert.equal(await heldRow.getByTestId('room-status').textContent(), 'Stattgefunden');
    assert.equal(await heldRow.getByTestId('room-duration').textContent(), '1 Std. 5 Min.');
    assert.deepEqual(await heldRow.getByTestId('invitee-status').allTextContents(), [
      'E-Mail gesendet um 06:00\u00a0Uhr',
      'E-Mail gesendet am 01.03.2026 um 17:30\u00a0Uhr',
    ]);
    assert.match(await heldRow.getByTestId('invitee').first().textContent(), /E-Mail-Adresse nach dem Termin gelöscht/);
    assert.equal(await heldRow.getByTestId('start-call').count(), 0, 'no call after the room\'s day');
    assert.equal(await heldRow.getByTestId('resend').count(), 0, 'no resend after the room\'s day');

    const shortRow = await waitForRoomRow(german, 'short-room');
    assert.equal(await shortRow.getByTestId('room-duration').textContent(), '12 Min.');
    assert.equal(await shortRow.getByTestId('invitee-status').textContent(), 'E-Mail fehlgeschlagen');
    assert.equal(await shortRow.getByTestId('invitee-failure').textContent(), 'Details: mailbox unavailable');

    const missedRow = await waitForRoomRow(german, 'missed-room');
    assert.equal(await missedRow.getByTestId('room-status').textContent(), 'Nicht stattgefunden');
    assert.equal(await missedRow.getByTestId('room-duration').textContent(), '0 Min.');
    assert.equal(
      await missedRow.getByTestId('invitee-status').textContent(),
      'E-Mail ausstehend (letzter Versuch fehlgeschlagen)',
    );
    assert.equal(await missedRow.getByTestId('invitee-failure').textContent(), 'Details: connection timed out');

    const english = pages['en-GB'];
    const englishHeldRow = await waitForRoomRow(english, 'held-room');
    assert.equal(await englishHeldRow.getByTestId('room-status').textContent(), 'Held');
    assert.equal(await englishHeldRow.getByTestId('room-duration').textContent(), '1 h 5 min');
    assert.equal(
      await englishHeldRow.getByTestId('invitee-status').first().textContent(),
      'Email sent at 06:00 (Berlin)',
      'the time in the room\'s zone, labelled, since the browser is in New York',
    );
    const englishShortRow = await waitForRoomRow(english, 'short-room');
    assert.equal(await englishShortRow.getByTestId('room-duration').textContent(), '12 min');
    assert.equal(await englishShortRow.getByTestId('invitee-status').textContent(), 'Email failed');
    const englishMissedRow = await waitForRoomRow(english, 'missed-room');
    assert.equal(await englishMissedRow.getByTestId('room-status').textContent(), 'Not held');
  });
});

test('room time zone is named', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('overview time zones', async (resources) => {
    const server = await resources.startServer();
    const rooms = [
      listedRoom(server, { id: 'berlin-room', startTime: '09:30', timeZone: 'Europe/Berlin' }),
      listedRoom(server, { id: 'vienna-room', startTime: '11:00', timeZone: 'Europe/Vienna' }),
      listedRoom(server, { id: 'zurich-room', startTime: '08:15', timeZone: 'Europe/Zurich' }),
      listedRoom(server, { id: 'new-york-room', timeZone: 'America/New_York' }),
      listedRoom(server, { id: 'kolkata-room', startTime: '16:00', timeZone: 'Asia/Kolkata' }),
    ];
    /** Returns the text of each room's date cell, by room id. */
    const dateTexts = async (page) => {
      /** @type {Record<string, string>} */
      const texts = {};
      for (const { id } of rooms) texts[id] = await (await waitForRoomRow(page, id)).getByTestId('room-date').textContent();
      return texts;
    };

    const german = await openOverview(resources, server, { rooms, label: 'berlin-de' });
    assert.deepEqual(await dateTexts(german), {
      'berlin-room': 'Mo., 02.03.2026, 09:30 Uhr',
      'vienna-room': 'Mo., 02.03.2026, 11:00 Uhr (Wien)',
      'zurich-room': 'Mo., 02.03.2026, 08:15 Uhr (Zürich)',
      'new-york-room': 'Mo., 02.03.2026 (America/New_York)',
      'kolkata-room': 'Mo., 02.03.2026, 16:00 Uhr (Asia/Kolkata)',
    });

    const english = await openOverview(resources, server, { rooms, locale: 'en-GB', label: 'berlin-en' });
    assert.deepEqual(await dateTexts(english), {
      'berlin-room': 'Mon, 2 March 2026, 09:30',
      'vienna-room': 'Mon, 2 March 2026, 11:00 (Vienna)',
      'zurich-room': 'Mon, 2 March 2026, 08:15 (Zurich)',
      'new-york-room': 'Mon, 2 March 2026 (America/New_York)',
      'kolkata-room': 'Mon, 2 March 2026, 16:00 (Asia/Kolkata)',
    });

    // The label follows the browser's zone, not a fixed one. Asia/Calcutta is
    // the old name of Asia/Kolkata, so the Kolkata room needs no label there.
    const vienna = await openOverview(resources, server, { rooms, browserTimeZone: 'Europe/Vienna', label: 'vienna-de' });
    const viennaTexts = await dateTexts(vienna);
    assert.equal(viennaTexts['vienna-room'], 'Mo., 02.03.2026, 11:00 Uhr');
    assert.equal(viennaTexts['berlin-room'], 'Mo., 02.03.2026, 09:30 Uhr (Berlin)');
    const calcutta = await openOverview(resources, server, { rooms, browserTimeZone: 'Asia/Calcutta', label: 'calcutta-de' });
    const calcuttaTexts = await dateTexts(calcutta);
    assert.equal(calcuttaTexts['kolkata-room'], 'Mo., 02.03.2026, 16:00 Uhr');
    assert.equal(calcuttaTexts['berlin-room'], 'Mo., 02.03.2026, 09:30 Uhr (Berlin)');
  });
});

test('passed start time today is noted', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('start time passed', async (resources) => {
    const server = await resources.startServer();
    // 14:05 in Berlin, Vienna and Zurich.
    const now = new Date('2026-12-04T13:05:00Z');
    const german = await openOverview(resources, server, { now, label: 'practitioner-de' });
    const hint = german.locator('#start-time-hint');
    const startTime = german.locator('#room-start-time');
    assert.equal(await german.locator('#room-date').inputValue(), '2026-12-04');
    assert.equal(await hint.isVisible(), false, 'no note without a start time');

    await startTime.fill('09:30');
    assert.equal(
      await waitForText(german, hint, (text) => text !== '', 'the note on the passed start time'),
      'Diese Uhrzeit ist heute schon vorbei: In Berlin (Deutschland) ist es jetzt 14:05 Uhr. ' +
        'Die Einladung nennt die Uhrzeit so, wie sie hier eingetragen ist.',
    );
    assert.equal(await hint.isVisible(), true);
    assert.equal(await startTime.getAttribute('aria-describedby'), 'start-time-hint');

    await startTime.fill('19:30');
    await waitFor(async () => !(await hint.isVisible()), { description: 'the note to go for a later time' });
    await startTime.fill('14:05');
    assert.equal(await hint.isVisible(), false, 'the current minute has not passed');

    await startTime.fill('09:30');
    await waitFor(async () => hint.isVisible(), { description: 'the note to come back' });
    await german.locator('#room-date').fill('2026-12-05');
    await waitFor(async () => !(await hint.isVisible()), { description: 'the note to go for a later day' });
    await german.locator('#room-date').fill('2026-12-04');
    await waitFor(async () => hint.isVisible(), { description: 'the note for today again' });
    await german.locator('#room-time-zone').selectOption('Europe/Vienna');
    assert.match(await hint.textContent(), /In Wien \(Österreich\) ist es jetzt 14:05 Uhr/);

    const english = await openOverview(resources, server, { now, locale: 'en-GB', label: 'practitioner-en' });
    await english.locator('#room-start-time').fill('09:30');
    assert.equal(
      await waitForText(english, english.locator('#start-time-hint'), (text) => text !== '', 'the English note'),
      'This time has already passed today: it is now 14:05 in Berlin (Germany). The invitation gives the time as entered here.',
    );
  });
});

test('default date follows midnight', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('date after midnight', async (resources) => {
    const server = await resources.startServer();
    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { label: 'practitioner' });
    await emulateTimeZone(page, 'Europe/Berlin');
    // 23:59:50 in Berlin. The page's timers run on this clock, which the test moves.
    await page.clock.install({ time: new Date('2026-12-04T22:59:50Z') });
    await page.goto(`${server.origin}/`);
    const date = page.locator('#room-date');
    const startTime = page.locator('#room-start-time');
    assert.equal(await date.inputValue(), '2026-12-04');
    await startTime.fill('23:30');
    assert.equal(await page.locator('#start-time-hint').isVisible(), true, 'the note on 23:30 at 23:59');

    await page.clock.runFor(20_000);
    assert.equal(await date.inputValue(), '2026-12-05', 'the default date moves to the new day');
    assert.equal(await page.locator('#start-time-hint').isVisible(), false, 'tomorrow\'s 23:30 has not passed');

    // A date the practitioner chose stays.
    await date.fill('2026-12-24');
    await page.clock.runFor(24 * 60 * 60 * 1000);
    assert.equal(await date.inputValue(), '2026-12-24');
  });
});

test('resend label counts addressed invitees', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('resend label', async (resources) => {
    const server = await resources.startServer();
    const anna = { name: 'Anna Beispiel', email: 'anna@example.org', locale: 'de', status: 'pending' };
    const ben = { name: 'Ben Muster', email: 'ben@example.org', locale: 'en', status: 'sent', sentAt: '2026-03-02T05:00:00Z' };
    // An invitee without an address gets no email, so only Anna counts here.
    const withoutAddress = { name: 'Cem Yılmaz', locale: 'de', status: 'sent', sentAt: '2026-03-02T05:00:00Z' };
    const rooms = [
      listedRoom(server, { id: 'two-addresses', status: 'today', invitees: [anna, ben] }),
      listedRoom(server, { id: 'one-address', status: 'today', invitees: [anna, withoutAddress] }),
    ];

    const german = await openOverview(resources, server, { rooms, label: 'german' });
    const twoResend = (await waitForRoomRow(german, 'two-addresses')).getByTestId('resend');
    assert.equal(await twoResend.textContent(), 'E-Mails erneut senden');
    assert.equal(await twoResend.getAttribute('aria-label'), 'Einladungs-E-Mails für den Raum vom 02.03.2026 erneut senden');
    // Anna's email has not gone out yet, so it is sent now rather than again.
    const oneResend = (await waitForRoomRow(german, 'one-address')).getByTestId('resend');
    assert.equal(await oneResend.textContent(), 'E-Mail jetzt senden');
    assert.equal(await oneResend.getAttribute('aria-label'), 'Einladungs-E-Mail für den Raum vom 02.03.2026 jetzt senden');

    const english = await openOverview(resources, server, { rooms, locale: 'en-GB', label: 'english' });
    assert.equal(await (await waitForRoomRow(english, 'two-addresses')).getByTestId('resend').textContent(), 'Resend emails');
    assert.equal(await (await waitForRoomRow(english, 'one-address')).getByTestId('resend').textContent(), 'Send email now');
  });
});

test('room buttons name time and title', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('room button names', async (resources) => {
    const server = await resources.startServer();
    const anna = { name: 'Anna Beispiel', email: 'anna@example.org', locale: 'de', status: 'pending' };
    // Three rooms on the same day, which differ only in start time and title.
    const rooms = [
      listedRoom(server, { id: 'first-talk', status: 'today', startTime: '14:00', title: 'Erstgespräch', invitees: [anna] }),
      listedRoom(server, { id: 'at-nine', status: 'today', startTime: '09:00' }),
      listedRoom(server, { id: 'untimed', status: 'today', title: 'Nachgespräch' }),
    ];
    /** Returns the accessible names of the buttons in the row of `roomId`, by data-testid. */
    const buttonNames = async (page, roomId) =>
      (await waitForRoomRow(page, roomId))
        .locator('button')
        .evaluateAll((buttons) => Object.fromEntries(buttons.map((button) => [button.dataset.testid, button.getAttribute('aria-label')])));

    const german = await openOverview(resources, server, { rooms, label: 'german' });
    assert.deepEqual(await buttonNames(german, 'first-talk'), {
      'start-call': 'Anruf im Raum vom 02.03.2026, 14:00 Uhr, „Erstgespräch“ in einem kleinen Fenster starten',
      resend: 'Einladungs-E-Mail für den Raum vom 02.03.2026, 14:00 Uhr, „Erstgespräch“ jetzt senden',
      'copy-link': 'Link des Raums vom 02.03.2026, 14:00 Uhr, „Erstgespräch“ kopieren',
      delete: 'Raum vom 02.03.2026, 14:00 Uhr, „Erstgespräch“ löschen',
    });
    assert.equal((await buttonNames(german, 'at-nine')).delete, 'Raum vom 02.03.2026, 09:00 Uhr löschen');
    assert.equal((await buttonNames(german, 'untimed')).delete, 'Raum vom 02.03.2026, „Nachgespräch“ löschen');

    const english = await openOverview(resources, server, { rooms, locale: 'en-GB', label: 'english' });
    assert.deepEqual(await buttonNames(english, 'first-talk'), {
      'start-call': 'Start the call in the room of 2 March 2026, 14:00, “Erstgespräch” in a small window',
      resend: 'Send the invitation email of the room of 2 March 2026, 14:00, “Erstgespräch” now',
      'copy-link': 'Copy the link of the room of 2 March 2026, 14:00, “Erstgespräch”',
      delete: 'Delete the room of 2 March 2026, 14:00, “Erstgespräch”',
    });
    assert.equal((await buttonNames(english, 'at-nine')).delete, 'Delete the room of 2 March 2026, 09:00');
    assert.equal((await buttonNames(english, 'untimed')).delete, 'Delete the room of 2 March 2026, “Nachgespräch”');
  });
});

test('resend messages count invitees', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('resend messages', async (resources) => {
    const server = await resources.startServer();
    const anna = { name: 'Anna Beispiel', email: 'anna@example.org', locale: 'de', status: 'pending' };
    const ben = { name: 'Ben Muster', email: 'ben@example.org', locale: 'en', status: 'pending' };
    // An invitee without an address gets no email, so one-address mails Anna only.
    const withoutAddress = { name: 'Cem Yılmaz', locale: 'de', status: 'pending' };
    const rooms = [
      listedRoom(server, { id: 'one-address', status: 'today', invitees: [anna, withoutAddress] }),
      listedRoom(server, { id: 'two-addresses', status: 'today', invitees: [anna, ben] }),
    ];
    const sent = { status: 'sent', sentAt: '2026-03-02T09:00:00Z' };
    const failed = { status: 'failed', failure: 'mailbox unavailable' };
    const sentRooms = {
      'one-address': { ...rooms[0], invitees: [{ ...anna, ...sent }, withoutAddress] },
      'two-addresses': { ...rooms[1], invitees: [{ ...anna, ...sent }, { ...ben, ...sent }] },
    };
    const failedRooms = {
      'one-address': { ...rooms[0], invitees: [{ ...anna, ...failed }, withoutAddress] },
      'two-addresses': { ...rooms[1], invitees: [{ ...anna, ...sent }, { ...ben, ...failed }] },
    };
    // Another window's resend has claimed the emails and is sending them.
    const sending = { status: 'sending' };
    const sendingRooms = {
      'one-address': { ...rooms[0], invitees: [{ ...anna, ...sending }, withoutAddress] },
      'two-addresses': { ...rooms[1], invitees: [{ ...anna, ...sent }, { ...ben, ...sending }] },
    };

    /**
     * Clicks resend in the row of `roomId` on `page`, where the request waits,
     * and returns the message shown meanwhile and the message after the
     * browser fulfils the request with `answer`: a room, or 'network' for a
     * refused connection.
     */
    const resend = async (page, requests, roomId, answer) => {
      const row = await waitForRoomRow(page, roomId);
      const requestCount = requests.length;
      await row.getByTestId('resend').click();
      await waitFor(async () => requests.length > requestCount, {
        description: `the resend request of ${roomId}`,
        diagnose: () => describePage(page),
      });
      const progress = await row.getByTestId('row-status').textContent();
      const route = requests[requestCount];
      if (answer === 'network') await route.abort('connectionrefused');
      else await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(answer) });
      const outcome = await waitForText(
        page,
        row.getByTestId('row-status'),
        (text) => text !== progress,
        `the outcome of resending in ${roomId}`,
      );
      return { progress, outcome };
    };

    /** Opens the overview with resend requests that wait until `resend` fulfils or aborts them. */
    const openHeldOverview = async (options) => {
      const page = await openOverview(resources, server, { rooms, ...options });
      /** @type {import('playwright-core').Route[]} */
      const requests = [];
      await page.route('**/api/rooms/*/invitations', (route) => {
        requests.push(route);
      });
      return { page, requests };
    };

    const german = await openHeldOverview({ label: 'german' });
    const cases = [
      {
        roomId: 'one-address',
        answer: sentRooms['one-address'],
        progress: 'Die E-Mail wird gesendet …',
        outcome: 'Die Einladungs-E-Mail wurde gesendet.',
      },
      {
        roomId: 'one-address',
        answer: failedRooms['one-address'],
        progress: 'Die E-Mail wird gesendet …',
        outcome: 'Die Einladungs-E-Mail ließ sich nicht senden. Den Grund finden Sie bei der Einladung.',
      },
      {
        roomId: 'one-address',
        answer: 'network',
        progress: 'Die E-Mail wird gesendet …',
        outcome:
          'Der Server ist nicht erreichbar. Daher ist unklar, ob die E-Mail gesendet wurde. Bitte prüfen Sie Ihre Internetverbindung und aktualisieren Sie dann die Übersicht.',
      },
      {
        roomId: 'two-addresses',
        answer: sentRooms['two-addresses'],
        progress: 'Die E-Mails werden gesendet …',
        outcome: 'Die Einladungs-E-Mails wurden gesendet.',
      },
      {
        roomId: 'two-addresses',
        answer: failedRooms['two-addresses'],
        progress: 'Die E-Mails werden gesendet …',
        outcome: 'Nicht alle Einladungs-E-Mails ließen sich senden. Den Grund finden Sie jeweils bei der Einladung.',
      },
      {
        roomId: 'one-address',
        answer: sendingRooms['one-address'],
        progress: 'Die E-Mail wird gesendet …',
        outcome:
          'Die Einladungs-E-Mail wird gerade schon gesendet, etwa aus einem anderen Fenster. Mit „Aktualisieren“ sehen Sie gleich das Ergebnis.',
      },
      {
        roomId: 'two-addresses',
        answer: sendingRooms['two-addresses'],
        progress: 'Die E-Mails werden gesendet …',
        outcome:
          'Ein Teil der Einladungs-E-Mails wird gerade schon gesendet, etwa aus einem anderen Fenster. Mit „Aktualisieren“ sehen Sie gleich das Ergebnis.',
      },
      {
        roomId: 'two-addresses',
        answer: 'network',
        progress: 'Die E-Mails werden gesendet …',
        outcome:
          'Der Server ist nicht erreichbar. Daher ist unklar, ob die E-Mails gesendet wurden. Bitte prüfen Sie Ihre Internetverbindung und aktualisieren Sie dann die Übersicht.',
      },
    ];
    for (const { roomId, answer, progress, outcome } of cases) {
      const answerName = answer === 'network' ? 'network' : answer.invitees.map((invitee) => invitee.status).join('+');
      const messages = await resend(german.page, german.requests, roomId, answer);
      assert.equal(messages.progress, progress, `progress in ${roomId}, answer ${answerName}`);
      assert.equal(messages.outcome, outcome, `outcome in ${roomId}, answer ${answerName}`);
    }

    const english = await openHeldOverview({ locale: 'en-GB', label: 'english' });
    const englishOne = await resend(english.page, english.requests, 'one-address', sentRooms['one-address']);
    assert.equal(englishOne.progress, 'Sending the email …');
    assert.equal(englishOne.outcome, 'The invitation email has been sent.');
    const englishOneFailed = await resend(english.page, english.requests, 'one-address', failedRooms['one-address']);
    assert.equal(englishOneFailed.outcome, 'The invitation email could not be sent. The reason is shown with the invitation.');
    const englishTwo = await resend(english.page, english.requests, 'two-addresses', sentRooms['two-addresses']);
    assert.equal(englishTwo.progress, 'Sending the emails …');
    assert.equal(englishTwo.outcome, 'The invitation emails have been sent.');
    const englishSending = await resend(english.page, english.requests, 'one-address', sendingRooms['one-address']);
    assert.equal(
      englishSending.outcome,
      'The invitation email is already being sent, for example from another window. Choose “Refresh” in a moment to see the result.',
    );
    const sendingRow = await waitForRoomRow(english.page, 'one-address');
    assert.match(await sendingRow.textContent(), /Email being sent/);
  });
});

/**
 * Returns the words inside `locator` whose letters lie on more than one
 * line. A word ends at white space and after a hyphen, where a line may
 * break without breaking the word.
 *
 * @param {import('playwright-core').Locator} locator
 * @returns {Promise<string[]>}
 */
async function wordsBrokenAcrossLines(locator) {
  return locator.evaluate((root) => {
    const broken = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/[^\s-]+-?/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lineTops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
        if (lineTops.size > 1) broken.push(match[0]);
      }
    }
    return broken;
  });
}

/**
 * Returns the text of `locator` line by line, as the browser laid it out.
 *
 * @param {import('playwright-core').Locator} locator
 * @returns {Promise<string[]>}
 */
async function renderedLines(locator) {
  return locator.evaluate((element) => {
    /** @type {string[]} */
    const lines = [];
    let lineTop = Number.NaN;
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let index = 0; index < node.data.length; index += 1) {
        const range = document.createRange();
        range.setStart(node, index);
        range.setEnd(node, index + 1);
        const top = range.getBoundingClientRect().top;
        if (Number.isNaN(lineTop) || Math.abs(top - lineTop) > 2) {
          lines.push('');
          lineTop = top;
        }
        lines[lines.length - 1] += node.data[index];
      }
    }
    return lines;
  });
}

/**
 * Measures the overview table: its width against the box around it, and
 * every button that sticks out of that box.
 *
 * @param {import('playwright-core').Page} page
 */
async function measureTable(page) {
  return page.locator('#room-table').evaluate((table) => {
    const box = /** @type {HTMLElement} */ (table.parentElement);
    const boxRect = box.getBoundingClientRect();
    const clippedButtons = [...table.querySelectorAll('button')]
      .filter((button) => {
        const rect = button.getBoundingClientRect();
        return rect.left < boxRect.left - 0.5 || rect.right > boxRect.right + 0.5 || rect.right > window.innerWidth;
      })
      .map((button) => `${button.closest('tr')?.dataset.roomId}: ${button.textContent}`);
    return { tableWidth: table.scrollWidth, boxWidth: box.clientWidth, clippedButtons };
  });
}

test('long words break inside the table', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('overview long words', async (resources) => {
    const server = await resources.startServer();
    const longTitle = 'Kinder- und Jugendlichenpsychotherapie: Behandlungsvereinbarungsgespräch';
    const longAddress = 'maximilian.mustermann-schoenberger@beispielpraxis-gesundheit.de';
    const rooms = [
      listedRoom(server, {
        id: 'long-words',
        status: 'today',
        startTime: '09:30',
        title: longTitle,
        patientId: 'P-2024-17',
        invitees: [
          { name: 'Maximilian Mustermann-Schönberger', email: longAddress, locale: 'de', status: 'pending' },
          { name: 'Anna Beispiel', email: 'anna@example.org', locale: 'de', status: 'sent', sentAt: '2026-03-02T05:00:12Z' },
        ],
      }),
      listedRoom(server, {
        id: 'normal-words',
        date: '2026-03-03',
        status: 'not-held',
        title: 'Erstgespräch mit Familie',
        patientId: 'P-4711',
        invitees: [{ name: 'Cem Yılmaz', email: 'cem@example.org', locale: 'de', status: 'failed', failure: 'mailbox unavailable' }],
      }),
      listedRoom(server, {
        id: 'planned-room',
        date: '2026-05-04',
        status: 'planned',
        startTime: '14:00',
        timeZone: 'Europe/Vienna',
        title: 'Folgetermin',
        invitees: [{ name: 'Dora Test', email: 'dora@example.org', locale: 'de', status: 'pending' }],
      }),
    ];
    const page = await openOverview(resources, server, { rooms });
    const table = page.locator('#room-table');
    const longRow = await waitForRoomRow(page, 'long-words');
    const addresses = longRow.getByTestId('invitee-email');
    // The long words of the title are wider than any column the table can give them at 1024 px.
    const breakableWords = ['Jugendlichenpsychotherapie:', 'Behandlungsvereinbarungsgespräch'];

    await page.setViewportSize({ width: 1024, height: 768 });
    const narrow = await measureTable(page);
    assert.ok(narrow.tableWidth <= narrow.boxWidth, `at 1024 px the table is ${narrow.tableWidth} px wide in a ${narrow.boxWidth} px box`);
    assert.deepEqual(narrow.clippedButtons, [], 'at 1024 px every button lies inside the box');
    const narrowBroken = await wordsBrokenAcrossLines(table);
    assert.deepEqual(
      narrowBroken.filter((word) => !breakableWords.includes(word)),
      [],
      `at 1024 px only the title's long words break, broken: ${JSON.stringify(narrowBroken)}`,
    );
    assert.equal(await longRow.getByTestId('room-title').textContent(), longTitle);

    assert.equal(await addresses.first().textContent(), longAddress, 'the <wbr> breaks add no text');
    const addressLines = await renderedLines(addresses.first());
    assert.ok(addressLines.length > 1, `the long address wraps at 1024 px: ${JSON.stringify(addressLines)}`);
    assert.ok(
      addressLines.slice(0, -1).some((line) => line.endsWith('@')),
      `a line of the long address ends after "@": ${JSON.stringify(addressLines)}`,
    );
    assert.ok(
      addressLines.slice(1).some((line) => line.startsWith('.')),
      `a line of the long address starts with ".": ${JSON.stringify(addressLines)}`,
    );
    assert.deepEqual(await renderedLines(addresses.nth(1)), ['anna@example.org'], 'a short address stays on one line');

    // At 1280 px the table has room for the long word, so nothing breaks.
    await page.setViewportSize({ width: 1280, height: 800 });
    const wide = await measureTable(page);
    assert.ok(wide.tableWidth <= wide.boxWidth, `at 1280 px the table is ${wide.tableWidth} px wide in a ${wide.boxWidth} px box`);
    assert.deepEqual(wide.clippedButtons, [], 'at 1280 px every button lies inside the box');
    assert.deepEqual(await wordsBrokenAcrossLines(table), [], 'no word breaks at 1280 px');
  });
});

test('throttled token gets a clear message', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('throttled API token', async (resources) => {
    const server = await resources.startServer();
    // Wrong tokens from this machine until the server throttles it.
    let status = 0;
    for (let attempt = 0; attempt < 30 && status !== 429; attempt += 1) {
      const response = await fetch(`${server.origin}/api/rooms`, { headers: { authorization: 'Bearer wrong-token-0000' } });
      status = response.status;
      await response.arrayBuffer();
    }
    assert.equal(status, 429, 'the server throttles repeated wrong tokens');

    // Now even the right token is rejected for a while, and the page explains why.
    const page = await openOverview(resources, server);
    const error = page.getByTestId('error');
    const text = await waitForText(page, error, (value) => value !== '', 'an error message');
    assert.match(text, /Zu viele Versuche mit einem falschen API-Token von diesem Rechner\. Bitte warten Sie eine Minute/);
  });
});

/**
 * Returns the next day, after today in Berlin, on which summer time begins
 * there: the last Sunday of March, when the clocks jump from 02:00 to 03:00.
 */
function nextSummerTimeStart() {
  const today = dateInTimeZone('Europe/Berlin');
  for (let year = Number(today.slice(0, 4)); ; year += 1) {
    const lastOfMarch = new Date(Date.UTC(year, 2, 31));
    const lastSunday = new Date(Date.UTC(year, 2, 31 - lastOfMarch.getUTCDay()));
    const date = lastSunday.toISOString().slice(0, 10);
    if (date > today) return date;
  }
}

test('skipped summer time is explained', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('skipped summer time', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const date = nextSummerTimeStart();
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    await page.locator('#room-date').fill(date);
    await page.locator('#room-start-time').fill('02:30');
    await page.locator('#room-time-zone').selectOption('Europe/Berlin');

    const expected =
      `Die Uhrzeit 02:30\u00a0Uhr gibt es am ${germanDate(date)} in Berlin (Deutschland) nicht, weil die Uhren dort ` +
      'in dieser Nacht für die Sommerzeit von 02:00 auf 03:00\u00a0Uhr vorgestellt werden. Bitte wählen Sie eine andere Uhrzeit.';
    const text = await submitForError(page);
    assert.match(text, /Bitte prüfen Sie das Feld „Uhrzeit“\./);
    assert.ok(text.includes(expected), `the hint on the skipped hour, got ${JSON.stringify(text)}`);
    assert.doesNotMatch(text, /in Stunden und Minuten/, 'not the hint on the format');
    assert.equal(await page.locator('#room-start-time').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'room-start-time');
    const { body: none } = await callApi(server, 'GET', `/api/rooms?from=${date}&to=${date}`);
    assert.deepEqual(none.rooms, [], 'no room was created');

    // Another day, where 02:30 exists, makes the error outdated.
    await page.locator('#room-date').fill(addDays(date, 1));
    assert.equal(await page.getByTestId('error').isVisible(), false, 'a changed date clears the error on the time');
    assert.equal(await page.locator('#room-start-time').getAttribute('aria-invalid'), null);
    await page.locator('#room-date').fill(date);
    await submitForError(page);
    await page.locator('#room-time-zone').selectOption('Europe/Vienna');
    assert.equal(await page.getByTestId('error').isVisible(), false, 'a changed zone clears the error on the time');
    await page.locator('#room-time-zone').selectOption('Europe/Berlin');

    // The server's response to such a time gets the same hint, here for a
    // request that the page sent with an existing time.
    await page.locator('#room-start-time').fill('01:30');
    await changeCreateRequests(page, (body) => ({ ...body, startTime: '02:30' }));
    const serverText = await submitForError(page);
    assert.ok(serverText.includes(expected), `the hint on the server's answer, got ${JSON.stringify(serverText)}`);
    assert.match(serverText, /jump from 02:00 to 03:00/, 'the server\'s message is in the details line');

    // The minutes around the jump exist.
    await page.unrouteAll();
    await page.locator('#room-start-time').fill('03:00');
    await page.getByTestId('create-room').click();
    await waitFor(async () => page.getByTestId('created-link').isVisible(), {
      description: 'the link of the room at 03:00',
      diagnose: () => describePage(page),
    });

    const english = await openOverview(resources, server, { locale: 'en-GB', label: 'english' });
    await waitFor(async () => (await english.getByTestId('room-row').count()) === 1, {
      description: 'the overview with the room at 03:00',
      diagnose: () => describePage(english),
    });
    await english.locator('#room-date').fill(date);
    await english.locator('#room-start-time').fill('02:05');
    await english.locator('#room-time-zone').selectOption('Europe/Vienna');
    const englishText = await submitForError(english);
    const day = new Date(`${date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    assert.ok(
      englishText.includes(
        `02:05 does not exist on ${day} in Vienna (Austria), because the clocks there go forward from 02:00 to 03:00 that night for summer time. Please choose another time.`,
      ),
      `the English hint, got ${JSON.stringify(englishText)}`,
    );
  });
});

test('time zone starts at browser zone', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('time zone default', async (resources) => {
    const server = await resources.startServer();
    const zoneSelect = (page) => page.locator('#room-time-zone');

    const vienna = await openOverview(resources, server, { browserTimeZone: 'Europe/Vienna', label: 'vienna' });
    assert.equal(await zoneSelect(vienna).inputValue(), 'Europe/Vienna', 'the browser\'s zone, which the form offers');
    const zurich = await openOverview(resources, server, { browserTimeZone: 'Europe/Zurich', label: 'zurich' });
    assert.equal(await zoneSelect(zurich).inputValue(), 'Europe/Zurich');
    const newYork = await openOverview(resources, server, { browserTimeZone: 'America/New_York', label: 'new-york' });
    assert.equal(await zoneSelect(newYork).inputValue(), 'Europe/Berlin', 'Berlin for a zone that the form does not offer');
  });
});

test('time zone choice is remembered', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('time zone remembered', async (resources) => {
    const server = await resources.startServer();
    const page = await openOverview(resources, server, { browserTimeZone: 'Europe/Vienna' });
    const zoneSelect = page.locator('#room-time-zone');
    assert.equal(await zoneSelect.inputValue(), 'Europe/Vienna');

    // The last choice wins over the browser's zone, also after a reload.
    await zoneSelect.selectOption('Europe/Zurich');
    await page.reload();
    assert.equal(await zoneSelect.inputValue(), 'Europe/Zurich');
    await zoneSelect.selectOption('Europe/Berlin');
    await page.reload();
    assert.equal(await zoneSelect.inputValue(), 'Europe/Berlin', 'Berlin as a choice, not as the fallback');

    // A stored value that the form no longer offers is ignored.
    await page.evaluate(() => localStorage.setItem('videoCall.roomTimeZone', 'Europe/Paris'));
    await page.reload();
    assert.equal(await zoneSelect.inputValue(), 'Europe/Vienna');
  });
});

/** Returns the data-testid, or else the id, of the element that has the focus, 'body' when none has. */
async function focusedControl(page) {
  return page.evaluate(() => {
    const active = document.activeElement;
    if (!active || active === document.body) return 'body';
    return active.getAttribute('data-testid') ?? active.id;
  });
}

/**
 * Fulfils the page's next POST requests to `pattern` with what `statusOf`
 * returns: 'network' for a refused connection, else an HTTP status with an error body.
 *
 * @param {import('playwright-core').Page} page
 * @param {string} pattern
 * @param {() => number | 'network'} statusOf
 */
async function failRequests(page, pattern, statusOf) {
  await page.route(pattern, (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const status = statusOf();
    if (status === 'network') return route.abort('connectionrefused');
    return route.fulfill({
      status,
      contentType: 'application/json',
      body: JSON.stringify({ error: 'test-error', message: `test statusOf ${status}` }),
    });
  });
}

test('failed requests keep the focus', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('focus after failed requests', async (resources) => {
    const server = await resources.startServer();
    const anna = { name: 'Anna Beispiel', email: 'anna@example.org', locale: 'de', status: 'pending' };
    const rooms = [listedRoom(server, { id: 'today-room', status: 'today', invitees: [anna] })];
    const page = await openOverview(resources, server, { rooms });
    const row = await waitForRoomRow(page, 'today-room');

    /** @type {number | 'network'} */
    let nextAnswer = 'network';
    await failRequests(page, '**/api/rooms', () => nextAnswer);
    await failRequests(page, '**/api/rooms/*/invitations', () => nextAnswer);

    for (const answer of ['network', 500, 502]) {
      nextAnswer = answer;
      await page.getByTestId('error').evaluate((element) => element.replaceChildren());
      await page.getByTestId('create-room').focus();
      await page.keyboard.press('Enter');
      await waitForText(page, page.getByTestId('error'), (value) => value !== '', `the error for ${answer} on creating`);
      assert.ok(
        ['create-room', 'error'].includes(await focusedControl(page)),
        `after ${answer} on creating, the focus is on the button or the error, not on ${await focusedControl(page)}`,
      );

      const resend = row.getByTestId('resend');
      await row.getByTestId('row-status').evaluate((element) => element.replaceChildren());
      await resend.focus();
      await page.keyboard.press('Enter');
      await waitForText(
        page,
        row.getByTestId('row-status'),
        (value) => value !== '' && !value.endsWith('…'),
        `the error for ${answer} on resending`,
      );
      assert.equal(await focusedControl(page), 'resend', `after ${answer} on resending, the focus stays on the button`);
      // Whether the email went out is unknown, so the row does not invite an
      // immediate second try.
      assert.match(
        await row.getByTestId('row-status').innerText(),
        /Daher ist unklar, ob die E-Mail gesendet wurde\./,
        `the row's message after ${answer} on resending`,
      );
    }
  });
});

test('token Enter sends one request', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('token enter once', async (resources) => {
    const server = await resources.startServer();
    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { label: 'practitioner' });
    /** @type {string[]} */
    const listRequests = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/rooms' && request.method() === 'GET') listRequests.push(request.url());
    });
    await page.goto(`${server.origin}/`);

    const token = page.getByTestId('api-token');
    await token.fill('wrong-token-0000');
    await token.press('Enter');
    await waitForText(page, page.getByTestId('error'), (value) => value.includes('nicht akzeptiert'), 'the message on the wrong token');
    await page.waitForTimeout(500);
    assert.equal(listRequests.length, 1, `one request for one Enter, sent: ${JSON.stringify(listRequests)}`);

    // Enter again with the same token sends one more request.
    await token.press('Enter');
    await waitFor(() => listRequests.length >= 2, { description: 'the second request', diagnose: () => describePage(page) });
    await page.waitForTimeout(500);
    assert.equal(listRequests.length, 2, `one request for the second Enter, sent: ${JSON.stringify(listRequests)}`);

    // Leaving the field after a change sends one request too.
    await token.fill(server.apiToken);
    await page.locator('#list-from').focus();
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    await page.waitForTimeout(500);
    assert.equal(listRequests.length, 3, `one request for the changed token, sent: ${JSON.stringify(listRequests)}`);
  });
});

test('corrected field clears the error', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('corrected field', async (resources) => {
    const server = await resources.startServer();
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    const today = dateInTimeZone('Europe/Berlin');
    const dateInput = page.locator('#room-date');
    const error = page.getByTestId('error');

    await dateInput.fill(addDays(today, 500));
    const text = await submitForError(page);
    assert.match(text, /höchstens 400 Tage im Voraus/);
    assert.equal(await dateInput.getAttribute('aria-invalid'), 'true');

    await dateInput.fill(addDays(today, 1));
    assert.equal(await error.isVisible(), false, 'the message on the old date is gone');
    assert.equal(await error.textContent(), '');
    assert.equal(await dateInput.getAttribute('aria-invalid'), null);
    assert.equal(await page.locator('#field-error').count(), 0, 'the message under the field is gone');

    // A message on another field stays while an unflagged field changes.
    await page.locator('#room-title').fill('Erstgespräch\tHerr M.');
    await submitForError(page);
    await dateInput.fill(addDays(today, 2));
    assert.equal(await error.isVisible(), true, 'the message on the title stays');
  });
});

test('umlaut in email is explained', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('umlaut email', async (resources) => {
    const server = await resources.startServer({ extraArgs: LATE_MORNING_ARGS });
    const page = await openOverview(resources, server);
    await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
    const tomorrow = addDays(dateInTimeZone('Europe/Berlin'), 1);
    await page.locator('#room-date').fill(tomorrow);

    const row = await addInvitee(page, 'Jürgen Beispiel', 'jürgen@example.org');
    const expected =
      'An E-Mail-Adressen mit Umlauten, ß, Akzenten oder anderen Zeichen außerhalb des englischen Alphabets kann der Dienst keine E-Mails senden.';
    const text = await submitForError(page);
    assert.match(text, /Bitte prüfen Sie das Feld „E-Mail-Adresse \(Person 1\)“\./);
    assert.ok(text.includes(expected), `the hint on the umlaut, got ${JSON.stringify(text)}`);
    assert.doesNotMatch(text, /vollständige E-Mail-Adresse/, 'not the hint on an incomplete address');
    assert.equal(await row.locator('[name="email"]').getAttribute('aria-invalid'), 'true');

    // The server's response to such an address gets the same hint.
    await row.locator('[name="email"]').fill('juergen@example.org');
    await changeCreateRequests(page, (body) => ({
      ...body,
      invitees: body.invitees.map((invitee) => ({ ...invitee, email: 'jürgen@example.org' })),
    }));
    const serverText = await submitForError(page);
    assert.ok(serverText.includes(expected), `the hint on the server's answer, got ${JSON.stringify(serverText)}`);
    assert.match(serverText, /outside ASCII/, 'the server\'s message is in the details line');

    const english = await openOverview(resources, server, { locale: 'en-GB', label: 'english' });
    await waitForText(english, english.locator('#list-status'), (value) => value !== '' && !value.endsWith('…'), 'the overview to load');
    await english.locator('#room-date').fill(tomorrow);
    await addInvitee(english, 'Zoë Example', 'zoë@example.org');
    assert.match(
      await submitForError(english),
      /The service cannot send emails to addresses with umlauts, ß, accents or other characters outside the English alphabet\./,
    );
  });
});

test('server errors are told apart', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('server error kinds', async (resources) => {
    const server = await resources.startServer();
    /** @type {number | 'network'} */
    let nextAnswer = 500;
    const cases = [
      { answer: 500, de: 'Auf dem Server ist ein Fehler aufgetreten.', en: 'An error occurred on the server.' },
      { answer: 501, de: 'Auf dem Server ist ein Fehler aufgetreten.', en: 'An error occurred on the server.' },
      { answer: 502, de: 'Der Server ist gerade nicht erreichbar.', en: 'The server is not available right now.' },
      { answer: 503, de: 'Der Server ist gerade nicht erreichbar.', en: 'The server is not available right now.' },
      { answer: 504, de: 'Der Server ist gerade nicht erreichbar.', en: 'The server is not available right now.' },
      { answer: 'network', de: 'Der Server ist nicht erreichbar.', en: 'The server cannot be reached.' },
    ];
    for (const locale of ['de-DE', 'en-GB']) {
      const page = await openOverview(resources, server, { locale, label: locale });
      await waitForText(page, page.locator('#list-status'), (text) => text !== '' && !text.endsWith('…'), 'the overview to load');
      await failRequests(page, '**/api/rooms', () => nextAnswer);
      for (const { answer, de, en } of cases) {
        nextAnswer = answer;
        await page.getByTestId('error').evaluate((element) => element.replaceChildren());
        const text = await submitForError(page);
        const expected = locale === 'de-DE' ? de : en;
        assert.ok(text.startsWith(expected), `${locale}, ${answer}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(text)}`);
      }
    }
  });
});

test('first send is not called resend', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('send now label', async (resources) => {
    const server = await resources.startServer();
    const pending = (name) => ({ name, email: `${name.toLowerCase()}@example.org`, locale: 'de', status: 'pending' });
    const rooms = [
      listedRoom(server, { id: 'pending-one', status: 'today', invitees: [pending('Anna')] }),
      listedRoom(server, { id: 'pending-two', status: 'today', invitees: [pending('Anna'), pending('Ben')] }),
      listedRoom(server, { id: 'retrying', status: 'today', invitees: [{ ...pending('Anna'), failure: 'connection timed out' }] }),
      listedRoom(server, { id: 'failed', status: 'today', invitees: [{ ...pending('Anna'), status: 'failed', failure: 'mailbox unavailable' }] }),
      listedRoom(server, { id: 'sent', status: 'today', invitees: [{ ...pending('Anna'), status: 'sent', sentAt: '2026-03-02T05:00:00Z' }] }),
      listedRoom(server, {
        id: 'partly-sent',
        status: 'today',
        invitees: [pending('Anna'), { ...pending('Ben'), status: 'sent', sentAt: '2026-03-02T05:00:00Z' }],
      }),
    ];
    const labels = async (page) => {
      /** @type {Record<string, [string, string]>} */
      const result = {};
      for (const { id } of rooms) {
        const resend = (await waitForRoomRow(page, id)).getByTestId('resend');
        result[id] = [await resend.textContent(), await resend.getAttribute('aria-label')];
      }
      return result;
    };

    const german = await openOverview(resources, server, { rooms, label: 'german' });
    assert.deepEqual(await labels(german), {
      'pending-one': ['E-Mail jetzt senden', 'Einladungs-E-Mail für den Raum vom 02.03.2026 jetzt senden'],
      'pending-two': ['E-Mails jetzt senden', 'Einladungs-E-Mails für den Raum vom 02.03.2026 jetzt senden'],
      retrying: ['E-Mail erneut senden', 'Einladungs-E-Mail für den Raum vom 02.03.2026 erneut senden'],
      failed: ['E-Mail erneut senden', 'Einladungs-E-Mail für den Raum vom 02.03.2026 erneut senden'],
      sent: ['E-Mail erneut senden', 'Einladungs-E-Mail für den Raum vom 02.03.2026 erneut senden'],
      'partly-sent': ['E-Mails erneut senden', 'Einladungs-E-Mails für den Raum vom 02.03.2026 erneut senden'],
    });

    const english = await openOverview(resources, server, { rooms, locale: 'en-GB', label: 'english' });
    const englishLabels = await labels(english);
    assert.deepEqual(englishLabels['pending-one'], ['Send email now', 'Send the invitation email of the room of 2 March 2026 now']);
    assert.deepEqual(englishLabels['pending-two'], ['Send emails now', 'Send the invitation emails of the room of 2 March 2026 now']);
    assert.deepEqual(englishLabels.failed, ['Resend email', 'Resend the invitation email of the room of 2 March 2026']);
  });
});
