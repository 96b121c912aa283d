// WebSocket client for the signaling protocol, version 1 (docs/signaling.md):
// typed messages, keepalive pings and reconnection with backoff.

/**
 * @typedef {'open' | 'not-yet-open' | 'expired'} RoomState
 *
 * @typedef {{ type: 'offer' | 'answer' | 'pranswer' | 'rollback', sdp?: string }} SessionDescription
 * @typedef {{ candidate?: string, sdpMid?: string | null, sdpMLineIndex?: number | null, usernameFragment?: string | null }} IceCandidate
 * @typedef {{ description: SessionDescription } | { candidate: IceCandidate | null } | { rebuild: true }} SignalData
 *
 * @typedef {{ type: 'check', v: 1, token: string }} CheckMessage
 * @typedef {{ type: 'join', v: 1, token: string, name: string, resume?: { peerId: string, key: string }, replaces?: { peerId: string, key: string } }} JoinMessage
 * @typedef {{ type: 'signal', to: string, data: SignalData }} OutgoingSignalMessage
 * @typedef {{ type: 'ice-servers' }} IceServersRequestMessage
 * @typedef {{ type: 'ping' }} PingMessage
 * @typedef {{ type: 'leave' }} LeaveMessage
 * @typedef {CheckMessage | JoinMessage | OutgoingSignalMessage | IceServersRequestMessage | PingMessage | LeaveMessage} ClientMessage
 *
 * @typedef {{ type: 'status', state: RoomState, date: string, timeZone: string, validFrom: string, validUntil: string }} StatusMessage
 * @typedef {{ peerId: string, name: string }} PeerInfo
 * @typedef {{ type: 'joined', peerId: string, resumeKey: string, peers: PeerInfo[], date: string, timeZone: string, maxParticipants: number, iceServers: RTCIceServer[] }} JoinedMessage
 * @typedef {{ type: 'peer-joined', peerId: string, name: string }} PeerJoinedMessage
 * @typedef {{ type: 'peer-left', peerId: string }} PeerLeftMessage
 * @typedef {{ type: 'signal', from: string, data: SignalData }} IncomingSignalMessage
 * @typedef {{ type: 'ice-servers', iceServers: RTCIceServer[] }} IceServersMessage
 * @typedef {{ type: 'pong' }} PongMessage
 * @typedef {'invalid-message' | 'message-too-large' | 'unknown-type' | 'unsupported-version' | 'invalid-link' | 'room-not-open' | 'room-full' | 'invalid-name' | 'not-joined' | 'already-joined' | 'unknown-peer' | 'internal'} ErrorCode
 * @typedef {{ type: 'error', code: ErrorCode, message?: string, date?: string, timeZone?: string, state?: RoomState }} ErrorMessage
 * @typedef {StatusMessage | JoinedMessage | PeerJoinedMessage | PeerLeftMessage | IncomingSignalMessage | IceServersMessage | PongMessage | ErrorMessage} ServerMessage
 *
 * @typedef {{ code: number, reconnecting: boolean }} CloseDetail
 */

export const PROTOCOL_VERSION = 1;

/** Largest message the server accepts, in bytes of UTF-8. */
export const MAX_MESSAGE_BYTES = 32 * 1024;

/** Time between keepalive pings. The server closes sockets idle for 10 minutes. */
const PING_INTERVAL_MS = 30_000;

/** Time to wait for a `pong` before the socket counts as dead. */
const PONG_TIMEOUT_MS = 10_000;

/** Time to wait for a socket to open before giving up on that attempt. */
const CONNECT_TIMEOUT_MS = 15_000;

/** First and largest delay between reconnection attempts. */
const RECONNECT_BASE_DELAY_MS = 1_000;
const RECONNECT_MAX_DELAY_MS = 15_000;

/**
 * Close codes after which reconnecting cannot help: the server rejected the
 * protocol version, the link, the day or the room size. 1000 follows `leave`.
 */
const FINAL_CLOSE_CODES = new Set([1000, 4000, 4001, 4002, 4003]);

/** Close code the client uses when it drops a socket that sent no pong in time. */
const CLOSE_CODE_PONG_TIMEOUT = 4100;

const SERVER_MESSAGE_TYPES = new Set(['status', 'joined', 'peer-joined', 'peer-left', 'signal', 'ice-servers', 'pong', 'error']);

/**
 * Signaling connection to one server URL.
 *
 * Events:
 * - `open`: a socket opened. `detail.reconnected` is true for every socket
 *   after the first, so the caller can send `join` with `resume`.
 * - `message`: a server message (`detail` is a {@link ServerMessage}).
 * - `close`: a socket closed (`detail` is a {@link CloseDetail}).
 *   `reconnecting` is true when another attempt is scheduled.
 */
export class SignalingClient extends EventTarget {
  /** @param {string} url absolute ws:// or wss:// URL */
  constructor(url) {
    super();
    this.url = url;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** Whether an unexpected close schedules a new connection. */
    this.reconnectEnabled = false;
    this.reconnectAttempt = 0;
    this.openedBefore = false;
    /** @type {Promise<void> | null} */
    this.pendingConnect = null;
    /** @type {number | undefined} */
    this.pingTimer = undefined;
    /** @type {number | undefined} */
    this.pongTimer = undefined;
    /** @type {number | undefined} */
    this.reconnectTimer = undefined;
    this.handleOnline = () => {
      if (this.reconnectTimer !== undefined) {
        clearTimeout(this.reconnectTimer);
        this.reconnectTimer = undefined;
        this.reconnectNow();
      }
    };
    window.addEventListener('online', this.handleOnline);
  }

  /** Whether a socket is open and can send. */
  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * Opens a new socket unless one is open or opening.
   * Resolves when it is open and rejects when it fails or times out.
   *
   * @returns {Promise<void>}
   */
  connect() {
    if (this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
    if (this.isOpen) return Promise.resolve();
    if (this.socket && this.socket.readyState === WebSocket.CONNECTING && this.pendingConnect) {
      return this.pendingConnect;
    }

    this.pendingConnect = new Promise((resolve, reject) => {
      /** @type {WebSocket} */
      let socket;
      try {
        socket = new WebSocket(this.url);
      } catch (error) {
        reject(error);
        return;
      }
      this.socket = socket;
      let settled = false;

      const timeout = window.setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new Error('WebSocket connection timed out'));
        // handleClose clears this.socket first, so the late close event of this socket is ignored.
        this.handleClose(socket, 1006);
        socket.close();
      }, CONNECT_TIMEOUT_MS);

      socket.addEventListener('open', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        const reconnected = this.openedBefore;
        this.openedBefore = true;
        this.startKeepalive();
        resolve();
        this.dispatchEvent(new CustomEvent('open', { detail: { reconnected } }));
      });

      socket.addEventListener('message', (event) => this.handleMessage(socket, event));

      socket.addEventListener('close', (event) => {
        clearTimeout(timeout);
        if (!settled) {
          settled = true;
          reject(new Error(`WebSocket closed before opening (code ${event.code})`));
        }
        this.handleClose(socket, event.code);
      });
    });
    this.pendingConnect.catch(() => {});
    return this.pendingConnect;
  }

  /**
   * Sends a message if a socket is open. Returns false when none is open, so
   * the caller can keep the message. A message larger than the server accepts
   * is dropped with a logged error.
   *
   * @param {ClientMessage} message
   * @returns {boolean}
   */
  send(message) {
    if (!this.isOpen || !this.socket) return false;
    const text = JSON.stringify(message);
    if (new TextEncoder().encode(text).length > MAX_MESSAGE_BYTES) {
      console.error(`Signaling: a ${message.type} message exceeds ${MAX_MESSAGE_BYTES} bytes and was not sent`);
      return true;
    }
    this.socket.send(text);
    return true;
  }

  /** Allows or stops reconnection after an unexpected close. */
  setReconnect(/** @type {boolean} */ enabled) {
    this.reconnectEnabled = enabled;
    if (!enabled && this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
  }

  /** Resets the backoff delay, called once the server has accepted the client again. */
  resetBackoff() {
    this.reconnectAttempt = 0;
  }

  /** Closes the socket for good: no reconnection follows. */
  close() {
    this.setReconnect(false);
    this.stopKeepalive();
    const socket = this.socket;
    // With this.socket cleared, the listeners ignore the socket's late events.
    this.socket = null;
    if (socket) {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close(1000);
      }
    }
    window.removeEventListener('online', this.handleOnline);
  }

  /**
   * @param {WebSocket} socket
   * @param {MessageEvent} event
   */
  handleMessage(socket, event) {
    if (socket !== this.socket || typeof event.data !== 'string') return;
    /** @type {unknown} */
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn('Signaling: ignored a message that is not JSON');
      return;
    }
    if (!isServerMessage(message)) {
      console.warn('Signaling: ignored a message of unknown shape');
      return;
    }
    if (message.type === 'pong') {
      clearTimeout(this.pongTimer);
      this.pongTimer = undefined;
    }
    this.dispatchEvent(new CustomEvent('message', { detail: message }));
  }

  /**
   * @param {WebSocket} socket
   * @param {number} code
   */
  handleClose(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.stopKeepalive();
    const reconnecting = this.reconnectEnabled && !FINAL_CLOSE_CODES.has(code);
    if (reconnecting) this.scheduleReconnect();
    /** @type {CloseDetail} */
    const detail = { code, reconnecting };
    this.dispatchEvent(new CustomEvent('close', { detail }));
  }

  scheduleReconnect() {
    if (this.reconnectTimer !== undefined) return;
    const exponential = RECONNECT_BASE_DELAY_MS * 2 ** this.reconnectAttempt;
    const delay = Math.min(RECONNECT_MAX_DELAY_MS, exponential) * (0.75 + Math.random() * 0.5);
    this.reconnectAttempt += 1;
    this.reconnectTimer = window.setTimeout(() => {
      this.reconnectTimer = undefined;
      this.reconnectNow();
    }, delay);
  }

  reconnectNow() {
    this.connect().catch((error) => {
      console.warn(`Signaling: reconnection attempt failed: ${error instanceof Error ? error.message : error}`);
    });
  }

  startKeepalive() {
    this.stopKeepalive();
    this.pingTimer = window.setInterval(() => this.sendPing(), PING_INTERVAL_MS);
  }

  stopKeepalive() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
  }

  sendPing() {
    const socket = this.socket;
    if (!socket || !this.send({ type: 'ping' })) return;
    if (this.pongTimer !== undefined) return;
    this.pongTimer = window.setTimeout(() => {
      this.pongTimer = undefined;
      if (socket !== this.socket) return;
      console.warn(`Signaling: no pong within ${PONG_TIMEOUT_MS / 1000} s, dropping the socket`);
      // A dead connection may take minutes to report its close, so the client
      // drops it at once and treats it as closed.
      socket.close(CLOSE_CODE_PONG_TIMEOUT);
      this.handleClose(socket, 1006);
    }, PONG_TIMEOUT_MS);
  }
}

/**
 * Checks that a parsed message has a known `type` and the fields that the
 * client reads for that type.
 *
 * @param {unknown} value
 * @returns {value is ServerMessage}
 */
export function isServerMessage(value) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const message = /** @type {Record<string, unknown>} */ (value);
  if (typeof message.type !== 'string' || !SERVER_MESSAGE_TYPES.has(message.type)) return false;
  switch (message.type) {
    case 'status':
      return typeof message.state === 'string' && typeof message.date === 'string';
    case 'joined':
      return (
        typeof message.peerId === 'string' &&
        typeof message.resumeKey === 'string' &&
        Array.isArray(message.peers) &&
        message.peers.every(
          (peer) => typeof peer === 'object' && peer !== null && typeof peer.peerId === 'string' && typeof peer.name === 'string',
        ) &&
        Array.isArray(message.iceServers)
      );
    case 'peer-joined':
      return typeof message.peerId === 'string' && typeof message.name === 'string';
    case 'peer-left':
      return typeof message.peerId === 'string';
    case 'signal':
      return typeof message.from === 'string' && typeof message.data === 'object' && message.data !== null;
    case 'ice-servers':
      return Array.isArray(message.iceServers);
    case 'error':
      return typeof message.code === 'string';
    default:
      return true;
  }
}
