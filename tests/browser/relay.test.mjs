// Tests of the TURN relay with Debian's coturn on loopback, configured from
// the repository's template by infra/turn/render-config: the credentials the
// server mints, the peers the relay refuses, and calls between pages that may
// use nothing but the relay.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/relay.test.mjs'

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { createRoom, describePage, joinCall, waitFor, waitForDecodedVideo, withResources } from './helpers.mjs';
import {
  TURN_HOST,
  TURN_PORT,
  TURN_REALM,
  allocateRelay,
  renderConfig,
  restCredential,
  startCoturn,
  testSecret,
} from './turn.mjs';

const TEST_TIMEOUT_MS = 180_000;

/** Seconds since the epoch, as in a TURN username. */
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Starts coturn as one of the test's resources, stopped with the rest. */
async function startRelay(resources, options) {
  const turn = await startCoturn(options);
  resources.closers.push({ name: `coturn pid ${turn.pid}`, close: () => turn.stop() });
  return turn;
}

/** Folder for the secret files of this test file, removed at the end. */
let secretDirectory = '';
before(async () => {
  secretDirectory = await mkdtemp(path.join(tmpdir(), 'video-test-turn-secrets-'));
});
after(async () => {
  await rm(secretDirectory, { recursive: true, force: true });
});

/** Writes a shared secret to a new file, as the video server and render-config read it. */
let secretFiles = 0;
async function secretFile(secret) {
  secretFiles += 1;
  const file = path.join(secretDirectory, `secret-${secretFiles}`);
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return file;
}

/**
 * Makes every RTCPeerConnection of the page use relay candidates only, as a
 * browser behind a firewall that blocks everything but the relay would.
 */
function forceRelayOnly() {
  const Native = window.RTCPeerConnection;
  class RelayOnlyPeerConnection extends Native {
    constructor(configuration = {}, ...rest) {
      super({ ...configuration, iceTransportPolicy: 'relay' }, ...rest);
    }

    setConfiguration(configuration = {}) {
      return super.setConfiguration({ ...configuration, iceTransportPolicy: 'relay' });
    }
  }
  window.RTCPeerConnection = RelayOnlyPeerConnection;
}

/**
 * Reads, for each peer connection of the page, the candidate pair in use and
 * the types of every local candidate gathered.
 */
async function candidatePairs(page) {
  return page.evaluate(async () => {
    const connections = window.__videoCall?.peerConnections;
    if (!connections) throw new Error('window.__videoCall.peerConnections is missing');
    const result = [];
    for (const [peerId, pc] of connections) {
      const report = await pc.getStats();
      let pair;
      const localTypes = new Set();
      report.forEach((stats) => {
        if (stats.type === 'transport' && stats.selectedCandidatePairId) pair = report.get(stats.selectedCandidatePairId);
        if (stats.type === 'local-candidate') localTypes.add(stats.candidateType);
      });
      const local = pair ? report.get(pair.localCandidateId) : undefined;
      const remote = pair ? report.get(pair.remoteCandidateId) : undefined;
      result.push({
        peerId,
        policy: pc.getConfiguration().iceTransportPolicy,
        pairState: pair?.state ?? null,
        local: local ? { type: local.candidateType, relayProtocol: local.relayProtocol ?? null, address: local.address } : null,
        remote: remote ? { type: remote.candidateType, address: remote.address } : null,
        localTypes: [...localTypes].sort(),
      });
    }
    return result;
  });
}

/**
 * Two pages join one room with relay candidates only, through a video server
 * that hands out credentials for `turnUrl`, and must see each other's video
 * over a relay candidate pair on both sides, relayed over `transport`.
 */
async function relayOnlyCall(resources, { turnUrl, transport }) {
  const secret = testSecret();
  await startRelay(resources, { profile: 'loopback', secret });
  const server = await resources.startServer({
    extraArgs: ['--turn-url', turnUrl, '--turn-secret-file', await secretFile(secret)],
  });
  const room = await createRoom(server);
  const browser = await resources.launchBrowser();
  const anna = await resources.openPage(browser, { label: 'anna' });
  const ben = await resources.openPage(browser, { label: 'ben' });
  for (const page of [anna, ben]) await page.addInitScript(forceRelayOnly);

  await joinCall(anna, room.joinUrl, 'Anna');
  await joinCall(ben, room.joinUrl, 'Ben');
  for (const page of [anna, ben]) await waitForDecodedVideo(page);

  for (const page of [anna, ben]) {
    let pairs = [];
    await waitFor(
      async () => {
        pairs = await candidatePairs(page);
        return pairs.length === 1 && pairs[0].pairState === 'succeeded';
      },
      { description: 'a succeeded candidate pair in use', diagnose: async () => `${JSON.stringify(pairs)}\n${await describePage(page)}` },
    );
    const [pair] = pairs;
    assert.equal(pair.policy, 'relay', 'the page must have been forced to relay candidates only');
    assert.deepEqual(pair.localTypes, ['relay'], `only relay candidates may be gathered: ${JSON.stringify(pair)}`);
    assert.equal(pair.local?.type, 'relay', `local candidate in use: ${JSON.stringify(pair)}`);
    assert.equal(pair.local?.relayProtocol, transport, `transport to the relay: ${JSON.stringify(pair)}`);
    assert.equal(pair.remote?.type, 'relay', `remote candidate in use: ${JSON.stringify(pair)}`);
    assert.equal(pair.local?.address, TURN_HOST, 'the relay candidate carries the external address');
  }
}

/** Parses coturn configuration text into a map of option name to its values. */
function parseConfig(text) {
  const options = new Map();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [name, ...value] = trimmed.split('=');
    if (!options.has(name)) options.set(name, []);
    options.get(name).push(value.join('='));
  }
  return options;
}

/** Converts an IPv4 address to a number, for range checks. */
function ipv4Number(address) {
  return address.split('.').reduce((number, octet) => number * 256 + Number(octet), 0);
}

/** Tells whether an IPv4 address falls into one of coturn's "a-b" ranges. */
function deniedIpv4(ranges, address) {
  return ranges.some((range) => {
    const [first, last = first] = range.split('-');
    if (!first.includes('.')) return false;
    return ipv4Number(first) <= ipv4Number(address) && ipv4Number(address) <= ipv4Number(last);
  });
}

test('the production configuration allows REST API credentials only and denies every non-public peer', async () => {
  const secret = testSecret();
  const config = parseConfig(
    renderConfig([
      '--profile', 'production', '--realm', 'turn.example.de', '--listening-ip', '10.0.1.5',
      '--external-ip', '198.51.100.7/10.0.1.5', '--own-peer-ip', '198.51.100.7',
      '--secret-file', await secretFile(secret), '--cert', '/etc/coturn/tls/cert.pem', '--pkey', '/etc/coturn/tls/key.pem',
    ]),
  );

  // Authentication: the shared secret of the REST API and nothing else.
  assert.deepEqual(config.get('use-auth-secret'), [''], 'use-auth-secret');
  assert.deepEqual(config.get('static-auth-secret'), [secret], 'the secret from the file');
  assert.deepEqual(config.get('realm'), ['turn.example.de'], 'realm');
  for (const other of ['lt-cred-mech', 'no-auth', 'user', 'userdb', 'oauth', 'allow-loopback-peers', 'cli-password', 'web-admin']) {
    assert.equal(config.has(other), false, `${other} must not be set`);
  }
  for (const flag of ['no-cli', 'no-multicast-peers', 'fingerprint', 'no-software-attribute', 'no-tlsv1', 'no-tlsv1_1']) {
    assert.deepEqual(config.get(flag), [''], flag);
  }
  assert.deepEqual(config.get('external-ip'), ['198.51.100.7/10.0.1.5'], 'relay candidates carry the public address');
  assert.deepEqual(config.get('tls-listening-port'), ['443'], 'TURN over TLS on 443');
  assert.deepEqual(config.get('cert'), ['/etc/coturn/tls/cert.pem']);
  assert.deepEqual(config.get('user-quota'), ['42'], 'an 8-person mesh: 7 connections x 3 transports x 2 during a restart');

  // Logging: no log file, nothing on stdout, so no client address is kept.
  assert.deepEqual(config.get('log-file'), ['/dev/null']);
  assert.deepEqual(config.get('no-stdout-log'), ['']);
  for (const logging of ['verbose', 'Verbose', 'syslog', 'log-binding']) assert.equal(config.has(logging), false, `${logging} must not be set`);

  // Peers: every private, shared, loopback, link-local, metadata and reserved
  // address is denied; public ones and the relay's own address are not.
  const denied = config.get('denied-peer-ip');
  for (const address of ['0.0.0.0', '10.0.0.1', '10.255.255.255', '100.64.0.1', '127.0.0.1', '127.255.255.254',
    '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.0.0.1', '192.168.1.1', '198.18.0.1', '240.0.0.1', '255.255.255.255']) {
    assert.ok(deniedIpv4(denied, address), `${address} must be denied`);
  }
  for (const address of ['1.1.1.1', '93.184.216.34', '172.32.0.1', '198.51.100.7', '223.255.255.255']) {
    if (address !== '198.51.100.7') assert.ok(!deniedIpv4(denied, address), `${address} is public and must not be denied`);
  }
  for (const range of ['::1-::1', 'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
    assert.ok(denied.includes(range), `${range} must be denied`);
  }
  assert.ok(!denied.some((range) => range.startsWith('::-') || range === '::'), 'a range from :: would deny every IPv4 peer in coturn');
  assert.deepEqual(config.get('allowed-peer-ip'), ['198.51.100.7'], 'the relay\'s own public address stays allowed');
});

test('the loopback profile differs from production only in allowing loopback peers', async () => {
  const args = ['--realm', TURN_REALM, '--listening-ip', TURN_HOST, '--external-ip', TURN_HOST, '--secret-file', await secretFile(testSecret()),
    '--cert', '/etc/coturn/tls/cert.pem', '--pkey', '/etc/coturn/tls/key.pem'];
  const production = renderConfig(['--profile', 'production', ...args]).split('\n');
  const loopback = renderConfig(['--profile', 'loopback', ...args]).split('\n');
  const removed = production.filter((line) => !loopback.includes(line));
  const added = loopback.filter((line) => !production.includes(line));
  assert.deepEqual(removed, ['# BEGIN loopback-peers', 'denied-peer-ip=127.0.0.0-127.255.255.255', 'denied-peer-ip=::1-::1', '# END loopback-peers']);
  assert.deepEqual(added, ['allow-loopback-peers']);
});

test('render-config writes the secret for coturn\'s group in production and for its owner on loopback', async () => {
  const args = ['--realm', TURN_REALM, '--listening-ip', TURN_HOST, '--external-ip', TURN_HOST, '--secret-file', await secretFile(testSecret()),
    '--cert', '/etc/coturn/tls/cert.pem', '--pkey', '/etc/coturn/tls/key.pem'];
  const production = path.join(secretDirectory, 'production.conf');
  const loopback = path.join(secretDirectory, 'loopback.conf');
  renderConfig(['--profile', 'production', ...args, '--output', production]);
  renderConfig(['--profile', 'loopback', ...args, '--output', loopback]);
  assert.equal((await stat(production)).mode & 0o777, 0o640, 'production: coturn runs in the file\'s group');
  assert.equal((await stat(loopback)).mode & 0o777, 0o600, 'loopback: the owner runs coturn');
});

test('render-config refuses a short secret, a bad address and production without a certificate', async () => {
  const base = ['--profile', 'loopback', '--realm', TURN_REALM, '--listening-ip', TURN_HOST, '--external-ip', TURN_HOST];
  const good = await secretFile(testSecret());
  const short = await secretFile('too-short');
  assert.throws(() => renderConfig([...base, '--secret-file', short]), /at least 32 visible ASCII characters/);
  assert.throws(() => renderConfig([...base.slice(0, -1), '127.0.0.300', '--secret-file', good]), /is not an IP address/);
  assert.throws(() => renderConfig([...base, '--secret-file', good, '--min-port', '60000', '--max-port', '50000']), /--min-port must be below/);
  assert.throws(() => renderConfig(['--profile', 'production', ...base.slice(2), '--secret-file', good]), /needs --cert and --pkey/);
  assert.throws(() => renderConfig([...base, '--secret-file', good, '--realm', 'bad realm']), /is not a host name/);
});

test('coturn allocates with the server\'s credentials and refuses a wrong password or an expired username', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('relay credentials', async (resources) => {
    const secret = testSecret();
    await startRelay(resources, { profile: 'loopback', secret });

    const good = await allocateRelay(restCredential(secret, nowSeconds() + 3600));
    resources.closers.push({ name: 'TURN client', close: () => good.close() });
    assert.equal(good.realm, TURN_REALM);
    assert.equal(good.allocated, true, `allocation with valid credentials failed with ${good.errorCode}`);
    assert.equal(good.relayedAddress?.address, TURN_HOST);

    const wrongPassword = await allocateRelay({ ...restCredential(secret, nowSeconds() + 3600), password: restCredential('another-secret-of-at-least-32-chars', 0).password });
    wrongPassword.close();
    assert.equal(wrongPassword.allocated, false, 'a wrong password must not allocate');
    assert.equal(wrongPassword.errorCode, 401);

    const expired = await allocateRelay(restCredential(secret, nowSeconds() - 60));
    expired.close();
    assert.equal(expired.allocated, false, 'an expired username must not allocate');
    assert.equal(expired.errorCode, 401);
  });
});

test('relay refuses private peers in both profiles and loopback peers in production', { timeout: TEST_TIMEOUT_MS }, async () => {
  const FORBIDDEN = 403;
  for (const profile of ['production', 'loopback']) {
    await withResources(`relay peers ${profile}`, async (resources) => {
      const secret = testSecret();
      // The relay's own address is 127.0.0.3 here, so that 127.0.0.1 and
      // 127.0.0.2 are ordinary loopback peers.
      await startRelay(resources, { profile, secret, extraArgs: ['--own-peer-ip', '127.0.0.3'] });
      const relay = await allocateRelay(restCredential(secret, nowSeconds() + 3600));
      resources.closers.push({ name: 'TURN client', close: () => relay.close() });
      assert.equal(relay.allocated, true, `allocation failed with ${relay.errorCode}`);

      const loopbackAnswer = profile === 'production' ? FORBIDDEN : 0;
      assert.equal(await relay.permit('127.0.0.1'), loopbackAnswer, `${profile}: permission for 127.0.0.1`);
      assert.equal(await relay.permit('127.0.0.2'), loopbackAnswer, `${profile}: permission for 127.0.0.2`);
      for (const address of ['10.1.2.3', '172.16.0.1', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.1']) {
        assert.equal(await relay.permit(address), FORBIDDEN, `${profile}: permission for ${address}`);
      }
    });
  }
});

test('two relay-only pages see each other through coturn over UDP', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('relay-only call over UDP', async (resources) => {
    await relayOnlyCall(resources, { turnUrl: `turn:${TURN_HOST}:${TURN_PORT}?transport=udp`, transport: 'udp' });
  });
});

test('two relay-only pages see each other through coturn over TCP', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('relay-only call over TCP', async (resources) => {
    await relayOnlyCall(resources, { turnUrl: `turn:${TURN_HOST}:${TURN_PORT}?transport=tcp`, transport: 'tcp' });
  });
});

/**
 * Passes the page's signaling through, but replaces the TURN credentials in
 * every `joined` and `ice-servers` message with `tamper(entry)`. Returns the
 * number of `ice-servers` requests the page sent, read through `requests()`.
 */
async function tamperWithCredentials(page, tamper) {
  let iceServerRequests = 0;
  await page.routeWebSocket(/\/ws$/, (socket) => {
    const server = socket.connectToServer();
    server.onMessage((text) => {
      const message = JSON.parse(String(text));
      if (message.type === 'joined' || message.type === 'ice-servers') {
        message.iceServers = message.iceServers.map((entry) => (entry.credential ? { ...entry, ...tamper(entry) } : entry));
      }
      socket.send(JSON.stringify(message));
    });
    socket.onMessage((text) => {
      if (JSON.parse(String(text)).type === 'ice-servers') iceServerRequests += 1;
      server.send(text);
    });
  });
  return { requests: () => iceServerRequests };
}

/**
 * Two relay-only pages whose credentials `tamper` spoils: each must fetch
 * fresh credentials once and then show that the relay refused access,
 * instead of "connecting" for ever.
 */
async function refusedRelayCall(resources, tamper) {
  const secret = testSecret();
  await startRelay(resources, { profile: 'loopback', secret });
  const server = await resources.startServer({
    extraArgs: ['--turn-url', `turn:${TURN_HOST}:${TURN_PORT}?transport=udp`, '--turn-secret-file', await secretFile(secret)],
  });
  const room = await createRoom(server);
  const browser = await resources.launchBrowser();
  const pages = [];
  for (const [label, locale] of [['anna', 'de-DE'], ['ben', 'en-GB']]) {
    const page = await resources.openPage(browser, { label, locale });
    await page.addInitScript(forceRelayOnly);
    pages.push({ page, locale, tampering: await tamperWithCredentials(page, (entry) => tamper(entry, secret)) });
  }
  await joinCall(pages[0].page, room.joinUrl, 'Anna');
  await joinCall(pages[1].page, room.joinUrl, 'Ben');

  const expected = {
    'de-DE': 'Keine Verbindung: Der Weiterleitungsserver hat den Zugang abgelehnt. Bitte laden Sie die Seite neu. Hilft das nicht, wenden Sie sich bitte an Ihre Praxis.',
    'en-GB': 'No connection: the relay server refused access. Please reload the page. If that does not help, please contact your practice.',
  };
  for (const { page, locale, tampering } of pages) {
    const tile = page.locator('[data-connection="relay-rejected"]');
    await waitFor(async () => (await tile.count()) === 1, {
      description: 'a tile showing that the relay refused access',
      diagnose: () => describePage(page),
    });
    assert.equal((await tile.locator('.tile-status').innerText()).trim(), expected[locale]);
    assert.ok(tampering.requests() >= 1, 'the page fetched fresh credentials before giving up');
    assert.equal(await page.evaluate(() => [...window.__videoCall.peerConnections.values()][0].connectionState === 'connected'), false);
  }
}

test('a wrong TURN password ends in a clear message on both pages', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('relay wrong password', async (resources) => {
    await refusedRelayCall(resources, (entry) => ({
      credential: createHmac('sha1', 'not-the-secret-of-this-relay-server').update(entry.username).digest('base64'),
    }));
  });
});

test('an expired TURN username ends in a clear message on both pages', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('relay expired username', async (resources) => {
    await refusedRelayCall(resources, (entry, secret) => {
      // Correctly signed, so only the expiry is wrong.
      const username = `${nowSeconds() - 60}:${randomBytes(8).toString('hex')}`;
      return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
    });
  });
});

test('an ICE server list the browser rejects still leaves the direct path', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('rejected ICE server list', async (resources) => {
    const server = await resources.startServer({
      extraArgs: ['--turn-url', `turn:${TURN_HOST}:${TURN_PORT}?transport=udp`, '--turn-secret-file', await secretFile(testSecret())],
    });
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const pages = [];
    for (const label of ['anna', 'ben']) {
      const page = await resources.openPage(browser, { label });
      // The server refuses such a URL at start-up; this stands for a list
      // that a browser parses differently from the server.
      await tamperWithCredentials(page, () => ({ urls: ['turn:::::'] }));
      pages.push(page);
    }
    await joinCall(pages[0], room.joinUrl, 'Anna');
    await joinCall(pages[1], room.joinUrl, 'Ben');
    for (const page of pages) {
      await waitForDecodedVideo(page);
      const [pair] = await candidatePairs(page);
      assert.equal(pair.local?.type, 'host', `direct path in use: ${JSON.stringify(pair)}`);
    }
  });
});
