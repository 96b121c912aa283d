// Controller of the practitioner console (index.html): create rooms, list
// them, copy their links and open a call window.

import { applyTranslations, formatDate, locale, t } from './i18n.js';
import { byId, createButton, fillSelect } from './dom.js';

/**
 * @typedef {{ name: string, email: string, locale: 'de' | 'en' }} Invitee
 * @typedef {{ id: string, date: string, startTime?: string, timeZone: string, title?: string,
 *   patientId?: string, invitees: Invitee[], joinUrl: string, validFrom: string,
 *   validUntil: string, createdAt: string }} Room
 * @typedef {{ date: string, startTime?: string, timeZone: string, title?: string,
 *   invitees?: Invitee[], patientId?: string }} CreateRoomRequest
 * @typedef {{ error: string, message: string, field?: string }} ErrorBody
 * @typedef {{ text: string, help?: string, details?: string, control?: HTMLElement }} UserMessage
 * @typedef {import('./i18n.js').MessageKey} MessageKey
 */

/** sessionStorage key of the API token. It stays in this tab only. */
const STORAGE_TOKEN = 'videoCall.apiToken';

const DEFAULT_TIME_ZONE = 'Europe/Berlin';

/** Number of days the room list shows from today by default. */
const LIST_DAYS = 30;

// Limits of the rooms API, checked here before sending so that the form can
// name the field at fault. The server checks them again.
/** Maximum length of a room title, in characters. */
const MAX_TITLE_LENGTH = 200;
/** Maximum length of a patient id, in characters. */
const MAX_PATIENT_ID_LENGTH = 128;
/** A patient id is printable ASCII without spaces (0x21 to 0x7E). */
const PATIENT_ID_PATTERN = /^[\x21-\x7E]+$/;
/** Invitees per room, equal to the participant limit of a room. */
const MAX_INVITEES = 8;
/** Maximum number of days from today to a room's date. */
const MAX_DAYS_AHEAD = 400;
/** Maximum length of the room list's period, in days. */
const MAX_LIST_DAYS = 400;

/**
 * Size of the call window, small enough to sit near the webcam. The join
 * page has a compact layout that fits it without scrolling.
 */
const CALL_WINDOW_WIDTH = 480;
const CALL_WINDOW_HEIGHT = 360;

const ui = {
  error: byId('console-error', HTMLElement),
  tokenForm: byId('token-form', HTMLFormElement),
  tokenInput: byId('api-token', HTMLInputElement),
  createForm: byId('create-form', HTMLFormElement),
  dateInput: byId('room-date', HTMLInputElement),
  startTimeInput: byId('room-start-time', HTMLInputElement),
  timeZoneSelect: byId('room-time-zone', HTMLSelectElement),
  titleInput: byId('room-title', HTMLInputElement),
  patientIdInput: byId('room-patient-id', HTMLInputElement),
  inviteeRows: byId('invitee-rows', HTMLElement),
  addInviteeButton: byId('add-invitee', HTMLButtonElement),
  inviteeLimit: byId('invitee-limit', HTMLElement),
  createButton: byId('create-button', HTMLButtonElement),
  createdRoom: byId('created-room', HTMLElement),
  createdLink: byId('created-link', HTMLInputElement),
  copyCreatedLink: byId('copy-created-link', HTMLButtonElement),
  startCreatedCall: byId('start-created-call', HTMLButtonElement),
  createStatus: byId('create-status', HTMLElement),
  listForm: byId('list-form', HTMLFormElement),
  listFrom: byId('list-from', HTMLInputElement),
  listTo: byId('list-to', HTMLInputElement),
  listStatus: byId('list-status', HTMLElement),
  roomTable: byId('room-table', HTMLTableElement),
  roomRows: byId('room-rows', HTMLTableSectionElement),
};

/**
 * A failed API request: the HTTP status, 0 when no response arrived, and the
 * error body when the server sent one.
 */
class ApiError extends Error {
  /**
   * @param {number} status
   * @param {ErrorBody | null} body
   */
  constructor(status, body) {
    super(body ? `${body.error}: ${body.message}` : `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

/** An entry that the form rejects before sending, with text for the user. */
class InputError extends Error {
  /** @param {UserMessage} userMessage */
  constructor(userMessage) {
    super(userMessage.text);
    this.name = 'InputError';
    this.userMessage = userMessage;
  }
}

/** Today's date in the chosen time zone, while the date field still shows it. */
let defaultDate = '';

/** The invitee rows that the last create request sent, in request order. */
/** @type {Element[]} */
let sentInviteeRows = [];

/** The control marked with aria-invalid by the error shown now. */
/** @type {HTMLInputElement | HTMLSelectElement | null} */
let invalidControl = null;

/** Id of the message shown under the invalid control. */
const FIELD_ERROR_ID = 'field-error';

/**
 * Returns today's date in `timeZone` as "YYYY-MM-DD".
 *
 * @param {string} timeZone IANA name, such as Europe/Berlin
 * @returns {string}
 */
export function todayIn(timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(new Date());
  /** @param {Intl.DateTimeFormatPartTypes} type */
  const part = (type) => parts.find((entry) => entry.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/**
 * Adds days to a "YYYY-MM-DD" date. The arithmetic runs in UTC, where every
 * day has 24 hours, so daylight saving time cannot skip or repeat a day.
 *
 * @param {string} isoDate
 * @param {number} days
 * @returns {string}
 */
export function addDays(isoDate, days) {
  const [year, month, day] = isoDate.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/**
 * Sends an API request with the bearer token and returns the parsed JSON,
 * or null for 204. Throws InputError when the token is missing and ApiError
 * when the request failed or the server rejected it.
 *
 * @param {'GET' | 'POST' | 'DELETE'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
async function callApi(method, path, body) {
  const token = ui.tokenInput.value.trim();
  if (!token) throw new InputError({ text: t('console.missingToken'), control: ui.tokenInput });

  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  /** @type {Response} */
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, null);
  }

  if (response.status === 204) return null;
  /** @type {unknown} */
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, readErrorBody(data));
  return data;
}

/**
 * Returns the API's error body `{ error, message, field }`, or null when
 * `data` has another shape, as from a proxy in front of the server.
 *
 * @param {unknown} data
 * @returns {ErrorBody | null}
 */
function readErrorBody(data) {
  if (typeof data !== 'object' || data === null) return null;
  const { error, message, field } = /** @type {Record<string, unknown>} */ (data);
  if (typeof error !== 'string') return null;
  /** @type {ErrorBody} */
  const body = { error, message: typeof message === 'string' ? message : '' };
  if (typeof field === 'string') body.field = field;
  return body;
}

/**
 * Translates a failed request into text for the user. The server's English
 * message goes only into the details line, for support.
 *
 * @param {ApiError} error
 * @returns {UserMessage}
 */
function describeApiError(error) {
  const { status, body } = error;
  if (status === 0) return { text: t('console.networkError') };
  const details = body?.message ? t('console.errorDetails', { message: body.message }) : undefined;
  const code = body?.error ?? '';

  if (status === 401 || code === 'unauthorized') {
    return { text: t('console.unauthorized'), details, control: ui.tokenInput };
  }
  if (code === 'invalid-field' || code === 'invalid-query') {
    const target = body?.field ? describeField(body.field) : null;
    if (target) {
      return { text: t('console.checkField', { label: target.label }), help: target.help, details, control: target.control };
    }
    if (code === 'invalid-query') {
      return { text: t('console.checkRange'), help: describeRangeProblem(), details, control: ui.listFrom };
    }
    return { text: t('console.checkInput'), details };
  }
  if (status === 413 || code === 'payload-too-large') return { text: t('console.payloadTooLarge'), details };
  if (code === 'not-found') return { text: t('console.roomNotFound'), details };
  if (status >= 500) return { text: t('console.serverUnavailable'), details };
  return { text: t('console.requestFailed', { status }), details };
}

/**
 * Maps a field name of the rooms API to its form control, the control's
 * visible label and a hint on the rule it broke.
 *
 * @param {string} field such as "date", "patientId" or "invitees[1].email"
 * @returns {{ label: string, control: HTMLElement, help?: string } | null}
 */
function describeField(field) {
  switch (field) {
    case 'date':
      return { label: t('console.fieldDate'), control: ui.dateInput, help: describeDateProblem() ?? t('console.hintDateInvalid') };
    case 'startTime':
      return { label: t('console.fieldStartTime'), control: ui.startTimeInput, help: t('console.hintStartTime') };
    case 'timeZone':
      return { label: t('console.fieldTimeZone'), control: ui.timeZoneSelect, help: t('console.hintTimeZone') };
    case 'title':
      return { label: t('console.fieldTitle'), control: ui.titleInput, help: t('console.hintTitle', { max: MAX_TITLE_LENGTH }) };
    case 'patientId':
      return {
        label: t('console.fieldPatientId'),
        control: ui.patientIdInput,
        help: t('console.hintPatientId', { max: MAX_PATIENT_ID_LENGTH }),
      };
    case 'invitees':
      return { label: t('console.fieldInvitees'), control: ui.addInviteeButton, help: t('console.inviteeLimit', { count: MAX_INVITEES }) };
    case 'from':
      return { label: t('console.fieldFrom'), control: ui.listFrom, help: t('console.hintDateInvalid') };
    case 'to':
      return { label: t('console.fieldTo'), control: ui.listTo, help: t('console.hintDateInvalid') };
  }

  const match = /^invitees\[(\d+)\]\.(name|email|locale)$/.exec(field);
  if (!match) return null;
  // The request skips empty rows, so its index can differ from the row's position.
  const row = sentInviteeRows[Number(match[1])];
  const rowNumber = row ? [...ui.inviteeRows.children].indexOf(row) + 1 : Number(match[1]) + 1;
  /** @type {HTMLElement} */
  let control = ui.addInviteeButton;
  const rowControl = row?.querySelector(`[name="${match[2]}"]`);
  if (rowControl instanceof HTMLElement) control = rowControl;
  if (match[2] === 'name') {
    return { label: t('console.fieldInviteeName', { number: rowNumber }), control, help: t('console.hintInviteeName') };
  }
  if (match[2] === 'email') {
    return { label: t('console.fieldInviteeEmail', { number: rowNumber }), control, help: t('console.hintInviteeEmail') };
  }
  return { label: t('console.fieldInviteeLocale', { number: rowNumber }), control };
}

/**
 * Returns what is wrong with the room date for the chosen time zone, or
 * undefined when the date is within the allowed days.
 *
 * @returns {string | undefined}
 */
function describeDateProblem() {
  const date = ui.dateInput.value;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return t('console.hintDateInvalid');
  const today = todayIn(ui.timeZoneSelect.value);
  if (date < today) return t('console.hintDatePast');
  if (date > addDays(today, MAX_DAYS_AHEAD)) return t('console.hintDateTooFar', { days: MAX_DAYS_AHEAD });
  return undefined;
}

/**
 * Returns what is wrong with the period of the room list, or undefined when
 * it is valid.
 *
 * @returns {string | undefined}
 */
function describeRangeProblem() {
  const from = ui.listFrom.value;
  const to = ui.listTo.value;
  if (!from || !to) return t('console.hintDateInvalid');
  if (from > to) return t('console.hintRangeOrder');
  if (to > addDays(from, MAX_LIST_DAYS)) return t('console.hintRangeLength', { days: MAX_LIST_DAYS });
  return undefined;
}

/**
 * Shows an error in the one element with data-testid="error": a sentence
 * for the user, an optional hint on what to do, and the server's message as
 * a small details line. Marks and focuses the control at fault and repeats
 * the hint under it, because on a phone the box at the top of the page is
 * out of sight once the control has the focus.
 *
 * @param {unknown} error
 */
function showError(error) {
  /** @type {UserMessage} */
  let userMessage;
  if (error instanceof InputError) {
    userMessage = error.userMessage;
  } else if (error instanceof ApiError) {
    userMessage = describeApiError(error);
    console.warn(`Console: API request failed: ${error.message}`);
  } else {
    userMessage = { text: t('console.networkError') };
    console.error(error);
  }

  clearError();
  const paragraphs = [paragraph('error-text', userMessage.text)];
  if (userMessage.help) paragraphs.push(paragraph('error-help', userMessage.help));
  if (userMessage.details) paragraphs.push(paragraph('error-details', userMessage.details));
  ui.error.replaceChildren(...paragraphs);
  ui.error.hidden = false;

  const control = userMessage.control;
  if (control instanceof HTMLInputElement || control instanceof HTMLSelectElement) markInvalid(control, userMessage.help ?? userMessage.text);
  control?.focus();
}

/**
 * Sets aria-invalid on a control and shows `text` right after it, linked
 * through aria-describedby.
 *
 * @param {HTMLInputElement | HTMLSelectElement} control
 * @param {string} text
 */
function markInvalid(control, text) {
  invalidControl = control;
  control.setAttribute('aria-invalid', 'true');
  const message = paragraph('field-error', text);
  message.id = FIELD_ERROR_ID;
  control.after(message);
  const describedBy = control.getAttribute('aria-describedby');
  control.setAttribute('aria-describedby', describedBy ? `${FIELD_ERROR_ID} ${describedBy}` : FIELD_ERROR_ID);
}

/** Takes the invalid mark and the message under it away from the control. */
function unmarkInvalid() {
  if (!invalidControl) return;
  invalidControl.removeAttribute('aria-invalid');
  const describedBy = (invalidControl.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .filter((id) => id !== '' && id !== FIELD_ERROR_ID)
    .join(' ');
  if (describedBy) invalidControl.setAttribute('aria-describedby', describedBy);
  else invalidControl.removeAttribute('aria-describedby');
  document.getElementById(FIELD_ERROR_ID)?.remove();
  invalidControl = null;
}

/**
 * @param {string} className
 * @param {string} text
 * @returns {HTMLParagraphElement}
 */
function paragraph(className, text) {
  const element = document.createElement('p');
  element.className = className;
  element.textContent = text;
  return element;
}

function clearError() {
  ui.error.hidden = true;
  ui.error.replaceChildren();
  unmarkInvalid();
}

// ---------------------------------------------------------------------------
// Invitees

function addInviteeRow() {
  if (ui.inviteeRows.children.length >= MAX_INVITEES) return;
  const row = document.createElement('div');
  row.className = 'invitee-row';
  const index = ui.inviteeRows.children.length + 1;

  /**
   * @param {string} labelText
   * @param {HTMLInputElement | HTMLSelectElement} control
   */
  const field = (labelText, control) => {
    const wrapper = document.createElement('div');
    wrapper.className = 'field';
    const label = document.createElement('label');
    control.id = `invitee-${index}-${control.name}`;
    label.htmlFor = control.id;
    label.textContent = labelText;
    wrapper.append(label, control);
    return wrapper;
  };

  const nameInput = document.createElement('input');
  nameInput.name = 'name';
  nameInput.type = 'text';
  nameInput.maxLength = 64;
  nameInput.autocomplete = 'off';

  const emailInput = document.createElement('input');
  emailInput.name = 'email';
  emailInput.type = 'email';
  emailInput.required = true;
  emailInput.autocomplete = 'off';

  const localeSelect = document.createElement('select');
  localeSelect.name = 'locale';
  fillSelect(
    localeSelect,
    [
      { value: 'de', label: t('language.de') },
      { value: 'en', label: t('language.en') },
    ],
    locale,
  );

  const removeButton = createButton(
    t('console.removeInvitee'),
    () => {
      row.remove();
      updateInviteeLimit();
      ui.addInviteeButton.focus();
    },
    { className: 'button' },
  );
  const removeWrapper = document.createElement('div');
  removeWrapper.className = 'field';
  removeWrapper.append(removeButton);

  row.append(
    field(t('console.inviteeName'), nameInput),
    field(t('console.inviteeEmail'), emailInput),
    field(t('console.inviteeLocale'), localeSelect),
    removeWrapper,
  );
  ui.inviteeRows.append(row);
  updateInviteeLimit();
  nameInput.focus();
}

/** Disables "Add person" at the invitee limit and shows the reason. */
function updateInviteeLimit() {
  const full = ui.inviteeRows.children.length >= MAX_INVITEES;
  ui.addInviteeButton.disabled = full;
  ui.inviteeLimit.hidden = !full;
  ui.inviteeLimit.textContent = full ? t('console.inviteeLimit', { count: MAX_INVITEES }) : '';
}

/**
 * Reads the invitee rows, skipping empty ones. Throws InputError for a row
 * with a missing name or an email address that cannot be valid.
 *
 * @returns {{ invitees: Invitee[], rows: Element[] }}
 */
function readInvitees() {
  /** @type {Invitee[]} */
  const invitees = [];
  /** @type {Element[]} */
  const rows = [];
  for (const [index, row] of [...ui.inviteeRows.children].entries()) {
    const nameInput = /** @type {HTMLInputElement} */ (row.querySelector('[name="name"]'));
    const emailInput = /** @type {HTMLInputElement} */ (row.querySelector('[name="email"]'));
    const name = nameInput.value.trim();
    const email = emailInput.value.trim();
    const language = /** @type {HTMLSelectElement} */ (row.querySelector('[name="locale"]')).value;
    if (!name && !email) continue;
    if (!name) {
      throw new InputError({
        text: t('console.checkField', { label: t('console.fieldInviteeName', { number: index + 1 }) }),
        help: t('console.hintInviteeName'),
        control: nameInput,
      });
    }
    // The browser's check of type="email" accepts addresses without a dot in
    // the domain, which the server rejects, so both checks run.
    if (!emailInput.checkValidity() || !/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(email)) {
      throw new InputError({
        text: t('console.checkField', { label: t('console.fieldInviteeEmail', { number: index + 1 }) }),
        help: t('console.hintInviteeEmail'),
        control: emailInput,
      });
    }
    invitees.push({ name, email, locale: language === 'en' ? 'en' : 'de' });
    rows.push(row);
  }
  return { invitees, rows };
}

// ---------------------------------------------------------------------------
// Creating a room

/**
 * Builds the create request from the form and checks the server's rules
 * first. Throws InputError naming the field at fault.
 *
 * @returns {CreateRoomRequest}
 */
function readCreateRequest() {
  const dateProblem = describeDateProblem();
  if (dateProblem) {
    throw new InputError({ text: t('console.checkField', { label: t('console.fieldDate') }), help: dateProblem, control: ui.dateInput });
  }
  /** @type {CreateRoomRequest} */
  const request = { date: ui.dateInput.value, timeZone: ui.timeZoneSelect.value };
  if (ui.startTimeInput.value) request.startTime = ui.startTimeInput.value.slice(0, 5);

  const title = ui.titleInput.value.trim();
  if ([...title].length > MAX_TITLE_LENGTH) {
    throw new InputError({
      text: t('console.checkField', { label: t('console.fieldTitle') }),
      help: t('console.hintTitle', { max: MAX_TITLE_LENGTH }),
      control: ui.titleInput,
    });
  }
  if (title) request.title = title;

  const patientId = ui.patientIdInput.value.trim();
  if (patientId && (patientId.length > MAX_PATIENT_ID_LENGTH || !PATIENT_ID_PATTERN.test(patientId))) {
    throw new InputError({
      text: t('console.checkField', { label: t('console.fieldPatientId') }),
      help: t('console.hintPatientId', { max: MAX_PATIENT_ID_LENGTH }),
      control: ui.patientIdInput,
    });
  }
  if (patientId) request.patientId = patientId;

  const { invitees, rows } = readInvitees();
  sentInviteeRows = rows;
  if (invitees.length > 0) request.invitees = invitees;
  return request;
}

async function createRoom() {
  clearError();
  ui.createStatus.textContent = '';
  ui.createButton.disabled = true;
  try {
    const request = readCreateRequest();
    const room = /** @type {Room} */ (await callApi('POST', '/api/rooms', request));
    resetCreateForm();
    ui.createdLink.value = room.joinUrl;
    ui.createdRoom.hidden = false;
    ui.createdLink.select();
    void loadRooms();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) forgetRooms();
    showError(error);
  } finally {
    ui.createButton.disabled = false;
  }
}

/** Empties the form for the next room. The time zone stays, and the date is today there. */
function resetCreateForm() {
  ui.startTimeInput.value = '';
  ui.titleInput.value = '';
  ui.patientIdInput.value = '';
  ui.inviteeRows.replaceChildren();
  sentInviteeRows = [];
  updateInviteeLimit();
  defaultDate = todayIn(ui.timeZoneSelect.value);
  ui.dateInput.value = defaultDate;
}

/**
 * Copies a link to the clipboard, reporting the result in `status`.
 *
 * @param {string} link
 * @param {HTMLElement} status
 */
async function copyLink(link, status) {
  try {
    await navigator.clipboard.writeText(link);
    status.textContent = t('console.copied');
  } catch {
    status.textContent = t('console.copyFailed');
  }
}

/**
 * Opens a join link in a small window at the top centre of the screen, near
 * the webcam of most laptops, so that looking at the others looks like eye contact.
 *
 * @param {string} link
 * @param {HTMLElement} status
 */
function openCallWindow(link, status) {
  // availLeft and availTop are not standardised. Chrome, Edge and Firefox
  // provide them, and 0 is right for a single screen.
  const screenArea = /** @type {Screen & { availLeft?: number, availTop?: number }} */ (window.screen);
  const left = Math.round((screenArea.availLeft ?? 0) + (screenArea.availWidth - CALL_WINDOW_WIDTH) / 2);
  const top = Math.round(screenArea.availTop ?? 0);
  const features = `popup=yes,width=${CALL_WINDOW_WIDTH},height=${CALL_WINDOW_HEIGHT},left=${left},top=${top}`;
  const callWindow = window.open(link, '_blank', features);
  if (!callWindow) {
    status.textContent = t('console.popupBlocked');
    return;
  }
  callWindow.opener = null;
}

// ---------------------------------------------------------------------------
// Room list

async function loadRooms() {
  clearError();
  const from = ui.listFrom.value;
  const to = ui.listTo.value;
  const rangeProblem = describeRangeProblem();
  if (rangeProblem) {
    showError(new InputError({ text: t('console.checkRange'), help: rangeProblem, control: from ? ui.listTo : ui.listFrom }));
    return;
  }
  ui.listStatus.textContent = t('console.loading');
  try {
    renderRooms(await fetchRooms(from, to));
  } catch (error) {
    ui.listStatus.textContent = '';
    // Rooms listed with an earlier token must not stay visible after a rejected one.
    if (error instanceof ApiError && error.status === 401) forgetRooms();
    showError(error);
  }
}

/**
 * Returns the caller's rooms from `from` to `to`, both "YYYY-MM-DD".
 *
 * @param {string} from
 * @param {string} to
 * @returns {Promise<Room[]>}
 */
async function fetchRooms(from, to) {
  const query = new URLSearchParams({ from, to });
  const data = await callApi('GET', `/api/rooms?${query}`);
  return typeof data === 'object' && data !== null && Array.isArray(/** @type {{ rooms?: unknown }} */ (data).rooms)
    ? /** @type {{ rooms: Room[] }} */ (data).rooms
    : [];
}

/** Removes the listed rooms and the link of the room created last. */
function forgetRooms() {
  ui.roomRows.replaceChildren();
  ui.roomTable.hidden = true;
  ui.listStatus.textContent = '';
  ui.createdRoom.hidden = true;
  ui.createdLink.value = '';
}

/** @param {Room[]} rooms */
function renderRooms(rooms) {
  const sorted = [...rooms].sort((a, b) =>
    `${a.date} ${a.startTime ?? ''}`.localeCompare(`${b.date} ${b.startTime ?? ''}`),
  );
  ui.roomRows.replaceChildren(...sorted.map(renderRoomRow));
  ui.roomTable.hidden = sorted.length === 0;
  ui.listStatus.textContent = sorted.length === 0 ? t('console.empty') : '';
}

/**
 * @param {Room} room
 * @returns {HTMLTableRowElement}
 */
function renderRoomRow(room) {
  const row = document.createElement('tr');

  const dateCell = document.createElement('td');
  dateCell.className = 'room-date';
  dateCell.textContent = room.startTime ? `${formatDate(room.date)}, ${room.startTime}` : formatDate(room.date);

  const titleCell = document.createElement('td');
  titleCell.className = 'room-title';
  titleCell.textContent = room.title || t('console.noTitle');
  if (Array.isArray(room.invitees) && room.invitees.length > 0) {
    const names = document.createElement('p');
    names.className = 'hint';
    names.textContent = room.invitees.map((invitee) => invitee.name || invitee.email).join(', ');
    titleCell.append(names);
  }

  // On narrow screens each row becomes a card, and data-label names the cell.
  const linkCell = document.createElement('td');
  linkCell.dataset.label = t('console.columnLink');
  const status = document.createElement('p');
  status.className = 'hint';
  status.setAttribute('role', 'status');
  if (isWebUrl(room.joinUrl)) {
    const anchor = document.createElement('a');
    anchor.href = room.joinUrl;
    anchor.target = '_blank';
    anchor.rel = 'noopener noreferrer';
    anchor.className = 'room-link';
    anchor.title = room.joinUrl;
    anchor.textContent = room.joinUrl;
    linkCell.append(anchor);
  } else {
    const text = document.createElement('span');
    text.className = 'room-link';
    text.textContent = room.joinUrl;
    linkCell.append(text);
  }

  const date = formatDate(room.date);
  const actionsCell = document.createElement('td');
  const actions = document.createElement('div');
  actions.className = 'room-actions';
  actions.append(
    createButton(t('console.copyLink'), () => void copyLink(room.joinUrl, status), {
      className: 'button',
      ariaLabel: t('console.copyLinkLabel', { date }),
    }),
    createButton(t('console.startCall'), () => openCallWindow(room.joinUrl, status), {
      className: 'button primary',
      ariaLabel: t('console.startCallLabel', { date }),
    }),
    createButton(t('console.delete'), () => void deleteRoom(room), {
      className: 'button danger',
      ariaLabel: t('console.deleteLabel', { date }),
    }),
  );
  actionsCell.append(actions, status);

  row.append(dateCell, titleCell, linkCell, actionsCell);
  return row;
}

/** @param {Room} room */
async function deleteRoom(room) {
  if (!window.confirm(t('console.confirmDelete'))) return;
  clearError();
  try {
    await callApi('DELETE', `/api/rooms/${encodeURIComponent(room.id)}`);
    if (ui.createdLink.value === room.joinUrl) {
      ui.createdRoom.hidden = true;
      ui.createdLink.value = '';
    }
    await loadRooms();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) forgetRooms();
    showError(error);
    // Another tab may have deleted the room already. The list is refreshed
    // without clearing the error that reports it.
    if (error instanceof ApiError && error.body?.error === 'not-found') {
      try {
        renderRooms(await fetchRooms(ui.listFrom.value, ui.listTo.value));
      } catch (refreshError) {
        console.warn(`Console: refreshing the room list failed: ${refreshError instanceof Error ? refreshError.message : refreshError}`);
      }
    }
  }
}

/**
 * @param {string} value
 * @returns {boolean}
 */
function isWebUrl(value) {
  try {
    const url = new URL(value, location.href);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Start

function start() {
  applyTranslations();

  try {
    ui.tokenInput.value = sessionStorage.getItem(STORAGE_TOKEN) ?? '';
  } catch {
    // Storage blocked: the token must be entered again after a reload.
  }
  const saveToken = () => {
    try {
      sessionStorage.setItem(STORAGE_TOKEN, ui.tokenInput.value.trim());
    } catch {
      // Storage blocked: the token stays in the field only.
    }
    void loadRooms();
  };
  ui.tokenInput.addEventListener('change', saveToken);
  ui.tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    saveToken();
  });

  ui.timeZoneSelect.value = DEFAULT_TIME_ZONE;
  defaultDate = todayIn(DEFAULT_TIME_ZONE);
  ui.dateInput.value = defaultDate;
  ui.timeZoneSelect.addEventListener('change', () => {
    // Follow the time zone only while the date is still the default one.
    if (ui.dateInput.value !== defaultDate) return;
    defaultDate = todayIn(ui.timeZoneSelect.value);
    ui.dateInput.value = defaultDate;
  });

  const today = todayIn(DEFAULT_TIME_ZONE);
  ui.listFrom.value = today;
  ui.listTo.value = addDays(today, LIST_DAYS);

  ui.addInviteeButton.addEventListener('click', addInviteeRow);
  // Typing in a field marked invalid takes the mark away.
  for (const form of [ui.tokenForm, ui.createForm, ui.listForm]) {
    form.addEventListener('input', (event) => {
      if (invalidControl && event.target === invalidControl) unmarkInvalid();
    });
  }
  ui.createForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void createRoom();
  });
  ui.copyCreatedLink.addEventListener('click', () => void copyLink(ui.createdLink.value, ui.createStatus));
  ui.startCreatedCall.addEventListener('click', () => openCallWindow(ui.createdLink.value, ui.createStatus));
  ui.listForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void loadRooms();
  });

  if (ui.tokenInput.value) void loadRooms();
}

start();
