// Tests of the security code per peer: its derivation from two certificate
// fingerprints, and the panel on each remote tile, which both sides of a
// connection must fill with the same code, computed from the DTLS
// certificates that getStats() reports.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/security-code.test.mjs'

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { deriveSecurityCode } from '../../web/js/security-code.js';
import {
  createRoom,
  describePage,
  joinCall,
  startTwoPersonCall,
  waitFor,
  waitForDecodedVideo,
  withResources,
} from './helpers.mjs';

/** Limit of one whole test: several waits of up to 30 s each, plus start-up. */
const TEST_TIMEOUT_MS = 180_000;

/** Six groups of five digits, separated by single spaces. */
const CODE_FORMAT = /^\d{5}( \d{5}){5}$/;

/** Two fingerprints as Chromium's getStats() reports them. */
const FINGERPRINT_A = {
  algorithm: 'sha-256',
  value: '6B:33:AA:40:CC:03:FD:DB:C0:DE:B1:08:6E:F0:56:C5:E4:A2:6C:3D:D0:66:61:68:DE:4C:50:83:4E:5D:3D:55',
};
const FINGERPRINT_B = {
  algorithm: 'sha-256',
  value: 'F6:F4:37:69:3B:A7:09:58:F5:C5:7C:92:F9:71:BB:1E:B2:F0:E2:FA:59:43:6A:BB:7B:AA:20:62:0B:F3:39:A1',
};

/**
 * The code of FINGERPRINT_A and FINGERPRINT_B. Clients of different versions
 * meet in one call, so a change of the derivation must be deliberate.
 */
const CODE_OF_A_AND_B = '23069 33554 18174 88326 17227 98319';

/**
 * Computes the code as web/README.md describes it, without the client's
 * module: SHA-256 over a context line and the two normalized fingerprints in
 * sorted order, then each 5 bytes of the digest modulo 100000.
 *
 * @param {{ algorithm: string, value: string }} first
 * @param {{ algorithm: string, value: string }} second
 * @returns {string}
 */
function expectedCode(first, second) {
  const lines = [first, second].map(({ algorithm, value }) => `${algorithm.toLowerCase()} ${value.toUpperCase()}`).sort();
  const digest = createHash('sha256').update(['practice-video security code v1', ...lines].join('\n')).digest();
  const groups = [];
  for (let group = 0; group < 6; group += 1) {
    groups.push(String(digest.readUIntBE(group * 5, 5) % 100_000).padStart(5, '0'));
  }
  return groups.join(' ');
}

test('code derivation is symmetric and pinned', async () => {
  const forward = (await deriveSecurityCode(FINGERPRINT_A, FINGERPRINT_B)).join(' ');
  const backward = (await deriveSecurityCode(FINGERPRINT_B, FINGERPRINT_A)).join(' ');
  assert.equal(forward, backward, 'both orders give the same code');
  assert.match(forward, CODE_FORMAT);
  assert.equal(forward, expectedCode(FINGERPRINT_A, FINGERPRINT_B), 'the module matches the documented derivation');
  assert.equal(forward, CODE_OF_A_AND_B, 'the derivation is unchanged');

  const lowerCase = { algorithm: 'SHA-256', value: FINGERPRINT_B.value.toLowerCase() };
  assert.equal((await deriveSecurityCode(FINGERPRINT_A, lowerCase)).join(' '), forward, 'case does not matter');

  const lastByteChanged = { ...FINGERPRINT_B, value: `${FINGERPRINT_B.value.slice(0, -2)}A0` };
  assert.notEqual((await deriveSecurityCode(FINGERPRINT_A, lastByteChanged)).join(' '), forward, 'one changed byte changes the code');
  const onlyOneSide = (await deriveSecurityCode(FINGERPRINT_A, FINGERPRINT_A)).join(' ');
  assert.notEqual(onlyOneSide, forward, 'the code depends on both certificates');

  await assert.rejects(deriveSecurityCode(FINGERPRINT_A, { algorithm: 'sha-256', value: 'not hex' }), /invalid certificate fingerprint/);
});

/**
 * Waits until the page has `peerCount` peer connections, each with
 * connectionState "connected", and reads no stats meanwhile. Chromium caches
 * a transport's certificates at the first getStats() call, so a call before
 * the DTLS handshake, as waitForDecodedVideo makes, would keep the remote
 * certificate out of the stats until the next negotiation.
 */
async function waitForConnections(page, peerCount) {
  await waitFor(
    () =>
      page.evaluate((count) => {
        const connections = [...window.__videoCall.peerConnections.values()];
        return connections.length === count && connections.every((pc) => pc.connectionState === 'connected');
      }, peerCount),
    { description: `${peerCount} connected peer connection(s)`, diagnose: () => describePage(page) },
  );
}

/**
 * Starts a server and a browser and joins one room with Anna and Ben in
 * German and Carla in English, and waits until every page decodes video
 * from both others.
 */
async function startThreePersonCall(resources) {
  const server = await resources.startServer();
  const room = await createRoom(server);
  const browser = await resources.launchBrowser();
  const pages = {
    Anna: await resources.openPage(browser, { locale: 'de-DE', label: 'anna' }),
    Ben: await resources.openPage(browser, { locale: 'de-DE', label: 'ben' }),
    Carla: await resources.openPage(browser, { locale: 'en-GB', label: 'carla' }),
  };
  for (const [name, page] of Object.entries(pages)) await joinCall(page, room.joinUrl, name);
  for (const page of Object.values(pages)) await waitForConnections(page, 2);
  for (const page of Object.values(pages)) await waitForDecodedVideo(page, { peerCount: 2 });
  return pages;
}

/** Returns the peer id of each remote participant shown on the page, by display name. */
async function remotePeerIds(page) {
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('.tile-remote')].map((tile) => [tile.querySelector('.tile-name').textContent, tile.dataset.peerId]),
    ),
  );
}

/** Returns the peer ids that each page uses for each other page: `ids[viewer][shown]`. */
async function peerIdsOfAll(pages) {
  const ids = {};
  for (const [name, page] of Object.entries(pages)) ids[name] = await remotePeerIds(page);
  return ids;
}

/**
 * Reads the fingerprints of the local and the remote certificate of the one
 * connected DTLS transport of the page's connection to `peerId`, straight
 * from getStats().
 */
async function certificateFingerprints(page, peerId) {
  return page.evaluate(async (id) => {
    const report = await window.__videoCall.peerConnections.get(id).getStats();
    const transports = [...report.values()].filter((stats) => stats.type === 'transport' && stats.dtlsState === 'connected');
    if (transports.length !== 1) throw new Error(`expected one connected DTLS transport, found ${transports.length}`);
    const fingerprintOf = (certificateId) => {
      const certificate = report.get(certificateId);
      return { algorithm: certificate.fingerprintAlgorithm, value: certificate.fingerprint };
    };
    return { local: fingerprintOf(transports[0].localCertificateId), remote: fingerprintOf(transports[0].remoteCertificateId) };
  }, peerId);
}

/** Opens the security code panel of `peerId` on the page unless it shows that peer already. */
async function openSecurityPanel(page, peerId) {
  const panel = page.getByTestId('security-panel');
  if ((await panel.getAttribute('data-peer-id')) === peerId) return panel;
  await page.locator(`.tile-remote[data-peer-id="${peerId}"]`).getByTestId('security-code-button').click();
  await waitFor(async () => (await panel.getAttribute('data-peer-id')) === peerId, {
    description: `the security code panel for ${peerId}`,
    diagnose: () => describePage(page),
  });
  return panel;
}

/**
 * Opens the panel of `peerId`, waits until it shows a code, and returns the
 * code's text. Closes the panel afterwards unless `keepOpen`, so that it
 * covers no tile button.
 */
async function shownCode(page, peerId, { keepOpen = false } = {}) {
  const panel = await openSecurityPanel(page, peerId);
  await waitFor(async () => (await panel.getAttribute('data-code-state')) === 'ready', {
    description: `a security code for ${peerId}`,
    diagnose: async () => `panel state ${await panel.getAttribute('data-code-state')}\n${await describePage(page)}`,
  });
  const code = (await page.getByTestId('security-code').textContent()).trim();
  if (!keepOpen) {
    await page.keyboard.press('Escape');
    await waitFor(async () => !(await panel.isVisible()), { description: 'the security code panel to close' });
  }
  return code;
}

/**
 * Checks that both pages show the same code for their connection, in the
 * expected format, and that it is the code of the certificates that each
 * page reports for itself. Returns the code.
 */
async function assertPairCode(pages, ids, first, second) {
  const codeOnFirst = await shownCode(pages[first], ids[first][second]);
  const codeOnSecond = await shownCode(pages[second], ids[second][first]);
  assert.match(codeOnFirst, CODE_FORMAT, `${first}'s code for ${second}`);
  assert.equal(codeOnSecond, codeOnFirst, `${first} and ${second} see the same code`);

  const onFirst = await certificateFingerprints(pages[first], ids[first][second]);
  const onSecond = await certificateFingerprints(pages[second], ids[second][first]);
  assert.deepEqual(onFirst.remote, onSecond.local, `${first}'s remote certificate is ${second}'s own`);
  assert.deepEqual(onSecond.remote, onFirst.local, `${second}'s remote certificate is ${first}'s own`);
  assert.equal(codeOnFirst, expectedCode(onFirst.local, onSecond.local), `the code of ${first} and ${second} is that of their certificates`);
  return codeOnFirst;
}

const PAIRS = [
  ['Anna', 'Ben'],
  ['Anna', 'Carla'],
  ['Ben', 'Carla'],
];

test('each pair sees one code of its certificates', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('security code per pair', async (resources) => {
    const pages = await startThreePersonCall(resources);
    const ids = await peerIdsOfAll(pages);

    const codes = [];
    for (const [first, second] of PAIRS) codes.push(await assertPairCode(pages, ids, first, second));
    assert.equal(new Set(codes).size, PAIRS.length, `each pair has its own code: ${JSON.stringify(codes)}`);

    // A certificate per connection keeps a server in the middle from searching before the call.
    const annaToBen = await certificateFingerprints(pages.Anna, ids.Anna.Ben);
    const annaToCarla = await certificateFingerprints(pages.Anna, ids.Anna.Carla);
    assert.notDeepEqual(annaToBen.local, annaToCarla.local, 'Anna uses another certificate for each connection');

    // Texts in the page language.
    await openSecurityPanel(pages.Anna, ids.Anna.Ben);
    assert.equal(await pages.Anna.locator('#security-heading').textContent(), 'Sicherheitscode der Verbindung zu Ben');
    assert.match(await pages.Anna.locator('#security-instructions').textContent(), /^Lesen Sie sich den Code gegenseitig vor/);
    await pages.Anna.keyboard.press('Escape');
    await openSecurityPanel(pages.Carla, ids.Carla.Anna);
    assert.equal(await pages.Carla.locator('#security-heading').textContent(), 'Security code of the connection to Anna');
    assert.match(await pages.Carla.locator('#security-instructions').textContent(), /^Read the code aloud to each other/);
    await pages.Carla.keyboard.press('Escape');
  });
});

test('security code panel works by keyboard', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('security code by keyboard', async (resources) => {
    const { anna } = await startTwoPersonCall(resources);
    await waitForConnections(anna, 1);

    const button = anna.getByTestId('security-code-button');
    assert.equal(await button.getAttribute('aria-label'), 'Sicherheitscode der Verbindung zu Ben anzeigen');
    assert.equal(await button.getAttribute('aria-expanded'), 'false');

    await button.focus();
    await anna.keyboard.press('Enter');
    const panel = anna.getByTestId('security-panel');
    await waitFor(() => panel.isVisible(), { description: 'the panel to open on Enter', diagnose: () => describePage(anna) });
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    assert.equal(await anna.evaluate(() => document.activeElement?.id), 'security-panel-close', 'the focus moves into the panel');

    await anna.keyboard.press('Escape');
    await waitFor(async () => !(await panel.isVisible()), { description: 'the panel to close on Escape' });
    assert.equal(await button.getAttribute('aria-expanded'), 'false');
    assert.equal(await button.evaluate((element) => element === document.activeElement), true, 'the focus returns to the button');
  });
});

/** Makes getStats() on the page report no `transport` stats. Runs in the page. */
function hideTransportStats() {
  const getStats = RTCPeerConnection.prototype.getStats;
  RTCPeerConnection.prototype.getStats = async function withoutTransports(...args) {
    const report = await getStats.apply(this, args);
    return new Map([...report].filter(([, stats]) => stats.type !== 'transport'));
  };
}

test('browser without transport stats shows no code', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('security code without transport stats', async (resources) => {
    const { anna } = await startTwoPersonCall(resources);
    await waitForConnections(anna, 1);
    await anna.evaluate(hideTransportStats);

    const [benId] = Object.values(await remotePeerIds(anna));
    const panel = await openSecurityPanel(anna, benId);
    await waitFor(async () => (await panel.getAttribute('data-code-state')) === 'unsupported', {
      description: 'the panel to state that the browser provides no code',
      diagnose: async () => `panel state ${await panel.getAttribute('data-code-state')}\n${await describePage(anna)}`,
    });
    assert.equal(await anna.locator('#security-status').textContent(), 'Dieser Browser stellt den Sicherheitscode nicht bereit.');
    assert.equal(await anna.getByTestId('security-code').isVisible(), false, 'no digits are shown');
  });
});

/** Marks each current peer connection of the page, to tell later whether it was replaced. */
async function markPeerConnections(page) {
  await page.evaluate(() => {
    for (const pc of window.__videoCall.peerConnections.values()) pc.__testMark = true;
  });
}

/** Returns whether the page still uses the connection to `peerId` that markPeerConnections marked. */
async function usesMarkedConnection(page, peerId) {
  return page.evaluate((id) => window.__videoCall.peerConnections.get(id)?.__testMark === true, peerId);
}

/**
 * Makes the page's connection to `remotePeerId` report connectionState
 * "failed" `times` times in a row, as a connection that ICE restarts cannot
 * mend would.
 */
async function failRepeatedly(page, remotePeerId, times) {
  await page.evaluate(
    ([peerId, count]) => {
      const pc = window.__videoCall.peerConnections.get(peerId);
      for (let failure = 0; failure < count; failure += 1) {
        Object.defineProperty(pc, 'connectionState', { configurable: true, get: () => 'failed' });
        try {
          pc.dispatchEvent(new Event('connectionstatechange'));
        } finally {
          delete pc.connectionState;
        }
      }
    },
    [remotePeerId, times],
  );
}

/** Records every state and code that the page's security code panel shows, in `window.__securityPanelHistory`. */
async function recordSecurityPanel(page) {
  await page.evaluate(() => {
    const panel = document.querySelector('[data-testid="security-panel"]');
    const code = document.querySelector('[data-testid="security-code"]');
    const history = [];
    window.__securityPanelHistory = history;
    const record = () => {
      const entry = `${panel.dataset.codeState ?? ''} ${code.textContent}`.trim();
      if (history[history.length - 1] !== entry) history.push(entry);
    };
    record();
    new MutationObserver(record).observe(panel, { attributes: true, childList: true, subtree: true, characterData: true });
  });
}

test('rebuilt pair gets a new code', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('security code after rebuild', async (resources) => {
    const pages = await startThreePersonCall(resources);
    const ids = await peerIdsOfAll(pages);
    const before = {};
    for (const [first, second] of PAIRS) before[`${first}-${second}`] = await assertPairCode(pages, ids, first, second);

    // The side whose id sorts last is impolite and starts the rebuild.
    const annaId = ids.Ben.Anna;
    const benId = ids.Anna.Ben;
    const [impolite, other] = annaId > benId ? ['Anna', 'Ben'] : ['Ben', 'Anna'];
    for (const page of Object.values(pages)) await markPeerConnections(page);

    // The impolite side keeps the panel open while its connection is replaced.
    const oldCode = await shownCode(pages[impolite], ids[impolite][other], { keepOpen: true });
    await recordSecurityPanel(pages[impolite]);
    await failRepeatedly(pages[impolite], ids[impolite][other], 3);
    await waitFor(
      async () =>
        !(await usesMarkedConnection(pages[impolite], ids[impolite][other])) &&
        !(await usesMarkedConnection(pages[other], ids[other][impolite])),
      { description: 'new connections between Anna and Ben on both sides', diagnose: () => describePage(pages[other]) },
    );
    await waitForConnections(pages.Anna, 2);
    await waitForConnections(pages.Ben, 2);
    await waitForDecodedVideo(pages.Anna, { peerCount: 2 });
    await waitForDecodedVideo(pages.Ben, { peerCount: 2 });

    const history = () => pages[impolite].evaluate(() => window.__securityPanelHistory);
    await waitFor(async () => (await history()).some((entry) => entry.startsWith('ready ') && entry !== `ready ${oldCode}`), {
      description: 'the open panel to show a new code',
      diagnose: async () => `panel history: ${JSON.stringify(await history())}`,
    });
    const panelHistory = await history();
    const pendingAt = panelHistory.indexOf('pending');
    assert.ok(pendingAt >= 0, `the panel said "not available yet" in between: ${JSON.stringify(panelHistory)}`);
    assert.ok(
      panelHistory.slice(pendingAt).every((entry) => entry !== `ready ${oldCode}`),
      `the old code did not come back: ${JSON.stringify(panelHistory)}`,
    );

    // Both sides agree on the new code, which is that of the new certificates.
    const newCode = await assertPairCode(pages, ids, 'Anna', 'Ben');
    assert.notEqual(newCode, before['Anna-Ben'], 'the rebuilt pair has a new code');
    assert.equal(await assertPairCode(pages, ids, 'Anna', 'Carla'), before['Anna-Carla'], 'Anna and Carla keep their code');
    assert.equal(await assertPairCode(pages, ids, 'Ben', 'Carla'), before['Ben-Carla'], 'Ben and Carla keep their code');
  });
});
