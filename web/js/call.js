// The call itself: one PeerSession per remote participant in a full mesh,
// signaling relay, chat and media-state fan-out and the video bitrate budget.

import { t } from './i18n.js';
import { PeerSession } from './peer.js';

/**
 * @typedef {import('./signaling.js').SignalingClient} SignalingClient
 * @typedef {import('./signaling.js').JoinedMessage} JoinedMessage
 * @typedef {import('./signaling.js').PeerJoinedMessage} PeerJoinedMessage
 * @typedef {import('./signaling.js').PeerLeftMessage} PeerLeftMessage
 * @typedef {import('./signaling.js').IncomingSignalMessage} IncomingSignalMessage
 * @typedef {import('./signaling.js').IceServersMessage} IceServersMessage
 * @typedef {import('./signaling.js').ServerMessage} ServerMessage
 * @typedef {import('./signaling.js').OutgoingSignalMessage} OutgoingSignalMessage
 * @typedef {import('./signaling.js').SignalData} SignalData
 * @typedef {import('./call-ui.js').TileGrid} TileGrid
 * @typedef {import('./call-ui.js').ChatView} ChatView
 * @typedef {import('./peer.js').MediaState} MediaState
 */

/**
 * Upload budget in bit/s shared by the video streams to all peers. A browser
 * in a mesh sends one stream per peer, so each gets an equal share.
 */
const TOTAL_VIDEO_BITRATE = 2_500_000;

/** Lowest per-peer video bitrate in bit/s, below which the picture is useless. */
const MIN_VIDEO_BITRATE = 150_000;

/**
 * Most signals kept while the socket is down. Beyond this the oldest are
 * dropped, and recovery after the reconnect renegotiates anyway.
 */
const MAX_QUEUED_SIGNALS = 500;

/**
 * Time an existing participant waits for a newcomer's first offer before
 * creating the peer connection and offering itself. Waiting avoids offers
 * that cross on every join: the rollback of an initial offer sometimes left
 * Chromium 156 without ICE candidates.
 */
const NEWCOMER_OFFER_WAIT_MS = 4_000;

/**
 * Age below which the ICE server list is used without asking the server for
 * a fresh one. The TURN credentials in it stay valid for hours, so this only
 * saves requests when several restarts or joins come close together.
 */
const ICE_SERVERS_FRESH_MS = 60_000;

/** Time to wait for the reply to `ice-servers` before going on with the current list. */
const ICE_SERVERS_TIMEOUT_MS = 5_000;

/**
 * Returns the maximum video bitrate per peer for a call of `participants`
 * people, including this one.
 *
 * @param {number} participants
 * @returns {number} bit/s
 */
export function videoBitrateFor(participants) {
  const peers = Math.max(1, participants - 1);
  return Math.max(MIN_VIDEO_BITRATE, Math.round(TOTAL_VIDEO_BITRATE / peers));
}

/** State and peer connections of one joined call. */
export class CallController {
  /**
   * @param {object} options
   * @param {SignalingClient} options.signaling
   * @param {MediaStream} options.localStream sent to every peer; may have no tracks
   * @param {string} options.displayName this participant's name
   * @param {MediaState} options.mediaState whether this participant's microphone and camera are on
   * @param {TileGrid} options.tiles
   * @param {ChatView} options.chat
   * @param {Map<string, RTCPeerConnection>} options.peerConnections filled for tests, see README
   * @param {(text: string) => void} options.notify shows a short note on screen and reads it to screen readers
   * @param {() => void} options.onPeersChanged called after a peer was added or removed
   * @param {(peerId: string) => void} options.onConnectionChanged called after the state of the
   *   connection to a peer changed or the connection was replaced
   */
  constructor(options) {
    this.signaling = options.signaling;
    this.localStream = options.localStream;
    this.displayName = options.displayName;
    this.mediaState = options.mediaState;
    this.tiles = options.tiles;
    this.chat = options.chat;
    this.peerConnections = options.peerConnections;
    this.notify = options.notify;
    this.onPeersChanged = options.onPeersChanged;
    this.onConnectionChanged = options.onConnectionChanged;

    this.selfPeerId = '';
    this.resumeKey = '';
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** `performance.now()` when `iceServers` arrived. */
    this.iceServersReceivedAt = 0;
    /**
     * The `ice-servers` request waiting for its reply, shared by every caller
     * of refreshIceServers.
     * @type {{ promise: Promise<RTCIceServer[]>, resolve: (list: RTCIceServer[]) => void, timer: number } | null}
     */
    this.iceServersRequest = null;
    /** Whether the server has accepted `join` on the current socket. */
    this.joinedOnSocket = false;
    /** @type {Map<string, PeerSession>} */
    this.sessions = new Map();
    /** @type {Map<string, string>} */
    this.names = new Map();
    /** @type {OutgoingSignalMessage[]} */
    this.outbox = [];
    /** Timers of newcomers whose first offer has not arrived yet, by peer id. */
    /** @type {Map<string, number>} */
    this.offerWaitTimers = new Map();

    // join.js routes the other server messages. This class reads `ice-servers`
    // itself because it sends the request that this message replies to.
    /** @param {Event} event */
    this.handleServerMessage = (event) => {
      const message = /** @type {CustomEvent<ServerMessage>} */ (event).detail;
      if (message.type === 'ice-servers') this.handleIceServers(message);
    };
    this.signaling.addEventListener('message', this.handleServerMessage);
  }

  /** Number of remote participants, with or without a peer connection yet. */
  get peerCount() {
    return this.tiles.tiles.size;
  }

  /**
   * Applies a `joined` message, the first one or one after a reconnect.
   *
   * With the same peer id as before, the server resumed the old place, so
   * existing peer connections stay. Peers missing from the list left while
   * the socket was down. A new peer id means the others saw this participant
   * leave, so every old connection is closed and built anew.
   *
   * @param {JoinedMessage} message
   */
  applyJoined(message) {
    const resumed = this.selfPeerId !== '' && message.peerId === this.selfPeerId;
    if (!resumed) {
      for (const peerId of [...this.tiles.tiles.keys()]) this.removePeer(peerId);
      this.outbox = [];
    }

    this.selfPeerId = message.peerId;
    this.resumeKey = message.resumeKey;
    this.joinedOnSocket = true;
    this.storeIceServers(message.iceServers);

    const present = new Set(message.peers.map((peer) => peer.peerId));
    for (const peerId of [...this.tiles.tiles.keys()]) {
      if (!present.has(peerId)) this.removePeer(peerId);
    }
    for (const peer of message.peers) {
      if (peer.peerId === this.selfPeerId) continue;
      this.setName(peer.peerId, peer.name);
      if (!this.sessions.has(peer.peerId)) this.createSession(peer.peerId);
    }

    if (resumed) {
      const queued = this.outbox;
      this.outbox = [];
      for (const signal of queued) this.sendSignalMessage(signal);
      for (const session of this.sessions.values()) session.recoverAfterSignalingGap();
    }
    this.updateVideoBitrates();
  }

  /**
   * Marks the socket as gone, so signals wait in the outbox until the next
   * `joined`. A pending `ice-servers` request gets no reply on a new socket,
   * so its callers go on with the current list.
   */
  handleSocketClosed() {
    this.joinedOnSocket = false;
    this.finishIceServersRequest(this.iceServers);
  }

  /** @param {IceServersMessage} message */
  handleIceServers(message) {
    this.storeIceServers(message.iceServers);
  }

  /**
   * Stores a list from `joined` or `ice-servers`, hands it to every peer
   * connection and to a pending refreshIceServers.
   *
   * @param {RTCIceServer[]} iceServers
   */
  storeIceServers(iceServers) {
    this.iceServers = iceServers;
    this.iceServersReceivedAt = performance.now();
    for (const session of this.sessions.values()) session.setIceServers(iceServers);
    this.finishIceServersRequest(iceServers);
  }

  /**
   * Resolves with ICE servers whose TURN credentials are still valid, for an
   * ICE restart or a new peer connection. Sends `ice-servers` unless the list
   * is empty (no TURN server, so nothing expires) or younger than
   * ICE_SERVERS_FRESH_MS and `force` is false. Without a joined socket, or
   * when no reply comes within ICE_SERVERS_TIMEOUT_MS, it resolves with the
   * current list. It never rejects.
   *
   * @param {boolean} [force] fetch a new list even when the current one is recent,
   *   because the relay server refused its credentials
   * @returns {Promise<RTCIceServer[]>}
   */
  refreshIceServers(force = false) {
    if (this.iceServers.length === 0) return Promise.resolve([]);
    if (!force && performance.now() - this.iceServersReceivedAt < ICE_SERVERS_FRESH_MS) {
      return Promise.resolve(this.iceServers);
    }
    if (this.iceServersRequest) return this.iceServersRequest.promise;
    if (!this.joinedOnSocket || !this.signaling.send({ type: 'ice-servers' })) {
      return Promise.resolve(this.iceServers);
    }

    /** @type {(list: RTCIceServer[]) => void} */
    let resolve = () => {};
    /** @type {Promise<RTCIceServer[]>} */
    const promise = new Promise((settle) => {
      resolve = settle;
    });
    const timer = window.setTimeout(() => {
      console.warn(`Call: the ice-servers request timed out after ${ICE_SERVERS_TIMEOUT_MS / 1000} s, keeping the current ICE servers`);
      this.finishIceServersRequest(this.iceServers);
    }, ICE_SERVERS_TIMEOUT_MS);
    this.iceServersRequest = { promise, resolve, timer };
    return promise;
  }

  /**
   * Resolves the pending `ice-servers` request, if any, with `iceServers`.
   *
   * @param {RTCIceServer[]} iceServers
   */
  finishIceServersRequest(iceServers) {
    const request = this.iceServersRequest;
    if (!request) return;
    this.iceServersRequest = null;
    clearTimeout(request.timer);
    request.resolve(iceServers);
  }

  /**
   * Shows the newcomer's tile at once. The peer connection follows with the
   * newcomer's first signal, which it sends after its `joined`, or after
   * NEWCOMER_OFFER_WAIT_MS. Perfect negotiation handles offers that cross anyway.
   *
   * @param {PeerJoinedMessage} message
   */
  handlePeerJoined(message) {
    const peerId = message.peerId;
    if (peerId === this.selfPeerId) return;
    this.setName(peerId, message.name);
    if (!this.sessions.has(peerId) && !this.offerWaitTimers.has(peerId)) {
      this.tiles.ensure(peerId, message.name);
      // The peer connection follows soon, so fetch fresh TURN credentials for it now.
      void this.refreshIceServers();
      const timer = window.setTimeout(() => {
        this.offerWaitTimers.delete(peerId);
        if (!this.sessions.has(peerId)) this.createSession(peerId);
      }, NEWCOMER_OFFER_WAIT_MS);
      this.offerWaitTimers.set(peerId, timer);
      this.updateVideoBitrates();
      this.onPeersChanged();
    }
    this.notify(t('call.peerJoined', { name: message.name }));
  }

  /** @param {PeerLeftMessage} message */
  handlePeerLeft(message) {
    if (!this.tiles.get(message.peerId)) return;
    const name = this.nameOf(message.peerId);
    this.removePeer(message.peerId);
    this.notify(t('call.peerLeft', { name }));
  }

  /** @param {IncomingSignalMessage} message */
  handleSignal(message) {
    if (!this.selfPeerId || message.from === this.selfPeerId) return;
    // A signal can come before `peer-joined` from a peer that joined just now.
    const session = this.sessions.get(message.from) ?? this.createSession(message.from);
    void session.handleSignal(message.data);
  }

  /**
   * @param {string} peerId
   * @returns {PeerSession}
   */
  createSession(peerId) {
    clearTimeout(this.offerWaitTimers.get(peerId));
    this.offerWaitTimers.delete(peerId);
    const session = new PeerSession({
      localPeerId: this.selfPeerId,
      remotePeerId: peerId,
      iceServers: this.iceServers,
      localStream: this.localStream,
      mediaState: this.mediaState,
      sendSignal: (data) => this.sendSignalMessage({ type: 'signal', to: peerId, data }),
      refreshIceServers: (force) => this.refreshIceServers(force),
    });
    this.sessions.set(peerId, session);
    this.peerConnections.set(peerId, session.pc);

    const tile = this.tiles.ensure(peerId, this.nameOf(peerId));
    session.addEventListener('track', () => void tile.setStream(session.remoteStream));
    session.addEventListener('media', (event) => {
      tile.setMediaState(/** @type {CustomEvent<MediaState>} */ (event).detail);
    });
    // A refused relay and a stalled connection stay on screen until the
    // connection comes up, so the restarts that still run in the background
    // do not hide them behind "connecting".
    const showConnectionState = () => {
      const state = session.pc.connectionState;
      if (state === 'connected') tile.setConnectionState(state);
      else if (session.relayRejected) tile.setConnectionState('relay-rejected');
      else if (session.stalled) tile.setConnectionState('stalled');
      else tile.setConnectionState(state);
      this.onConnectionChanged(peerId);
    };
    session.addEventListener('connectionstatechange', showConnectionState);
    session.addEventListener('relayrejected', showConnectionState);
    session.addEventListener('stalled', showConnectionState);
    session.addEventListener('connectionreplaced', () => {
      this.peerConnections.set(peerId, session.pc);
      showConnectionState();
    });
    session.addEventListener('chat', (event) => {
      const { text } = /** @type {CustomEvent<import('./peer.js').ChatPayload>} */ (event).detail;
      this.chat.append({ sender: this.nameOf(peerId), text, own: false });
    });

    this.updateVideoBitrates();
    this.onPeersChanged();
    return session;
  }

  /** @param {string} peerId */
  removePeer(peerId) {
    clearTimeout(this.offerWaitTimers.get(peerId));
    this.offerWaitTimers.delete(peerId);
    const session = this.sessions.get(peerId);
    if (session) session.close();
    this.sessions.delete(peerId);
    this.peerConnections.delete(peerId);
    this.names.delete(peerId);
    this.tiles.remove(peerId);
    this.outbox = this.outbox.filter((signal) => signal.to !== peerId);
    this.updateVideoBitrates();
    this.onPeersChanged();
  }

  /**
   * @param {string} peerId
   * @param {string} name
   */
  setName(peerId, name) {
    this.names.set(peerId, name);
    this.tiles.get(peerId)?.setName(name);
  }

  /** @param {string} peerId */
  nameOf(peerId) {
    return this.names.get(peerId) ?? t('call.unknownPeer');
  }

  /**
   * Sends a signal now, or queues it while the socket is down or not yet
   * joined again.
   *
   * @param {OutgoingSignalMessage} message
   */
  sendSignalMessage(message) {
    if (this.joinedOnSocket && this.signaling.send(message)) return;
    this.outbox.push(message);
    if (this.outbox.length > MAX_QUEUED_SIGNALS) this.outbox.shift();
  }

  updateVideoBitrates() {
    const bitrate = videoBitrateFor(this.peerCount + 1);
    for (const session of this.sessions.values()) void session.setMaxVideoBitrate(bitrate);
  }

  /**
   * Sends a chat message to every peer with an open channel and shows it in
   * the list. Returns false for text that is empty after trimming.
   *
   * @param {string} text
   * @returns {boolean}
   */
  sendChat(text) {
    if (text.trim() === '') return false;
    for (const session of this.sessions.values()) session.sendChat(text);
    this.chat.append({ sender: t('call.selfName', { name: this.displayName }), text, own: true });
    return true;
  }

  /**
   * Sends every peer whether this participant's microphone and camera are
   * on. Peers whose chat channel is not open yet get it when it opens.
   *
   * @param {MediaState} state
   */
  setMediaState(state) {
    if (state.audio === this.mediaState.audio && state.video === this.mediaState.video) return;
    this.mediaState = state;
    for (const session of this.sessions.values()) session.setMediaState(state);
  }

  /**
   * Sends the stream's current track of a kind to every peer, after a device
   * switch. Peers that sent nothing of that kind before renegotiate.
   *
   * @param {'audio' | 'video'} kind
   * @returns {Promise<void>}
   */
  async syncLocalTrack(kind) {
    const track = kind === 'audio' ? this.localStream.getAudioTracks()[0] : this.localStream.getVideoTracks()[0];
    if (!track) return;
    await Promise.all(
      [...this.sessions.values()].map((session) =>
        session.replaceLocalTrack(track, this.localStream).catch((error) => {
          console.warn(`Call: replacing a ${kind} track failed: ${error instanceof Error ? error.name : error}`);
        }),
      ),
    );
  }

  /**
   * Sends `leave` and closes every peer connection. Local tracks are left to
   * the caller.
   */
  leave() {
    this.signaling.send({ type: 'leave' });
    this.signaling.removeEventListener('message', this.handleServerMessage);
    this.finishIceServersRequest(this.iceServers);
    for (const peerId of [...this.tiles.tiles.keys()]) this.removePeer(peerId);
    this.outbox = [];
  }
}
