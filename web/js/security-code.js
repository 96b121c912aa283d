// The security code of one peer connection: digits that both sides derive
// from the two DTLS certificates their browsers use, so that people can
// detect a man in the middle by reading the code aloud to each other.
//
// A browser learns the other side's certificate fingerprint only from the
// SDP, which passes through the signaling server. A server that swapped in
// fingerprints of its own would run one DTLS connection to each side, with
// a certificate of its own on each. Anna's browser would then see the pair
// (Anna, M1) and Ben's the pair (M2, Ben). Their codes differ unless the
// server finds certificates whose codes collide (see SECURITY_CODE_GROUPS).
//
// The fingerprints come from getStats(), which reports the certificates of
// the DTLS transport in use, not from SDP text. This module uses no DOM, so
// Node can import it too.

/**
 * Groups of SECURITY_CODE_GROUP_DIGITS digits in a code: 6 groups, 30 digits,
 * about 99.7 bits.
 *
 * The attacker is a signaling server in the middle. Browsers create a fresh
 * certificate for every RTCPeerConnection (the tests check this in Chromium),
 * so it cannot search before the call. It must finish while the call starts,
 * say within 30 s, after which people notice that the call does not connect.
 * Codes that differ are visible, so each call is one attempt. The server
 * receives both real fingerprints before it must send either side an SDP
 * answer, because both sides offer on their own (the participant already in
 * the call after 4 s without the newcomer's offer). So it needs no particular
 * code: it varies its two certificates until the two codes collide, a birthday
 * search of about 2^(n/2) certificates per side for an n-bit code. One variant
 * costs about 5 SHA-256 blocks (its fingerprint and the code), and a current
 * high-end GPU computes an estimated 2^34 blocks per second. 100 such GPUs try
 * about 2^43.5 variants in 30 s, which make 30 digits collide with a
 * probability of about 2^-14.5, or 1 in 20 000. Twenty digits (66 bits) would
 * fall to one GPU in about 5 s.
 */
export const SECURITY_CODE_GROUPS = 6;

/** Digits per group, a length people read aloud in one go. */
export const SECURITY_CODE_GROUP_DIGITS = 5;

/** Bytes of the SHA-256 digest per group. 2^40 is so much larger than 10^5 that the remainder is uniform to within 10^-7. */
const BYTES_PER_GROUP = 5;

/** Prefix of the hashed text, so that the digest serves no other purpose. */
const CODE_CONTEXT = 'practice-video security code v1';

/**
 * @typedef {{ algorithm: string, value: string }} Fingerprint
 *   a certificate fingerprint as getStats() reports it, such as
 *   `{ algorithm: 'sha-256', value: '6B:33:…:55' }`
 * @typedef {{ state: 'pending' }
 *   | { state: 'unsupported' }
 *   | { state: 'ready', groups: string[], local: Fingerprint, remote: Fingerprint }} SecurityCodeResult
 *   `pending`: the connection and so its DTLS transport are not connected
 *   yet. `unsupported`: the connection is up, but the browser reports no
 *   single pair of certificates for it.
 */

/**
 * Returns a fingerprint as "<algorithm> <HEX:HEX:…>", lower-case algorithm
 * and upper-case hex, or null when it is not of that shape.
 *
 * @param {Fingerprint} fingerprint
 * @returns {string | null}
 */
export function normalizeFingerprint({ algorithm, value }) {
  const name = algorithm.trim().toLowerCase();
  const hex = value.trim().toUpperCase();
  if (!/^[a-z0-9-]+$/.test(name) || !/^[0-9A-F]{2}(:[0-9A-F]{2})+$/.test(hex)) return null;
  return `${name} ${hex}`;
}

/**
 * Derives the code of a connection from the fingerprints of its two
 * certificates. The order of the arguments does not matter, so both sides
 * get the same code: the normalized fingerprints are sorted, joined with
 * newlines after CODE_CONTEXT and hashed with SHA-256. Group i is bytes
 * 5i to 5i+4 of the digest, read as a big-endian integer, modulo 10^5.
 *
 * @param {Fingerprint} first
 * @param {Fingerprint} second
 * @returns {Promise<string[]>} SECURITY_CODE_GROUPS strings of SECURITY_CODE_GROUP_DIGITS digits
 */
export async function deriveSecurityCode(first, second) {
  const normalized = [normalizeFingerprint(first), normalizeFingerprint(second)];
  if (normalized[0] === null || normalized[1] === null) {
    throw new Error(`invalid certificate fingerprint: ${JSON.stringify([first, second])}`);
  }
  const text = [CODE_CONTEXT, ...normalized.sort()].join('\n');
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

  const modulus = 10 ** SECURITY_CODE_GROUP_DIGITS;
  const groups = [];
  for (let group = 0; group < SECURITY_CODE_GROUPS; group += 1) {
    let number = 0;
    for (const byte of digest.subarray(group * BYTES_PER_GROUP, (group + 1) * BYTES_PER_GROUP)) {
      // 2^40 stays below 2^53, so plain numbers hold it exactly.
      number = number * 256 + byte;
    }
    groups.push(String(number % modulus).padStart(SECURITY_CODE_GROUP_DIGITS, '0'));
  }
  return groups;
}

/**
 * Reads the certificates of the connected DTLS transport of `pc` from
 * getStats() and derives the security code from them. Returns `pending`
 * without reading while `pc.connectionState` is not `connected`.
 *
 * @param {RTCPeerConnection} pc
 * @returns {Promise<SecurityCodeResult>}
 */
export async function readSecurityCode(pc) {
  // Chromium's stats collector (libwebrtc's RTCStatsCollector) caches the
  // certificates of each transport from the first getStats() call until the
  // next negotiation. A call before the DTLS handshake would cache the local
  // certificate alone, so this reads nothing until the connection is up.
  if (pc.connectionState !== 'connected') return { state: 'pending' };
  /** @type {RTCStatsReport} */
  let report;
  try {
    report = await pc.getStats();
  } catch {
    // The connection was closed meanwhile, as when it is replaced.
    return { state: 'pending' };
  }

  /** @type {Map<string, { local: Fingerprint, remote: Fingerprint }>} */
  const pairs = new Map();
  let connectedTransports = 0;
  let remoteMissing = false;
  let localMissing = false;
  report.forEach((stats) => {
    if (stats.type !== 'transport' || stats.dtlsState !== 'connected') return;
    connectedTransports += 1;
    const local = certificateFingerprint(report, stats.localCertificateId);
    const remote = certificateFingerprint(report, stats.remoteCertificateId);
    if (!local) {
      localMissing = true;
    } else if (!remote) {
      remoteMissing = true;
    } else {
      pairs.set(`${normalizeFingerprint(local)}\n${normalizeFingerprint(remote)}`, { local, remote });
    }
  });

  // A browser that reports no transports or no own certificate for a
  // connection that is up does not provide what the code needs.
  if (connectedTransports === 0 || localMissing) return { state: 'unsupported' };
  // NOTE: a getStats() call by other code before the handshake, as the
  // browser tests' helpers make, leaves the remote certificate out of the
  // cache described above until the next negotiation, such as an ICE restart.
  if (remoteMissing) return { state: 'pending' };
  // With BUNDLE, which browsers negotiate with each other, there is one
  // transport. Transports with different certificates would need one code
  // each, which the panel does not offer.
  if (pairs.size !== 1) return { state: 'unsupported' };
  const [{ local, remote }] = pairs.values();
  return { state: 'ready', groups: await deriveSecurityCode(local, remote), local, remote };
}

/**
 * Returns the fingerprint of the `certificate` stats with id `id`, or null
 * when the report lacks it or it is malformed.
 *
 * @param {RTCStatsReport} report
 * @param {unknown} id
 * @returns {Fingerprint | null}
 */
function certificateFingerprint(report, id) {
  if (typeof id !== 'string') return null;
  const stats = report.get(id);
  if (!stats || stats.type !== 'certificate') return null;
  const { fingerprint, fingerprintAlgorithm } = stats;
  if (typeof fingerprint !== 'string' || typeof fingerprintAlgorithm !== 'string') return null;
  const result = { algorithm: fingerprintAlgorithm, value: fingerprint };
  return normalizeFingerprint(result) ? result : null;
}
