// Controller of the practitioner's page "Video-Räume" (index.html): the
// overview of rooms with status, call time and invitation emails, creating
// rooms, resending invitations and opening a call window.

import { applyTranslations, dateAndTimeIn, describeRoomTimeZone, formatDate, locale, resolveTimeZone, t } from './i18n.js';
import { byId, createButton, fillSelect, readStored, trimName, writeStored } from './dom.js';

/**
 * @typedef {{ name: string, email: string, locale: 'de' | 'en' }} Invitee
 * @typedef {'pending' | 'sending' | 'sent' | 'failed'} InvitationStatus
 * @typedef {{ name: string, email?: string, locale: 'de' | 'en', status?: InvitationStatus,
 *   sentAt?: string, failure?: string }} InviteeView
 * @typedef {'planned' | 'today' | 'held' | 'not-held'} RoomStatus
 * @typedef {{ id: string, entryId?: string, date: string, startTime?: string, timeZone: string,
 *   title?: string, patientId?: string, invitees: InviteeView[], joinUrl: string, validFrom: string,
 *   validUntil: string, createdAt: string, status?: RoomStatus, callSeconds?: number }} Room
 * @typedef {{ date: string, startTime?: string, timeZone: string, title?: string,
 *   invitees?: Invitee[], patientId?: string }} CreateRoomRequest
 * @typedef {{ error: string, message: string, field?: string }} ErrorBody
 * @typedef {{ text: string, help?: string, details?: string, control?: HTMLElement }} UserMessage
 * @typedef {import('./i18n.js').MessageKey} MessageKey
 */

/** sessionStorage key of the API token. It stays in this tab only. */
const STORAGE_TOKEN = 'videoCall.apiToken';

/** localStorage key of the time zone chosen last in the create form. */
const STORAGE_TIME_ZONE = 'videoCall.roomTimeZone';

const DEFAULT_TIME_ZONE = 'Europe/Berlin';

/** Days before today that the overview shows by default. */
const LIST_DAYS_BACK = 7;
/** Days after today that the overview shows by default: 25 weeks. */
const LIST_DAYS_AHEAD = 25 * 7;

// Limits of the rooms API, checked here before sending so that the form can
// name the field at fault. The server checks them again.
/** Maximum length of a room title, in characters. */
const MAX_TITLE_LENGTH = 200;
/** Maximum length of a patient id, in characters. */
const MAX_PATIENT_ID_LENGTH = 128;
/** Maximum length of an invitee's name, in characters (`MAX_INVITEE_NAME_CHARS` in shared/src/room.rs). */
const MAX_INVITEE_NAME_LENGTH = 100;
/** A patient id is printable ASCII without spaces (0x21 to 0x7E). */
const PATIENT_ID_PATTERN = /^[\x21-\x7E]+$/;
/**
 * A control character (Unicode category Cc), such as a tab pasted from a
 * table. The API rejects them in the title and in invitees' names (`char::is_control`).
 */
const CONTROL_CHARACTER = /\p{Cc}/u;
/**
 * A bidirectional formatting character, which the API rejects in invitees'
 * names because it changes the order in which a name is displayed
 * (`is_bidi_control` in shared/src/signaling/protocol.rs).
 */
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
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

/** Interval in ms at which the default date and the note on a passed start time follow the clock. */
const START_TIME_HINT_INTERVAL_MS = 15_000;

const ui = {
  error: byId('console-error', HTMLElement),
  tokenForm: byId('token-form', HTMLFormElement),
  tokenInput: byId('api-token', HTMLInputElement),
  createForm: byId('create-form', HTMLFormElement),
  dateInput: byId('room-date', HTMLInputElement),
  startTimeInput: byId('room-start-time', HTMLInputElement),
  startTimeHint: byId('start-time-hint', HTMLElement),
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
  createdOutside: byId('created-outside', HTMLParagraphElement),
  listHeading: byId('list-heading', HTMLElement),
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

/** The last create request sent, for explaining the server's response to it. */
/** @type {CreateRoomRequest | null} */
let sentCreateRequest = null;

/** The control marked with aria-invalid by the error shown now. */
/** @type {HTMLInputElement | HTMLSelectElement | null} */
let invalidControl = null;

/** Id of the message shown under the invalid control. */
const FIELD_ERROR_ID = 'field-error';

/**
 * Serial number of the last invitee row created. The ids of a row's fields
 * contain it, so they stay unique when rows are removed and added again.
 */
let lastInviteeRowSerial = 0;

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
 * Returns the time of day in `timeZone` as "HH:MM", on a 24-hour clock.
 *
 * @param {string} timeZone IANA name, such as Europe/Berlin
 * @returns {string}
 */
export function timeOfDayIn(timeZone) {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(),
  );
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
  if (status === 429 || code === 'too-many-attempts') {
    return { text: t('console.tooManyAttempts'), details, control: ui.tokenInput };
  }
  if (code === 'invalid-field' || code === 'invalid-query') {
    const target = body?.field ? describeField(body.field, body.message) : null;
    if (target) {
      return { text: t('console.checkField', { label: target.label }), help: target.help, details, control: target.control };
    }
    if (code === 'invalid-query') {
      return { text: t('console.checkRange'), help: describeRangeProblem(), details, control: ui.listFrom };
    }
    return { text: t('console.checkInput'), details };
  }
  if (status === 413 || code === 'payload-too-large') return { text: t('console.payloadTooLarge'), details };
  if (isRoomNotFound(error)) return { text: t('console.roomNotFound'), details };
  // A proxy or gateway returns 502, 503 or 504 when it cannot reach the
  // server. Other 5xx statuses come from the server itself.
  if (status === 502 || status === 503 || status === 504) return { text: t('console.serverUnavailable'), details };
  if (status >= 500) return { text: t('console.serverError'), details };
  return { text: t('console.requestFailed', { status }), details };
}

/**
 * Tells whether the API reported the room as missing, under either of the
 * codes the rooms API uses for that: "not-found" and "room-not-found".
 *
 * @param {unknown} error
 * @returns {boolean}
 */
function isRoomNotFound(error) {
  if (!(error instanceof ApiError)) return false;
  const code = error.body?.error;
  return code === 'not-found' || code === 'room-not-found' || (error.status === 404 && code === undefined);
}

/**
 * Maps a field name of the rooms API to its form control, the control's
 * visible label and a hint on the rule it broke. The server's English
 * message distinguishes some rules of one field, such as a control character
 * in the title from a title that is too long.
 *
 * @param {string} field such as "date", "patientId" or "invitees[1].email"
 * @param {string} [message] the server's message, such as "must not contain control characters"
 * @returns {{ label: string, control: HTMLElement, help?: string } | null}
 */
function describeField(field, message = '') {
  const controlCharacters = /\bcontrol characters\b/.test(message);
  switch (field) {
    case 'date':
      return { label: t('console.fieldDate'), control: ui.dateInput, help: describeDateProblem() ?? t('console.hintDateInvalid') };
    case 'startTime':
      return {
        label: t('console.fieldStartTime'),
        control: ui.startTimeInput,
        help: describeSkippedStartTime(sentCreateRequest, message) ?? t('console.hintStartTime'),
      };
    case 'timeZone':
      return { label: t('console.fieldTimeZone'), control: ui.timeZoneSelect, help: t('console.hintTimeZone') };
    case 'title':
      return {
        label: t('console.fieldTitle'),
        control: ui.titleInput,
        help: controlCharacters ? t('console.hintTitleControl') : t('console.hintTitle', { max: MAX_TITLE_LENGTH }),
      };
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
  const row = sentInviteeRows[Number(match[1])];
  const rowNumber = inviteeRowNumber(Number(match[1]));
  /** @type {HTMLElement} */
  let control = ui.addInviteeButton;
  const rowControl = row?.isConnected ? row.querySelector(`[name="${match[2]}"]`) : null;
  if (rowControl instanceof HTMLElement) control = rowControl;
  if (match[2] === 'name') {
    /** @type {string} */
    let help;
    if (controlCharacters) help = t('console.hintInviteeNameControl');
    else if (/\bbidirectional\b/.test(message)) help = t('console.hintInviteeNameBidi');
    else help = t('console.hintInviteeName', { max: MAX_INVITEE_NAME_LENGTH });
    return { label: t('console.fieldInviteeName', { number: rowNumber }), control, help };
  }
  if (match[2] === 'email') {
    const repeated = /\brepeats the address of invitees\[(\d+)\]/.exec(message);
    /** @type {string} */
    let help;
    if (repeated) help = t('console.hintInviteeEmailRepeated', { number: inviteeRowNumber(Number(repeated[1])) });
    else if (/\boutside ASCII\b/.test(message)) help = t('console.hintInviteeEmailNonAscii');
    else help = t('console.hintInviteeEmail');
    return { label: t('console.fieldInviteeEmail', { number: rowNumber }), control, help };
  }
  return { label: t('console.fieldInviteeLocale', { number: rowNumber }), control };
}

/**
 * Returns the number of the form row, counted from 1, that the invitee at
 * `index` of the last create request came from. The request skips empty
 * rows, so its index can differ from the row's position.
 *
 * @param {number} index
 * @returns {number}
 */
function inviteeRowNumber(index) {
  const row = sentInviteeRows[index];
  // A row removed after the request was sent has no position, so the
  // number is taken from its index in the request.
  const position = row ? [...ui.inviteeRows.children].indexOf(row) : -1;
  return position >= 0 ? position + 1 : index + 1;
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

/** Milliseconds in a minute. */
const MINUTE_MS = 60_000;

/**
 * Returns the offset of `timeZone` from UTC at `instant`, in whole minutes,
 * such as 60 for Berlin in winter and 120 in summer.
 *
 * @param {string} timeZone IANA name
 * @param {number} instant milliseconds since the epoch, a whole minute
 * @returns {number}
 */
function zoneOffsetMinutes(timeZone, instant) {
  const local = dateAndTimeIn(new Date(instant).toISOString(), timeZone);
  if (!local) throw new RangeError(`unknown time zone ${timeZone}`);
  const [year, month, day] = local.date.split('-').map(Number);
  const [hour, minute] = local.time.split(':').map(Number);
  const wallClock = Date.UTC(year, month - 1, day, hour, minute);
  return Math.round((wallClock - instant) / MINUTE_MS);
}

/**
 * Returns the clock change that skips the local time `time` on `date` in
 * `timeZone`, as the local times "HH:MM" from which and to which the clocks
 * jump, such as { from: '02:00', to: '03:00' } for 02:30 on the day summer
 * time begins in Berlin. Returns null when the time exists there, and when
 * the input or the zone is invalid.
 *
 * @param {string} date "YYYY-MM-DD"
 * @param {string} time "HH:MM"
 * @param {string} timeZone IANA name
 * @returns {{ from: string, to: string } | null}
 */
export function skippedClockJump(date, time, timeZone) {
  const dateMatch = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const timeMatch = /^(\d{2}):(\d{2})$/.exec(time);
  if (!dateMatch || !timeMatch) return null;
  // The wanted wall-clock time, written as if it were UTC.
  const wallClock = Date.UTC(
    Number(dateMatch[1]),
    Number(dateMatch[2]) - 1,
    Number(dateMatch[3]),
    Number(timeMatch[1]),
    Number(timeMatch[2]),
  );
  if (Number.isNaN(wallClock)) return null;
  /** @param {number} instant */
  const offsetAt = (instant) => zoneOffsetMinutes(timeZone, instant);
  /** @type {number} */
  let offsetBefore;
  /** @type {number} */
  let offsetAfter;
  try {
    // This assumes at most one change of offset in the 24 hours around the
    // time, which holds for the zones of the form.
    offsetBefore = offsetAt(wallClock - 12 * 60 * MINUTE_MS);
    offsetAfter = offsetAt(wallClock + 12 * 60 * MINUTE_MS);
  } catch {
    // RangeError: this browser does not know the time zone.
    return null;
  }
  // The time exists when an instant under one of the day's offsets shows it.
  for (const offset of [offsetBefore, offsetAfter]) {
    if (offsetAt(wallClock - offset * MINUTE_MS) === offset) return null;
  }
  if (offsetAfter <= offsetBefore) return null;

  // The clocks jump forward between these two instants. Bisect to the
  // minute at which the new offset starts.
  let lastBefore = wallClock - offsetAfter * MINUTE_MS;
  let firstAfter = wallClock - offsetBefore * MINUTE_MS;
  while (firstAfter - lastBefore > MINUTE_MS) {
    const middle = lastBefore + Math.floor((firstAfter - lastBefore) / 2 / MINUTE_MS) * MINUTE_MS;
    if (offsetAt(middle) === offsetAfter) firstAfter = middle;
    else lastBefore = middle;
  }
  /** @param {number} localAsUtc */
  const clockTime = (localAsUtc) => new Date(localAsUtc).toISOString().slice(11, 16);
  return {
    from: clockTime(firstAfter + offsetBefore * MINUTE_MS),
    to: clockTime(firstAfter + offsetAfter * MINUTE_MS),
  };
}

/**
 * Returns the visible name of a zone of the form, such as "Berlin (Deutschland)",
 * or the IANA name for another zone.
 *
 * @param {string} timeZone
 * @returns {string}
 */
function timeZoneLabel(timeZone) {
  const option = [...ui.timeZoneSelect.options].find((candidate) => candidate.value === timeZone);
  return option?.textContent?.trim() || timeZone;
}

/**
 * Returns the hint for a start time that the clocks skip on the room's day,
 * such as 02:30 on the day summer time begins, or undefined for another time.
 * Without a request, the form's entries are checked. The server reports such
 * a time only in the English message of an invalid startTime, such as
 * "startTime: 02:30 does not exist on … because the clocks there jump from
 * 02:00 to 03:00 …", so that message serves where this browser's time zone
 * data find no jump.
 *
 * @param {CreateRoomRequest | null} request
 * @param {string} [serverMessage]
 * @returns {string | undefined}
 */
function describeSkippedStartTime(request, serverMessage = '') {
  const date = request ? request.date : ui.dateInput.value;
  let time = request ? (request.startTime ?? '') : ui.startTimeInput.value.slice(0, 5);
  const timeZone = request ? request.timeZone : ui.timeZoneSelect.value;
  let jump = skippedClockJump(date, time, timeZone);
  if (!jump) {
    const reported = /\b(\d{2}:\d{2}) does not exist\b.*\bjump from (\d{2}:\d{2}) to (\d{2}:\d{2})\b/.exec(serverMessage);
    if (!reported) return undefined;
    time = reported[1];
    jump = { from: reported[2], to: reported[3] };
  }
  return t('console.hintStartTimeSkipped', {
    time,
    date: formatDate(date),
    zone: timeZoneLabel(timeZone),
    from: jump.from,
    to: jump.to,
  });
}

/**
 * Shows a note under the start time while that time has passed today in the
 * chosen zone. The room can still be created, but invitations name the time as entered.
 */
function updateStartTimeHint() {
  const timeZone = ui.timeZoneSelect.value;
  const startTime = ui.startTimeInput.value.slice(0, 5);
  const now = timeOfDayIn(timeZone);
  const passed = /^\d{2}:\d{2}$/.test(startTime) && ui.dateInput.value === todayIn(timeZone) && startTime < now;
  const text = passed ? t('console.hintStartTimePassed', { now, zone: timeZoneLabel(timeZone) }) : '';
  // The note is a live region, so an unchanged text is not written again.
  if (ui.startTimeHint.textContent !== text) ui.startTimeHint.textContent = text;
  ui.startTimeHint.hidden = !passed;
}

/** Sets the date to today in the chosen zone while it is still the default date. */
function updateDefaultDate() {
  if (ui.dateInput.value !== defaultDate) return;
  defaultDate = todayIn(ui.timeZoneSelect.value);
  ui.dateInput.value = defaultDate;
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

/**
 * Adds a row for one invitee. Each row is a group named "Person 2"
 * ("Person 2") after its position, as the validation messages name it.
 */
function addInviteeRow() {
  if (ui.inviteeRows.children.length >= MAX_INVITEES) return;
  const serial = ++lastInviteeRowSerial;
  const row = document.createElement('div');
  row.className = 'invitee-row';
  row.setAttribute('role', 'group');
  const heading = document.createElement('p');
  heading.className = 'invitee-row-heading';
  heading.id = `invitee-${serial}-heading`;
  row.setAttribute('aria-labelledby', heading.id);

  /**
   * @param {string} labelText
   * @param {HTMLInputElement | HTMLSelectElement} control
   */
  const field = (labelText, control) => {
    const wrapper = document.createElement('div');
    wrapper.className = 'field';
    const label = document.createElement('label');
    control.id = `invitee-${serial}-${control.name}`;
    label.htmlFor = control.id;
    label.textContent = labelText;
    wrapper.append(label, control);
    return wrapper;
  };

  const nameInput = document.createElement('input');
  nameInput.name = 'name';
  nameInput.type = 'text';
  // No maxLength: it counts UTF-16 code units and would cut a name with
  // emoji short, while the limit counts characters (checked in readInvitees).
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

  const removeButton = createButton(t('console.removeInvitee'), () => removeInviteeRow(row), {
    className: 'button invitee-remove',
  });
  const removeWrapper = document.createElement('div');
  removeWrapper.className = 'field';
  removeWrapper.append(removeButton);

  row.append(
    heading,
    field(t('console.inviteeName'), nameInput),
    field(t('console.inviteeEmail'), emailInput),
    field(t('console.inviteeLocale'), localeSelect),
    removeWrapper,
  );
  ui.inviteeRows.append(row);
  numberInviteeRows();
  updateInviteeLimit();
  nameInput.focus();
}

/**
 * Removes an invitee row and numbers the rows below it anew. An error shown
 * for a field of a row names that row by its old number, so it goes too.
 * The focus moves to the remove button of the row that takes its place, or
 * of the row above, so that the keyboard keeps its place in the list.
 *
 * @param {HTMLElement} row
 */
function removeInviteeRow(row) {
  if (invalidControl && ui.inviteeRows.contains(invalidControl)) clearError();
  const neighbour = row.nextElementSibling ?? row.previousElementSibling;
  row.remove();
  numberInviteeRows();
  updateInviteeLimit();
  const button = neighbour?.querySelector('.invitee-remove');
  if (button instanceof HTMLElement) button.focus();
  else ui.addInviteeButton.focus();
}

/**
 * Writes each row's number, counted from 1, into its heading and into the
 * accessible name of its remove button, such as "Person 2 entfernen".
 */
function numberInviteeRows() {
  for (const [index, row] of [...ui.inviteeRows.children].entries()) {
    const number = index + 1;
    const heading = row.querySelector('.invitee-row-heading');
    if (heading) heading.textContent = t('console.inviteeRow', { number });
    row.querySelector('.invitee-remove')?.setAttribute('aria-label', t('console.removeInviteeLabel', { number }));
  }
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
 * with a missing or unusable name, an email address that cannot be valid,
 * or an address that an earlier row already contains.
 *
 * @returns {{ invitees: Invitee[], rows: Element[] }}
 */
function readInvitees() {
  /** @type {Invitee[]} */
  const invitees = [];
  /** @type {Element[]} */
  const rows = [];
  /**
   * Row number of each address entered so far, keyed in lower case because
   * the server compares addresses ignoring case.
   * @type {Map<string, number>}
   */
  const addressRows = new Map();
  for (const [index, row] of [...ui.inviteeRows.children].entries()) {
    const nameInput = /** @type {HTMLInputElement} */ (row.querySelector('[name="name"]'));
    const emailInput = /** @type {HTMLInputElement} */ (row.querySelector('[name="email"]'));
    const name = trimName(nameInput.value);
    const email = emailInput.value.trim();
    const language = /** @type {HTMLSelectElement} */ (row.querySelector('[name="locale"]')).value;
    if (!name && !email) continue;
    /** @param {string} help */
    const nameError = (help) =>
      new InputError({
        text: t('console.checkField', { label: t('console.fieldInviteeName', { number: index + 1 }) }),
        help,
        control: nameInput,
      });
    if (!name || [...name].length > MAX_INVITEE_NAME_LENGTH) {
      throw nameError(t('console.hintInviteeName', { max: MAX_INVITEE_NAME_LENGTH }));
    }
    if (CONTROL_CHARACTER.test(name)) throw nameError(t('console.hintInviteeNameControl'));
    if (BIDI_CONTROL.test(name)) throw nameError(t('console.hintInviteeNameBidi'));
    // The mail service delivers only to ASCII addresses. Chromium writes a
    // domain with umlauts in its xn-- form, but not the part before the "@".
    if (/[^\x00-\x7F]/.test(email)) {
      throw new InputError({
        text: t('console.checkField', { label: t('console.fieldInviteeEmail', { number: index + 1 }) }),
        help: t('console.hintInviteeEmailNonAscii'),
        control: emailInput,
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
    const earlierRow = addressRows.get(email.toLowerCase());
    if (earlierRow !== undefined) {
      throw new InputError({
        text: t('console.checkField', { label: t('console.fieldInviteeEmail', { number: index + 1 }) }),
        help: t('console.hintInviteeEmailRepeated', { number: earlierRow }),
        control: emailInput,
      });
    }
    addressRows.set(email.toLowerCase(), index + 1);
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
  const skippedTime = describeSkippedStartTime(null);
  if (skippedTime) {
    throw new InputError({
      text: t('console.checkField', { label: t('console.fieldStartTime') }),
      help: skippedTime,
      control: ui.startTimeInput,
    });
  }

  const title = ui.titleInput.value.trim();
  if ([...title].length > MAX_TITLE_LENGTH || CONTROL_CHARACTER.test(title)) {
    throw new InputError({
      text: t('console.checkField', { label: t('console.fieldTitle') }),
      help: CONTROL_CHARACTER.test(title) ? t('console.hintTitleControl') : t('console.hintTitle', { max: MAX_TITLE_LENGTH }),
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
  // Disabling the button takes the focus from it.
  const hadFocus = document.activeElement === ui.createButton;
  let failed = false;
  ui.createButton.disabled = true;
  try {
    const request = readCreateRequest();
    sentCreateRequest = request;
    const room = /** @type {Room} */ (await callApi('POST', '/api/rooms', request));
    resetCreateForm();
    ui.createdLink.value = room.joinUrl;
    // The link admits nobody before the room's day, so a call can start only
    // today. A server older than the status field gets the button always.
    ui.startCreatedCall.hidden = room.status !== undefined && room.status !== 'today';
    // The overview lists only its range, so a room outside it would seem lost.
    const outside = room.date < ui.listFrom.value || room.date > ui.listTo.value;
    ui.createdOutside.textContent = outside ? t('console.createdOutsideList', { date: formatDate(room.date) }) : '';
    ui.createdOutside.hidden = !outside;
    ui.createdRoom.hidden = false;
    ui.createdLink.select();
    void loadRooms();
  } catch (error) {
    failed = true;
    if (error instanceof ApiError && error.status === 401) forgetRooms();
    showError(error);
  } finally {
    ui.createButton.disabled = false;
    // An error without a control to fix, such as a failed connection, leaves
    // the focus nowhere. The keyboard gets it back on the button.
    if (failed && hadFocus && focusIsLost()) ui.createButton.focus();
  }
}

/** Tells whether the focus fell to the page, as when its element was disabled or removed. */
function focusIsLost() {
  const active = document.activeElement;
  return active === null || active === document.body;
}

/** Empties the form for the next room. The time zone stays, and the date is today there. */
function resetCreateForm() {
  ui.startTimeInput.value = '';
  updateStartTimeHint();
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
// Overview

/** @type {Record<RoomStatus, MessageKey>} Text keys of the rooms API's room statuses. */
const STATUS_TEXT = {
  planned: 'console.statusPlanned',
  today: 'console.statusToday',
  held: 'console.statusHeld',
  'not-held': 'console.statusNotHeld',
};

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
 * Creates one row of the overview. On narrow screens each row becomes a
 * card, and each cell's data-label names it.
 *
 * @param {Room} room
 * @returns {HTMLTableRowElement}
 */
function renderRoomRow(room) {
  const row = document.createElement('tr');
  row.className = `room-row room-${room.status ?? 'unknown'}`;
  row.dataset.testid = 'room-row';
  row.dataset.roomId = room.id;

  const dateCell = document.createElement('td');
  dateCell.className = 'room-date';
  dateCell.dataset.testid = 'room-date';
  dateCell.append(...renderRoomDate(room));

  const roomCell = cell('console.columnRoom');
  const title = document.createElement('span');
  title.className = 'room-title';
  title.dataset.testid = 'room-title';
  title.textContent = room.title || t('console.noTitle');
  setSizingText(title);
  roomCell.append(title);
  if (room.patientId) {
    const patientId = document.createElement('span');
    patientId.className = 'room-patient-id';
    patientId.dataset.testid = 'room-patient-id';
    // The id is an inline block (see app.css), so a line break goes before it
    // rather than after one of its hyphens, as in "P-2024-17".
    const patientIdValue = span('room-patient-id-value', room.patientId);
    setSizingText(patientIdValue);
    patientId.append(t('console.patientIdLabel'), ' ', patientIdValue);
    roomCell.append(patientId);
  }

  const statusCell = cell('console.columnStatus');
  const status = document.createElement('span');
  status.className = `status-badge status-${room.status ?? 'unknown'}`;
  status.dataset.testid = 'room-status';
  status.textContent = t(room.status && STATUS_TEXT[room.status] ? STATUS_TEXT[room.status] : 'console.statusUnknown');
  // The call time shares the status column, which leaves the table room
  // for its other columns at 1024 px.
  const duration = document.createElement('span');
  duration.className = 'room-duration';
  const durationValue = span('room-duration-value', formatCallTime(room));
  durationValue.dataset.testid = 'room-duration';
  duration.append(t('console.durationLabel'), ' ', durationValue);
  statusCell.append(status, duration);

  const inviteesCell = cell('console.columnInvitees');
  inviteesCell.append(renderInvitees(room));

  const actionsCell = document.createElement('td');
  const message = document.createElement('div');
  message.className = 'row-message';
  message.dataset.testid = 'row-status';
  message.setAttribute('role', 'status');
  actionsCell.append(renderActions(room, message), message);

  row.append(dateCell, roomCell, statusCell, inviteesCell, actionsCell);
  return row;
}

/**
 * Copies an element's text into data-sizing-text, from which app.css sizes
 * the table column: wide enough for the longest word, as far as the table
 * has room for it.
 *
 * @param {HTMLElement} element
 */
function setSizingText(element) {
  element.dataset.sizingText = element.textContent ?? '';
}

/**
 * Creates a table cell labelled with the column header's text.
 *
 * @param {MessageKey} labelKey
 * @returns {HTMLTableCellElement}
 */
function cell(labelKey) {
  const element = document.createElement('td');
  element.dataset.label = t(labelKey);
  return element;
}

/**
 * Creates the action buttons of a room. A call can start only on the room's
 * day, and the link of a past room admits nobody any more, so those rooms
 * offer only deleting. A room without a status, from a server older than
 * the status field, gets every action.
 *
 * @param {Room} room
 * @param {HTMLElement} message where the outcome of an action is shown
 * @returns {HTMLDivElement}
 */
function renderActions(room, message) {
  const name = describeRoomForLabel(room);
  const canStartCall = room.status === 'today' || room.status === undefined;
  const linkWorks = canStartCall || room.status === 'planned';
  const actions = document.createElement('div');
  actions.className = 'room-actions';

  if (canStartCall) {
    const startCall = createButton(t('console.startCall'), () => openCallWindow(room.joinUrl, message), {
      className: 'button primary',
      ariaLabel: t('console.startCallLabel', { room: name }),
    });
    startCall.dataset.testid = 'start-call';
    actions.append(startCall);
  }
  const addressedInvitees = countEmailInvitees(room);
  if (room.status === 'today' && addressedInvitees > 0) {
    const several = addressedInvitees > 1;
    // "erneut" (again) would be wrong before the first email went out.
    const first = nothingSentYet(room);
    /** @type {MessageKey} */
    let text;
    /** @type {MessageKey} */
    let label;
    if (first) {
      text = several ? 'console.sendNowMany' : 'console.sendNowOne';
      label = several ? 'console.sendNowLabelMany' : 'console.sendNowLabelOne';
    } else {
      text = several ? 'console.resendMany' : 'console.resendOne';
      label = several ? 'console.resendLabelMany' : 'console.resendLabelOne';
    }
    const resend = createButton(t(text), () => void resendInvitations(room, resend), {
      className: 'button',
      ariaLabel: t(label, { room: name }),
    });
    resend.dataset.testid = 'resend';
    actions.append(resend);
  }
  if (linkWorks) {
    const copy = createButton(t('console.copyLink'), () => void copyLink(room.joinUrl, message), {
      className: 'button',
      ariaLabel: t('console.copyLinkLabel', { room: name }),
    });
    copy.dataset.testid = 'copy-link';
    actions.append(copy);
  }
  const remove = createButton(t('console.delete'), () => void deleteRoom(room), {
    className: 'button danger',
    ariaLabel: t('console.deleteLabel', { room: name }),
  });
  remove.dataset.testid = 'delete';
  actions.append(remove);
  return actions;
}

/**
 * Describes a room for the accessible names of its buttons: the date, and
 * the start time and title where the room has them, such as
 * "05.12.2026, 14:00 Uhr, „Erstgespräch“". The date alone would give the
 * buttons of rooms on the same day the same names.
 *
 * @param {Room} room
 * @returns {string}
 */
function describeRoomForLabel(room) {
  const date = formatDate(room.date);
  const when = room.startTime ? t('console.roomDateTime', { date, time: room.startTime }) : date;
  return room.title ? t('console.roomWithTitle', { room: when, title: room.title }) : when;
}

/**
 * Tells whether no invitation email of the room went out or failed yet: every
 * invitee with an address is pending, without a failed attempt.
 *
 * @param {Room} room
 * @returns {boolean}
 */
function nothingSentYet(room) {
  const mailed = Array.isArray(room.invitees) ? room.invitees.filter((invitee) => invitee.email) : [];
  return mailed.every((invitee) => invitee.status === 'pending' && !invitee.failure && !invitee.sentAt);
}

/**
 * @param {Room} room
 * @returns {number} the number of the room's invitees with an email address
 */
function countEmailInvitees(room) {
  return Array.isArray(room.invitees) ? room.invitees.filter((invitee) => invitee.email).length : 0;
}

/**
 * Creates the contents of a room's date cell: weekday and date, the start
 * time and, when it is not the browser's zone, the room's time zone, such as
 * "Mo., 14.12.2026, 09:30 Uhr (Wien)". The table shows the time and the zone
 * on a line of their own.
 *
 * @param {Room} room
 * @returns {(HTMLSpanElement | string)[]}
 */
function renderRoomDate(room) {
  const day = span('room-day', formatRoomDay(room));
  const zone = describeRoomTimeZone(room.timeZone);
  if (!room.startTime && !zone) return [day];

  const when = document.createElement('span');
  when.className = 'room-when';
  if (room.startTime) when.append(span('room-time', t('console.startTimeValue', { time: room.startTime })));
  if (room.startTime && zone) when.append(' ');
  if (zone) when.append(span('room-zone', t('console.roomTimeZone', { zone })));
  return [day, room.startTime ? ', ' : ' ', when];
}

/**
 * @param {string} className
 * @param {string} text
 * @returns {HTMLSpanElement}
 */
function span(className, text) {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

/**
 * Formats a room's day with its weekday, such as "Mo., 14.12.2026".
 *
 * @param {Room} room
 * @returns {string}
 */
function formatRoomDay(room) {
  const [year, month, day] = room.date.split('-').map(Number);
  let date = formatDate(room.date);
  const noon = new Date(Date.UTC(year, month - 1, day, 12));
  if (!Number.isNaN(noon.getTime())) {
    // The weekday is taken from a whole date, because alone it lacks the
    // period of the German abbreviation ("Fr" instead of "Fr.").
    const weekday = new Intl.DateTimeFormat(intlLocale(), {
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      timeZone: 'UTC',
    })
      .formatToParts(noon)
      .find((part) => part.type === 'weekday')?.value;
    if (weekday) date = `${weekday}, ${date}`;
  }
  return date;
}

/** Returns the BCP 47 tag for Intl formatting in the page language. Both tags format times with 24 hours. */
function intlLocale() {
  return locale === 'en' ? 'en-GB' : 'de-DE';
}

/**
 * Formats the call time from `callSeconds`, rounded to whole minutes:
 * "12 Min.", "1 Std. 5 Min.", or "–" for a planned room without calls.
 *
 * @param {Room} room
 * @returns {string}
 */
export function formatCallTime(room) {
  const seconds = room.callSeconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return t('console.durationNone');
  if (seconds === 0 && room.status === 'planned') return t('console.durationNone');
  const totalMinutes = Math.round(seconds / 60);
  if (seconds > 0 && totalMinutes === 0) return t('console.durationUnderMinute');
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  if (hours === 0) return t('console.durationMinutes', { minutes });
  if (minutes === 0) return t('console.durationHours', { hours });
  return t('console.durationHoursMinutes', { hours, minutes });
}

/**
 * Creates the list of a room's invitees with the state of each invitation email.
 *
 * @param {Room} room
 * @returns {HTMLElement}
 */
function renderInvitees(room) {
  const invitees = Array.isArray(room.invitees) ? room.invitees : [];
  if (invitees.length === 0) {
    const none = document.createElement('span');
    none.className = 'hint';
    none.textContent = t('console.noInvitees');
    return none;
  }
  const list = document.createElement('ul');
  list.className = 'invitee-list';
  for (const invitee of invitees) {
    const item = document.createElement('li');
    item.dataset.testid = 'invitee';

    const name = document.createElement('span');
    name.className = 'invitee-name';
    name.textContent = invitee.name;
    const email = document.createElement('span');
    email.className = 'invitee-email';
    email.dataset.testid = 'invitee-email';
    if (invitee.email) appendEmailAddress(email, invitee.email);
    else email.textContent = t('console.inviteeEmailErased');
    item.append(name, email);

    const invitation = describeInvitation(invitee, room);
    if (invitation) {
      const status = document.createElement('span');
      status.className = `invitee-status invitee-${invitation.state}`;
      status.dataset.testid = 'invitee-status';
      status.textContent = invitation.text;
      item.append(status);
      if (invitation.details) {
        const details = document.createElement('span');
        details.className = 'invitee-details';
        details.dataset.testid = 'invitee-failure';
        details.textContent = invitation.details;
        item.append(details);
      }
    }
    list.append(item);
  }
  return list;
}

/**
 * Appends an email address to `parent` in parts that each stay on one line
 * while they fit, with a <wbr> after "@" and before each ".": so a long
 * address breaks there rather than after a hyphen or inside a word.
 *
 * @param {HTMLElement} parent
 * @param {string} address
 */
function appendEmailAddress(parent, address) {
  const parts = address.split(/(?<=@)|(?=\.)/).filter((part) => part !== '');
  for (const [index, part] of parts.entries()) {
    if (index > 0) parent.append(document.createElement('wbr'));
    parent.append(span('email-part', part));
  }
}

/**
 * Describes the state of one invitation email. The time of sending is shown
 * in the room's time zone, with the date too when it is not the room's day,
 * and with the zone when it is not the browser's.
 * A pending email of a planned room is not late, because invitations go out
 * on the room's day, and its text states that.
 * The server's English failure reason goes into the details line.
 *
 * @param {InviteeView} invitee
 * @param {Room} room
 * @returns {{ text: string, state: InvitationStatus | 'scheduled', details?: string } | null}
 *   null when the server sent no status. `state` names the style of the text.
 */
function describeInvitation(invitee, room) {
  const details = invitee.failure ? t('console.inviteeFailureDetails', { reason: invitee.failure }) : undefined;
  switch (invitee.status) {
    case 'sent': {
      const sent = invitee.sentAt ? dateAndTimeIn(invitee.sentAt, room.timeZone) : null;
      if (!sent) return { text: t('console.inviteeSentNoTime'), state: 'sent' };
      const text =
        sent.date === room.date
          ? t('console.inviteeSent', { time: sent.time })
          : t('console.inviteeSentOn', { date: formatDate(sent.date), time: sent.time });
      // Labelled like the room's start time, so that it is not read as the browser's time.
      const zone = describeRoomTimeZone(room.timeZone);
      return { text: zone ? `${text} ${t('console.roomTimeZone', { zone })}` : text, state: 'sent' };
    }
    case 'failed':
      return { text: t('console.inviteeFailed'), state: 'failed', details };
    case 'sending':
      return { text: t('console.inviteeSending'), state: 'pending' };
    case 'pending':
      if (details) return { text: t('console.inviteeRetrying'), state: 'pending', details };
      if (room.status === 'planned') return { text: t('console.inviteeScheduled'), state: 'scheduled' };
      return { text: t('console.inviteePending'), state: 'pending' };
    default:
      return null;
  }
}

/**
 * Shows the outcome of an action in a row: a sentence and, for errors, an
 * optional hint and the server's message as a details line.
 *
 * @param {Element} row
 * @param {UserMessage} userMessage
 * @param {'success' | 'error' | 'progress'} kind
 */
function showRowMessage(row, userMessage, kind) {
  const message = liveRow(row).querySelector('[data-testid="row-status"]');
  if (!message) return;
  message.className = `row-message row-message-${kind}`;
  const paragraphs = [paragraph('row-message-text', userMessage.text)];
  if (userMessage.help) paragraphs.push(paragraph('row-message-help', userMessage.help));
  if (userMessage.details) paragraphs.push(paragraph('error-details', userMessage.details));
  message.replaceChildren(...paragraphs);
}

/**
 * Returns the row shown now for the room of `row`. The overview may have been
 * rendered anew while a request was running, which detaches the old row.
 *
 * @param {Element} row
 * @returns {Element}
 */
function liveRow(row) {
  if (row.isConnected || !(row instanceof HTMLElement)) return row;
  const roomId = row.dataset.roomId ?? '';
  const rows = document.querySelectorAll('[data-testid="room-row"]');
  return [...rows].find((candidate) => candidate instanceof HTMLElement && candidate.dataset.roomId === roomId) ?? row;
}

/**
 * Replaces a row with one rendered from `room` and returns the new row.
 *
 * @param {Element} row
 * @param {Room} room
 * @returns {HTMLTableRowElement}
 */
function replaceRoomRow(row, room) {
  const newRow = renderRoomRow(room);
  row.replaceWith(newRow);
  return newRow;
}

/**
 * Reloads one room and re-renders its row, so that its status and buttons
 * are current. Returns the row shown afterwards, the old one if loading failed.
 *
 * @param {Element} row
 * @param {string} roomId
 * @returns {Promise<Element>}
 */
async function refreshRoomRow(row, roomId) {
  try {
    const room = /** @type {Room} */ (await callApi('GET', `/api/rooms/${encodeURIComponent(roomId)}`));
    const current = liveRow(row);
    return current.isConnected ? replaceRoomRow(current, room) : current;
  } catch (error) {
    console.warn(`Console: reloading room ${roomId} failed: ${error instanceof Error ? error.message : error}`);
    return row;
  }
}

/**
 * Sends the invitation emails of a room of today again and re-renders its
 * row from the room that the server returns. The messages in the row use
 * the singular when one invitee with an email address is mailed.
 *
 * @param {Room} room
 * @param {HTMLButtonElement} button
 */
async function resendInvitations(room, button) {
  const row = button.closest('tr');
  if (!row) return;
  clearError();
  button.disabled = true;
  const sendingOne = countEmailInvitees(room) === 1;
  showRowMessage(row, { text: t(sendingOne ? 'console.resendingOne' : 'console.resendingMany') }, 'progress');
  try {
    const updated = /** @type {Room} */ (
      await callApi('POST', `/api/rooms/${encodeURIComponent(room.id)}/invitations`, {})
    );
    const newRow = replaceRoomRow(liveRow(row), updated);
    const invitees = Array.isArray(updated.invitees) ? updated.invitees : [];
    const mailed = invitees.filter((invitee) => invitee.email);
    const allSent = mailed.every((invitee) => invitee.status === 'sent');
    // Another request, such as from a second window, is sending these
    // emails right now: that is no failure.
    const othersSending = mailed.some((invitee) => invitee.status === 'sending');
    const noneFailed = mailed.every((invitee) => invitee.status === 'sent' || invitee.status === 'sending');
    /** @type {MessageKey} */
    let outcome;
    if (othersSending && noneFailed) outcome = mailed.length === 1 ? 'console.resendBusyOne' : 'console.resendBusyMany';
    else if (mailed.length === 1) outcome = allSent ? 'console.resendDoneOne' : 'console.resendFailedOne';
    else outcome = allSent ? 'console.resendDoneMany' : 'console.resendPartlyMany';
    showRowMessage(newRow, { text: t(outcome) }, noneFailed ? 'success' : 'error');
    focusResendButton(newRow);
  } catch (error) {
    button.disabled = false;
    await showResendError(row, room, error);
    if (focusIsLost()) restoreResendFocus(button, row);
  }
}

/**
 * Gives the focus, which disabling the resend button took, back to that
 * button, or to the resend button of the row rendered anew, or else to the
 * error box at the top of the page when the room went away.
 *
 * @param {HTMLButtonElement} button
 * @param {Element} row
 */
function restoreResendFocus(button, row) {
  if (button.isConnected) {
    button.focus();
    return;
  }
  const current = liveRow(row);
  if (current.isConnected) {
    focusResendButton(current);
    return;
  }
  if (!ui.error.hidden) ui.error.focus();
  else ui.listHeading.focus();
}

/**
 * Shows why resending failed. A missing room and a rejected token go to the
 * page's error box, because the row goes away. The other errors stay in the row.
 *
 * @param {Element} row
 * @param {Room} room
 * @param {unknown} error
 */
async function showResendError(row, room, error) {
  if (!(error instanceof ApiError)) {
    row.querySelector('[data-testid="row-status"]')?.replaceChildren();
    showError(error);
    return;
  }
  const code = error.body?.error;
  const details = error.body?.message ? t('console.errorDetails', { message: error.body.message }) : undefined;

  if (error.status === 401) {
    forgetRooms();
    showError(error);
    return;
  }
  if (isRoomNotFound(error)) {
    showError(error);
    try {
      renderRooms(await fetchRooms(ui.listFrom.value, ui.listTo.value));
    } catch (refreshError) {
      console.warn(`Console: refreshing the overview failed: ${refreshError instanceof Error ? refreshError.message : refreshError}`);
    }
    return;
  }
  console.warn(`Console: resending invitations failed: ${error.message}`);
  if (error.status === 0) {
    const text = t(countEmailInvitees(room) === 1 ? 'console.resendNetworkErrorOne' : 'console.resendNetworkErrorMany');
    showRowMessage(row, { text }, 'error');
    return;
  }
  // A server error or a gateway's timeout can come after the emails went
  // out, so sending again at once could mail a second time.
  if (error.status >= 500) {
    const singleInvitee = countEmailInvitees(room) === 1;
    const key = singleInvitee ? 'console.resendServerErrorOne' : 'console.resendServerErrorMany';
    const text = t(key, { status: error.status });
    showRowMessage(row, { text, details }, 'error');
    return;
  }
  if (code === 'not-room-day' || code === 'no-invitees') {
    // The day may have ended or the invitees changed since the overview was
    // loaded, so the row is reloaded before the message is shown in it.
    const text =
      code === 'not-room-day'
        ? t('console.resendNotRoomDay', { date: formatDate(room.date) })
        : t('console.resendNoInvitees');
    const currentRow = await refreshRoomRow(row, room.id);
    showRowMessage(currentRow, { text, details }, 'error');
    return;
  }
  showRowMessage(row, describeApiError(error), 'error');
}

/**
 * Moves the focus to the resend button of a re-rendered row, or to its first
 * button when resending is no longer offered.
 *
 * @param {Element} row
 */
function focusResendButton(row) {
  const button = row.querySelector('[data-testid="resend"]') ?? row.querySelector('button');
  if (button instanceof HTMLElement) button.focus();
}

/** @param {Room} room */
async function deleteRoom(room) {
  if (!window.confirm(t('console.confirmDelete'))) return;
  clearError();
  const neighbours = neighbourRoomIds(room.id);
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
    if (isRoomNotFound(error)) {
      try {
        renderRooms(await fetchRooms(ui.listFrom.value, ui.listTo.value));
      } catch (refreshError) {
        console.warn(`Console: refreshing the room list failed: ${refreshError instanceof Error ? refreshError.message : refreshError}`);
      }
    }
  }
  focusAfterDeletion(neighbours);
}

/**
 * Returns the ids of the rooms listed around a room, nearest first: those
 * below it, then those above it.
 *
 * @param {string} roomId
 * @returns {string[]}
 */
function neighbourRoomIds(roomId) {
  const ids = [...ui.roomRows.querySelectorAll('[data-testid="room-row"]')].map((row) =>
    row instanceof HTMLElement ? (row.dataset.roomId ?? '') : '',
  );
  const index = ids.indexOf(roomId);
  if (index < 0) return [];
  return [...ids.slice(index + 1), ...ids.slice(0, index).reverse()];
}

/**
 * Moves the focus, which rendering the overview anew took from the delete
 * button, to the delete button of the first listed room of `roomIds`, or
 * else to the overview's heading. Focus that an error message put on a
 * control stays there.
 *
 * @param {string[]} roomIds
 */
function focusAfterDeletion(roomIds) {
  const active = document.activeElement;
  if (active && active !== document.body) return;
  const rows = [...ui.roomRows.querySelectorAll('[data-testid="room-row"]')];
  for (const roomId of roomIds) {
    const row = rows.find((candidate) => candidate instanceof HTMLElement && candidate.dataset.roomId === roomId);
    const button = row?.querySelector('[data-testid="delete"]');
    if (button instanceof HTMLElement) {
      button.focus();
      return;
    }
  }
  ui.listHeading.focus();
}

// ---------------------------------------------------------------------------
// Start

/**
 * Returns the zone that the create form starts with: the one chosen last in
 * this browser, else the browser's own zone when the form offers it, else
 * Europe/Berlin.
 *
 * @returns {string}
 */
function initialTimeZone() {
  const offered = [...ui.timeZoneSelect.options].map((option) => option.value);
  const stored = readStored(STORAGE_TIME_ZONE);
  if (stored && offered.includes(stored)) return stored;
  const browserZone = resolveTimeZone(new Intl.DateTimeFormat().resolvedOptions().timeZone);
  return offered.find((zone) => resolveTimeZone(zone) === browserZone) ?? DEFAULT_TIME_ZONE;
}

function start() {
  applyTranslations();

  try {
    ui.tokenInput.value = sessionStorage.getItem(STORAGE_TOKEN) ?? '';
  } catch {
    // Storage blocked: the token must be entered again after a reload.
  }
  // Enter in the field fires both "change" and "submit" in one task. One
  // request is enough, since every rejected token counts against the
  // server's limit of failed attempts.
  let tokenTaskHandled = false;
  const saveToken = () => {
    if (tokenTaskHandled) return;
    tokenTaskHandled = true;
    setTimeout(() => {
      tokenTaskHandled = false;
    }, 0);
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

  ui.timeZoneSelect.value = initialTimeZone();
  defaultDate = todayIn(ui.timeZoneSelect.value);
  ui.dateInput.value = defaultDate;
  ui.timeZoneSelect.addEventListener('change', () => {
    writeStored(STORAGE_TIME_ZONE, ui.timeZoneSelect.value);
    updateDefaultDate();
  });
  for (const control of [ui.dateInput, ui.startTimeInput, ui.timeZoneSelect]) {
    control.addEventListener('input', updateStartTimeHint);
    control.addEventListener('change', updateStartTimeHint);
  }
  // The time moves on while the form is open, past midnight too.
  setInterval(() => {
    updateDefaultDate();
    updateStartTimeHint();
  }, START_TIME_HINT_INTERVAL_MS);

  const today = todayIn(DEFAULT_TIME_ZONE);
  ui.listFrom.value = addDays(today, -LIST_DAYS_BACK);
  ui.listTo.value = addDays(today, LIST_DAYS_AHEAD);

  ui.addInviteeButton.addEventListener('click', addInviteeRow);
  // Typing in a field marked invalid takes the mark away, and with it the
  // message at the top, which would otherwise report a fixed entry. Date,
  // start time and time zone are checked together, such as for a time that
  // the clocks skip, so a change of one of them clears an error on another.
  /** @param {EventTarget | null} target */
  const isDayControl = (target) => [ui.dateInput, ui.startTimeInput, ui.timeZoneSelect].some((control) => control === target);
  for (const form of [ui.tokenForm, ui.createForm, ui.listForm]) {
    form.addEventListener('input', (event) => {
      if (!invalidControl) return;
      const related = isDayControl(invalidControl) && isDayControl(event.target);
      if (event.target === invalidControl || related) clearError();
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
