// Camera and microphone access: getUserMedia, device lists and error classes.

/**
 * Cause of a failure to open a device, in the terms the page explains:
 * - `permission-denied`: the visitor or the browser refused access.
 * - `device-busy`: another program uses the device, or the driver failed.
 * - `no-device`: no device of the requested kind, or none that fits.
 * - `unsupported`: the browser lacks getUserMedia or WebRTC.
 * - `insecure`: the page is not a secure context, so the APIs are hidden.
 * - `failed`: anything else.
 *
 * @typedef {'permission-denied' | 'device-busy' | 'no-device' | 'unsupported' | 'insecure' | 'failed'} MediaProblem
 */

/**
 * @typedef {'microphone' | 'camera'} DeviceKind
 * @typedef {{ deviceId: string, label: string }} DeviceChoice
 */

/** Audio processing that suits speech in a consultation. */
const AUDIO_PROCESSING = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Preferred camera format. Browsers pick the closest one the camera offers. */
const VIDEO_FORMAT = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };

/**
 * Returns the reason this browser cannot take part in a call, or null when it can.
 *
 * @returns {MediaProblem | null}
 */
export function checkBrowserSupport() {
  if (typeof window.RTCPeerConnection !== 'function') return 'unsupported';
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
    // Browsers hide navigator.mediaDevices on pages that are not a secure context.
    return window.isSecureContext === false ? 'insecure' : 'unsupported';
  }
  return null;
}

/**
 * Maps a getUserMedia error to the problem the page explains to the visitor.
 *
 * @param {unknown} error
 * @returns {MediaProblem}
 */
export function classifyMediaError(error) {
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError': // name used by Chrome before version 64
      return 'permission-denied';
    case 'NotReadableError':
    case 'AbortError':
    case 'TrackStartError': // name used by Chrome before version 64
      return 'device-busy';
    case 'NotFoundError':
    case 'OverconstrainedError':
    case 'DevicesNotFoundError': // name used by Chrome before version 64
      return 'no-device';
    case 'TypeError':
      return 'unsupported';
    default:
      return 'failed';
  }
}

/**
 * Returns the page's permission for a kind of device from the Permissions
 * API: "granted", "denied" or "prompt", or "unknown" where the browser cannot
 * query that permission.
 *
 * @param {DeviceKind} kind
 * @returns {Promise<PermissionState | 'unknown'>}
 */
export async function queryDevicePermission(kind) {
  try {
    // The DOM types of TypeScript 5.7 lack the names "camera" and "microphone".
    const name = /** @type {PermissionName} */ (/** @type {unknown} */ (kind === 'microphone' ? 'microphone' : 'camera'));
    return (await navigator.permissions.query({ name })).state;
  } catch {
    // No Permissions API, or a TypeError for a name that this browser does not know.
    return 'unknown';
  }
}

/**
 * Builds the constraints for one device kind.
 *
 * @param {DeviceKind} kind
 * @param {string} deviceId empty for the browser's default device
 * @returns {MediaTrackConstraints}
 */
function constraintsFor(kind, deviceId) {
  const base = kind === 'microphone' ? AUDIO_PROCESSING : VIDEO_FORMAT;
  return deviceId ? { ...base, deviceId: { exact: deviceId } } : { ...base };
}

/**
 * Opens the requested devices with getUserMedia.
 *
 * A remembered device id that no longer exists makes getUserMedia fail with
 * OverconstrainedError or NotFoundError. The function then tries again with
 * the default devices, so an unplugged headset does not block joining.
 *
 * @param {{ audio: boolean, video: boolean, microphoneId?: string, cameraId?: string }} request
 * @returns {Promise<MediaStream>}
 */
export async function openMedia(request) {
  /** @type {MediaStreamConstraints} */
  const constraints = {
    audio: request.audio ? constraintsFor('microphone', request.microphoneId ?? '') : false,
    video: request.video ? constraintsFor('camera', request.cameraId ?? '') : false,
  };
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    const usedDeviceIds = Boolean(
      (request.audio && request.microphoneId) || (request.video && request.cameraId),
    );
    if (!usedDeviceIds || classifyMediaError(error) !== 'no-device') throw error;
    return navigator.mediaDevices.getUserMedia({
      audio: request.audio ? constraintsFor('microphone', '') : false,
      video: request.video ? constraintsFor('camera', '') : false,
    });
  }
}

/**
 * Opens one device and returns its track.
 *
 * @param {DeviceKind} kind
 * @param {string} deviceId empty for the browser's default device
 * @returns {Promise<MediaStreamTrack>}
 */
export async function openTrack(kind, deviceId) {
  const stream = await openMedia({
    audio: kind === 'microphone',
    video: kind === 'camera',
    microphoneId: deviceId,
    cameraId: deviceId,
  });
  const [track] = kind === 'microphone' ? stream.getAudioTracks() : stream.getVideoTracks();
  if (!track) throw new DOMException('getUserMedia returned no track', 'NotFoundError');
  return track;
}

/**
 * Opens another device and puts its track into `stream` in place of the
 * current track of that kind, which is stopped. Returns the new track.
 *
 * A camera is released before the new one opens, because many phones cannot
 * open two cameras at once. When the new camera fails to open, the previous
 * one is reopened if possible and the error is rethrown.
 *
 * @param {MediaStream} stream
 * @param {DeviceKind} kind
 * @param {string} deviceId empty for the browser's default device
 * @returns {Promise<MediaStreamTrack>}
 */
export async function replaceStreamTrack(stream, kind, deviceId) {
  const tracksOfKind = () => (kind === 'microphone' ? stream.getAudioTracks() : stream.getVideoTracks());
  const previous = tracksOfKind()[0];
  const previousId = deviceIdOf(previous);
  const releaseFirst = kind === 'camera' && previous !== undefined;
  if (releaseFirst) {
    previous.stop();
    stream.removeTrack(previous);
  }

  try {
    const track = await openTrack(kind, deviceId);
    for (const old of tracksOfKind()) {
      old.stop();
      stream.removeTrack(old);
    }
    stream.addTrack(track);
    return track;
  } catch (error) {
    if (releaseFirst) {
      try {
        stream.addTrack(await openTrack(kind, previousId));
      } catch {
        // The previous camera cannot be reopened either, so the camera stays off.
      }
    }
    throw error;
  }
}

/**
 * Lists the microphones and cameras. Labels are empty until the page has been
 * granted access, so `fallbackLabel` names such a device by its position.
 * Without access to a kind, browsers list that kind once with an empty id,
 * which is no device that could be chosen. Such an entry is left out, and
 * `hidden` is true for its kind.
 *
 * @param {(kind: DeviceKind, position: number) => string} fallbackLabel
 * @returns {Promise<{ microphones: DeviceChoice[], cameras: DeviceChoice[], hidden: Record<DeviceKind, boolean> }>}
 */
export async function listDevices(fallbackLabel) {
  /** @type {MediaDeviceInfo[]} */
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch (error) {
    console.warn(`Media: enumerateDevices failed: ${error instanceof Error ? error.name : error}`);
  }

  /** @type {Record<DeviceKind, boolean>} */
  const hidden = { microphone: false, camera: false };
  /**
   * @param {MediaDeviceKind} deviceKind
   * @param {DeviceKind} kind
   */
  const choices = (deviceKind, kind) => {
    /** @type {DeviceChoice[]} */
    const result = [];
    for (const device of devices) {
      if (device.kind !== deviceKind) continue;
      if (!device.deviceId) {
        hidden[kind] = true;
        continue;
      }
      if (result.some((choice) => choice.deviceId === device.deviceId)) continue;
      result.push({ deviceId: device.deviceId, label: device.label || fallbackLabel(kind, result.length + 1) });
    }
    return result;
  };

  const microphones = choices('audioinput', 'microphone');
  const cameras = choices('videoinput', 'camera');
  return { microphones, cameras, hidden };
}

/**
 * Returns the device id a track was opened on, or '' when the browser does not tell.
 *
 * @param {MediaStreamTrack | undefined} track
 * @returns {string}
 */
export function deviceIdOf(track) {
  if (!track || typeof track.getSettings !== 'function') return '';
  return track.getSettings().deviceId ?? '';
}

/**
 * Stops every track of a stream, which turns off the camera light.
 *
 * @param {MediaStream | null} stream
 */
export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}

/**
 * Level of a microphone track between 0 and 1, measured with the Web Audio API
 * for the meter on the join form.
 */
export class MicrophoneLevel {
  constructor() {
    /** @type {AudioContext | null} */
    this.context = null;
    /** @type {AnalyserNode | null} */
    this.analyser = null;
    /** @type {MediaStreamAudioSourceNode | null} */
    this.source = null;
    this.samples = new Float32Array(1024);
  }

  /**
   * Measures `track` from now on, or nothing when it is undefined.
   *
   * @param {MediaStreamTrack | undefined} track
   */
  setTrack(track) {
    this.source?.disconnect();
    this.source = null;
    if (!track) return;
    try {
      if (!this.context) {
        this.context = new AudioContext();
        this.analyser = this.context.createAnalyser();
        this.analyser.fftSize = this.samples.length;
      }
      this.source = this.context.createMediaStreamSource(new MediaStream([track]));
      this.source.connect(/** @type {AnalyserNode} */ (this.analyser));
    } catch (error) {
      console.warn(`Media: the microphone level is not available: ${error instanceof Error ? error.name : error}`);
    }
  }

  /** Resumes the audio context, which browsers start suspended before a user gesture. */
  resume() {
    if (this.context && this.context.state === 'suspended') void this.context.resume().catch(() => {});
  }

  /**
   * Returns the current level: the RMS of the last samples, scaled so that
   * normal speech fills most of the range.
   *
   * @returns {number}
   */
  read() {
    if (!this.analyser || !this.source) return 0;
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    const rms = Math.sqrt(sum / this.samples.length);
    return Math.min(1, rms * 5);
  }

  close() {
    this.source?.disconnect();
    this.source = null;
    if (this.context) void this.context.close().catch(() => {});
    this.context = null;
    this.analyser = null;
  }
}
