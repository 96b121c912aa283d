// End-to-end check that the server's log contains no secret and no personal
// data. The server runs at the most verbose level its filter allows, while a
// practitioner creates a room with an invitee through the API and two pages
// hold a real call: WebRTC negotiation with real SDP and ICE candidates on
// loopback, chat, an ICE restart, and leaving. Then every line the server
// wrote to standard error is searched for the tokens, names, the email
// address, the title, the chat text, SDP and any IP address.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/log-privacy.test.mjs'

import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';

import {
  dateInTimeZone,
  describePage,
  getRoom,
  joinCall,
  linkToken,
  pickDaytimeTimeZone,
  waitFor,
  waitForDecodedVideo,
  waitForState,
  withResources,
} from './helpers.mjs';

/** Limit of the whole test: start-up, a call with a renegotiation, and leaving. */
const TEST_TIMEOUT_MS = 180_000;

/**
 * `RUST_LOG` of the server. `video_local::log_filter` caps the dependencies
 * that log payloads at INFO, and everything else logs at TRACE.
 */
const LOG_LEVEL = 'trace';

/** Distinctive values, so a hit in the log cannot be a coincidence. */
const ROOM_TITLE = 'Verlaufsgespräch Wendelin Quastenberg';
const INVITEE = { name: 'Wendelin Quastenberg', email: 'wendelin.quastenberg@example.org', locale: 'de' };
const ANNA_NAME = 'Ottilie Zwirbelmann';
const BEN_NAME = 'Friedhelm Knöterich';
const CHAT_TEXT = 'Mein Blutdruck lag heute bei 145 zu 95, Grüße Ottilie';

/** Lines of SDP or of an ICE candidate, whatever their values. */
const SDP_MARKERS = ['v=0', 'a=fingerprint', 'a=ice-ufrag', 'a=ice-pwd', 'candidate:'];

/** Any email address. */
const EMAIL_PATTERN = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/;

/**
 * A dotted quad that is not part of a longer number or dotted run, such as
 * `127.0.0.1` in `127.0.0.1:8080`.
 */
const IPV4_CANDIDATE = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)/g;

/**
 * A run of hex digits and colons with at least two colons, not glued to
 * other word characters or colons. Rust paths such as `video_core::http`
 * never match, and `isIPv6` rejects times such as `10:15:02`.
 */
const IPV6_CANDIDATE = /(?<![\w:])[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:]*(?:%\w+)?(?![\w:])/g;

/** Characters of an ICE username fragment or password (RFC 8839 ice-char). */
const ICE_CHAR = 'A-Za-z0-9+/';

/** Escapes `text` for use inside a regular expression. */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Returns the IP addresses in `line`.
 *
 * @param {string} line
 * @returns {string[]}
 */
function ipAddressesIn(line) {
  const found = [];
  for (const [match] of line.matchAll(IPV4_CANDIDATE)) {
    if (isIPv4(match)) found.push(match);
  }
  for (const [match] of line.matchAll(IPV6_CANDIDATE)) {
    if (isIPv6(match.replace(/%\w+$/, ''))) found.push(match);
  }
  return found;
}

/**
 * A value that must not appear in the log. `text` is searched literally and
 * `pattern` as a regular expression, and `label` names it in a failure.
 *
 * @typedef {{ label: string, text?: string, pattern?: RegExp }} Secret
 */

/**
 * Searches every line for every secret and for IP addresses. Returns one
 * finding per hit, as "label: line", empty when the lines are clean.
 *
 * @param {string[]} lines
 * @param {Secret[]} secrets
 * @returns {string[]}
 */
function findSecrets(lines, secrets) {
  const findings = [];
  for (const line of lines) {
    for (const { label, text, pattern } of secrets) {
      if ((text !== undefined && line.includes(text)) || (pattern !== undefined && pattern.test(line))) {
        findings.push(`${label}: ${line}`);
      }
    }
    for (const address of ipAddressesIn(line)) findings.push(`IP address ${address}: ${line}`);
  }
  return findings;
}

/**
 * Returns the values of one SDP attribute, such as every `a=ice-ufrag:` value.
 *
 * @param {string} sdp
 * @param {string} attribute such as `ice-ufrag`
 */
function sdpValues(sdp, attribute) {
  const pattern = new RegExp(`^a=${escapeRegExp(attribute)}:(.+)$`, 'gm');
  return [...sdp.matchAll(pattern)].map((match) => match[1].trim());
}

/**
 * Collects the secrets of the negotiation: ICE username fragments and
 * passwords, DTLS fingerprints, and the addresses of the ICE candidates, as
 * the pages created and sent them.
 *
 * @param {{ sdps: string[], candidates: string[] }} negotiation
 * @returns {Secret[]}
 */
function negotiationSecrets({ sdps, candidates }) {
  const secrets = [];
  const seen = new Set();
  const add = (secret) => {
    const key = `${secret.text ?? secret.pattern}`;
    if (!seen.has(key)) {
      seen.add(key);
      secrets.push(secret);
    }
  };
  const addFragment = (label, value) => {
    // A username fragment has only 4 characters, so it counts only as a
    // whole token, not inside a longer random id.
    add({ label, pattern: new RegExp(`(?<![${ICE_CHAR}])${escapeRegExp(value)}(?![${ICE_CHAR}])`) });
  };
  for (const sdp of sdps) {
    for (const ufrag of sdpValues(sdp, 'ice-ufrag')) addFragment(`ice-ufrag ${ufrag}`, ufrag);
    for (const password of sdpValues(sdp, 'ice-pwd')) add({ label: `ice-pwd ${password}`, text: password });
    for (const fingerprint of sdpValues(sdp, 'fingerprint')) {
      const hex = fingerprint.split(/\s+/).pop();
      add({ label: `fingerprint ${hex}`, pattern: new RegExp(escapeRegExp(hex), 'i') });
    }
  }
  for (const candidate of candidates) {
    // "candidate:<foundation> <component> <protocol> <priority> <address> <port> typ …"
    const fields = candidate.replace(/^a=/, '').split(/\s+/);
    const address = fields[4];
    if (address) add({ label: `candidate address ${address}`, text: address });
    const ufrag = /\bufrag (\S+)/.exec(candidate)?.[1];
    if (ufrag) addFragment(`candidate ufrag ${ufrag}`, ufrag);
  }
  return secrets;
}

/**
 * Records every signaling message the page sends: its join with name and
 * link token, its session descriptions and its ICE candidates.
 *
 * @param {import('playwright-core').Page} page
 * @returns {object[]}
 */
function recordSentSignaling(page) {
  const sent = [];
  page.on('websocket', (socket) => {
    if (!socket.url().endsWith('/ws')) return;
    socket.on('framesent', ({ payload }) => {
      try {
        sent.push(JSON.parse(String(payload)));
      } catch {
        // Only JSON text frames belong to the protocol.
      }
    });
  });
  return sent;
}

/** Returns the SDP and ICE candidates in recorded signaling messages. */
function negotiationIn(messages) {
  const sdps = [];
  const candidates = [];
  for (const message of messages) {
    if (message.type !== 'signal') continue;
    if (message.data?.description?.sdp) sdps.push(message.data.description.sdp);
    if (message.data?.candidate?.candidate) candidates.push(message.data.candidate.candidate);
  }
  return { sdps, candidates };
}

/** Returns the current and pending local SDP of each of the page's peer connections. */
async function localDescriptions(page) {
  return page.evaluate(() => {
    const sdps = [];
    for (const pc of window.__videoCall.peerConnections.values()) {
      for (const description of [pc.localDescription, pc.currentLocalDescription, pc.pendingLocalDescription]) {
        if (description?.sdp) sdps.push(description.sdp);
      }
    }
    return sdps;
  });
}

/** Returns the `a=ice-ufrag` value of the remote description of the page's only peer connection. */
async function remoteUfrag(page) {
  return page.evaluate(() => {
    const [pc] = window.__videoCall.peerConnections.values();
    return /^a=ice-ufrag:(.+)$/m.exec(pc?.currentRemoteDescription?.sdp ?? '')?.[1] ?? '';
  });
}

/** Creates the room through the rooms API, as the practice software does. */
async function createRoomWithInvitee(server) {
  const timeZone = pickDaytimeTimeZone();
  const request = { date: dateInTimeZone(timeZone), timeZone, title: ROOM_TITLE, invitees: [INVITEE] };
  const response = await fetch(`${server.origin}/api/rooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const text = await response.text();
  assert.equal(response.status, 201, `POST /api/rooms returned ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** Returns the paths of all files under `directory`, at any depth. */
async function filesUnder(directory) {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

/** Types `text` into the chat of `from` and waits until `to` shows it. */
async function chat(from, to, text) {
  await from.getByTestId('chat-input').fill(text);
  await from.getByTestId('chat-send').click();
  const message = to.getByTestId('chat-message').filter({ hasText: text });
  await waitFor(async () => (await message.count()) === 1, {
    description: `the chat message ${JSON.stringify(text)}`,
    diagnose: () => describePage(to),
  });
}

/** Counts the server's log lines that contain `text`. */
function countLines(server, text) {
  return server.log.filter((line) => line.includes(text)).length;
}

/** Formats findings for a failure message, at most 20 of them. */
function report(findings) {
  const listed = findings.slice(0, 20).join('\n  ');
  const more = findings.length > 20 ? `\n  … and ${findings.length - 20} more` : '';
  return `\n  ${listed}${more}`;
}

test('a full call at trace level logs no secret, name, address or SDP', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await withResources('log privacy of a call', async (resources) => {
    // Morning time 00:00: the invitation goes out when the room is created,
    // so the mail path with the invitee's address is logged too.
    const server = await resources.startServer({
      logLevel: LOG_LEVEL,
      keepFullLog: true,
      extraArgs: ['--morning-time', '00:00'],
    });
    const room = await createRoomWithInvitee(server);
    const token = linkToken(room.joinUrl);
    await waitFor(async () => (await getRoom(server, room.id)).invitees?.[0]?.status === 'sent', {
      description: 'the invitation to be sent',
      diagnose: async () => JSON.stringify(await getRoom(server, room.id)),
    });
    const list = await fetch(`${server.origin}/api/rooms`, { headers: { authorization: `Bearer ${server.apiToken}` } });
    assert.equal(list.status, 200, 'the practitioner lists the rooms');

    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    const annaSent = recordSentSignaling(anna);
    const benSent = recordSentSignaling(ben);

    await joinCall(anna, room.joinUrl, ANNA_NAME);
    await joinCall(ben, room.joinUrl, BEN_NAME);
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);
    await chat(anna, ben, CHAT_TEXT);

    // An ICE restart renegotiates with new credentials through the server.
    const firstUfrag = await remoteUfrag(ben);
    await anna.evaluate(() => {
      const [pc] = window.__videoCall.peerConnections.values();
      pc.restartIce();
    });
    await waitFor(async () => (await remoteUfrag(ben)) !== firstUfrag, {
      description: 'a renegotiation with a new ICE username fragment',
      diagnose: () => describePage(ben),
    });
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);

    const localSdps = [...(await localDescriptions(anna)), ...(await localDescriptions(ben))];
    const sentMessages = [...annaSent, ...benSent];
    const sent = negotiationIn(sentMessages);
    assert.ok(localSdps.length >= 2, `each page has a local description: ${localSdps.length}`);
    assert.ok(sent.sdps.length >= 3, `the call and the restart sent descriptions: ${sent.sdps.length}`);
    const addresses = sent.candidates.map((candidate) => candidate.split(/\s+/)[4]);
    assert.ok(
      addresses.some((address) => address === '127.0.0.1' || address === '::1'),
      `the pages sent candidates with a loopback address: ${JSON.stringify(addresses)}`,
    );
    assert.equal(sentMessages.filter((message) => message.type === 'join').length, 2, 'both pages sent their join');

    await anna.getByTestId('leave').click();
    await ben.getByTestId('leave').click();
    await waitForState(anna, 'left');
    await waitForState(ben, 'left');
    await waitFor(() => countLines(server, 'participant left') >= 2, {
      description: 'the server to log both departures',
      diagnose: () => server.log.slice(-20).join('\n'),
    });

    // Nothing of the call's content and no participant's name reached the disk.
    const stored = await filesUnder(server.dataDir);
    assert.ok(stored.length >= 3, `the data directory holds the database, key and outbox: ${stored.length} files`);
    for (const file of stored) {
      const bytes = await readFile(file);
      for (const text of [CHAT_TEXT, ANNA_NAME, BEN_NAME, ...SDP_MARKERS]) {
        assert.equal(bytes.includes(Buffer.from(text)), false, `${path.basename(file)} contains ${JSON.stringify(text)}`);
      }
    }
    await server.stop();

    // The search must have a log worth searching.
    const { log } = server;
    assert.ok(log.length > 0, 'the server wrote log lines');
    // The log goes to a pipe here, where colour codes would be noise.
    const coloured = log.filter((line) => line.includes('\u001b['));
    assert.deepEqual(coloured, [], 'a log written to a pipe has no ANSI colour codes');
    for (const expected of ['room created', 'invitation written to the outbox', 'participant joined', 'participant left']) {
      assert.ok(countLines(server, expected) > 0, `the log contains ${JSON.stringify(expected)}`);
    }
    const verbose = log.filter((line) => /\s(DEBUG|TRACE)\s/.test(line));
    assert.ok(
      verbose.some((line) => line.includes('socket opened')),
      `the log has DEBUG lines of the signaling sockets; ${verbose.length} DEBUG or TRACE lines in all`,
    );

    const secrets = [
      { label: 'link token', text: token },
      { label: 'signature of the link token', text: token.slice(token.indexOf('.') + 1) },
      { label: 'API token', text: server.apiToken },
      { label: 'invitee email', text: INVITEE.email },
      { label: 'email address', pattern: EMAIL_PATTERN },
      { label: 'room title', text: ROOM_TITLE },
      { label: 'chat text', text: CHAT_TEXT },
      ...[INVITEE.name, ANNA_NAME, BEN_NAME, ROOM_TITLE, CHAT_TEXT]
        .flatMap((text) => text.split(/[\s,]+/))
        .filter((word) => word.length >= 6)
        .map((word) => ({ label: `word ${word}`, text: word })),
      { label: 'listening address', text: new URL(server.origin).host },
      ...SDP_MARKERS.map((marker) => ({ label: `SDP ${marker}`, text: marker })),
      ...negotiationSecrets({ sdps: [...localSdps, ...sent.sdps], candidates: sent.candidates }),
    ];
    t.diagnostic(
      `searched ${log.length} log lines (${verbose.length} DEBUG or TRACE) for ${secrets.length} values and IP addresses; ` +
        `${sent.sdps.length} descriptions and ${sent.candidates.length} candidates were sent, at ${[...new Set(addresses)].join(', ')}`,
    );
    const findings = findSecrets(log, secrets);
    assert.deepEqual(findings, [], `the server log (${log.length} lines) contains secrets:${report(findings)}`);
  });
});

test('log search finds each kind of secret', () => {
  const clean = [
    '2026-03-02T10:15:02.123456Z DEBUG signaling{connection_id=Zq8Xw2PbT0}: video_core::http::ws: socket opened',
    '2026-03-02T10:15:02.123456Z  INFO video_core::signaling: participant joined connection_id=Zq8Xw2PbT0 room_id=r7Kp2 peer_id=p9',
    '2026-03-02T10:15:03Z TRACE mio::poll: registering event source with poller: token=Token(3), interests=READABLE | WRITABLE',
    'version 1.2.3, took 10:15 min, path ::video_core::apigateway',
  ];
  const secrets = [
    { label: 'name', text: 'Ottilie' },
    { label: 'SDP a=ice-pwd', text: 'a=ice-pwd' },
    { label: 'email address', pattern: EMAIL_PATTERN },
    ...negotiationSecrets({
      sdps: ['v=0\r\na=ice-ufrag:Hx3b\r\na=ice-pwd:aq5ZWmcWLdUsw7P1YlCzlnV2\r\na=fingerprint:sha-256 AB:CD:EF:01\r\n'],
      candidates: ['candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0 ufrag Hx3b network-id 1'],
    }),
  ];
  assert.deepEqual(findSecrets(clean, secrets), [], 'ordinary log lines are clean');

  const leaks = [
    ['name=Ottilie Zwirbelmann', /^name:/],
    ['message="a=ice-pwd:xyz"', /^SDP a=ice-pwd:/],
    ['to: wendelin.quastenberg@example.org', /^email address:/],
    ['peer sent ufrag=Hx3b', /^ice-ufrag Hx3b:/],
    ['password aq5ZWmcWLdUsw7P1YlCzlnV2', /^ice-pwd /],
    ['fingerprint ab:cd:ef:01', /^fingerprint /],
    ['client 127.0.0.1:54321 connected', /^candidate address 127\.0\.0\.1:/],
    ['client=192.0.2.7', /^IP address 192\.0\.2\.7:/],
    ['remote [::1]:443', /^IP address ::1:/],
    ['peer 2001:db8::7 gone', /^IP address 2001:db8::7:/],
    ['listening on fe80::1%lo', /^IP address fe80::1%lo:/],
  ];
  for (const [line, expected] of leaks) {
    const findings = findSecrets([line], secrets);
    assert.ok(
      findings.some((finding) => expected.test(finding)),
      `${JSON.stringify(line)} is found as ${expected}; findings: ${JSON.stringify(findings)}`,
    );
  }
  assert.ok(!secrets.some(({ pattern }) => pattern?.test('ufrag inside Hx3bQ9 longer id')), 'a short ufrag inside a longer token is no hit');
});
