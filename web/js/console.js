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
 */

/** sessionStorage key of the API token. It stays in this tab only. */
const STORAGE_TOKEN = 'videoCall.apiToken';

const DEFAULT_TIME_ZONE = 'Europe/Berlin';

/** Number of days the room list shows from today by default. */
const LIST_DAYS = 30;

/** Size of the call window, small enough to sit near the webcam. */
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

/** Error with a message that is ready to show to the user. */
class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} [status]
   */
  constructor(message, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

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
 * or null for 204. Throws ApiError with a message for the user.
 *
 * @param {'GET' | 'POST' | 'DELETE'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
async function callApi(method, path, body) {
  const token = ui.tokenInput.value.trim();
  if (!token) {
    ui.tokenInput.focus();
    throw new ApiError(t('console.missingToken'));
  }

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
    throw new ApiError(t('console.networkError'));
  }

  if (response.status === 204) return null;
  /** @type {unknown} */
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const serverMessage =
      typeof data === 'object' && data !== null && typeof (/** @type {{ message?: unknown }} */ (data).message) === 'string'
        ? /** @type {{ message: string }} */ (data).message
        : '';
    const summary =
      response.status === 401 ? t('console.unauthorized') : t('console.requestFailed', { status: response.status });
    throw new ApiError(serverMessage ? `${summary} ${serverMessage}` : summary, response.status);
  }
  return data;
}

/** @param {unknown} error */
function showError(error) {
  ui.error.textContent = error instanceof ApiError ? error.message : t('console.networkError');
  ui.error.hidden = false;
  if (!(error instanceof ApiError)) console.error(error);
}

function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

// ---------------------------------------------------------------------------
// Invitees

function addInviteeRow() {
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

  const removeButton = createButton(t('console.removeInvitee'), () => row.remove(), { className: 'button' });
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
  nameInput.focus();
}

/** @returns {Invitee[]} */
function readInvitees() {
  /** @type {Invitee[]} */
  const invitees = [];
  for (const row of ui.inviteeRows.querySelectorAll('.invitee-row')) {
    const name = /** @type {HTMLInputElement} */ (row.querySelector('[name="name"]')).value.trim();
    const email = /** @type {HTMLInputElement} */ (row.querySelector('[name="email"]')).value.trim();
    const language = /** @type {HTMLSelectElement} */ (row.querySelector('[name="locale"]')).value;
    if (!name && !email) continue;
    invitees.push({ name, email, locale: language === 'en' ? 'en' : 'de' });
  }
  return invitees;
}

// ---------------------------------------------------------------------------
// Creating a room

async function createRoom() {
  clearError();
  ui.createStatus.textContent = '';
  /** @type {CreateRoomRequest} */
  const request = { date: ui.dateInput.value, timeZone: ui.timeZoneSelect.value };
  if (ui.startTimeInput.value) request.startTime = ui.startTimeInput.value.slice(0, 5);
  const title = ui.titleInput.value.trim();
  if (title) request.title = title;
  const patientId = ui.patientIdInput.value.trim();
  if (patientId) request.patientId = patientId;
  const invitees = readInvitees();
  if (invitees.length > 0) request.invitees = invitees;

  ui.createButton.disabled = true;
  try {
    const room = /** @type {Room} */ (await callApi('POST', '/api/rooms', request));
    ui.createdLink.value = room.joinUrl;
    ui.createdRoom.hidden = false;
    ui.createdLink.select();
    void loadRooms();
  } catch (error) {
    showError(error);
  } finally {
    ui.createButton.disabled = false;
  }
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
  if (!from || !to) return;
  ui.listStatus.textContent = t('console.loading');
  try {
    const query = new URLSearchParams({ from, to });
    const data = await callApi('GET', `/api/rooms?${query}`);
    const rooms =
      typeof data === 'object' && data !== null && Array.isArray(/** @type {{ rooms?: unknown }} */ (data).rooms)
        ? /** @type {{ rooms: Room[] }} */ (data).rooms
        : [];
    renderRooms(rooms);
  } catch (error) {
    ui.listStatus.textContent = '';
    showError(error);
  }
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
  dateCell.textContent = room.startTime ? `${formatDate(room.date)}, ${room.startTime}` : formatDate(room.date);

  const titleCell = document.createElement('td');
  titleCell.textContent = room.title || t('console.noTitle');
  if (Array.isArray(room.invitees) && room.invitees.length > 0) {
    const names = document.createElement('p');
    names.className = 'hint';
    names.textContent = room.invitees.map((invitee) => invitee.name || invitee.email).join(', ');
    titleCell.append(names);
  }

  const linkCell = document.createElement('td');
  const status = document.createElement('p');
  status.className = 'hint';
  status.setAttribute('role', 'status');
  if (isWebUrl(room.joinUrl)) {
    const anchor = document.createElement('a');
    anchor.href = room.joinUrl;
    anchor.target = '_blank';
    anchor.rel = 'noopener noreferrer';
    anchor.className = 'room-link';
    anchor.textContent = room.joinUrl;
    linkCell.append(anchor);
  } else {
    linkCell.textContent = room.joinUrl;
  }

  const actionsCell = document.createElement('td');
  actionsCell.append(
    createButton(t('console.copyLink'), () => void copyLink(room.joinUrl, status), { className: 'button' }),
    createButton(t('console.startCall'), () => openCallWindow(room.joinUrl, status), { className: 'button primary' }),
    createButton(t('console.delete'), () => void deleteRoom(room), {
      className: 'button danger',
      ariaLabel: t('console.deleteLabel', { date: formatDate(room.date) }),
    }),
    status,
  );

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
    showError(error);
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
  let defaultDate = todayIn(DEFAULT_TIME_ZONE);
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
