// End-to-end tests of a call: the local server, the join page and two or more
// participants in headless Chromium with fake camera and microphone.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test --test-concurrency=1 tests/browser/'

import assert from 'node:assert/strict';
import { test } from 'node:test';

import WebSocket from 'ws';

import {
  WAIT_TIMEOUT_MS,
  addDays,
  createRoom,
  dateInTimeZone,
  describePage,
  germanDate,
  joinCall,
  linkToken,
  openJoinPage,
  pageState,
  pickDaytimeTimeZone,
  startTwoPersonCall,
  waitFor,
  waitForDecodedVideo,
  waitForRemoteVideoCount,
  waitForState,
  withResources,
} from './helpers.mjs';

/** Limit of one whole test: several waits of up to 30 s each, plus start-up. */
const TEST_TIMEOUT_MS = 180_000;

/** How long a count that should stay the same is watched after it was reached. */
const SETTLE_MS = 1_000;

/** Delay in ms added to getUserMedia to join before the camera is open. */
const CAMERA_DELAY_MS = 1_500;

/** Maximum participants of a room, from the signaling contract. */
const MAX_PARTICIPANTS = 8;

/** Waits until a chat message containing `text` appears on `page` and returns its locator. */
async function waitForChatMessage(page, text) {
  const message = page.getByTestId('chat-message').filter({ hasText: text });
  await waitFor(async () => (await message.count()) === 1, {
    description: `one chat message containing ${JSON.stringify(text)}`,
    diagnose: async () => {
      const messageTexts = await page.getByTestId('chat-message').allTextContents();
      return `chat messages on the page: ${JSON.stringify(messageTexts)}\n${await describePage(page)}`;
    },
  });
  return message;
}

/** Types `text` into the chat field of `page` and clicks send. */
async function sendChat(page, text) {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-send').click();
}

test('two participants receive each other\'s video', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('two participants video', async (resources) => {
    const { anna, ben } = await startTwoPersonCall(resources);

    const annaFrames = await waitForDecodedVideo(anna);
    const benFrames = await waitForDecodedVideo(ben);
    assert.equal(Object.keys(annaFrames).length, 1, 'Anna has one peer connection');
    assert.equal(Object.keys(benFrames).length, 1, 'Ben has one peer connection');

    // The remote tile must show the stream, not only hold a video element.
    for (const page of [anna, ben]) {
      await waitFor(
        () => page.getByTestId('remote-video').evaluate((video) => video.videoWidth > 0 && video.readyState >= 2),
        { description: 'remote video with a decoded picture', diagnose: () => describePage(page) },
      );
    }

    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    assert.equal(await anna.getByTestId('remote-video').count(), 1, 'Anna shows exactly one remote video');
    assert.equal(await ben.getByTestId('remote-video').count(), 1, 'Ben shows exactly one remote video');
    assert.equal(await pageState(anna), 'in-call');
    assert.equal(await pageState(ben), 'in-call');
  });
});

/**
 * Makes every getUserMedia call on the page wait `delayMs` before it opens the
 * fake devices, and sets `window.__testMediaOpened` once a call has returned
 * a stream. Runs in the page as an init script.
 */
function delayGetUserMedia(delayMs) {
  const mediaDevices = navigator.mediaDevices;
  const getUserMedia = mediaDevices.getUserMedia.bind(mediaDevices);
  mediaDevices.getUserMedia = async (constraints) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const stream = await getUserMedia(constraints);
    window.__testMediaOpened = true;
    return stream;
  };
}

test('join before camera opens still sends video', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('join before camera opens', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });

    // Anna clicks join while her camera and microphone are still opening.
    await anna.context().addInitScript(delayGetUserMedia, CAMERA_DELAY_MS);
    await joinCall(anna, room.joinUrl, 'Anna', { waitForPreview: false });
    await waitFor(() => anna.evaluate(() => window.__testMediaOpened === true), {
      description: 'the delayed getUserMedia on Anna\'s page to return',
      diagnose: () => describePage(anna),
    });

    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);
  });
});

test('chat reaches the other participant', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('chat both ways', async (resources) => {
    const { anna, ben } = await startTwoPersonCall(resources);
    // Chat goes over the peer connection, so wait until it carries media.
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);

    await sendChat(anna, 'Guten Tag from Anna');
    await waitForChatMessage(ben, 'Guten Tag from Anna');

    await sendChat(ben, 'Hello back from Ben');
    await waitForChatMessage(anna, 'Hello back from Ben');

    const markup = '<b>x</b>';
    await sendChat(anna, `markup ${markup} stays text`);
    const received = await waitForChatMessage(ben, `markup ${markup} stays text`);
    assert.match(await received.textContent(), /markup <b>x<\/b> stays text/, 'the tags show as typed');
    assert.equal(await received.locator('b').count(), 0, 'no <b> element was created from the message');
  });
});

test('chat times use a 24-hour clock', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('chat times 24-hour', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    // English is the language whose default browser clock shows AM and PM.
    const anna = await resources.openPage(browser, { locale: 'en-US', label: 'anna' });
    const ben = await resources.openPage(browser, { locale: 'en-US', label: 'ben' });
    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);

    await sendChat(anna, 'What time is it?');
    for (const page of [anna, ben]) {
      const message = await waitForChatMessage(page, 'What time is it?');
      const { displayed, expected } = await message.locator('time').evaluate((time) => ({
        displayed: time.textContent,
        // The message's instant on a 24-hour clock in the page's time zone.
        expected: new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
          new Date(time.dateTime),
        ),
      }));
      assert.match(displayed, /^\d{2}:\d{2}$/, `hours and minutes without AM or PM, got ${JSON.stringify(displayed)}`);
      assert.equal(displayed, expected);
    }
  });
});

/**
 * Makes every setRemoteDescription call on the page wait `delayMs`, which
 * holds back the peer connection and its chat channel. Runs in the page as an
 * init script.
 */
function delaySetRemoteDescription(delayMs) {
  const original = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = async function delayed(...args) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return original.apply(this, args);
  };
}

test('chat sent right after joining arrives', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('chat right after joining', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    await anna.context().addInitScript(delaySetRemoteDescription, CAMERA_DELAY_MS);

    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    // Anna's side holds back the negotiation, so Ben's chat channel is not
    // open yet; the client must deliver the message once it opens.
    await sendChat(ben, 'Sind Sie schon da?');
    await waitForChatMessage(anna, 'Sind Sie schon da?');
  });
});

test('burst of 50 chat messages arrives whole', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('chat burst while the channel opens', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    await anna.context().addInitScript(delaySetRemoteDescription, CAMERA_DELAY_MS);

    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    // Sent while the channel is still opening and right after it opened.
    const texts = Array.from({ length: 50 }, (_, index) => `Nachricht ${index + 1}`);
    for (const text of texts) await sendChat(ben, text);

    const received = anna.getByTestId('chat-message');
    await waitFor(async () => (await received.count()) === texts.length, {
      description: `${texts.length} chat messages on Anna's page`,
      diagnose: async () => `received ${await received.count()}\n${await describePage(anna)}`,
    });
    const shown = await received.allTextContents();
    assert.deepEqual(
      shown.map((text) => /Nachricht \d+/.exec(text)?.[0]),
      texts,
      'every message once, in the order sent',
    );
  });
});

/**
 * Holds back every session description sent to `page` for `delayMs`, while
 * ICE candidates pass at once, as when two Lambda invocations overtake each
 * other. Returns how many candidates overtook a description.
 */
async function letCandidatesOvertake(page, delayMs) {
  const counts = { overtaken: 0 };
  let descriptionsHeld = 0;
  await page.routeWebSocket(/\/ws$/, (socket) => {
    const server = socket.connectToServer();
    server.onMessage((text) => {
      const message = JSON.parse(String(text));
      if (message.type === 'signal' && message.data?.description) {
        descriptionsHeld += 1;
        setTimeout(() => {
          descriptionsHeld -= 1;
          socket.send(text);
        }, delayMs);
        return;
      }
      if (message.type === 'signal' && message.data?.candidate && descriptionsHeld > 0) counts.overtaken += 1;
      socket.send(text);
    });
    socket.onMessage((text) => server.send(text));
  });
  return counts;
}

test('ICE candidates that overtake their description are kept', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('candidates before description', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    const warnings = [];
    ben.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    const counts = await letCandidatesOvertake(ben, 800);

    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(ben);
    await waitForDecodedVideo(anna);
    assert.ok(counts.overtaken > 0, 'some candidates reached Ben before their description');

    // Ben applied Anna's candidates: his side lists her host candidate, not
    // only addresses learned from her connectivity checks.
    const remoteTypes = await ben.evaluate(async () => {
      const [pc] = window.__videoCall.peerConnections.values();
      const report = await pc.getStats();
      const types = [];
      report.forEach((stats) => {
        if (stats.type === 'remote-candidate') types.push(stats.candidateType);
      });
      return types;
    });
    assert.ok(remoteTypes.includes('host'), `remote candidate types on Ben's side: ${JSON.stringify(remoteTypes)}`);
    assert.deepEqual(warnings.filter((text) => text.includes('ICE candidate')), [], 'no candidate was rejected');
  });
});

/**
 * Holds back the `joined` reply to `page` until `release` is called, while
 * every later message passes, as when the server handles two joins side by
 * side. Counts the `peer-joined` and `signal` messages that overtake it.
 */
async function holdJoined(page) {
  const joinedHold = { joined: false, overtaking: { 'peer-joined': 0, signal: 0 }, release: () => {} };
  await page.routeWebSocket(/\/ws$/, (socket) => {
    const server = socket.connectToServer();
    /** @type {string | null} */
    let joined = null;
    server.onMessage((text) => {
      const message = JSON.parse(String(text));
      if (message.type === 'joined' && !joinedHold.joined) {
        joinedHold.joined = true;
        joined = String(text);
        return;
      }
      if (joined !== null && message.type in joinedHold.overtaking) joinedHold.overtaking[message.type] += 1;
      socket.send(text);
    });
    socket.onMessage((text) => server.send(text));
    joinedHold.release = () => {
      if (joined !== null) socket.send(joined);
      joined = null;
    };
  });
  return joinedHold;
}

test('someone who joins at the same moment is neither missed nor nameless', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('simultaneous joins', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    const joinedHold = await holdJoined(anna);

    await openJoinPage(anna, room.joinUrl);
    await anna.getByTestId('display-name').fill('Anna');
    await anna.getByTestId('join').click();
    await waitFor(async () => joinedHold.joined, { description: "the server's joined reply to Anna" });
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitFor(async () => joinedHold.overtaking['peer-joined'] === 1 && joinedHold.overtaking.signal > 0, {
      description: "Ben's arrival and first signal reaching Anna before her joined",
      diagnose: async () => JSON.stringify(joinedHold.overtaking),
    });
    joinedHold.release();

    await waitForState(anna, 'in-call');
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);
    const names = await anna.locator('.tile-remote:visible .tile-name').allTextContents();
    assert.deepEqual(names, ['Ben'], "Anna's page names Ben's tile");
    const arrival = anna.locator('.call-notice').filter({ hasText: 'Ben' });
    await waitFor(async () => (await arrival.count()) === 1, {
      description: 'a notice on Anna\'s page that Ben joined',
      diagnose: () => describePage(anna),
    });
  });
});

test('camera and microphone off are shown to the other side', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('media state shown', async (resources) => {
    const { anna, ben } = await startTwoPersonCall(resources);
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);

    // Anna gets a visible notice that Ben joined.
    const arrival = anna.locator('.call-notice').filter({ hasText: 'Ben' });
    await waitFor(async () => (await arrival.count()) === 1, {
      description: 'a visible notice that Ben joined',
      diagnose: () => describePage(anna),
    });

    const cameraOff = ben.locator('.tile-indicator-camera');
    const microphoneOff = ben.locator('.tile-indicator-microphone');
    assert.equal(await cameraOff.isVisible(), false, 'no camera-off label while Anna sends video');

    await anna.locator('#camera-button').click();
    await anna.locator('#microphone-button').click();
    await waitFor(async () => (await cameraOff.isVisible()) && (await microphoneOff.isVisible()), {
      description: 'Ben sees that Anna turned camera and microphone off',
      diagnose: () => describePage(ben),
    });

    await anna.locator('#camera-button').click();
    await waitFor(async () => !(await cameraOff.isVisible()), {
      description: 'the camera-off label disappears when Anna turns the camera on',
      diagnose: () => describePage(ben),
    });
    assert.equal(await microphoneOff.isVisible(), true, 'the microphone is still off');
  });
});

test('room of tomorrow is rejected with its date', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('room tomorrow rejected', async (resources) => {
    const server = await resources.startServer();
    const timeZone = pickDaytimeTimeZone();
    const tomorrow = addDays(dateInTimeZone(timeZone), 1);
    const room = await createRoom(server, { timeZone, date: tomorrow });
    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { locale: 'de-DE', label: 'visitor' });

    await page.goto(room.joinUrl);
    const error = page.getByTestId('error');
    await waitFor(async () => (await error.isVisible()) && (await error.textContent()).includes(germanDate(tomorrow)), {
      description: `the error element showing ${germanDate(tomorrow)}`,
      diagnose: () => describePage(page),
    });
    assert.equal(await pageState(page), 'error');

    const join = page.getByTestId('join');
    const joinUsable = (await join.count()) > 0 && (await join.isVisible()) && (await join.isEnabled());
    assert.equal(joinUsable, false, 'the join button is absent, hidden or disabled');
  });
});

test('ninth participant is rejected as room full', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('ninth participant rejected', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const token = linkToken(room.joinUrl);

    const sockets = [];
    for (let index = 1; index <= MAX_PARTICIPANTS; index += 1) {
      const { socket, joined } = await resources.joinWithSocket(server, token, `Idle ${index}`);
      assert.equal(joined.peers.length, index - 1, `participant ${index} sees the ${index - 1} before it`);
      sockets.push(socket);
    }

    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { locale: 'de-DE', label: 'ninth' });
    await openJoinPage(page, room.joinUrl);
    await page.getByTestId('display-name').fill('Neunte Person');
    await page.getByTestId('join').click();

    await waitForState(page, 'error');
    const error = page.getByTestId('error');
    assert.equal(await error.isVisible(), true, 'the error element is visible');
    const text = await error.textContent();
    assert.match(text, /voll/, `the error says the room is full, got ${JSON.stringify(text)}`);
    assert.match(text, /\b8\b/, `the error names the limit of 8, got ${JSON.stringify(text)}`);
    assert.equal(await page.getByTestId('remote-video').count(), 0, 'the rejected page shows no remote video');

    // A wrongly removed participant's socket closes shortly after the rejection.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const open = sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length;
    assert.equal(open, MAX_PARTICIPANTS, 'the eight participants stay connected');
  });
});

test('leaving removes the video on the other side', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('leave removes video', async (resources) => {
    const { anna, ben } = await startTwoPersonCall(resources);
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);
    await waitForRemoteVideoCount(ben, 1);

    await anna.getByTestId('leave').click();
    await waitForState(anna, 'left');
    await waitForRemoteVideoCount(ben, 0);
    assert.equal(await pageState(ben), 'in-call', 'Ben stays in the call alone');
    assert.equal(await anna.getByTestId('remote-video').count(), 0, 'Anna shows no remote video after leaving');
  });
});

test('small call window keeps buttons and names clear', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('small call window', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    // The practitioner's call window near the webcam is this small.
    const anna = await resources.openPage(browser, { label: 'anna' });
    await anna.setViewportSize({ width: 480, height: 360 });
    const ben = await resources.openPage(browser, { label: 'ben' });
    await joinCall(anna, room.joinUrl, 'Dr. Anna Weber');
    await joinCall(ben, room.joinUrl, 'Maximilian Alexander Müller-Lüdenscheidt');

    const notice = anna.locator('.call-notice').first();
    await waitFor(async () => notice.isVisible(), { description: 'the join notice', diagnose: () => describePage(anna) });
    // The notice slides in; its place counts once it has arrived.
    await notice.evaluate((element) => Promise.all(element.getAnimations().map((animation) => animation.finished)));
    const noticeBox = await notice.boundingBox();
    for (const button of ['.tile-remote .tile-security', '.tile-remote .tile-fullscreen']) {
      const box = await anna.locator(button).boundingBox();
      assert.ok(box, `${button} is laid out`);
      assert.ok(noticeBox, 'the notice is laid out');
      assert.ok(noticeBox.y >= box.y + box.height, `the notice (top ${noticeBox.y}) stays below ${button} (bottom ${box.y + box.height})`);
    }

    const name = await anna.locator('.tile-remote .tile-name').boundingBox();
    const selfView = await anna.locator('.tile-local').boundingBox();
    assert.ok(name, 'the remote name is laid out');
    assert.ok(selfView, 'the self-view is laid out');
    assert.ok(name.x + name.width <= selfView.x, `the remote name (right ${name.x + name.width}) ends before the self-view (left ${selfView.x})`);
  });
});

test('call controls fit a phone screen', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('call controls on a phone', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const german = await resources.openPage(browser, { locale: 'de-DE', label: 'german' });
    const english = await resources.openPage(browser, { locale: 'en-GB', label: 'english' });
    await joinCall(german, room.joinUrl, 'Anna');
    await joinCall(english, room.joinUrl, 'Ben');

    for (const page of [german, english]) {
      for (const viewport of [{ width: 375, height: 667 }, { width: 320, height: 568 }]) {
        await page.setViewportSize(viewport);
        const where = `${page === german ? 'German' : 'English'} page at ${viewport.width} px`;
        const labels = await page.locator('.controls .control-label').evaluateAll((elements) =>
          elements
            .filter((element) => element.getClientRects().length > 0)
            .map((element) => ({ text: element.textContent, scrollWidth: element.scrollWidth, clientWidth: element.clientWidth })),
        );
        assert.equal(labels.length, 5, `${where}: five labelled controls, got ${JSON.stringify(labels)}`);
        for (const label of labels) {
          assert.ok(label.scrollWidth <= label.clientWidth, `${where}: "${label.text}" is not cut (${JSON.stringify(label)})`);
        }
        const leave = await page.getByTestId('leave').locator('.control-label').evaluate((element) => ({
          scrollWidth: element.scrollWidth,
          clientWidth: element.clientWidth,
        }));
        assert.ok(leave.clientWidth > 0, `${where}: the leave label is shown (${JSON.stringify(leave)})`);
        assert.ok(leave.scrollWidth <= leave.clientWidth, `${where}: the leave label is whole (${JSON.stringify(leave)})`);
        const bar = await page.locator('.controls').evaluate((element) => ({ scrollWidth: element.scrollWidth, clientWidth: element.clientWidth }));
        assert.ok(bar.scrollWidth <= bar.clientWidth, `${where}: the control bar needs no scrolling (${JSON.stringify(bar)})`);
      }
    }
  });
});

test('long chat message is shortened visibly', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('chat length limit', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { locale: 'en-GB', label: 'ben' });
    // Granting permissions replaces the page's earlier grants, so camera and
    // microphone are granted here too, before the call opens them.
    await anna.context().grantPermissions(['camera', 'microphone', 'clipboard-read', 'clipboard-write'], { origin: server.origin });
    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    const input = anna.getByTestId('chat-input');
    const limit = anna.getByTestId('chat-limit');
    assert.equal(await limit.isVisible(), false, 'no note on an empty field');

    // Near the limit, the field counts the characters left.
    await input.fill('a'.repeat(1850));
    await waitForText(anna, limit, (text) => text === 'Noch 150 Zeichen möglich', 'the count of characters left');
    const englishInput = ben.getByTestId('chat-input');
    const englishLimit = ben.getByTestId('chat-limit');
    await englishInput.fill('a'.repeat(1850));
    await waitForText(ben, englishLimit, (text) => text === '150 characters left', 'the English count of characters left');
    await englishInput.fill('a'.repeat(1999));
    await waitForText(ben, englishLimit, (text) => text === '1 character left', 'the English count in the singular');
    await input.fill('a'.repeat(2000));
    await waitForText(anna, limit, (text) => text === 'Keine weiteren Zeichen möglich', 'the full field');
    await englishInput.fill('');
    assert.equal(await input.getAttribute('aria-describedby'), 'chat-limit');

    // A pasted text longer than the limit is cut there, and a note under the field explains it.
    await input.fill('');
    const long = `${'Befund '.repeat(300)}Ende`;
    await anna.evaluate((text) => navigator.clipboard.writeText(text), long);
    await input.focus();
    await anna.keyboard.press('Control+V');
    assert.equal((await input.inputValue()).length, 2000, 'the field holds 2000 characters');
    assert.equal(
      await waitForText(anna, limit, (text) => text !== '', 'the note on the shortened text'),
      'Nachrichten können höchstens 2000 Zeichen lang sein. Der eingefügte Text wurde deshalb gekürzt.',
    );
    assert.equal(await limit.isVisible(), true);

    // The receiving side accepts the longest message, and sending clears the note.
    await anna.getByTestId('chat-send').click();
    const received = await waitForChatMessage(ben, 'Befund Befund');
    assert.equal((await received.locator('.chat-text').textContent()).length, 2000, 'Ben gets all 2000 characters');
    await waitFor(async () => !(await limit.isVisible()), { description: 'the note to go after sending', diagnose: () => describePage(anna) });
  });
});

/** Waits until `locator` shows a text that, trimmed, satisfies `check` and returns it. */
async function waitForText(page, locator, check, description) {
  let lastText = '';
  return waitFor(
    async () => {
      lastText = ((await locator.isVisible()) ? await locator.textContent() : '')?.trim() ?? '';
      return check(lastText) ? lastText : null;
    },
    { description, diagnose: async () => `last text: ${JSON.stringify(lastText)}\n${await describePage(page)}` },
  );
}

/** Waits until the list `selector` on `page` offers exactly the entries `expected`. */
async function waitForOptions(page, selector, expected) {
  let options = [];
  await waitFor(
    async () => {
      options = await page.locator(`${selector} option`).allTextContents();
      return JSON.stringify(options) === JSON.stringify(expected);
    },
    { description: `the entries ${JSON.stringify(expected)} in ${selector}`, diagnose: async () => `entries: ${JSON.stringify(options)}\n${await describePage(page)}` },
  );
}

/** Returns the texts of the buttons that the error on the join page offers. */
async function errorActions(page) {
  return page.locator('#error-actions button').allTextContents();
}

/** Returns the id, or else the text, of the element that has the focus on `page`. */
async function focusedElement(page) {
  return page.evaluate(() => {
    const active = document.activeElement;
    if (!active || active === document.body) return 'body';
    return active.id || active.textContent?.trim() || active.tagName;
  });
}

test('blocked microphone offers no audio only', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('blocked microphone', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    // Headless Chromium without the fake prompt denies camera and microphone.
    const browser = await resources.launchBrowser({ acceptMediaPrompts: false });

    const blocked = await resources.openPage(browser, { label: 'both blocked' });
    await openJoinPage(blocked, room.joinUrl);
    await waitForText(blocked, blocked.getByTestId('error'), (text) => text.includes('Kamera und Mikrofon nicht'), 'the denied-access message');
    assert.deepEqual(await errorActions(blocked), ['Erneut versuchen', 'Ohne Kamera und Mikrofon teilnehmen']);
    // Trying again from the keyboard fails again, and the focus stays on the new buttons.
    await blocked.getByRole('button', { name: 'Erneut versuchen' }).focus();
    await blocked.keyboard.press('Enter');
    await waitFor(async () => (await focusedElement(blocked)) === 'Erneut versuchen', {
      description: 'the focus on "Erneut versuchen" after the failed retry',
      diagnose: async () => `focus: ${await focusedElement(blocked)}\n${await describePage(blocked)}`,
    });
    assert.deepEqual(await errorActions(blocked), ['Erneut versuchen', 'Ohne Kamera und Mikrofon teilnehmen']);

    // With the microphone allowed, only the camera is blocked, and audio only stays.
    const cameraBlocked = await resources.openPage(browser, { label: 'camera blocked' });
    await cameraBlocked.context().grantPermissions(['microphone'], { origin: server.origin });
    await openJoinPage(cameraBlocked, room.joinUrl);
    await waitForText(cameraBlocked, cameraBlocked.getByTestId('error'), (text) => text.includes('Zugriff auf die Kamera nicht'), 'the camera message');
    assert.deepEqual(await errorActions(cameraBlocked), ['Erneut versuchen', 'Nur mit Ton teilnehmen', 'Ohne Kamera und Mikrofon teilnehmen']);
    await cameraBlocked.getByRole('button', { name: 'Nur mit Ton teilnehmen' }).click();
    await waitFor(async () => (await focusedElement(cameraBlocked)) === 'display-name', {
      description: 'the focus on the name field',
      diagnose: async () => `focus: ${await focusedElement(cameraBlocked)}\n${await describePage(cameraBlocked)}`,
    });
    assert.equal(await cameraBlocked.getByTestId('error').isVisible(), false, 'no error before the name could be typed');
    assert.equal(await cameraBlocked.locator('#media-note').textContent(), 'Sie nehmen nur mit Ton teil.');
    // The browser hides the cameras, so the list names none.
    await waitForOptions(cameraBlocked, '#camera-select', ['Zugriff nicht erlaubt']);
    await cameraBlocked.getByTestId('display-name').fill('Carla');
    await cameraBlocked.getByTestId('join').click();
    await waitForState(cameraBlocked, 'in-call');

    // A browser that cannot report the microphone's permission still offers
    // audio only. When that fails too, the focus moves to the next choice.
    const unknown = await resources.openPage(browser, { label: 'permission unknown' });
    await unknown.addInitScript(() => {
      navigator.permissions.query = () => Promise.reject(new TypeError('unsupported permission name'));
    });
    await openJoinPage(unknown, room.joinUrl);
    await waitForText(unknown, unknown.getByTestId('error'), (text) => text.includes('Kamera und Mikrofon nicht'), 'the denied-access message');
    await unknown.getByRole('button', { name: 'Nur mit Ton teilnehmen' }).click();
    await waitFor(async () => (await focusedElement(unknown)) === 'Erneut versuchen', {
      description: 'the focus on "Erneut versuchen" after audio only failed',
      diagnose: async () => `focus: ${await focusedElement(unknown)}\n${await describePage(unknown)}`,
    });
    assert.deepEqual(await errorActions(unknown), ['Erneut versuchen', 'Ohne Kamera und Mikrofon teilnehmen']);
  });
});

test('joining without devices asks for the name', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('joining without devices', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser({ acceptMediaPrompts: false });
    const page = await resources.openPage(browser, { label: 'without devices' });
    await openJoinPage(page, room.joinUrl);
    await waitForText(page, page.getByTestId('error'), (text) => text.includes('Kamera und Mikrofon nicht'), 'the denied-access message');
    assert.equal(await page.locator('#microphone-select').isVisible(), true, 'the device lists show before the choice');

    await page.getByRole('button', { name: 'Ohne Kamera und Mikrofon teilnehmen' }).click();
    await waitFor(async () => (await focusedElement(page)) === 'display-name', {
      description: 'the focus on the name field',
      diagnose: async () => `focus: ${await focusedElement(page)}\n${await describePage(page)}`,
    });
    assert.equal(await page.getByTestId('error').isVisible(), false, 'no error before the name could be typed');
    assert.equal(await page.getByTestId('display-name').getAttribute('aria-invalid'), null);
    assert.match(await page.locator('#media-note').textContent(), /^Sie nehmen ohne Kamera und Mikrofon teil\./);
    assert.equal(await page.locator('#microphone-select').isVisible(), false, 'no microphone list');
    assert.equal(await page.locator('#camera-select').isVisible(), false, 'no camera list');

    // The name is checked when the visitor joins.
    await page.getByTestId('join').click();
    await waitForText(page, page.getByTestId('error'), (text) => text === 'Bitte geben Sie Ihren Namen ein.', 'the missing-name message');
    await page.getByTestId('display-name').fill('Dana');
    await page.getByTestId('join').click();
    await waitForState(page, 'in-call');

    // The own tile distinguishes a missing microphone and camera from switched-off ones.
    assert.equal(await page.locator('#local-muted').isVisible(), true);
    assert.equal((await page.locator('#local-muted').textContent()).trim(), 'Ohne Mikrofon');
    assert.equal(await page.locator('#local-placeholder').isVisible(), true);
    assert.equal(await page.locator('#local-placeholder').textContent(), 'Ohne Kamera');

    // The device lists in the call name no device that the browser hides.
    await page.locator('#devices-button').click();
    await waitForOptions(page, '#call-microphone-select', ['Zugriff nicht erlaubt']);
    await waitForOptions(page, '#call-camera-select', ['Zugriff nicht erlaubt']);
  });
});

test('call start focuses the microphone button', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('focus at call start', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    await joinCall(anna, room.joinUrl, 'Anna');
    await waitFor(async () => (await focusedElement(anna)) === 'microphone-button', {
      description: 'the focus on the microphone button',
      diagnose: async () => `focus: ${await focusedElement(anna)}\n${await describePage(anna)}`,
    });

    // Later events of the call leave the focus where the visitor put it.
    await anna.getByTestId('chat-input').click();
    assert.equal(await focusedElement(anna), 'chat-input');
    const ben = await resources.openPage(browser, { label: 'ben' });
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(anna);
    assert.equal(await focusedElement(anna), 'chat-input', 'the focus stays in the chat');
  });
});

test('closed room names its zone', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('closed room zone', async (resources) => {
    const server = await resources.startServer();
    const browser = await resources.launchBrowser();
    /** Opens `joinUrl` in a browser in `timezoneId` and returns the text shown. */
    const closedText = async (joinUrl, { timezoneId, locale = 'de-DE', status }) => {
      const page = await resources.openPage(browser, { locale, timezoneId, label: `visitor in ${timezoneId}` });
      if (status) {
        // The server's reply to `check` for a room whose day is over.
        await page.routeWebSocket(/\/ws$/, (socket) => {
          socket.onMessage(() => socket.send(JSON.stringify({ type: 'status', ...status })));
        });
      }
      await page.goto(joinUrl);
      await waitForState(page, 'error', WAIT_TIMEOUT_MS);
      return (await page.getByTestId('error').textContent()).trim();
    };
    /** Returns "DD.MM.YYYY" and "HH:MM" of `instant` in `timeZone`. */
    const local = (instant, timeZone) => {
      const [date, time] = new Intl.DateTimeFormat('en-CA', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })
        .format(new Date(instant))
        .split(', ');
      return { date: date.split('-').reverse().join('.'), time };
    };

    // A room of tomorrow in Auckland starts on another date and hour in Berlin.
    const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000);
    const auckland = await createRoom(server, { timeZone: 'Pacific/Auckland', date: dateInTimeZone('Pacific/Auckland', tomorrow) });
    const roomDate = auckland.date.split('-').reverse().join('.');
    const opens = local(auckland.validFrom, 'Europe/Berlin');
    assert.equal(
      await closedText(auckland.joinUrl, { timezoneId: 'Europe/Berlin' }),
      `Dieser Link gilt erst am ${roomDate} (Ortszeit Auckland). Bei Ihnen beginnt dieser Tag am ${opens.date} um ${opens.time}\u00a0Uhr. Bitte öffnen Sie ihn dann noch einmal.`,
    );
    // In the room's own zone, the date alone is clear.
    assert.equal(
      await closedText(auckland.joinUrl, { timezoneId: 'Pacific/Auckland' }),
      `Dieser Link gilt erst am ${roomDate}. Bitte öffnen Sie ihn an diesem Tag noch einmal.`,
    );

    // A Berlin room whose day has ended, seen from Kolkata and in English.
    const status = {
      state: 'expired',
      date: '2026-12-04',
      timeZone: 'Europe/Berlin',
      validFrom: '2026-12-03T23:00:00Z',
      validUntil: '2026-12-04T23:00:00Z',
    };
    const room = await createRoom(server);
    assert.equal(
      await closedText(room.joinUrl, { timezoneId: 'Asia/Kolkata', status }),
      'Dieser Link war nur am 04.12.2026 (Ortszeit Berlin) gültig, bei Ihnen also bis 05.12.2026 um 04:30\u00a0Uhr. Wenn Sie einen neuen Termin brauchen, wenden Sie sich bitte an Ihre Praxis.',
    );
    assert.equal(
      await closedText(room.joinUrl, { timezoneId: 'Asia/Kolkata', locale: 'en-GB', status }),
      'This link was valid on 4 December 2026 only (Berlin time), which for you was until 5 December 2026 at 04:30. If you need a new appointment, please contact your practice.',
    );

    // Vienna's clock agrees with Berlin's, so a Vienna room needs no zone in Berlin.
    const viennaStatus = {
      state: 'not-yet-open',
      date: '2026-12-07',
      timeZone: 'Europe/Vienna',
      validFrom: '2026-12-06T23:00:00Z',
      validUntil: '2026-12-07T23:00:00Z',
    };
    assert.equal(
      await closedText(room.joinUrl, { timezoneId: 'Europe/Berlin', status: viennaStatus }),
      'Dieser Link gilt erst am 07.12.2026. Bitte öffnen Sie ihn an diesem Tag noch einmal.',
    );
    assert.equal(
      await closedText(room.joinUrl, { timezoneId: 'Europe/Berlin', locale: 'en-GB', status: { ...viennaStatus, state: 'expired' } }),
      'This link was valid on 7 December 2026 only. If you need a new appointment, please contact your practice.',
    );

    // A zone that is named after no place, such as UTC, is named as a zone.
    const utcStatus = { ...status, timeZone: 'UTC', validFrom: '2026-12-04T00:00:00Z', validUntil: '2026-12-05T00:00:00Z' };
    assert.equal(
      await closedText(room.joinUrl, { timezoneId: 'Europe/Berlin', status: utcStatus }),
      'Dieser Link war nur am 04.12.2026 (Zeitzone UTC) gültig, bei Ihnen also bis 05.12.2026 um 01:00\u00a0Uhr. Wenn Sie einen neuen Termin brauchen, wenden Sie sich bitte an Ihre Praxis.',
    );
    assert.equal(
      await closedText(room.joinUrl, { timezoneId: 'Europe/Berlin', locale: 'en-GB', status: utcStatus }),
      'This link was valid on 4 December 2026 only (time zone UTC), which for you was until 5 December 2026 at 01:00. If you need a new appointment, please contact your practice.',
    );
  });
});

test('unknown link is rejected', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('unknown link rejected', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { locale: 'de-DE', label: 'visitor' });

    // A token is "<room id>.<signature>". Changing the first signature
    // character keeps the token's shape but breaks its signature.
    const token = linkToken(room.joinUrl);
    const signatureStart = token.indexOf('.') + 1;
    assert.ok(signatureStart > 0, `token ${token} has the form "<room id>.<signature>"`);
    const replacement = token[signatureStart] === 'A' ? 'B' : 'A';
    const forged = token.slice(0, signatureStart) + replacement + token.slice(signatureStart + 1);
    await page.goto(`${server.origin}/join#${forged}`);

    await waitForState(page, 'error', WAIT_TIMEOUT_MS);
    assert.equal(await page.getByTestId('error').isVisible(), true, 'the error element is visible');
    assert.match((await page.getByTestId('error').textContent()).trim(), /^Dieser Link ist ungültig oder abgelaufen\. /);
    const join = page.getByTestId('join');
    const joinUsable = (await join.count()) > 0 && (await join.isVisible()) && (await join.isEnabled());
    assert.equal(joinUsable, false, 'the join button is absent, hidden or disabled');

    const english = await resources.openPage(browser, { locale: 'en-US', label: 'english visitor' });
    await english.goto(`${server.origin}/join#${forged}`);
    await waitForState(english, 'error', WAIT_TIMEOUT_MS);
    assert.match((await english.getByTestId('error').textContent()).trim(), /^This link is invalid or has expired\. /);
  });
});

test('unread chat reaches screen readers', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('unread chat on a phone', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { locale: 'en-GB', label: 'ben' });
    // On a phone the chat panel is closed until the visitor opens it.
    await anna.setViewportSize({ width: 375, height: 667 });
    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(anna);
    const chatButton = anna.locator('#chat-button');
    const announcer = anna.locator('#announcer');
    assert.equal(await anna.locator('#chat-panel').isVisible(), false, 'the chat is closed');
    assert.equal(await chatButton.getAttribute('aria-label'), 'Chat öffnen oder schließen');

    await sendChat(ben, 'Guten Tag');
    await waitFor(async () => (await chatButton.getAttribute('aria-label')) === 'Chat öffnen, 1 neue Nachricht', {
      description: 'the unread message in the chat button\'s name',
      diagnose: async () => `label: ${await chatButton.getAttribute('aria-label')}\n${await describePage(anna)}`,
    });
    assert.equal(await anna.getByRole('button', { name: 'Chat öffnen, 1 neue Nachricht' }).count(), 1);
    assert.match(await chatButton.ariaSnapshot(), /button "Chat öffnen, 1 neue Nachricht"/);
    await waitForText(anna, announcer, (text) => text === 'Neue Chatnachricht von Ben: Guten Tag', 'the announcement of the message');
    // The live region is in the visible part of the page, not in the closed panel.
    const liveRegion = await announcer.evaluate((element) => ({
      live: element.getAttribute('aria-live'),
      hidden: element.closest('[hidden], [aria-hidden="true"]') !== null,
      rendered: element.checkVisibility(),
    }));
    assert.deepEqual(liveRegion, { live: 'polite', hidden: false, rendered: true });

    await sendChat(ben, 'Können Sie mich hören?');
    await waitFor(async () => (await chatButton.getAttribute('aria-label')) === 'Chat öffnen, 2 neue Nachrichten', {
      description: 'two unread messages in the chat button\'s name',
      diagnose: async () => `label: ${await chatButton.getAttribute('aria-label')}\n${await describePage(anna)}`,
    });
    await waitForText(anna, announcer, (text) => text.endsWith('Können Sie mich hören?'), 'the announcement of the second message');

    await chatButton.click();
    assert.equal(await chatButton.getAttribute('aria-label'), 'Chat öffnen oder schließen', 'read once the chat is open');

    // English, with the note above the messages.
    await ben.setViewportSize({ width: 375, height: 667 });
    assert.equal(
      (await ben.locator('.chat-note').textContent()).trim(),
      'Messages are sent end-to-end encrypted to the others in the call and are not stored.',
    );
    await sendChat(anna, 'Ja');
    await waitFor(async () => (await ben.locator('#chat-button').getAttribute('aria-label')) === 'Open the chat, 1 new message', {
      description: 'the English name of the chat button',
      diagnose: async () => `label: ${await ben.locator('#chat-button').getAttribute('aria-label')}\n${await describePage(ben)}`,
    });
    await waitForText(ben, ben.locator('#announcer'), (text) => text === 'New chat message from Anna: Ja', 'the English announcement');
  });
});

test('waiting note follows who left', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('waiting note after leaving', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const note = anna.locator('#waiting-note');
    await joinCall(anna, room.joinUrl, 'Anna');
    assert.equal(
      await waitForText(anna, note, (text) => text !== '', 'the note on joining'),
      'Sie sind dem Gespräch beigetreten. Sobald weitere Personen dazukommen, sehen Sie sie hier.',
    );

    const ben = await resources.openPage(browser, { label: 'ben' });
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForRemoteVideoCount(anna, 1);
    await waitFor(async () => !(await note.isVisible()), { description: 'the note to go', diagnose: () => describePage(anna) });

    await ben.getByTestId('leave').click();
    assert.equal(
      await waitForText(anna, note, (text) => text !== '', 'the note after Ben left'),
      'Alle anderen haben das Gespräch verlassen. Sobald wieder jemand dazukommt, sehen Sie die Person hier.',
    );

    // Joining anew starts over.
    await anna.getByTestId('leave').click();
    await waitForState(anna, 'left');
    await anna.locator('#rejoin-button').click();
    await waitForState(anna, 'in-call');
    assert.equal(
      await waitForText(anna, note, (text) => text !== '', 'the note on joining again'),
      'Sie sind dem Gespräch beigetreten. Sobald weitere Personen dazukommen, sehen Sie sie hier.',
    );

    const english = await resources.openPage(browser, { locale: 'en-GB', label: 'english' });
    await joinCall(english, room.joinUrl, 'Carla');
    await waitForRemoteVideoCount(english, 1);
    await anna.getByTestId('leave').click();
    assert.equal(
      await waitForText(english, english.locator('#waiting-note'), (text) => text !== '', 'the English note after Anna left'),
      'Everyone else has left the call. As soon as someone joins again, you will see them here.',
    );
  });
});

test('plain http names the practice', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('insecure join page', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    // Chromium counts http on 127.0.0.1 as secure, but not on another host
    // name, which this rule resolves to the same loopback address.
    const browser = await resources.launchBrowser({ extraArgs: ['--host-resolver-rules=MAP video.test 127.0.0.1'] });
    const insecureUrl = new URL(room.joinUrl);
    insecureUrl.hostname = 'video.test';
    for (const [locale, expected] of [
      [
        'de-DE',
        'Kamera und Mikrofon sind nur über eine sichere Verbindung (https) verfügbar, diese Seite wurde aber über eine unsichere Verbindung (http) geöffnet. ' +
          'Bitte wenden Sie sich an Ihre Praxis: Die Adresse des Links muss mit „https://“ beginnen.',
      ],
      [
        'en-GB',
        'Camera and microphone are available only over a secure connection (https), but this page was opened over an insecure connection (http). ' +
          'Please contact your practice: the address of the link must start with “https://”.',
      ],
    ]) {
      const page = await resources.openPage(browser, { locale, label: locale });
      await page.goto(insecureUrl.href);
      assert.equal(await page.evaluate(() => window.isSecureContext), false, 'the page is not a secure context');
      await waitForState(page, 'error');
      assert.equal(await waitForText(page, page.getByTestId('error'), (text) => text !== '', 'the error'), expected);
    }
  });
});
