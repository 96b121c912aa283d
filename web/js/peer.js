// One RTCPeerConnection to one remote participant, negotiated with the
// perfect negotiation pattern, plus its chat data channel.
//
// The chat channel carries JSON objects of two kinds. A chat message is
// `{ text }` without a `kind`, as in the first client version. A media state
// is `{ kind: "media", audio, video }`: whether the sender's microphone and
// camera are on. Receivers drop objects of any other `kind`, so later
// versions can add kinds without breaking this one.

/**
 * @typedef {import('./signaling.js').SignalData} SignalData
 * @typedef {{ text: string }} ChatPayload
 * @typedef {{ audio: boolean, video: boolean }} MediaState
 * @typedef {{ kind: 'media', audio: boolean, video: boolean }} MediaStatePayload
 */

/** Maximum length of a chat message sent or accepted, in UTF-16 code units (String length). */
export const MAX_CHAT_LENGTH = 2000;
/** Chat messages kept per peer while its channel is not open yet. */
const MAX_PENDING_CHAT = 50;
/**
 * ICE candidates kept while no remote description is set. On AWS each
 * signaling message is its own Lambda invocation, so a candidate can
 * overtake the description it belongs to.
 */
const MAX_PENDING_CANDIDATES = 200;

/**
 * Time after which a negotiated connection that has not started ICE
 * (connectionState "new") gets an ICE restart. The polite side waits longer,
 * so that usually only one side restarts.
 */
const STUCK_TIMEOUT_IMPOLITE_MS = 4_000;
const STUCK_TIMEOUT_POLITE_MS = 7_000;

/** Most ICE restarts for a connection stuck in "new". */
const MAX_STUCK_RESTARTS = 3;

/**
 * Failures in a row, without "connected" in between, that ICE restarts may
 * try to mend. At the next one the connection is rebuilt instead.
 */
const MAX_FAILED_RESTARTS = 2;

/**
 * Time without "connected", counted from the start of the session or from
 * the moment the connection was lost, after which the session reports it as
 * stalled. It outlasts the ICE restarts of a connection stuck in "new" (three
 * of 7 s on the polite side), and a connection that comes up at all usually
 * does so within a few seconds. The restarts and rebuilds after failures go
 * on in the background.
 */
const STALLED_AFTER_MS = 30_000;

/**
 * Peer connection to one remote participant.
 *
 * Perfect negotiation lets both sides add tracks and start offers at any
 * time. When two offers cross, the impolite side ignores the incoming offer
 * and the polite side rolls back its own, which setRemoteDescription does
 * implicitly. The polite side is the one whose peer id sorts first.
 *
 * One exception: when the crossing offers are the first ones, the polite side
 * replaces its RTCPeerConnection with a fresh one instead of rolling back.
 * In Chromium 156, a connection whose initial offer was rolled back gathered
 * no ICE candidates afterwards, not even after an ICE restart, and stayed in
 * connectionState "new". The impolite side ignored everything from the
 * discarded connection, so it notices no difference.
 *
 * Events:
 * - `track`: `remoteStream` got a new track.
 * - `chat`: a valid chat message arrived (`detail` is a {@link ChatPayload}).
 * - `media`: the remote side reported its microphone and camera state
 *   (`detail` is a {@link MediaState}).
 * - `connectionstatechange`: `pc.connectionState` changed.
 * - `connectionreplaced`: `pc` is a new RTCPeerConnection.
 *
 * A connection that fails gets an ICE restart with fresh credentials. When
 * it fails again and again, the impolite side replaces it with a new one and
 * sends `{ rebuild: true }`, on which the polite side replaces its own too.
 * The connections to other participants stay as they are.
 *
 * - `relayrejected`: the relay server refused the TURN credentials, also
 *   fresh ones, so no candidate is left to connect with. `relayRejected`
 *   stays true until the connection comes up.
 * - `stalled`: the connection has not been connected for STALLED_AFTER_MS,
 *   since the session started or since it was lost. `stalled` stays true
 *   until the connection comes up.
 */
export class PeerSession extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.localPeerId
   * @param {string} options.remotePeerId
   * @param {RTCIceServer[]} options.iceServers from `joined` or `ice-servers`, used as given: an empty list means no ICE server
   * @param {MediaStream} options.localStream tracks to send; it may have none
   * @param {MediaState} options.mediaState sent to the remote side whenever the chat channel opens
   * @param {(data: SignalData) => void} options.sendSignal
   * @param {(force: boolean) => Promise<RTCIceServer[]>} options.refreshIceServers resolves with a list
   *   whose TURN credentials are still valid, newly fetched when `force` is true; awaited before every
   *   ICE restart. It never rejects.
   */
  constructor({ localPeerId, remotePeerId, iceServers, localStream, mediaState, sendSignal, refreshIceServers }) {
    super();
    this.remotePeerId = remotePeerId;
    this.polite = localPeerId < remotePeerId;
    /** ICE servers of the current connection, and of the next one that replaceConnection creates. */
    this.iceServers = iceServers;
    this.refreshIceServers = refreshIceServers;
    this.localStream = localStream;
    this.sendSignal = sendSignal;
    this.mediaState = mediaState;
    this.remoteStream = new MediaStream();
    this.closed = false;

    /** Maximum video send bitrate in bit/s, or 0 for the browser's choice. */
    this.maxVideoBitrate = 0;

    // Set by createConnection, which the constructor calls.
    /** @type {RTCPeerConnection} */
    this.pc = /** @type {RTCPeerConnection} */ (/** @type {unknown} */ (null));
    /** @type {RTCDataChannel} */
    this.chatChannel = /** @type {RTCDataChannel} */ (/** @type {unknown} */ (null));
    /**
     * Chat messages typed before the channel opened (just after joining, or
     * while the connection is rebuilt); sent when it opens, oldest first.
     * @type {string[]}
     */
    this.pendingChat = [];
    /**
     * Remote ICE candidates that arrived before any remote description,
     * applied right after it; `null` marks the end of candidates.
     * @type {(RTCIceCandidateInit | null)[]}
     */
    this.pendingCandidates = [];
    /** Remote descriptions being applied right now. */
    this.descriptionsInFlight = 0;
    /** @type {Map<'audio' | 'video', RTCRtpSender>} */
    this.senders = new Map();
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;
    /** @type {number | undefined} */
    this.stuckTimer = undefined;
    this.stuckRestarts = 0;
    /** Times the current connection failed since it was last connected. */
    this.failuresSinceConnected = 0;

    // What the current round of ICE gathering found, reset when a round starts.
    this.roundCandidates = 0;
    this.roundRelayCandidates = 0;
    this.roundRelayAuthFailed = false;
    /** The last finished round got no relay candidate because the relay server returned 401. */
    this.relayRefused = false;
    /** A refusal already led to an ICE restart with freshly fetched credentials. */
    this.relayRetried = false;
    /** The relay refused fresh credentials too; see the `relayrejected` event. */
    this.relayRejected = false;
    /** The connection has been down for STALLED_AFTER_MS; see the `stalled` event. */
    this.stalled = false;
    /** @type {number | undefined} */
    this.stalledTimer = undefined;

    this.createConnection();
    this.watchForStall();
  }

  /**
   * Creates the RTCPeerConnection with the local tracks and the chat channel.
   * Every listener checks that its connection is still the current one, so
   * a replaced connection cannot send signals or events.
   */
  createConnection() {
    const pc = newPeerConnection(this.iceServers);
    this.pc = pc;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;
    this.stuckRestarts = 0;
    this.failuresSinceConnected = 0;
    clearTimeout(this.stuckTimer);
    this.roundCandidates = 0;
    this.roundRelayCandidates = 0;
    this.roundRelayAuthFailed = false;
    this.relayRefused = false;
    this.relayRetried = false;
    this.relayRejected = false;
    this.pendingCandidates = [];

    this.senders = new Map();
    for (const track of this.localStream.getTracks()) this.addLocalTrack(track, this.localStream);

    // Negotiated with a fixed id, so both sides have the channel regardless
    // of which side offers first, and neither waits for an ondatachannel event.
    const channel = pc.createDataChannel('chat', { negotiated: true, id: 0 });
    this.chatChannel = channel;
    channel.addEventListener('message', (event) => {
      if (pc === this.pc) this.handleChatMessage(event);
    });
    channel.addEventListener('open', () => {
      if (pc !== this.pc) return;
      this.sendMediaStateNow();
      this.flushPendingChat();
    });

    pc.addEventListener('negotiationneeded', () => {
      if (pc === this.pc) void this.handleNegotiationNeeded();
    });
    pc.addEventListener('icecandidate', (event) => {
      if (pc !== this.pc) return;
      if (event.candidate) {
        this.roundCandidates += 1;
        if (event.candidate.type === 'relay') this.roundRelayCandidates += 1;
      }
      this.sendSignal({ candidate: event.candidate ? event.candidate.toJSON() : null });
    });
    pc.addEventListener('icecandidateerror', (event) => {
      if (pc !== this.pc) return;
      const error = /** @type {RTCPeerConnectionIceErrorEvent} */ (event);
      // 401 after the credentials were sent: wrong or expired. The browser's
      // first request carries none and gets a 401 too, but does not report it.
      if (error.errorCode === 401 && /^turns?:/.test(error.url ?? '')) this.roundRelayAuthFailed = true;
    });
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc === this.pc) this.handleGatheringStateChange();
    });
    pc.addEventListener('track', (event) => {
      if (pc === this.pc) this.handleTrack(event);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc === this.pc) this.handleConnectionStateChange();
    });
    pc.addEventListener('signalingstatechange', () => {
      if (pc !== this.pc || pc.signalingState !== 'stable') return;
      void this.applyVideoBitrate();
      this.watchForStuckIce();
    });
  }

  /** Closes the current connection and starts over with a fresh one. */
  replaceConnection() {
    const old = this.pc;
    this.createConnection();
    closeQuietly(old);
    this.watchForStall();
    this.dispatchEvent(new Event('connectionreplaced'));
  }

  /**
   * Adds a local track. After the first negotiation this triggers a new one.
   *
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   */
  addLocalTrack(track, stream) {
    const kind = track.kind === 'audio' ? 'audio' : 'video';
    const existing = this.senders.get(kind);
    if (existing) {
      void existing.replaceTrack(track);
      return;
    }
    this.senders.set(kind, this.pc.addTrack(track, stream));
  }

  /**
   * Sends a different track of the same kind without renegotiation.
   * Adds the track instead when nothing of its kind was sent before.
   *
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   * @returns {Promise<void>}
   */
  async replaceLocalTrack(track, stream) {
    if (this.closed) return;
    const sender = this.senders.get(track.kind === 'audio' ? 'audio' : 'video');
    if (!sender) {
      this.addLocalTrack(track, stream);
      return;
    }
    await sender.replaceTrack(track);
    if (track.kind === 'video') await this.applyVideoBitrate();
  }

  async handleNegotiationNeeded() {
    const pc = this.pc;
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      if (pc === this.pc) this.sendLocalDescription();
    } catch (error) {
      if (pc === this.pc) console.error(`Peer: creating an offer failed: ${describeError(error)}`);
    } finally {
      if (pc === this.pc) this.makingOffer = false;
    }
  }

  sendLocalDescription() {
    const description = this.pc.localDescription;
    if (!description) return;
    this.sendSignal({ description: { type: description.type, sdp: description.sdp } });
  }

  /**
   * Applies a `signal` from the remote participant.
   *
   * The browser queues setRemoteDescription and addIceCandidate in call order.
   * Each call below starts before the first `await`, so candidates that follow
   * an offer are applied after it.
   *
   * @param {unknown} data
   * @returns {Promise<void>}
   */
  async handleSignal(data) {
    if (this.closed || typeof data !== 'object' || data === null) return;
    const signal = /** @type {Record<string, unknown>} */ (data);

    if ('description' in signal) {
      const description = signal.description;
      if (!isSessionDescription(description)) {
        console.warn('Peer: ignored a malformed session description');
        return;
      }
      await this.handleDescription(description);
    } else if ('candidate' in signal) {
      await this.handleCandidate(signal.candidate);
    } else if (signal.rebuild === true) {
      this.handleRebuild();
    }
  }

  /** @param {RTCSessionDescriptionInit} description */
  async handleDescription(description) {
    const readyForOffer =
      !this.makingOffer && (this.pc.signalingState === 'stable' || this.isSettingRemoteAnswerPending);
    const offerCollision = description.type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && offerCollision;
    if (this.ignoreOffer) return;

    if (offerCollision && !this.pc.currentRemoteDescription) {
      // The polite side's first offer crossed the remote one: start over
      // instead of rolling back (see the class comment).
      this.replaceConnection();
    }

    const pc = this.pc;
    try {
      this.isSettingRemoteAnswerPending = description.type === 'answer';
      // For the polite side, an offer in have-local-offer rolls back the local offer first.
      this.descriptionsInFlight += 1;
      try {
        await pc.setRemoteDescription(description);
      } finally {
        this.descriptionsInFlight -= 1;
      }
      this.isSettingRemoteAnswerPending = false;
      if (pc === this.pc) this.applyPendingCandidates();
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        if (pc === this.pc) this.sendLocalDescription();
      }
    } catch (error) {
      this.isSettingRemoteAnswerPending = false;
      if (pc === this.pc) console.error(`Peer: applying a remote ${description.type} failed: ${describeError(error)}`);
    }
  }

  /** @param {unknown} candidate */
  async handleCandidate(candidate) {
    if (candidate !== null && (typeof candidate !== 'object' || Array.isArray(candidate))) {
      console.warn('Peer: ignored a malformed ICE candidate');
      return;
    }
    // A description being applied comes first in the browser's own queue;
    // without one in flight, the candidate overtook its description and
    // waits for it here.
    if (!this.pc.remoteDescription && this.descriptionsInFlight === 0) {
      this.pendingCandidates.push(/** @type {RTCIceCandidateInit | null} */ (candidate));
      if (this.pendingCandidates.length > MAX_PENDING_CANDIDATES) this.pendingCandidates.shift();
      return;
    }
    try {
      // null marks the end of candidates.
      await this.pc.addIceCandidate(/** @type {RTCIceCandidateInit | null} */ (candidate) ?? undefined);
    } catch (error) {
      // Candidates of an offer this side ignored cannot be applied, and that is expected.
      if (!this.ignoreOffer) {
        console.warn(`Peer: adding an ICE candidate failed: ${describeError(error)}`);
      }
    }
  }

  /**
   * Applies the candidates that arrived before the remote description,
   * oldest first. Each addIceCandidate call starts before this returns, and
   * the browser runs them in call order, so they all come before an answer
   * that the caller creates next. Awaiting them here instead would let other
   * signals interleave between the remote and the local description.
   */
  applyPendingCandidates() {
    const pending = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of pending) void this.handleCandidate(candidate);
  }

  /**
   * Uses the browser's stream for the remote side's tracks. The remote side
   * adds every track with its one local stream, so audio and video share it.
   *
   * @param {RTCTrackEvent} event
   */
  handleTrack(event) {
    const [stream] = event.streams;
    if (stream) {
      this.remoteStream = stream;
    } else if (!this.remoteStream.getTracks().includes(event.track)) {
      this.remoteStream.addTrack(event.track);
    }
    this.dispatchEvent(new Event('track'));
  }

  handleConnectionStateChange() {
    const state = this.pc.connectionState;
    if (state === 'connected') {
      this.stuckRestarts = 0;
      this.failuresSinceConnected = 0;
      this.relayRetried = false;
      this.relayRejected = false;
      this.stalled = false;
      clearTimeout(this.stalledTimer);
      this.stalledTimer = undefined;
    } else {
      this.watchForStall();
    }
    if (state === 'failed') {
      this.failuresSinceConnected += 1;
      if (this.relayRefused) {
        this.handleRelayRefused();
      } else if (this.failuresSinceConnected > MAX_FAILED_RESTARTS && !this.polite) {
        this.rebuild();
        return;
      } else {
        void this.restartIceWithFreshServers('the connection failed');
      }
    }
    this.dispatchEvent(new Event('connectionstatechange'));
  }

  /**
   * Replaces the connection after ICE restarts did not mend it, and sends
   * the other side a rebuild signal so that it does the same. The rebuild signal goes out before the
   * new connection's offer, which negotiationneeded starts later.
   */
  rebuild() {
    if (this.closed) return;
    console.warn(`Peer: the connection failed ${this.failuresSinceConnected} times in a row, rebuilding it`);
    this.replaceConnection();
    this.sendSignal({ rebuild: true });
  }

  /** Replaces the connection because the other side rebuilt its own. */
  handleRebuild() {
    if (this.closed) return;
    console.warn('Peer: the other side rebuilt the connection, rebuilding it here too');
    this.replaceConnection();
  }

  /**
   * Counts candidates per round of gathering. When the relay rejected the
   * credentials and the round found no candidate at all, the connection
   * would wait for nothing, so the rejection is handled at once. Otherwise
   * it is handled when the connection fails.
   */
  handleGatheringStateChange() {
    const state = this.pc.iceGatheringState;
    if (state === 'gathering') {
      this.roundCandidates = 0;
      this.roundRelayCandidates = 0;
      this.roundRelayAuthFailed = false;
    } else if (state === 'complete') {
      this.relayRefused = this.roundRelayAuthFailed && this.roundRelayCandidates === 0;
      if (this.relayRefused && this.roundCandidates === 0) this.handleRelayRefused();
    }
  }

  /**
   * Handles a relay server that refused the TURN credentials. The first
   * time, ICE restarts with newly fetched ones, which helps when they had
   * expired. When the relay refuses those too, waiting longer cannot help,
   * so the session dispatches `relayrejected`.
   */
  handleRelayRefused() {
    if (this.closed) return;
    if (!this.relayRetried) {
      this.relayRetried = true;
      void this.restartIceWithFreshServers('the relay server refused the TURN credentials', { force: true });
      return;
    }
    if (this.relayRejected) return;
    this.relayRejected = true;
    console.warn('Peer: the relay server returned 401 for freshly fetched TURN credentials too');
    this.dispatchEvent(new Event('relayrejected'));
  }

  /**
   * Replaces the ICE servers of the current connection and of connections
   * that replaceConnection creates later. The current connection uses them
   * from its next ICE restart on.
   *
   * @param {RTCIceServer[]} iceServers
   */
  setIceServers(iceServers) {
    this.iceServers = iceServers;
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (error) {
      console.warn(`Peer: applying new ICE servers failed: ${describeError(error)}`);
    }
  }

  /**
   * Fetches ICE servers with valid TURN credentials, applies them, and
   * restarts ICE unless the connection was closed or replaced meanwhile. The
   * restart starts a new offer through negotiationneeded.
   *
   * @param {string} reason for the console, such as "the connection failed"
   * @param {{ force?: boolean }} [options] `force`: fetch new credentials even when the current ones are recent
   * @returns {Promise<void>}
   */
  async restartIceWithFreshServers(reason, { force = false } = {}) {
    if (this.closed) return;
    const pc = this.pc;
    console.warn(`Peer: ${reason}, restarting ICE`);
    const iceServers = await this.refreshIceServers(force);
    this.setIceServers(iceServers);
    if (this.closed || pc !== this.pc || pc.connectionState === 'closed') return;
    pc.restartIce();
  }

  /**
   * Restarts ICE when the connection is negotiated but ICE has not started
   * after a few seconds. NOTE: this never happened in tests since the
   * replacement of the initial collision described in the class comment.
   * It stays as a safety net for browsers with other gathering bugs.
   */
  watchForStuckIce() {
    clearTimeout(this.stuckTimer);
    if (this.closed || this.stuckRestarts >= MAX_STUCK_RESTARTS) return;
    const pc = this.pc;
    const delay = this.polite ? STUCK_TIMEOUT_POLITE_MS : STUCK_TIMEOUT_IMPOLITE_MS;
    this.stuckTimer = window.setTimeout(() => {
      if (this.closed || pc !== this.pc || pc.connectionState !== 'new') return;
      if (pc.signalingState !== 'stable' || !pc.remoteDescription) return;
      this.stuckRestarts += 1;
      void this.restartIceWithFreshServers(`ICE has not started after ${delay / 1000} s`);
    }, delay);
  }

  /**
   * Starts the timer after which a connection that is not connected counts
   * as stalled, unless the timer runs already or the session is stalled.
   */
  watchForStall() {
    if (this.closed || this.stalled || this.stalledTimer !== undefined) return;
    this.stalledTimer = window.setTimeout(() => {
      this.stalledTimer = undefined;
      if (this.closed || this.pc.connectionState === 'connected') return;
      this.stalled = true;
      console.warn(`Peer: the connection has not been connected for ${STALLED_AFTER_MS / 1000} s`);
      this.dispatchEvent(new Event('stalled'));
    }, STALLED_AFTER_MS);
  }

  /**
   * Recovers negotiation after the signaling socket was down, when messages to
   * this side may have been lost. A local offer still waiting for its answer
   * is sent again, and a remote side that already applied it creates a new
   * answer to the same offer. A stable connection that is not connected gets
   * an ICE restart.
   */
  recoverAfterSignalingGap() {
    if (this.closed) return;
    const pc = this.pc;
    if (pc.signalingState === 'have-local-offer' && !this.makingOffer) {
      this.sendLocalDescription();
    } else if (pc.signalingState === 'stable' && pc.connectionState !== 'connected') {
      void this.restartIceWithFreshServers(`the connection is ${pc.connectionState} after a signaling gap`);
    }
  }

  /**
   * Dispatches a chat message or a media state from the chat channel. Data
   * that is not a JSON object of a known kind is dropped.
   *
   * @param {MessageEvent} event
   */
  handleChatMessage(event) {
    // JSON escapes at most 6 characters per code unit, so a longer string
    // cannot hold a valid message and is dropped before parsing.
    if (typeof event.data !== 'string' || event.data.length > MAX_CHAT_LENGTH * 6 + 64) return;
    /** @type {unknown} */
    let payload;
    try {
      payload = JSON.parse(event.data);
    } catch {
      return;
    }
    if (typeof payload !== 'object' || payload === null) return;
    const fields = /** @type {{ kind?: unknown, text?: unknown, audio?: unknown, video?: unknown }} */ (payload);

    if (fields.kind === 'media') {
      if (typeof fields.audio !== 'boolean' || typeof fields.video !== 'boolean') return;
      /** @type {MediaState} */
      const state = { audio: fields.audio, video: fields.video };
      this.dispatchEvent(new CustomEvent('media', { detail: state }));
      return;
    }
    if (fields.kind !== undefined) return;

    const text = fields.text;
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_CHAT_LENGTH) return;
    /** @type {ChatPayload} */
    const detail = { text };
    this.dispatchEvent(new CustomEvent('chat', { detail }));
  }

  /**
   * Stores this side's microphone and camera state and sends it when the
   * channel is open. A channel that opens later sends it on opening.
   *
   * @param {MediaState} state
   */
  setMediaState(state) {
    this.mediaState = state;
    if (!this.closed && this.chatChannel.readyState === 'open') this.sendMediaStateNow();
  }

  sendMediaStateNow() {
    /** @type {MediaStatePayload} */
    const payload = { kind: 'media', audio: this.mediaState.audio, video: this.mediaState.video };
    try {
      this.chatChannel.send(JSON.stringify(payload));
    } catch (error) {
      console.warn(`Peer: sending the media state failed: ${describeError(error)}`);
    }
  }

  /**
   * Sends a chat message, or queues it until the channel opens. Returns
   * false when the session is closed or sending failed.
   *
   * @param {string} text at most {@link MAX_CHAT_LENGTH} UTF-16 code units
   * @returns {boolean}
   */
  sendChat(text) {
    if (this.closed) return false;
    if (this.chatChannel.readyState !== 'open') {
      this.pendingChat.push(text);
      if (this.pendingChat.length > MAX_PENDING_CHAT) this.pendingChat.shift();
      return true;
    }
    return this.sendChatNow(text);
  }

  /**
   * @param {string} text
   * @returns {boolean}
   */
  sendChatNow(text) {
    /** @type {ChatPayload} */
    const payload = { text };
    try {
      this.chatChannel.send(JSON.stringify(payload));
      return true;
    } catch (error) {
      console.warn(`Peer: sending a chat message failed: ${describeError(error)}`);
      return false;
    }
  }

  flushPendingChat() {
    const pending = this.pendingChat;
    this.pendingChat = [];
    for (const text of pending) this.sendChatNow(text);
  }

  /**
   * Sets the maximum video send bitrate, so that a browser in a large mesh
   * does not exceed its upload bandwidth.
   *
   * @param {number} bitsPerSecond
   * @returns {Promise<void>}
   */
  async setMaxVideoBitrate(bitsPerSecond) {
    this.maxVideoBitrate = bitsPerSecond;
    await this.applyVideoBitrate();
  }

  async applyVideoBitrate() {
    const sender = this.senders.get('video');
    if (this.closed || !sender || this.maxVideoBitrate <= 0) return;
    try {
      const parameters = sender.getParameters();
      // Before the first negotiation some browsers report no encodings, and
      // setParameters cannot add them. The next stable state tries again.
      if (!parameters.encodings || parameters.encodings.length === 0) return;
      if (parameters.encodings[0].maxBitrate === this.maxVideoBitrate) return;
      parameters.encodings[0].maxBitrate = this.maxVideoBitrate;
      await sender.setParameters(parameters);
    } catch (error) {
      console.warn(`Peer: setting the video bitrate failed: ${describeError(error)}`);
    }
  }

  /** Closes the connection and its channel. Local tracks stay open. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.stuckTimer);
    clearTimeout(this.stalledTimer);
    closeQuietly(this.pc);
  }
}

/**
 * Creates an RTCPeerConnection with `iceServers`. When the browser rejects
 * the list, for example a misconfigured relay URL, it connects without ICE
 * servers rather than not at all: direct paths still work.
 *
 * @param {RTCIceServer[]} iceServers
 * @returns {RTCPeerConnection}
 */
function newPeerConnection(iceServers) {
  try {
    return new RTCPeerConnection({ iceServers });
  } catch (error) {
    console.error(`Peer: the browser rejected the ICE servers (${describeError(error)}), connecting without them`);
    return new RTCPeerConnection({ iceServers: [] });
  }
}

/**
 * Closes a connection and its chat channel.
 *
 * @param {RTCPeerConnection} pc
 */
function closeQuietly(pc) {
  try {
    pc.close();
  } catch {
    // Already closed.
  }
}

/**
 * @param {unknown} value
 * @returns {value is RTCSessionDescriptionInit}
 */
function isSessionDescription(value) {
  if (typeof value !== 'object' || value === null) return false;
  const description = /** @type {Record<string, unknown>} */ (value);
  return (description.type === 'offer' || description.type === 'answer') && typeof description.sdp === 'string';
}

/**
 * Returns an error's name for the console. The message is left out because
 * browsers quote the offending SDP or candidate line in it.
 *
 * @param {unknown} error
 * @returns {string}
 */
function describeError(error) {
  if (error instanceof Error || error instanceof DOMException) return error.name;
  return 'unknown error';
}
