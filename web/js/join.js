// Controller of the join page (join.html): link check, join form, call view
// and the page states that tests read from `document.body.dataset.state`.

import { applyTranslations, dateAndTimeIn, describeRoomTimeZone, formatDate, placeOfZone, t } from './i18n.js';
import { byId, createButton, fillSelect, readStored, removeStored, trimName, writeStored } from './dom.js';
import { PROTOCOL_VERSION, SignalingClient } from './signaling.js';
import {
  MicrophoneLevel,
  checkBrowserSupport,
  classifyMediaError,
  deviceIdOf,
  listDevices,
  openMedia,
  queryDevicePermission,
  replaceStreamTrack,
  stopStream,
} from './media.js';
import { CallController } from './call.js';
import { ChatView, NoticeList, SecurityCodePanel, TileGrid, attachStream } from './call-ui.js';
import { MAX_CHAT_LENGTH } from './peer.js';

/**
 * @typedef {'checking' | 'ready' | 'joining' | 'in-call' | 'left' | 'error'} PageState
 * @typedef {'link' | 'connection' | 'media' | 'name' | 'join' | 'device'} ErrorSource
 * @typedef {{ label: string, onClick: () => void }} ErrorAction
 * @typedef {import('./i18n.js').MessageKey} MessageKey
 * @typedef {import('./media.js').DeviceKind} DeviceKind
 * @typedef {import('./media.js').MediaProblem} MediaProblem
 * @typedef {import('./signaling.js').ServerMessage} ServerMessage
 * @typedef {import('./signaling.js').ErrorMessage} ErrorMessage
 * @typedef {import('./signaling.js').JoinMessage} JoinMessage
 * @typedef {import('./signaling.js').JoinedMessage} JoinedMessage
 * @typedef {import('./signaling.js').PeerJoinedMessage | import('./signaling.js').PeerLeftMessage | import('./signaling.js').IncomingSignalMessage} PeerMessage
 * @typedef {import('./signaling.js').CloseDetail} CloseDetail
 * @typedef {import('./peer.js').MediaState} MediaState
 */

// Preferences and the place in the last call are stored. The link token never is.
const STORAGE_NAME = 'videoCall.displayName';
const STORAGE_MICROPHONE = 'videoCall.microphoneId';
const STORAGE_CAMERA = 'videoCall.cameraId';
/**
 * The place of this browser's last page in a call, `{ link, peerId, key }`,
 * where `link` is the SHA-256 of the link token in hex, so that the token
 * itself is not stored. A page opened after the last one crashed sends the
 * place as `replaces`, and the server frees it at once. There is one entry
 * per browser, so with two tabs in a call only the later one's is kept.
 */
const STORAGE_PLACE = 'videoCall.place';

const MAX_NAME_LENGTH = 64;

/** Characters left in a chat message from which the chat form counts them down. */
const CHAT_COUNTDOWN_FROM = 200;

/**
 * Most messages about other participants kept between `join` and `joined`.
 * A room has at most 8 participants, and each sends a few signals at first.
 */
const MAX_EARLY_MESSAGES = 200;

const ui = {
  header: byId('page-header', HTMLElement),
  error: byId('error', HTMLElement),
  errorText: byId('error-text', HTMLElement),
  errorHelp: byId('error-help', HTMLElement),
  errorActions: byId('error-actions', HTMLElement),
  notice: byId('notice', HTMLElement),
  checkingView: byId('checking-view', HTMLElement),
  formView: byId('form-view', HTMLElement),
  callView: byId('call-view', HTMLElement),
  leftView: byId('left-view', HTMLElement),

  previewVideo: byId('preview-video', HTMLVideoElement),
  previewPlaceholder: byId('preview-placeholder', HTMLElement),
  mediaNote: byId('media-note', HTMLElement),
  levelFill: byId('level-fill', HTMLElement),
  joinForm: byId('join-form', HTMLFormElement),
  nameInput: byId('display-name', HTMLInputElement),
  formMicrophoneSelect: byId('microphone-select', HTMLSelectElement),
  formCameraSelect: byId('camera-select', HTMLSelectElement),
  formDeviceFields: byId('device-fields', HTMLElement),
  joinButton: byId('join-button', HTMLButtonElement),

  tiles: byId('tiles', HTMLElement),
  remoteTileTemplate: byId('remote-tile-template', HTMLTemplateElement),
  localVideo: byId('local-video', HTMLVideoElement),
  localPlaceholder: byId('local-placeholder', HTMLElement),
  localName: byId('local-name', HTMLElement),
  localMuted: byId('local-muted', HTMLElement),
  localMutedText: byId('local-muted-text', HTMLElement),
  waitingNote: byId('waiting-note', HTMLElement),
  callNotices: byId('call-notices', HTMLElement),
  chatPanel: byId('chat-panel', HTMLElement),
  chatMessages: byId('chat-messages', HTMLOListElement),
  chatForm: byId('chat-form', HTMLFormElement),
  chatInput: byId('chat-input', HTMLInputElement),
  chatLimit: byId('chat-limit', HTMLElement),
  devicePanel: byId('device-panel', HTMLElement),
  callMicrophoneSelect: byId('call-microphone-select', HTMLSelectElement),
  callCameraSelect: byId('call-camera-select', HTMLSelectElement),
  devicePanelClose: byId('device-panel-close', HTMLButtonElement),
  securityPanel: byId('security-panel', HTMLElement),
  securityHeading: byId('security-heading', HTMLElement),
  securityCode: byId('security-code', HTMLElement),
  securityStatus: byId('security-status', HTMLElement),
  securityPanelClose: byId('security-panel-close', HTMLButtonElement),
  microphoneButton: byId('microphone-button', HTMLButtonElement),
  cameraButton: byId('camera-button', HTMLButtonElement),
  devicesButton: byId('devices-button', HTMLButtonElement),
  chatButton: byId('chat-button', HTMLButtonElement),
  chatUnread: byId('chat-unread', HTMLElement),
  leaveButton: byId('leave-button', HTMLButtonElement),
  announcer: byId('announcer', HTMLElement),
  rejoinButton: byId('rejoin-button', HTMLButtonElement),
};

/**
 * Returns a stream without tracks. Browsers without MediaStream get a stand-in
 * with no tracks, because they only reach the unsupported-browser message.
 *
 * @returns {MediaStream}
 */
function createEmptyStream() {
  if (typeof MediaStream === 'function') return new MediaStream();
  const noTracks = () => [];
  return /** @type {MediaStream} */ (/** @type {unknown} */ ({ getTracks: noTracks, getAudioTracks: noTracks, getVideoTracks: noTracks }));
}

/** Peer connections by remote peer id, exposed read-only for tests (getStats). */
const peerConnections = new Map();
window.__videoCall = Object.freeze({ peerConnections });

const page = {
  token: '',
  /** SHA-256 of `token` in hex, or '' until computed or where Web Crypto is missing. */
  linkTag: '',
  /** Whether the pending `join` carries `replaces`. */
  joinReplaces: false,
  /** @type {PageState} */
  state: 'checking',
  signalingUrl: '',
  /** @type {SignalingClient | null} */
  signaling: null,
  /** Camera and microphone tracks, shown in the preview and sent to every peer. */
  localStream: createEmptyStream(),
  /** Whether a getUserMedia request for the preview is still open. */
  mediaPending: false,
  /** The running preview request, which resolves to whether it opened the devices. */
  /** @type {Promise<boolean> | null} */
  mediaReady: null,
  /** Whether the visitor chose to join without camera and microphone. */
  withoutMedia: false,
  /**
   * Why the chat field contains less than the visitor entered: '' when it
   * contains everything, 'typed' when typing stopped at the limit, and
   * 'inserted' when pasted or dropped text was cut at the limit.
   * @type {'' | 'typed' | 'inserted'}
   */
  chatCut: '',
  microphoneEnabled: true,
  cameraEnabled: true,
  displayName: '',
  /** @type {ErrorSource | null} */
  errorSource: null,
  /** Counts failed socket openings, so that only the latest one shows its message. */
  connectionFailures: 0,
  /** @type {CallController | null} */
  call: null,
  /** Whether anyone else was in the call since this page joined it. */
  othersWereHere: false,
  /** @type {TileGrid | null} */
  tileGrid: null,
  /** @type {SecurityCodePanel | null} */
  securityPanel: null,
  chat: new ChatView(ui.chatMessages, ui.chatPanel, ui.chatUnread, ui.chatButton, announce),
  notices: new NoticeList(ui.callNotices),
  microphoneLevel: new MicrophoneLevel(),
  /**
   * Messages about other participants that arrived after `join` but before
   * `joined`, applied once the call has started.
   * @type {PeerMessage[]}
   */
  earlyMessages: [],
};

// ---------------------------------------------------------------------------
// Page state, errors and notices

/** @param {PageState} state */
function setState(state) {
  page.state = state;
  document.body.dataset.state = state;
  ui.header.hidden = state === 'in-call';
  ui.checkingView.hidden = state !== 'checking';
  ui.formView.hidden = state !== 'ready' && state !== 'joining';
  ui.callView.hidden = state !== 'in-call';
  ui.leftView.hidden = state !== 'left';

  const joining = state === 'joining';
  ui.joinButton.disabled = joining;
  ui.joinButton.textContent = joining ? t('form.joining') : t('form.join');
  ui.joinForm.setAttribute('aria-busy', String(joining));
}

/**
 * Shows an error in the one element with data-testid="error". The tone
 * "info" suits messages that are no fault, such as a link for another day.
 *
 * @param {{ source: ErrorSource, text: string, help?: string, actions?: ErrorAction[], tone?: 'error' | 'info' }} error
 */
function showError({ source, text, help, actions = [], tone = 'error' }) {
  page.errorSource = source;
  ui.error.classList.toggle('info', tone === 'info');
  ui.errorText.textContent = text;
  ui.errorHelp.textContent = help ?? '';
  ui.errorHelp.hidden = !help;
  ui.errorActions.replaceChildren(
    ...actions.map((action, index) =>
      createButton(action.label, action.onClick, { className: index === 0 ? 'button primary' : 'button' }),
    ),
  );
  ui.errorActions.hidden = actions.length === 0;
  ui.error.hidden = false;
}

/**
 * Hides the error when it came from `source`, or any error without a source.
 *
 * @param {ErrorSource} [source]
 */
function clearError(source) {
  if (source && page.errorSource !== source) return;
  page.errorSource = null;
  ui.error.hidden = true;
  ui.errorText.textContent = '';
  ui.errorHelp.textContent = '';
  ui.errorActions.replaceChildren();
}

/** @param {string} text */
function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
}

function hideNotice() {
  ui.notice.hidden = true;
  ui.notice.textContent = '';
}

/** @param {string} text */
function announce(text) {
  // Clearing first makes screen readers read the same text again.
  ui.announcer.textContent = '';
  window.setTimeout(() => {
    ui.announcer.textContent = text;
  }, 50);
}

/**
 * Shows a short notice over the call, such as who joined or left, and reads
 * it to screen readers.
 *
 * @param {string} text
 */
function notifyInCall(text) {
  page.notices.show(text);
  announce(text);
}

/**
 * Ends the visit with an error that the visitor cannot fix on this page.
 *
 * @param {string} text
 * @param {{ actions?: ErrorAction[], tone?: 'error' | 'info' }} [options]
 */
function showFinalError(text, { actions = [], tone = 'error' } = {}) {
  closeSignaling();
  releaseMedia();
  setState('error');
  showError({ source: 'link', text, actions, tone });
}

/** Time the page waits for its own server when the signaling socket failed. */
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Tells the visitor that the signaling socket could not be opened. A
 * browser hides why a socket was refused, so the page first requests
 * /config.json from its own server. When that works, the visitor's internet
 * works, and the signaling server refused the socket or is disturbed. It
 * refuses sockets for a minute after too many invalid links from one
 * address, which can happen in a network shared with others.
 *
 * @param {() => void} retry
 */
async function showConnectionFailed(retry) {
  const attempt = ++page.connectionFailures;
  let reachable = false;
  try {
    const response = await fetch('/config.json', {
      method: 'HEAD',
      cache: 'no-store',
      credentials: 'same-origin',
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    reachable = response.ok;
  } catch {
    // Offline, or the page's server is down as well.
  }
  // A retry that started meanwhile owns the page now.
  if (attempt !== page.connectionFailures) return;
  setState('error');
  showError({
    source: 'connection',
    text: t(reachable ? 'connection.refused' : 'connection.failed'),
    actions: [{ label: t('action.retry'), onClick: retry }],
  });
}

// ---------------------------------------------------------------------------
// Start and link check

/**
 * Returns the link token from the URL fragment. The fragment stays in the
 * address bar so that a reload works. The token leaves the page only inside
 * `check` and `join` messages.
 *
 * @returns {string}
 */
function readToken() {
  return location.hash.replace(/^#/, '').trim();
}

function start() {
  applyTranslations();
  applyTranslations(ui.remoteTileTemplate.content);
  setState('checking');
  bindForm();
  bindCall();

  // The token is the page's identity, so a changed fragment starts over.
  window.addEventListener('hashchange', () => location.reload());

  page.token = readToken();
  if (!page.token) {
    showFinalError(t('link.missing'));
    return;
  }

  const problem = checkBrowserSupport();
  if (problem) {
    showFinalError(t(problem === 'insecure' ? 'media.insecure' : 'media.unsupported'));
    return;
  }

  void checkLink();
}

/** Opens the signaling socket and sends `check`. The server replies with the room's `status`. */
async function checkLink() {
  clearError();
  setState('checking');
  try {
    const signaling = await connectSignaling();
    signaling.send({ type: 'check', v: PROTOCOL_VERSION, token: page.token });
  } catch (error) {
    console.warn(`Join: link check failed: ${error instanceof Error ? error.message : error}`);
    void showConnectionFailed(() => void checkLink());
  }
}

/**
 * Reads the signaling URL from /config.json.
 *
 * @returns {Promise<string>}
 */
async function loadSignalingUrl() {
  if (page.signalingUrl) return page.signalingUrl;
  const response = await fetch('/config.json', { cache: 'no-store', credentials: 'same-origin' });
  if (!response.ok) throw new Error(`GET /config.json returned HTTP ${response.status}`);
  /** @type {unknown} */
  const config = await response.json();
  const url = typeof config === 'object' && config !== null ? /** @type {{ signalingUrl?: unknown }} */ (config).signalingUrl : undefined;
  if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) {
    throw new Error('config.json has no ws:// or wss:// signalingUrl');
  }
  page.signalingUrl = url;
  return url;
}

/**
 * Returns the open signaling client, creating and connecting it when needed.
 *
 * @returns {Promise<SignalingClient>}
 */
async function connectSignaling() {
  const url = await loadSignalingUrl();
  if (!page.signaling) {
    const signaling = new SignalingClient(url);
    signaling.addEventListener('message', (event) => {
      if (signaling === page.signaling) handleServerMessage(/** @type {CustomEvent<ServerMessage>} */ (event).detail);
    });
    signaling.addEventListener('open', (event) => {
      const { reconnected } = /** @type {CustomEvent<{ reconnected: boolean }>} */ (event).detail;
      if (signaling === page.signaling && reconnected) handleReconnected();
    });
    signaling.addEventListener('close', (event) => {
      if (signaling === page.signaling) handleSocketClose(/** @type {CustomEvent<CloseDetail>} */ (event).detail);
    });
    page.signaling = signaling;
  }
  await page.signaling.connect();
  return page.signaling;
}

function closeSignaling() {
  page.signaling?.close();
  page.signaling = null;
}

/** @param {ServerMessage} message */
function handleServerMessage(message) {
  switch (message.type) {
    case 'status':
      if (page.state !== 'checking') return;
      if (message.state === 'open') {
        showForm();
      } else {
        showRoomClosed(message.state, message.date, message);
      }
      return;
    case 'joined':
      handleJoined(message);
      return;
    case 'peer-joined':
    case 'peer-left':
    case 'signal':
      handlePeerMessage(message);
      return;
    case 'error':
      handleServerError(message);
      return;
    case 'pong':
      return;
  }
}

/**
 * Hands a message about another participant to the call. Before `joined`
 * there is no call yet. But the server handles joins at the same moment side
 * by side, so `peer-joined` for someone who joined just after this page, and
 * that person's first offer, can arrive before this page's own `joined`.
 * Such messages are kept and applied after `joined`.
 *
 * @param {PeerMessage} message
 */
function handlePeerMessage(message) {
  const call = page.call;
  if (!call) {
    if (page.state === 'joining' && page.earlyMessages.length < MAX_EARLY_MESSAGES) page.earlyMessages.push(message);
    return;
  }
  if (message.type === 'peer-joined') call.handlePeerJoined(message);
  else if (message.type === 'peer-left') call.handlePeerLeft(message);
  else call.handleSignal(message);
}

/**
 * Applies the messages kept by handlePeerMessage. `joined` may list a
 * participant whose `peer-joined` came first; that one is skipped.
 *
 * @param {JoinedMessage} joined
 */
function applyEarlyMessages(joined) {
  const early = page.earlyMessages;
  page.earlyMessages = [];
  const listed = new Set(joined.peers.map((peer) => peer.peerId));
  for (const message of early) {
    if (message.type === 'peer-joined' && listed.has(message.peerId)) continue;
    handlePeerMessage(message);
  }
}

/**
 * Tells the visitor on which day the link works. The moment that matters is
 * the start of the link's validity, or its end for an expired link. When the
 * browser's clock shows another date or time than the room's zone at that
 * moment, the message names the zone and gives the moment in the visitor's
 * own time. There the room's day can begin or end on another date. A zone
 * with the same clock, such as Vienna for a browser in Berlin, gets the
 * plain message.
 *
 * @param {'not-yet-open' | 'expired'} state
 * @param {string} date "YYYY-MM-DD" in the room's time zone
 * @param {{ timeZone?: string, validFrom?: string, validUntil?: string }} [validity]
 *   the fields of a `status` message, when the server sent one
 */
function showRoomClosed(state, date, validity = {}) {
  const notYetOpen = state === 'not-yet-open';
  const label = validity.timeZone ? describeRoomTimeZone(validity.timeZone) : null;
  const zone = label && validity.timeZone ? describeZoneTime(label, validity.timeZone) : null;
  const boundary = notYetOpen ? validity.validFrom : validity.validUntil;
  const browserZone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  const local = zone && boundary ? dateAndTimeIn(boundary, browserZone) : null;
  // A zone that this browser does not know counts as a different clock.
  const inRoomZone = local && boundary && validity.timeZone ? dateAndTimeIn(boundary, validity.timeZone) : null;
  const clocksDiffer = local !== null && (inRoomZone === null || inRoomZone.date !== local.date || inRoomZone.time !== local.time);
  const text = local && clocksDiffer
    ? t(notYetOpen ? 'link.notYetOpenZone' : 'link.expiredZone', {
        date: formatDate(date),
        zone: zone ?? '',
        localDate: formatDate(local.date),
        localTime: local.time,
      })
    : t(notYetOpen ? 'link.notYetOpen' : 'link.expired', { date: formatDate(date) });
  showFinalError(text, { tone: 'info' });
}

/**
 * Names the time in which a room's date holds: "Ortszeit Wien" or
 * "Ortszeit Auckland" for a zone named after a place, as in the invitation
 * email, and "Zeitzone UTC" for a zone without one.
 *
 * @param {string} label the zone's name from describeRoomTimeZone, such as "Wien" or "Pacific/Auckland"
 * @param {string} timeZone IANA name of the room's zone
 * @returns {string}
 */
function describeZoneTime(label, timeZone) {
  const place = placeOfZone(label);
  // The console's zones have a readable name, which differs from the IANA
  // name, and placeOfZone returns other zones without a place unchanged.
  return place === timeZone ? t('link.zoneName', { name: place }) : t('link.zonePlace', { place });
}

/** @param {ErrorMessage} message */
function handleServerError(message) {
  const inCall = page.state === 'in-call';
  switch (message.code) {
    case 'invalid-link':
    case 'room-not-open':
    case 'room-full':
    case 'unsupported-version':
      if (inCall) {
        // The resume was rejected. The peer connections keep working without signaling.
        showConnectionLost();
        return;
      }
      if (message.code === 'invalid-link') {
        showFinalError(t('link.invalid'));
      } else if (message.code === 'room-not-open') {
        showRoomClosed(message.state === 'not-yet-open' ? 'not-yet-open' : 'expired', message.date ?? '');
      } else if (message.code === 'room-full') {
        closeSignaling();
        setState('error');
        showError({
          source: 'join',
          text: t('join.roomFull'),
          actions: [{ label: t('action.retry'), onClick: retryJoin }],
        });
      } else {
        const reload = { label: t('action.reload'), onClick: () => location.reload() };
        showFinalError(t('join.outdated'), { actions: [reload] });
      }
      return;
    case 'internal': {
      // The server closes the socket next. In a call, the client reconnects.
      if (inCall) return;
      const wasChecking = page.state === 'checking';
      closeSignaling();
      setState('error');
      if (wasChecking) {
        const retry = { label: t('action.retry'), onClick: () => void checkLink() };
        showError({ source: 'connection', text: t('join.serverError'), actions: [retry] });
      } else {
        const retry = { label: t('action.retry'), onClick: retryJoin };
        showError({ source: 'join', text: t('join.serverError'), actions: [retry] });
      }
      return;
    }
    case 'invalid-name':
      if (page.state === 'joining') {
        setState('ready');
        showNameError('name.invalid');
      }
      return;
    case 'invalid-message':
      // A server from before `replaces` rejects a join that carries it, as
      // during a deployment. The join goes again without it.
      if (page.state === 'joining' && page.joinReplaces && page.signaling) {
        page.joinReplaces = false;
        removeStored(STORAGE_PLACE);
        page.signaling.send(joinMessage());
        return;
      }
      console.warn(`Signaling: the server reported ${message.code}: ${message.message}`);
      return;
    default:
      console.warn(`Signaling: the server reported ${message.code}`);
  }
}

/** @param {CloseDetail} detail */
function handleSocketClose(detail) {
  page.call?.handleSocketClosed();
  switch (page.state) {
    case 'checking':
      closeSignaling();
      void showConnectionFailed(() => void checkLink());
      return;
    case 'joining':
      closeSignaling();
      void showConnectionFailed(retryJoin);
      return;
    case 'in-call':
      if (detail.reconnecting) {
        showNotice(t('connection.reconnecting'));
      } else {
        showConnectionLost();
      }
      return;
    default:
      // On the form, the next join opens a new socket.
      closeSignaling();
  }
}

function showConnectionLost() {
  page.signaling?.setReconnect(false);
  showNotice(t('connection.lost'));
}

// ---------------------------------------------------------------------------
// Join form and camera preview

function showForm() {
  clearError();
  setState('ready');
  ui.nameInput.value = readStored(STORAGE_NAME) ?? '';
  void startPreview({ audio: true, video: true });
}

function bindForm() {
  ui.joinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void requestJoin();
  });
  ui.nameInput.addEventListener('input', () => {
    ui.nameInput.removeAttribute('aria-invalid');
    clearError('name');
  });
  ui.formMicrophoneSelect.addEventListener('change', () => void switchDevice('microphone', ui.formMicrophoneSelect.value));
  ui.formCameraSelect.addEventListener('change', () => void switchDevice('camera', ui.formCameraSelect.value));
  ui.formView.addEventListener('pointerdown', () => page.microphoneLevel.resume());
  ui.formView.addEventListener('keydown', () => page.microphoneLevel.resume());
  navigator.mediaDevices?.addEventListener?.('devicechange', () => void refreshDeviceLists());
  window.requestAnimationFrame(drawMicrophoneLevel);
}

/**
 * Opens camera and microphone for the preview, replacing earlier tracks.
 * On failure, shows what went wrong and the ways forward, and returns false.
 *
 * @param {{ audio: boolean, video: boolean }} request
 * @returns {Promise<boolean>}
 */
function startPreview(request) {
  page.mediaReady = openPreview(request);
  return page.mediaReady;
}

/**
 * Opens the preview devices. startPreview keeps the returned promise, so
 * that requestJoin can wait for it.
 *
 * @param {{ audio: boolean, video: boolean }} request
 * @returns {Promise<boolean>}
 */
async function openPreview(request) {
  releaseMedia();
  page.withoutMedia = false;
  page.mediaPending = true;
  clearError('media');
  updateMediaView();

  let success = false;
  try {
    setLocalStream(await openMedia({ ...request, ...storedDeviceIds() }));
    success = true;
  } catch (error) {
    await handleMediaError(error, request);
  }

  page.mediaPending = false;
  updateMediaView();
  await refreshDeviceLists();
  return success;
}

/**
 * Explains a failed getUserMedia and offers the ways forward. When both
 * devices were requested and the error may concern only the camera, tries the
 * microphone alone to tell the visitor which device is the problem.
 *
 * @param {unknown} error
 * @param {{ audio: boolean, video: boolean }} request
 */
async function handleMediaError(error, request) {
  const problem = classifyMediaError(error);
  console.warn(`Media: getUserMedia failed with ${error instanceof Error ? error.name : 'unknown error'}`);

  const retry = {
    label: t('action.retry'),
    onClick: () => void startPreview({ audio: true, video: true }).then(restoreFocus),
  };
  const audioOnly = { label: t('action.audioOnly'), onClick: () => void joinWithAudioOnly() };
  const noMedia = { label: t('action.noMedia'), onClick: () => void joinWithoutMedia() };

  if (problem === 'permission-denied') {
    // Joining with audio only is offered unless the browser reports the
    // microphone as blocked too. Where it cannot tell, the microphone's own
    // prompt decides, and a failure there leaves only the other choices.
    const microphone = request.video ? await queryDevicePermission('microphone') : 'denied';
    const cameraOnly = microphone === 'granted';
    showError({
      source: 'media',
      text: t(cameraOnly ? 'media.cameraDenied' : 'media.denied'),
      help: t(cameraOnly ? 'media.cameraDeniedHelp' : 'media.deniedHelp'),
      actions: microphone === 'denied' ? [retry, noMedia] : [retry, audioOnly, noMedia],
    });
    return;
  }

  if (request.video && request.audio && (problem === 'no-device' || problem === 'device-busy')) {
    try {
      setLocalStream(await openMedia({ audio: true, video: false, ...storedDeviceIds() }));
      showError({
        source: 'media',
        text: t(problem === 'no-device' ? 'media.noCamera' : 'media.cameraBusy'),
        help: t(problem === 'no-device' ? 'media.noCameraHelp' : 'media.busyHelp'),
        actions: [retry, audioOnly],
      });
      return;
    } catch (audioError) {
      const audioProblem = classifyMediaError(audioError);
      if (audioProblem === 'no-device') {
        showError({ source: 'media', text: t('media.noDevices'), help: t('media.noDevicesHelp'), actions: [retry, noMedia] });
        return;
      }
      if (audioProblem === 'device-busy') {
        showError({ source: 'media', text: t('media.busy'), help: t('media.busyHelp'), actions: [retry, noMedia] });
        return;
      }
    }
  }

  if (problem === 'no-device') {
    showError({ source: 'media', text: t('media.noDevices'), help: t('media.noDevicesHelp'), actions: [retry, noMedia] });
  } else if (problem === 'device-busy') {
    showError({ source: 'media', text: t('media.busy'), help: t('media.busyHelp'), actions: [retry, noMedia] });
  } else {
    showError({ source: 'media', text: t('media.failed'), help: t('media.failedHelp'), actions: [retry, noMedia] });
  }
}

async function joinWithAudioOnly() {
  if (page.localStream.getAudioTracks().length === 0) {
    const opened = await startPreview({ audio: true, video: false });
    if (!opened) {
      restoreFocus();
      return;
    }
  } else {
    for (const track of page.localStream.getVideoTracks()) {
      track.stop();
      page.localStream.removeTrack(track);
    }
  }
  clearError('media');
  updateMediaView();
  await joinOrFocusName();
}

async function joinWithoutMedia() {
  releaseMedia();
  page.withoutMedia = true;
  clearError('media');
  updateMediaView();
  await joinOrFocusName();
}

/**
 * Joins after the visitor chose how to take part, if a name is entered.
 * An empty name field gets the focus without an error, because the visitor
 * had no chance to type yet. The join button then joins in the chosen way.
 */
async function joinOrFocusName() {
  if (ui.nameInput.value.trim() === '') {
    ui.nameInput.focus();
    return;
  }
  await requestJoin();
  if (page.state === 'ready') restoreFocus();
}

/**
 * Puts the focus back on the form when the button that had it went away,
 * as an action button of an error does: on the first action of the error
 * shown now, or else on the name field.
 */
function restoreFocus() {
  const active = document.activeElement;
  if (active && active !== document.body) return;
  const action = ui.error.hidden ? null : ui.errorActions.querySelector('button');
  if (action) action.focus();
  else if (!ui.formView.hidden) ui.nameInput.focus();
}

/** @returns {{ microphoneId: string, cameraId: string }} */
function storedDeviceIds() {
  return { microphoneId: readStored(STORAGE_MICROPHONE) ?? '', cameraId: readStored(STORAGE_CAMERA) ?? '' };
}

/** @param {MediaStream} stream */
function setLocalStream(stream) {
  page.localStream = stream;
  for (const track of stream.getTracks()) watchTrack(track);
  void attachStream(ui.previewVideo, stream);
  page.microphoneLevel.setTrack(stream.getAudioTracks()[0]);
}

/** Stops the local tracks and starts an empty stream. */
function releaseMedia() {
  stopStream(page.localStream);
  page.localStream = createEmptyStream();
  page.microphoneLevel.setTrack(undefined);
  ui.previewVideo.srcObject = null;
  ui.localVideo.srcObject = null;
}

/**
 * Switches to the default device when a device is unplugged. Tracks stopped
 * by the page itself do not fire `ended`.
 *
 * @param {MediaStreamTrack} track
 */
function watchTrack(track) {
  track.addEventListener('ended', () => {
    if (!page.localStream.getTracks().includes(track)) return;
    page.localStream.removeTrack(track);
    void switchDevice(track.kind === 'audio' ? 'microphone' : 'camera', '');
  });
}

/**
 * Opens another microphone or camera and sends it to every peer without
 * renegotiation. Remembers the choice for the next visit.
 *
 * @param {DeviceKind} kind
 * @param {string} deviceId empty for the browser's default device
 */
async function switchDevice(kind, deviceId) {
  if (deviceId) writeStored(kind === 'microphone' ? STORAGE_MICROPHONE : STORAGE_CAMERA, deviceId);
  try {
    const track = await replaceStreamTrack(page.localStream, kind, deviceId);
    watchTrack(track);
    clearError('media');
    clearError('device');
  } catch (error) {
    console.warn(`Media: switching the ${kind} failed with ${error instanceof Error ? error.name : 'unknown error'}`);
    showDeviceError(kind, deviceId, classifyMediaError(error));
  }

  const audioTrack = page.localStream.getAudioTracks()[0];
  const videoTrack = page.localStream.getVideoTracks()[0];
  if (audioTrack) audioTrack.enabled = page.microphoneEnabled;
  if (videoTrack) videoTrack.enabled = page.cameraEnabled;
  if (page.state !== 'in-call') page.microphoneLevel.setTrack(audioTrack);

  if (page.call) await page.call.syncLocalTrack(kind === 'microphone' ? 'audio' : 'video');
  await attachStream(page.state === 'in-call' ? ui.localVideo : ui.previewVideo, page.localStream);
  updateMediaView();
  await refreshDeviceLists();
}

/**
 * Explains why a microphone or camera could not be opened after the form
 * was shown, and offers to try again.
 *
 * @param {DeviceKind} kind
 * @param {string} deviceId
 * @param {MediaProblem} problem
 */
function showDeviceError(kind, deviceId, problem) {
  const camera = kind === 'camera';
  /** @type {MessageKey} */
  let text = 'media.switchFailed';
  /** @type {MessageKey | undefined} */
  let help;
  if (problem === 'permission-denied') {
    text = 'media.denied';
    help = 'media.deniedHelp';
  } else if (problem === 'device-busy') {
    text = camera ? 'media.cameraBusy' : 'media.microphoneBusy';
    help = 'media.busyHelp';
  } else if (problem === 'no-device') {
    text = camera ? 'media.noCamera' : 'media.noMicrophone';
  }
  showError({
    source: 'device',
    text: t(text),
    help: help ? t(help) : undefined,
    actions: [
      {
        label: t('action.retry'),
        onClick: () => {
          clearError('device');
          void switchDevice(kind, deviceId);
        },
      },
      { label: t('action.close'), onClick: () => clearError('device') },
    ],
  });
}

async function refreshDeviceLists() {
  const { microphones, cameras, hidden } = await listDevices((kind, position) =>
    t(kind === 'microphone' ? 'device.microphoneNumber' : 'device.cameraNumber', { number: position }),
  );
  const microphoneId = deviceIdOf(page.localStream.getAudioTracks()[0]) || (readStored(STORAGE_MICROPHONE) ?? '');
  const cameraId = deviceIdOf(page.localStream.getVideoTracks()[0]) || (readStored(STORAGE_CAMERA) ?? '');
  // Without access, the browser hides the devices, so the list shows that
  // access is not allowed rather than that there is no device.
  for (const select of [ui.formMicrophoneSelect, ui.callMicrophoneSelect]) {
    fillDeviceSelect(select, microphones, microphoneId, hidden.microphone ? 'device.notAllowed' : 'device.noMicrophone');
  }
  for (const select of [ui.formCameraSelect, ui.callCameraSelect]) {
    fillDeviceSelect(select, cameras, cameraId, hidden.camera ? 'device.notAllowed' : 'device.noCamera');
  }
}

/**
 * @param {HTMLSelectElement} select
 * @param {import('./media.js').DeviceChoice[]} devices
 * @param {string} selectedId
 * @param {MessageKey} emptyKey the only entry of a disabled list when there is no device to choose
 */
function fillDeviceSelect(select, devices, selectedId, emptyKey) {
  if (devices.length === 0) {
    fillSelect(select, [{ value: '', label: t(emptyKey) }]);
    select.disabled = true;
    return;
  }
  select.disabled = false;
  fillSelect(select, devices.map((device) => ({ value: device.deviceId, label: device.label })), selectedId);
}

/**
 * Returns whether the microphone and camera are on, as the others should see it.
 *
 * @returns {MediaState}
 */
function currentMediaState() {
  const audioTrack = page.localStream.getAudioTracks()[0];
  const videoTrack = page.localStream.getVideoTracks()[0];
  return {
    audio: Boolean(audioTrack) && audioTrack.readyState === 'live' && page.microphoneEnabled,
    video: Boolean(videoTrack) && videoTrack.readyState === 'live' && page.cameraEnabled,
  };
}

/**
 * Updates the placeholders, notes and buttons that depend on the local
 * tracks, and sends the media state to the others in the call.
 */
function updateMediaView() {
  const audioTrack = page.localStream.getAudioTracks()[0];
  const videoTrack = page.localStream.getVideoTracks()[0];
  const showsVideo = Boolean(videoTrack) && page.cameraEnabled;

  /** @type {string} */
  let placeholder = '';
  if (page.mediaPending) placeholder = t('preview.starting');
  else if (videoTrack) placeholder = t('preview.cameraOff');
  else placeholder = t('preview.noVideo');
  ui.previewPlaceholder.textContent = placeholder;
  // In the call, the own tile distinguishes a missing camera from one that
  // is off, as it does for the microphone.
  ui.localPlaceholder.textContent = page.mediaPending || videoTrack ? placeholder : t('call.noCamera');
  for (const element of [ui.previewPlaceholder, ui.localPlaceholder]) {
    element.hidden = showsVideo && !page.mediaPending;
  }

  // No device is used after choosing to join without them, so there is nothing to choose.
  ui.formDeviceFields.hidden = page.withoutMedia;

  const hasError = page.errorSource === 'media';
  if (page.mediaPending || hasError || videoTrack) {
    ui.mediaNote.hidden = true;
  } else {
    ui.mediaNote.hidden = false;
    ui.mediaNote.textContent = audioTrack ? t('preview.audioOnly') : t('preview.noMedia');
  }

  const microphoneOn = Boolean(audioTrack) && page.microphoneEnabled;
  ui.microphoneButton.classList.toggle('off', !microphoneOn);
  ui.microphoneButton.setAttribute('aria-label', microphoneOn ? t('call.microphoneMute') : t('call.microphoneUnmute'));
  ui.localMuted.hidden = microphoneOn;
  ui.localMutedText.textContent = t(audioTrack ? 'call.microphoneMuted' : 'call.noMicrophone');

  ui.cameraButton.classList.toggle('off', !showsVideo);
  ui.cameraButton.setAttribute('aria-label', showsVideo ? t('call.cameraOff') : t('call.cameraOn'));

  page.call?.setMediaState(currentMediaState());
}

function drawMicrophoneLevel() {
  if (!ui.formView.hidden) {
    const level = page.microphoneEnabled ? page.microphoneLevel.read() : 0;
    ui.levelFill.style.transform = `scaleX(${level.toFixed(3)})`;
  }
  window.requestAnimationFrame(drawMicrophoneLevel);
}

/**
 * @param {'name.empty' | 'name.tooLong' | 'name.invalid'} key
 */
function showNameError(key) {
  ui.nameInput.setAttribute('aria-invalid', 'true');
  showError({ source: 'name', text: t(key) });
  ui.nameInput.focus();
}

/**
 * Trims a display name with `trimName` and checks the server's rules. A
 * name has 1 to 64 characters, counted as Unicode code points, and no
 * control or bidirectional formatting characters. It needs one character
 * that renders, so that no participant is invisible to the others.
 *
 * @param {string} raw
 * @returns {{ name: string } | { error: 'name.empty' | 'name.tooLong' | 'name.invalid' }}
 */
export function validateName(raw) {
  const name = trimName(raw);
  if (name === '') return { error: raw.trim() === '' ? 'name.empty' : 'name.invalid' };
  if ([...name].length > MAX_NAME_LENGTH) return { error: 'name.tooLong' };
  if (/[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u.test(name)) return { error: 'name.invalid' };
  // A combining mark (Mn, Me) alone only changes a character that is not there.
  if (!/[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Mn}\p{Me}\u2800]/u.test(name)) return { error: 'name.invalid' };
  return { name };
}

/** Sends `join` after the visitor clicked the join button or chose a media option. */
async function requestJoin() {
  if (page.state !== 'ready') return;
  const result = validateName(ui.nameInput.value);
  if ('error' in result) {
    showNameError(result.error);
    return;
  }
  page.displayName = result.name;
  ui.nameInput.value = result.name;
  writeStored(STORAGE_NAME, result.name);

  clearError('name');
  clearError('join');
  clearError('connection');
  page.earlyMessages = [];
  setState('joining');

  // The call sends the preview's tracks, so a visitor who clicks before the
  // camera has started waits for it. A failure leaves the choice to them.
  if (page.mediaPending && page.mediaReady) {
    const opened = await page.mediaReady;
    if (!opened && page.errorSource === 'media') {
      setState('ready');
      return;
    }
  }

  try {
    const signaling = await connectSignaling();
    page.linkTag ||= await hashLinkToken(page.token);
    /** @type {JoinMessage} */
    const join = joinMessage();
    const replaces = readStoredPlace();
    if (replaces) join.replaces = replaces;
    page.joinReplaces = replaces !== undefined;
    signaling.send(join);
  } catch (error) {
    console.warn(`Join: connecting failed: ${error instanceof Error ? error.message : error}`);
    // The state may have changed while connecting.
    if (/** @type {PageState} */ (page.state) === 'joining') void showConnectionFailed(retryJoin);
  }
}

function retryJoin() {
  clearError();
  setState('ready');
  if (page.localStream.getTracks().length === 0 && !page.mediaPending && !page.withoutMedia) {
    void startPreview({ audio: true, video: true }).then((opened) => {
      if (opened) void requestJoin();
    });
  } else {
    void requestJoin();
  }
}

// ---------------------------------------------------------------------------
// Call

/**
 * Returns a `join` for this page's link and name.
 *
 * @returns {JoinMessage}
 */
function joinMessage() {
  return { type: 'join', v: PROTOCOL_VERSION, token: page.token, name: page.displayName };
}

/**
 * Returns the SHA-256 of a link token in hex, or '' where Web Crypto is
 * missing, which turns off remembering the place.
 *
 * @param {string} token
 * @returns {Promise<string>}
 */
async function hashLinkToken(token) {
  try {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
    return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  } catch {
    return '';
  }
}

/**
 * Returns the stored place of this link's last page, for `replaces`, or
 * undefined when none is stored for this link.
 *
 * @returns {{ peerId: string, key: string } | undefined}
 */
function readStoredPlace() {
  const text = readStored(STORAGE_PLACE);
  if (!text || !page.linkTag) return undefined;
  try {
    const place = JSON.parse(text);
    if (place?.link === page.linkTag && typeof place.peerId === 'string' && typeof place.key === 'string') {
      return { peerId: place.peerId, key: place.key };
    }
  } catch {
    // A value that is not JSON is ignored, and the next `joined` replaces it.
  }
  return undefined;
}

/**
 * Stores the place that `joined` gave this page, for a page opened after a crash.
 *
 * @param {JoinedMessage} message
 */
function storePlace(message) {
  if (!page.linkTag) return;
  writeStored(STORAGE_PLACE, JSON.stringify({ link: page.linkTag, peerId: message.peerId, key: message.resumeKey }));
}

/** @param {JoinedMessage} message */
function handleJoined(message) {
  if (page.state === 'in-call' && page.call) {
    storePlace(message);
    page.call.applyJoined(message);
    page.signaling?.resetBackoff();
    hideNotice();
    updateWaitingNote();
    return;
  }
  if (page.state !== 'joining' || !page.signaling) return;
  storePlace(message);
  enterCall(message, page.signaling);
}

/**
 * @param {JoinedMessage} message
 * @param {SignalingClient} signaling
 */
function enterCall(message, signaling) {
  clearError();
  hideNotice();
  setState('in-call');
  page.othersWereHere = false;
  signaling.setReconnect(true);
  signaling.resetBackoff();

  page.tileGrid ??= new TileGrid(ui.tiles, ui.remoteTileTemplate, toggleSecurityPanel);
  page.securityPanel ??= new SecurityCodePanel(
    {
      panel: ui.securityPanel,
      heading: ui.securityHeading,
      code: ui.securityCode,
      status: ui.securityStatus,
      closeButton: ui.securityPanelClose,
    },
    page.tileGrid,
    (peerId) => peerConnections.get(peerId),
  );
  ui.localName.textContent = t('call.selfName', { name: page.displayName });
  void attachStream(ui.localVideo, page.localStream);
  ui.previewVideo.srcObject = null;
  page.microphoneLevel.setTrack(undefined);

  page.call = new CallController({
    signaling,
    localStream: page.localStream,
    displayName: page.displayName,
    mediaState: currentMediaState(),
    tiles: page.tileGrid,
    chat: page.chat,
    peerConnections,
    notify: notifyInCall,
    onPeersChanged: () => {
      updateWaitingNote();
      void page.securityPanel?.refresh();
    },
    onConnectionChanged: (peerId) => void page.securityPanel?.refresh(peerId),
  });
  page.call.applyJoined(message);
  applyEarlyMessages(message);
  updateMediaView();
  updateWaitingNote();
  void refreshDeviceLists();
  // The form, and with it the element that had the focus, is hidden now. The
  // first control of the call takes the focus, so it does not fall to the page.
  ui.microphoneButton.focus();
}

/** Sends `join` with `resume` after the socket came back, to keep the same place. */
function handleReconnected() {
  const call = page.call;
  if (page.state !== 'in-call' || !call || !page.signaling) return;
  page.signaling.send({
    type: 'join',
    v: PROTOCOL_VERSION,
    token: page.token,
    name: page.displayName,
    resume: { peerId: call.selfPeerId, key: call.resumeKey },
  });
}

/**
 * Shows the note on the empty stage while nobody else is in the call. Once
 * others were there, it says that they have left rather than that the
 * visitor has just joined.
 */
function updateWaitingNote() {
  const peerCount = page.call?.peerCount ?? 0;
  if (peerCount > 0) page.othersWereHere = true;
  const text = t(page.othersWereHere ? 'call.othersLeft' : 'call.waiting');
  if (ui.waitingNote.textContent !== text) ui.waitingNote.textContent = text;
  ui.waitingNote.hidden = peerCount > 0;
}

function bindCall() {
  ui.microphoneButton.addEventListener('click', () => void toggleTrack('microphone'));
  ui.cameraButton.addEventListener('click', () => void toggleTrack('camera'));

  ui.devicesButton.addEventListener('click', () => setDevicePanelOpen(ui.devicePanel.hidden));
  ui.devicePanelClose.addEventListener('click', () => setDevicePanelOpen(false));
  ui.devicePanel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') setDevicePanelOpen(false);
  });
  ui.callMicrophoneSelect.addEventListener('change', () => void switchDevice('microphone', ui.callMicrophoneSelect.value));
  ui.callCameraSelect.addEventListener('change', () => void switchDevice('camera', ui.callCameraSelect.value));

  ui.chatButton.addEventListener('click', () => {
    const open = !ui.callView.classList.contains('chat-open');
    ui.callView.classList.toggle('chat-open', open);
    ui.chatButton.setAttribute('aria-expanded', String(open));
    if (open) {
      page.chat.markRead();
      ui.chatInput.focus();
    }
  });
  // The receivers drop longer messages, so the field takes no more. The
  // browser cuts typed and pasted text there, and noteChatCut shows a note.
  ui.chatInput.maxLength = MAX_CHAT_LENGTH;
  ui.chatInput.addEventListener('beforeinput', noteChatCut);
  ui.chatInput.addEventListener('input', updateChatLimit);
  ui.chatForm.addEventListener('submit', (event) => {
    event.preventDefault();
    // A value set by a script is not held to maxlength.
    if (ui.chatInput.value.length > MAX_CHAT_LENGTH) {
      page.chatCut = 'typed';
      updateChatLimit();
      announce(ui.chatLimit.textContent ?? '');
    } else if (page.call?.sendChat(ui.chatInput.value)) {
      ui.chatInput.value = '';
      page.chatCut = '';
      updateChatLimit();
    }
    ui.chatInput.focus();
  });
  ui.chatInput.addEventListener('focus', () => page.chat.markRead());

  ui.leaveButton.addEventListener('click', leaveCall);
  ui.rejoinButton.addEventListener('click', rejoin);

  // Tell the others at once when the tab closes, instead of after a timeout.
  // With `leave` sent, no later page needs the stored place. Without an open
  // socket, the place stays stored, so a reopened page can free it.
  window.addEventListener('pagehide', () => {
    if (page.state === 'in-call' && page.signaling?.send({ type: 'leave' })) removeStored(STORAGE_PLACE);
  });
}

/**
 * Checks, before the browser applies an input to the chat field, whether
 * maxlength will cut it at MAX_CHAT_LENGTH. If so, shows a note under the
 * field and has screen readers read it.
 *
 * @param {Event} event the field's `beforeinput` event
 */
function noteChatCut(event) {
  if (!(event instanceof InputEvent)) return;
  const input = ui.chatInput;
  // A single-line field drops the line breaks of inserted text.
  const inserted = (event.data ?? event.dataTransfer?.getData('text/plain') ?? '').replace(/[\r\n]/g, '');
  const selected = (input.selectionEnd ?? 0) - (input.selectionStart ?? 0);
  const previous = page.chatCut;
  if (input.value.length - selected + inserted.length <= MAX_CHAT_LENGTH) {
    page.chatCut = '';
    return;
  }
  page.chatCut = event.inputType.startsWith('insertFrom') ? 'inserted' : 'typed';
  updateChatLimit();
  if (page.chatCut !== previous) announce(ui.chatLimit.textContent ?? '');
}

/**
 * Shows under the chat field why it contains less than was entered, or else,
 * near the limit, how many characters are left.
 */
function updateChatLimit() {
  const left = MAX_CHAT_LENGTH - ui.chatInput.value.length;
  /** @type {string[]} */
  const parts = [];
  if (page.chatCut !== '') parts.push(t('chat.tooLong', { max: MAX_CHAT_LENGTH }));
  if (page.chatCut === 'inserted') parts.push(t('chat.shortened'));
  if (page.chatCut === '' && left <= CHAT_COUNTDOWN_FROM) {
    if (left <= 0) parts.push(t('chat.noCharacterLeft'));
    else parts.push(left === 1 ? t('chat.oneCharacterLeft') : t('chat.charactersLeft', { count: left }));
  }
  ui.chatLimit.textContent = parts.join(' ');
  ui.chatLimit.hidden = parts.length === 0;
  ui.chatLimit.classList.toggle('chat-limit-reached', page.chatCut !== '');
}

/**
 * Mutes or unmutes the microphone, or turns the camera off or on, through
 * `track.enabled`. Without a track of that kind, opens the device first.
 *
 * @param {DeviceKind} kind
 */
async function toggleTrack(kind) {
  const track = kind === 'microphone' ? page.localStream.getAudioTracks()[0] : page.localStream.getVideoTracks()[0];
  if (!track) {
    if (kind === 'microphone') page.microphoneEnabled = true;
    else page.cameraEnabled = true;
    await switchDevice(kind, readStored(kind === 'microphone' ? STORAGE_MICROPHONE : STORAGE_CAMERA) ?? '');
    return;
  }
  if (kind === 'microphone') {
    page.microphoneEnabled = !page.microphoneEnabled;
    track.enabled = page.microphoneEnabled;
  } else {
    page.cameraEnabled = !page.cameraEnabled;
    track.enabled = page.cameraEnabled;
  }
  updateMediaView();
}

/** @param {boolean} open */
function setDevicePanelOpen(open) {
  if (open) page.securityPanel?.close();
  ui.devicePanel.hidden = !open;
  ui.devicesButton.setAttribute('aria-expanded', String(open));
  if (open) {
    void refreshDeviceLists();
    // A disabled list, which has no device to choose, cannot take the focus.
    const firstEnabled = [ui.callMicrophoneSelect, ui.callCameraSelect].find((select) => !select.disabled);
    (firstEnabled ?? ui.devicePanelClose).focus();
  } else {
    ui.devicesButton.focus();
  }
}

/**
 * Opens the security code of the connection to `peerId`, or closes it when
 * it is shown already. Both panels sit at the same place, so the device
 * panel closes.
 *
 * @param {string} peerId
 */
function toggleSecurityPanel(peerId) {
  if (!ui.devicePanel.hidden) setDevicePanelOpen(false);
  page.securityPanel?.toggle(peerId);
}

function leaveCall() {
  // Leaving on purpose sends `leave`, so no later page needs the place.
  removeStored(STORAGE_PLACE);
  page.securityPanel?.close();
  page.call?.leave();
  page.call = null;
  closeSignaling();
  page.tileGrid?.clear();
  peerConnections.clear();
  releaseMedia();
  ui.chatMessages.replaceChildren();
  page.chat.markRead();
  page.notices.clear();
  setDevicePanelOpen(false);
  hideNotice();
  clearError();
  setState('left');
  ui.rejoinButton.focus();
}

function rejoin() {
  clearError();
  setState('ready');
  void startPreview({ audio: true, video: true }).then((opened) => {
    if (opened) void requestJoin();
  });
}

start();
