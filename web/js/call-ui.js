// Views of the call: video tiles, short notices and the chat list. They only
// render; the call logic lives in call.js.

import { locale, t } from './i18n.js';
import { readSecurityCode } from './security-code.js';

/**
 * @typedef {import('./peer.js').MediaState} MediaState
 * @typedef {import('./security-code.js').SecurityCodeResult} SecurityCodeResult
 * @typedef {RTCPeerConnectionState | 'relay-rejected' | 'stalled'} TileConnectionState
 */

/** Time a notice such as "Anna has joined the call." stays on screen. */
const NOTICE_DURATION_MS = 5_000;

/** Notices shown at once; a new one pushes out the oldest. */
const MAX_NOTICES = 3;

/**
 * Time of a chat message, such as "18:05": on a 24-hour clock in both
 * languages, like the times in the practitioner's page and the invitation emails.
 */
const CHAT_TIME_FORMAT = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/**
 * Shows a stream in a video element and starts playback.
 * Resolves to false when the browser's autoplay policy blocked playback.
 *
 * @param {HTMLVideoElement} video
 * @param {MediaStream | null} stream
 * @returns {Promise<boolean>}
 */
export async function attachStream(video, stream) {
  // Assigning anew makes every browser pick up tracks that were swapped
  // inside the same MediaStream object.
  video.srcObject = null;
  video.srcObject = stream;
  if (!stream || stream.getTracks().length === 0) return true;
  try {
    await video.play();
    return true;
  } catch (error) {
    const name = error instanceof DOMException ? error.name : '';
    // AbortError means a newer srcObject replaced this one, which is not a failure.
    return name !== 'NotAllowedError';
  }
}

/** Returns whether this browser can show an element or a video in full screen. */
function canUseFullscreen() {
  const videoPrototype = /** @type {{ webkitEnterFullscreen?: unknown }} */ (HTMLVideoElement.prototype);
  return Boolean(document.fullscreenEnabled) || typeof videoPrototype.webkitEnterFullscreen === 'function';
}

/**
 * Returns the initials shown in place of a participant's camera picture:
 * the first letters of the first and last word, leaving out words that end
 * with a full stop, such as the title in "Dr. Weber".
 *
 * @param {string} name
 * @returns {string}
 */
function initialsOf(name) {
  const words = name.trim().split(/\s+/).filter((word) => word !== '');
  const nameWords = words.filter((word) => !word.endsWith('.'));
  const chosen = nameWords.length > 0 ? nameWords : words;
  if (chosen.length === 0) return '';
  const first = firstCharacter(chosen[0]);
  const last = chosen.length > 1 ? firstCharacter(chosen[chosen.length - 1]) : '';
  return (first + last).toLocaleUpperCase(locale);
}

/**
 * Returns the first user-perceived character of `text`, so that a letter
 * with a combining accent or an emoji stays whole.
 *
 * @param {string} text
 * @returns {string}
 */
function firstCharacter(text) {
  if (typeof Intl.Segmenter === 'function') {
    const first = new Intl.Segmenter(locale, { granularity: 'grapheme' }).segment(text)[Symbol.iterator]().next();
    return first.done ? '' : first.value.segment;
  }
  return [...text][0] ?? '';
}

/** Tile of one remote participant. */
export class RemoteTile {
  /**
   * @param {HTMLTemplateElement} template
   * @param {string} peerId
   * @param {string} name
   * @param {(peerId: string) => void} onSecurityCode called when the security code button is pressed
   */
  constructor(template, peerId, name, onSecurityCode) {
    const fragment = /** @type {DocumentFragment} */ (template.content.cloneNode(true));
    const element = fragment.firstElementChild;
    if (!(element instanceof HTMLElement)) throw new Error('The remote tile template is empty');
    this.element = element;
    this.element.dataset.peerId = peerId;
    this.video = /** @type {HTMLVideoElement} */ (element.querySelector('video'));
    this.nameLabel = /** @type {HTMLElement} */ (element.querySelector('.tile-name'));
    this.status = /** @type {HTMLElement} */ (element.querySelector('.tile-status'));
    this.fullscreenButton = /** @type {HTMLButtonElement} */ (element.querySelector('.tile-fullscreen'));
    this.securityButton = /** @type {HTMLButtonElement} */ (element.querySelector('.tile-security'));
    this.playButton = /** @type {HTMLButtonElement} */ (element.querySelector('.tile-play'));
    this.placeholder = /** @type {HTMLElement} */ (element.querySelector('.tile-placeholder'));
    this.initials = /** @type {HTMLElement} */ (element.querySelector('.tile-initials'));
    this.microphoneOff = /** @type {HTMLElement} */ (element.querySelector('.tile-indicator-microphone'));
    this.cameraOff = /** @type {HTMLElement} */ (element.querySelector('.tile-indicator-camera'));
    this.name = name;
    /** @type {MediaStream | null} */
    this.stream = null;
    /**
     * The microphone and camera state the participant last reported, or null
     * before the first report. Clients of the first version never report it.
     * @type {MediaState | null}
     */
    this.mediaState = null;
    /** Whether the connection to this participant was connected at least once. */
    this.connected = false;
    /** @type {TileConnectionState} */
    this.connectionState = 'new';

    this.playButton.textContent = t('call.startPlayback');
    this.playButton.addEventListener('click', () => {
      this.video.play().then(
        () => { this.playButton.hidden = true; },
        () => {},
      );
    });

    this.securityButton.addEventListener('click', () => onSecurityCode(peerId));

    if (canUseFullscreen()) {
      this.fullscreenButton.addEventListener('click', () => this.toggleFullscreen());
    } else {
      this.fullscreenButton.hidden = true;
    }

    this.setName(name);
    this.setConnectionState('new');
  }

  /** @param {string} name */
  setName(name) {
    this.name = name;
    this.nameLabel.textContent = name;
    this.initials.textContent = initialsOf(name);
    this.updateFullscreenLabel();
    const securityLabel = t('security.button', { name });
    this.securityButton.setAttribute('aria-label', securityLabel);
    this.securityButton.title = securityLabel;
    this.renderConnectionState();
  }

  /** @param {MediaStream} stream */
  async setStream(stream) {
    if (stream !== this.stream) {
      this.stream = stream;
      // Tracks that the remote side adds or removes later arrive as addtrack
      // and removetrack events on the same stream.
      stream.addEventListener('addtrack', () => this.renderMediaState());
      stream.addEventListener('removetrack', () => this.renderMediaState());
    }
    this.renderMediaState();
    const playing = await attachStream(this.video, stream);
    this.playButton.hidden = playing;
  }

  /** @param {MediaState} state */
  setMediaState(state) {
    this.mediaState = state;
    this.renderMediaState();
  }

  /**
   * Shows the initials in place of the picture while the camera is off or no
   * video arrives, and the "microphone off" and "camera off" labels. The video
   * element keeps playing underneath, because it also plays the sound.
   */
  renderMediaState() {
    const tracks = this.stream ? this.stream.getTracks().filter((track) => track.readyState === 'live') : [];
    const hasVideo = tracks.some((track) => track.kind === 'video');
    const hasAudio = tracks.some((track) => track.kind === 'audio');
    // Without a report, a missing track counts only once the connection is
    // up, because tracks arrive during negotiation.
    const cameraOff = this.mediaState?.video === false || (this.connected && !hasVideo);
    const microphoneOff = this.mediaState?.audio === false || (this.connected && !hasAudio);

    this.placeholder.hidden = hasVideo && !cameraOff;
    this.cameraOff.hidden = !cameraOff;
    this.microphoneOff.hidden = !microphoneOff;
  }

  /**
   * Shows the state of the connection to this participant. Besides the
   * browser's states, `relay-rejected` means that the relay server refused
   * the credentials even after fresh ones were fetched, so the connection
   * cannot come up without help. `stalled` means that the connection has
   * not been connected for a while (see STALLED_AFTER_MS in peer.js), so
   * the tile shows that and what to do.
   *
   * @param {TileConnectionState} state
   */
  setConnectionState(state) {
    this.connectionState = state;
    this.element.dataset.connection = state;
    if (state === 'connected') this.connected = true;
    this.renderMediaState();
    this.renderConnectionState();
  }

  renderConnectionState() {
    const state = this.connectionState;
    /** @type {string} */
    let text = '';
    if (state === 'relay-rejected') {
      text = t('call.relayRejected');
    } else if (state === 'stalled') {
      text = t(this.connected ? 'call.lost' : 'call.stalled', { name: this.name });
    } else if (state === 'disconnected' || state === 'failed') {
      text = t('call.interrupted');
    } else if (state !== 'connected' && state !== 'closed') {
      text = t('call.connecting');
    }
    this.status.hidden = text === '';
    // The status is a live region, so the same text is not set again.
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  get isFullscreen() {
    return document.fullscreenElement === this.element;
  }

  toggleFullscreen() {
    if (this.isFullscreen) {
      void document.exitFullscreen().catch(() => {});
      return;
    }
    if (document.fullscreenEnabled && typeof this.element.requestFullscreen === 'function') {
      this.element.requestFullscreen().catch((error) => {
        console.warn(`Tile: requestFullscreen failed with ${error instanceof Error ? error.name : 'unknown error'}`);
      });
      return;
    }
    // Safari on iPhone offers full screen only for a video element.
    const video = /** @type {HTMLVideoElement & { webkitEnterFullscreen?: () => void }} */ (this.video);
    if (typeof video.webkitEnterFullscreen === 'function') video.webkitEnterFullscreen();
  }

  updateFullscreenLabel() {
    const label = this.isFullscreen ? t('call.exitFullscreen') : t('call.fullscreen', { name: this.name });
    this.fullscreenButton.setAttribute('aria-label', label);
    this.fullscreenButton.title = label;
  }

  remove() {
    if (this.isFullscreen) void document.exitFullscreen().catch(() => {});
    this.video.srcObject = null;
    this.element.remove();
  }
}

/**
 * Short notices over the call, such as "Anna has joined the call.", each
 * removed after NOTICE_DURATION_MS. They are hidden from screen readers,
 * which get the same text from a live region of their own.
 */
export class NoticeList {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
  }

  /** @param {string} text */
  show(text) {
    const notice = document.createElement('p');
    notice.className = 'call-notice';
    notice.textContent = text;
    this.container.append(notice);
    while (this.container.childElementCount > MAX_NOTICES) this.container.firstElementChild?.remove();
    window.setTimeout(() => notice.remove(), NOTICE_DURATION_MS);
  }

  clear() {
    this.container.replaceChildren();
  }
}

/** Grid of video tiles: the local one first, then one per remote participant. */
export class TileGrid {
  /**
   * @param {HTMLElement} container already contains the local tile
   * @param {HTMLTemplateElement} template markup of a remote tile
   * @param {(peerId: string) => void} onSecurityCode called when a tile's security code button is pressed
   */
  constructor(container, template, onSecurityCode) {
    this.container = container;
    this.template = template;
    this.onSecurityCode = onSecurityCode;
    /** @type {Map<string, RemoteTile>} */
    this.tiles = new Map();
    document.addEventListener('fullscreenchange', () => {
      for (const tile of this.tiles.values()) tile.updateFullscreenLabel();
    });
    this.updateCount();
  }

  /**
   * Returns the tile of a peer, adding it when missing.
   *
   * @param {string} peerId
   * @param {string} name
   * @returns {RemoteTile}
   */
  ensure(peerId, name) {
    let tile = this.tiles.get(peerId);
    if (!tile) {
      tile = new RemoteTile(this.template, peerId, name, this.onSecurityCode);
      this.tiles.set(peerId, tile);
      this.container.append(tile.element);
      this.updateCount();
    }
    return tile;
  }

  /** @param {string} peerId */
  get(peerId) {
    return this.tiles.get(peerId);
  }

  /** @param {string} peerId */
  remove(peerId) {
    const tile = this.tiles.get(peerId);
    if (!tile) return;
    tile.remove();
    this.tiles.delete(peerId);
    this.updateCount();
  }

  clear() {
    for (const peerId of [...this.tiles.keys()]) this.remove(peerId);
  }

  /** Sets `data-count`, from which the style sheet picks the grid layout. */
  updateCount() {
    this.container.dataset.count = String(this.tiles.size + 1);
  }
}

/**
 * Interval in ms at which an open security code panel reads the stats again,
 * because an ICE restart can change the transport without any event that
 * the call passes on.
 */
const SECURITY_CODE_REFRESH_MS = 2_000;

/**
 * Panel with the security code of the connection to one remote participant
 * (see security-code.js). Until the connection and its DTLS transport are
 * connected, it shows that the code is not available yet. A replaced
 * connection clears the shown code at once, so a code never stands for a
 * connection it was not read from.
 */
export class SecurityCodePanel {
  /**
   * @param {object} elements
   * @param {HTMLElement} elements.panel
   * @param {HTMLElement} elements.heading
   * @param {HTMLElement} elements.code shows the digit groups
   * @param {HTMLElement} elements.status explains why there is no code
   * @param {HTMLButtonElement} elements.closeButton
   * @param {TileGrid} tiles
   * @param {(peerId: string) => RTCPeerConnection | undefined} connectionOf the current connection to a peer
   */
  constructor({ panel, heading, code, status, closeButton }, tiles, connectionOf) {
    this.panel = panel;
    this.heading = heading;
    this.code = code;
    this.status = status;
    this.closeButton = closeButton;
    this.tiles = tiles;
    this.connectionOf = connectionOf;
    /** Remote peer id whose code is shown, or '' while the panel is closed. */
    this.peerId = '';
    /**
     * The connection that the shown state was read from.
     * @type {RTCPeerConnection | null}
     */
    this.connection = null;
    /** The rendered state, to leave the live region alone when nothing changed. */
    this.shownKey = '';
    /** Number of stats reads started. Only the latest one may render. */
    this.reads = 0;
    /** @type {number | undefined} */
    this.timer = undefined;

    closeButton.addEventListener('click', () => this.close({ restoreFocus: true }));
    panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.close({ restoreFocus: true });
    });
  }

  /**
   * Opens the panel for `peerId`, or closes it when it shows that peer already.
   *
   * @param {string} peerId
   */
  toggle(peerId) {
    if (this.peerId === peerId) {
      this.close({ restoreFocus: true });
    } else {
      this.open(peerId);
    }
  }

  /** @param {string} peerId */
  open(peerId) {
    const tile = this.tiles.get(peerId);
    if (!tile) return;
    this.close();
    // A tile in full screen would hide the panel.
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    this.peerId = peerId;
    this.panel.dataset.peerId = peerId;
    tile.securityButton.setAttribute('aria-expanded', 'true');
    this.panel.hidden = false;
    void this.refresh();
    this.timer = window.setInterval(() => void this.refresh(), SECURITY_CODE_REFRESH_MS);
    this.closeButton.focus();
  }

  /**
   * @param {{ restoreFocus?: boolean }} [options] `restoreFocus`: move the
   *   focus back to the button that opened the panel
   */
  close({ restoreFocus = false } = {}) {
    if (this.peerId === '') return;
    const button = this.tiles.get(this.peerId)?.securityButton;
    button?.setAttribute('aria-expanded', 'false');
    clearInterval(this.timer);
    this.peerId = '';
    this.connection = null;
    this.shownKey = '';
    this.reads += 1;
    this.panel.hidden = true;
    delete this.panel.dataset.peerId;
    delete this.panel.dataset.codeState;
    if (restoreFocus) button?.focus();
  }

  /**
   * Reads the code of the shown peer again, and closes the panel when that
   * peer has left. A `peerId` other than the shown one is ignored.
   *
   * @param {string} [peerId]
   * @returns {Promise<void>}
   */
  async refresh(peerId) {
    const shownPeerId = this.peerId;
    if (shownPeerId === '' || (peerId !== undefined && peerId !== shownPeerId)) return;
    const tile = this.tiles.get(shownPeerId);
    if (!tile) {
      this.close();
      return;
    }
    this.heading.textContent = t('security.heading', { name: tile.name });

    const pc = this.connectionOf(shownPeerId) ?? null;
    if (pc !== this.connection) {
      this.connection = pc;
      this.render({ state: 'pending' });
    }
    if (!pc) return;
    this.reads += 1;
    const read = this.reads;
    const result = await readSecurityCode(pc);
    if (read !== this.reads || shownPeerId !== this.peerId || pc !== this.connection) return;
    this.render(result);
  }

  /** @param {SecurityCodeResult} result */
  render(result) {
    const key = result.state === 'ready' ? result.groups.join(' ') : result.state;
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.panel.dataset.codeState = result.state;
    if (result.state === 'ready') {
      const parts = [];
      for (const group of result.groups) {
        const span = document.createElement('span');
        span.className = 'security-code-group';
        span.textContent = group;
        // The spaces make textContent and copied text read "12345 67890 …".
        if (parts.length > 0) parts.push(' ');
        parts.push(span);
      }
      this.code.replaceChildren(...parts);
      this.code.hidden = false;
      this.status.hidden = true;
      this.status.textContent = '';
    } else {
      this.code.hidden = true;
      this.code.replaceChildren();
      this.status.textContent = t(result.state === 'pending' ? 'security.pending' : 'security.unsupported');
      this.status.hidden = false;
    }
  }
}

/**
 * @typedef {{ sender: string, text: string, own: boolean }} ChatEntry
 */

/**
 * Chat message list with an unread counter for when the panel is hidden, as
 * on phones while the chat is closed. The counter is part of the chat
 * button's accessible name, and each message that arrives meanwhile goes to
 * `announce`, because the list's own live region is hidden with the panel.
 */
export class ChatView {
  /**
   * @param {HTMLOListElement} list
   * @param {HTMLElement} panel the element whose visibility decides what counts as read
   * @param {HTMLElement} unreadBadge the visible counter, hidden from screen readers
   * @param {HTMLButtonElement} toggleButton the button that opens the panel
   * @param {(text: string) => void} announce reads a text to screen readers through a live region
   */
  constructor(list, panel, unreadBadge, toggleButton, announce) {
    this.list = list;
    this.panel = panel;
    this.unreadBadge = unreadBadge;
    this.toggleButton = toggleButton;
    this.announce = announce;
    this.unread = 0;
  }

  /** @param {ChatEntry} entry */
  append(entry) {
    const item = document.createElement('li');
    item.className = entry.own ? 'chat-message own' : 'chat-message';
    item.dataset.testid = 'chat-message';

    const header = document.createElement('p');
    header.className = 'chat-meta';
    const sender = document.createElement('span');
    sender.className = 'chat-sender';
    sender.textContent = entry.sender;
    const time = document.createElement('time');
    const now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = CHAT_TIME_FORMAT.format(now);
    header.append(sender, ' ', time);

    const text = document.createElement('p');
    text.className = 'chat-text';
    text.textContent = entry.text;

    item.append(header, text);
    this.list.append(item);
    this.list.scrollTop = this.list.scrollHeight;

    if (!entry.own && !this.isPanelVisible()) {
      this.unread += 1;
      this.renderUnread();
      this.announce(t('chat.newMessage', { name: entry.sender, text: entry.text }));
    }
  }

  isPanelVisible() {
    return this.panel.getClientRects().length > 0;
  }

  /** Clears the unread counter, called when the panel becomes visible. */
  markRead() {
    this.unread = 0;
    this.renderUnread();
  }

  renderUnread() {
    this.unreadBadge.hidden = this.unread === 0;
    this.unreadBadge.textContent = this.unread > 99 ? '99+' : String(this.unread);
    /** @type {string} */
    let label;
    if (this.unread === 0) label = t('call.chatLabel');
    else if (this.unread === 1) label = t('call.chatLabelUnreadOne');
    else label = t('call.chatLabelUnreadMany', { count: this.unread });
    this.toggleButton.setAttribute('aria-label', label);
  }
}
