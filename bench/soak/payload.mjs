// Signal payloads of realistic size for the soak: SDP offers and answers of
// 3 to 6 KB, shaped like a browser's audio, video and data-channel
// description, and ICE candidate lines of 110 to 150 characters.

import { randomBytes, randomInt } from 'node:crypto';

/** Size range in bytes of the generated SDP strings. */
export const SDP_MIN_BYTES = 3 * 1024;
export const SDP_MAX_BYTES = 6 * 1024;

/** How many distinct SDP strings are generated and then reused. */
const SDP_POOL_SIZE = 64;

function randomDigits(count) {
  let digits = String(randomInt(1, 10));
  while (digits.length < count) digits += String(randomInt(0, 10));
  return digits;
}

function randomToken(bytes) {
  return randomBytes(bytes).toString('base64').replace(/[+/=]/g, 'x');
}

function fingerprint() {
  return [...randomBytes(32)].map((byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** Returns the lines of one media section with its codecs and RTP extensions. */
function mediaSection({ kind, mid, ufrag, password, fingerprintText, payloadTypes, codecs }) {
  const lines = [
    `m=${kind} 9 UDP/TLS/RTP/SAVPF ${payloadTypes.join(' ')}`,
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${password}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprintText}`,
    'a=setup:actpass',
    `a=mid:${mid}`,
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendrecv',
    `a=msid:${randomToken(12)} ${randomToken(12)}`,
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
  payloadTypes.forEach((payloadType, index) => {
    const codec = codecs[index % codecs.length];
    lines.push(`a=rtpmap:${payloadType} ${codec}`);
    if (kind === 'video') {
      lines.push(`a=rtcp-fb:${payloadType} goog-remb`, `a=rtcp-fb:${payloadType} transport-cc`);
      lines.push(`a=rtcp-fb:${payloadType} ccm fir`, `a=rtcp-fb:${payloadType} nack`, `a=rtcp-fb:${payloadType} nack pli`);
    } else {
      lines.push(`a=fmtp:${payloadType} minptime=10;useinbandfec=1`);
    }
  });
  const ssrc = randomDigits(10);
  lines.push(`a=ssrc:${ssrc} cname:${randomToken(12)}`, `a=ssrc:${ssrc} msid:${randomToken(12)} ${randomToken(12)}`);
  return lines;
}

/** Bytes that one padding block of `buildSdp` adds, at most. */
const MAX_PADDING_BLOCK_BYTES = 160;

/** Payload types of the padding profiles: 100 to 127, then 35 to 62, without 111, which the audio section uses. */
const PADDING_PAYLOAD_TYPES = [];
for (let payloadType = 100; payloadType <= 127; payloadType += 1) PADDING_PAYLOAD_TYPES.push(payloadType);
for (let payloadType = 35; payloadType <= 62; payloadType += 1) PADDING_PAYLOAD_TYPES.push(payloadType);
PADDING_PAYLOAD_TYPES.splice(PADDING_PAYLOAD_TYPES.indexOf(111), 1);

/**
 * Builds one SDP string of at least `targetBytes` bytes and less than
 * `MAX_PADDING_BLOCK_BYTES` more. Extra H.264 profiles in the video section
 * pad the description to size, as a browser's list of codecs and profiles does.
 */
function buildSdp(targetBytes) {
  const ufrag = randomToken(3).slice(0, 4);
  const password = randomToken(18).slice(0, 24);
  const fingerprintText = fingerprint();
  const common = { ufrag, password, fingerprintText };
  const session = ['v=0', `o=- ${randomDigits(19)} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0 1 2', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS'];
  const audio = mediaSection({ ...common, kind: 'audio', mid: 0, payloadTypes: [111, 63, 9, 0, 8, 13], codecs: ['opus/48000/2', 'red/48000/2', 'G722/8000', 'PCMU/8000', 'PCMA/8000', 'CN/8000'] });
  const videoPayloadTypes = [96, 97, 98, 99];
  const video = mediaSection({ ...common, kind: 'video', mid: 1, payloadTypes: videoPayloadTypes, codecs: ['VP8/90000', 'rtx/90000', 'VP9/90000', 'rtx/90000'] });
  const dataChannel = [
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${password}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprintText}`,
    'a=setup:actpass',
    'a=mid:2',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  ];
  const render = () => `${[...session, ...audio, ...video, ...dataChannel].join('\r\n')}\r\n`;

  for (const payloadType of PADDING_PAYLOAD_TYPES) {
    if (render().length >= targetBytes) break;
    const block = [
      `a=rtpmap:${payloadType} H264/90000`,
      `a=rtcp-fb:${payloadType} nack pli`,
      `a=fmtp:${payloadType} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${randomBytes(3).toString('hex')}`,
    ];
    videoPayloadTypes.push(payloadType);
    video[0] = `m=video 9 UDP/TLS/RTP/SAVPF ${videoPayloadTypes.join(' ')}`;
    video.splice(video.length - 2, 0, ...block);
  }
  const sdp = render();
  if (sdp.length < targetBytes || sdp.length >= targetBytes + MAX_PADDING_BLOCK_BYTES) {
    throw new Error(`built an SDP of ${sdp.length} bytes for a target of ${targetBytes}`);
  }
  return sdp;
}

/** Builds the SDP strings that the soak's descriptions pick from, spread evenly over the size range. */
export function buildSdpPool() {
  const pool = [];
  for (let index = 0; index < SDP_POOL_SIZE; index += 1) {
    const span = SDP_MAX_BYTES - MAX_PADDING_BLOCK_BYTES - SDP_MIN_BYTES;
    const target = SDP_MIN_BYTES + Math.round((span * index) / (SDP_POOL_SIZE - 1));
    pool.push(buildSdp(target));
  }
  return pool;
}

/**
 * Returns an ICE candidate line of a host, server-reflexive or relay
 * candidate on documentation addresses, as `RTCIceCandidate.candidate` has it.
 */
export function candidateLine(ufrag) {
  const foundation = randomDigits(10);
  const port = randomInt(32768, 61000);
  const component = 1;
  switch (randomInt(0, 3)) {
    case 0:
      return `candidate:${foundation} ${component} udp 2122260223 192.0.2.${randomInt(1, 255)} ${port} typ host generation 0 ufrag ${ufrag} network-id 1 network-cost 10`;
    case 1:
      return `candidate:${foundation} ${component} udp 1686052607 198.51.100.${randomInt(1, 255)} ${port} typ srflx raddr 192.0.2.7 rport ${port} generation 0 ufrag ${ufrag} network-id 1 network-cost 10`;
    default:
      return `candidate:${foundation} ${component} udp 41885439 203.0.113.${randomInt(1, 255)} ${port} typ relay raddr 198.51.100.9 rport ${port} generation 0 ufrag ${ufrag} network-id 1 network-cost 10`;
  }
}

/** Returns a random ICE username fragment of 4 characters. */
export function randomUfrag() {
  return randomToken(3).slice(0, 4);
}
