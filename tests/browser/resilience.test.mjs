// Tests of a call that loses its signaling socket: the client reconnects,
// takes its place back, and the peer connections carry on.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/resilience.test.mjs'

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import WebSocket from 'ws';

import {
  WAIT_TIMEOUT_MS,
  createRoom,
  decodedVideoFrames,
  describePage,
  joinCall,
  linkToken,
  openJoinPage,
  startTwoPersonCall,
  waitFor,
  waitForDecodedVideo,
  waitForState,
  withResources,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 180_000;

/** Time over which decoded frames must keep growing. */
const FLOW_WINDOW_MS = 2_000;

/**
 * Time the test moves the pages' clocks forward so that a connection that
 * is not connected counts as stalled: STALLED_AFTER_MS in web/js/peer.js.
 */
const STALLED_AFTER_MS = 30_000;

/** Seconds after which the test server closes every signaling socket, as API Gateway does after 2 hours. */
const MAX_CONNECTION_AGE_S = 6;

/** Counts the signaling sockets a page opens and the ones closed under it. */
function watchSockets(page) {
  const counts = { opened: 0, closed: 0 };
  page.on('websocket', (socket) => {
    if (!socket.url().endsWith('/ws')) return;
    counts.opened += 1;
    socket.on('close', () => {
      counts.closed += 1;
    });
  });
  return counts;
}

/** Marks each current peer connection of the page, to tell later whether it was replaced. */
async function markPeerConnections(page) {
  return page.evaluate(() => {
    const ids = [];
    for (const [peerId, pc] of window.__videoCall.peerConnections) {
      pc.__testMark = true;
      ids.push(peerId);
    }
    return ids;
  });
}

/** Returns, per remote peer id, whether the page still uses the marked connection. */
async function markedPeerConnections(page) {
  return page.evaluate(() =>
    Object.fromEntries([...window.__videoCall.peerConnections].map(([peerId, pc]) => [peerId, pc.__testMark === true])),
  );
}

/** Checks that every peer's decoded frame count grows within FLOW_WINDOW_MS. */
async function assertVideoFlows(page, label) {
  const before = await decodedVideoFrames(page);
  await sleep(FLOW_WINDOW_MS);
  const after = await decodedVideoFrames(page);
  for (const [peerId, frames] of Object.entries(before)) {
    assert.ok((after[peerId] ?? 0) > frames, `${label}: frames from ${peerId} grew from ${frames} to ${after[peerId]}`);
  }
}

test('server-closed sockets keep call and peer ids', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('signaling sockets closed by the server', async (resources) => {
    const server = await resources.startServer({ extraArgs: ['--max-connection-age', String(MAX_CONNECTION_AGE_S)] });
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    const sockets = { anna: watchSockets(anna), ben: watchSockets(ben) };

    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    for (const page of [anna, ben]) await waitForDecodedVideo(page);
    const [annaId] = await markPeerConnections(ben);
    const [benId] = await markPeerConnections(anna);

    // Each page loses its socket at least twice and reconnects each time.
    const closedBefore = { anna: sockets.anna.closed, ben: sockets.ben.closed };
    await waitFor(
      () => sockets.anna.closed >= closedBefore.anna + 2 && sockets.ben.closed >= closedBefore.ben + 2,
      { description: 'two server-side closes on each page', timeout: 4 * MAX_CONNECTION_AGE_S * 1000, diagnose: async () => JSON.stringify(sockets) },
    );
    for (const page of [anna, ben]) {
      assert.equal(await page.evaluate(() => document.body.dataset.state), 'in-call', await describePage(page));
    }

    // Neither side replaced its peer connection, and media kept flowing.
    assert.deepEqual(await markedPeerConnections(ben), { [annaId]: true }, 'Ben keeps the connection to Anna under the same peer id');
    assert.deepEqual(await markedPeerConnections(anna), { [benId]: true }, 'Anna keeps her connection to Ben under the same peer id');
    await assertVideoFlows(anna, 'anna');
    await assertVideoFlows(ben, 'ben');
    assert.ok(server.log.some((line) => line.includes('participant resumed')), 'the server saw resumes');
    assert.ok(!server.log.some((line) => line.includes('did not come back')), 'no one was removed');

    // A newcomer negotiates with both while their sockets keep cycling.
    const carla = await resources.openPage(browser, { label: 'carla' });
    await joinCall(carla, room.joinUrl, 'Carla');
    await waitForDecodedVideo(carla, { peerCount: 2 });
    await waitForDecodedVideo(anna, { peerCount: 2 });
    await waitForDecodedVideo(ben, { peerCount: 2 });
    assert.equal((await markedPeerConnections(ben))[annaId], true, 'Ben still uses the first connection to Anna');
  });
});

/**
 * Time within which a page that replaces a crashed one must have freed the
 * old place: well under the 30 s for which the server keeps an away place.
 */
const REPLACE_WITHIN_MS = 10_000;

test('page after a crash frees the old place', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('page replaces a crashed one', async (resources) => {
    const { server, room, anna, ben } = await startTwoPersonCall(resources);
    for (const page of [anna, ben]) await waitForDecodedVideo(page);
    const [oldBenId] = await markPeerConnections(anna);

    // The renderer dies without pagehide, so no `leave` goes out.
    const crashed = new Promise((resolve) => ben.once('crash', resolve));
    const devtools = await ben.context().newCDPSession(ben);
    devtools.send('Page.crash').catch(() => {});
    await crashed;
    await waitFor(() => server.log.some((line) => line.includes('participant away')), {
      description: 'the server to see the socket of the crashed page close',
    });

    // Ben opens the link again in the same browser, which kept the place.
    const ben2 = await ben.context().newPage();
    resources.pages.push(ben2);
    const started = Date.now();
    await joinCall(ben2, room.joinUrl, 'Ben');
    const peerIds = () => anna.evaluate(() => [...window.__videoCall.peerConnections.keys()]);
    await waitFor(async () => {
      const ids = await peerIds();
      return ids.length === 1 && ids[0] !== oldBenId;
    }, {
      description: 'Anna to drop the old place and connect to the new page',
      timeout: REPLACE_WITHIN_MS - (Date.now() - started),
      diagnose: async () => `peer connections: ${JSON.stringify(await peerIds())}\n${await describePage(anna)}`,
    });
    assert.ok(server.log.some((line) => line.includes('replaced by a new page')), 'the server removed the old place');
    await waitForDecodedVideo(ben2);
    await waitForDecodedVideo(anna);
    assert.equal(
      await ben2.evaluate(() => window.__videoCall.peerConnections.size),
      1,
      'the new page connects to Anna only, not to its own old place',
    );

    // Closing the tab sends `leave`, after which the browser keeps no place.
    await ben2.close({ runBeforeUnload: true });
    const later = await ben.context().newPage();
    resources.pages.push(later);
    await later.goto(`${server.origin}/privacy`);
    assert.equal(await later.evaluate(() => localStorage.getItem('videoCall.place')), null);
  });
});

test('join retries without replaces when rejected', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('server without replaces', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { label: 'ben' });
    // A place stored by an earlier page of this link, as after a crash.
    const link = createHash('sha256').update(linkToken(room.joinUrl)).digest('hex');
    await page.addInitScript((place) => localStorage.setItem('videoCall.place', place), JSON.stringify({ link, peerId: 'p'.repeat(32), key: 'k'.repeat(32) }));
    // The socket replies to a join with `replaces` as a server from before that field does.
    const joins = [];
    await page.routeWebSocket(/\/ws$/, (socket) => {
      const upstream = socket.connectToServer();
      upstream.onMessage((text) => socket.send(text));
      socket.onMessage((text) => {
        const message = JSON.parse(String(text));
        if (message.type === 'join') joins.push(message);
        if (message.type === 'join' && message.replaces) {
          socket.send(JSON.stringify({ type: 'error', code: 'invalid-message', message: 'unknown field `replaces`' }));
          return;
        }
        upstream.send(text);
      });
    });

    await joinCall(page, room.joinUrl, 'Ben');
    assert.deepEqual(joins.map((join) => 'replaces' in join), [true, false]);
    assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('videoCall.place') ?? '{}').peerId === 'p'.repeat(32)), false);
  });
});

/** Sends one `join` with `token` on a new socket and waits until the server closes it. */
async function joinUntilClosed(server, token) {
  const socket = new WebSocket(`${server.origin.replace(/^http/, 'ws')}/ws`, { origin: server.origin });
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket not closed within ${WAIT_TIMEOUT_MS} ms`)), WAIT_TIMEOUT_MS);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'join', v: 1, token, name: 'Mallory' })));
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } finally {
    socket.terminate();
  }
}

test('rejected socket is told apart from no internet', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('rejected socket', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const token = linkToken(room.joinUrl);
    const forged = `${token.split('.')[0]}.${'A'.repeat(43)}`;
    // After 20 invalid links from 127.0.0.1 the server refuses sockets from
    // there for a minute, also the patient's with a valid link.
    for (let guess = 0; guess < 20; guess += 1) await joinUntilClosed(server, forged);

    const browser = await resources.launchBrowser();
    const blocked = await resources.openPage(browser, { label: 'blocked' });
    await blocked.goto(room.joinUrl);
    await waitForState(blocked, 'error');
    assert.match(
      (await blocked.getByTestId('error').textContent()).trim(),
      /^Der Videodienst hat die Verbindung gerade nicht angenommen, obwohl Ihre Internetverbindung funktioniert\./,
    );

    // When the page's own server cannot be reached either, the internet is the likely cause.
    const offline = await resources.openPage(browser, { locale: 'en-GB', label: 'offline' });
    await offline.route('**/config.json', (route) => (route.request().method() === 'HEAD' ? route.abort('internetdisconnected') : route.fallback()));
    await offline.goto(room.joinUrl);
    await waitForState(offline, 'error');
    assert.match(
      (await offline.getByTestId('error').textContent()).trim(),
      /^Could not connect to the server\. Please check your internet connection/,
    );
  });
});

test('server restart: pages rejoin and rebuild the call', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('server restart during a call', async (resources) => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'video-test-data-'));
    resources.closers.push({ name: `data directory ${dataDir}`, close: () => rm(dataDir, { recursive: true, force: true }) });
    const { server: first, room, anna, ben } = await startTwoPersonCall(resources, { dataDir });
    for (const page of [anna, ben]) await waitForDecodedVideo(page);
    const [benId] = await markPeerConnections(anna);
    const [annaId] = await markPeerConnections(ben);

    // The server stops. The pages show a notice and keep reconnecting, while
    // the peer connections carry the media on without the server.
    await first.stop();
    for (const page of [anna, ben]) {
      await waitFor(async () => (await page.locator('#notice').textContent())?.includes('wird wiederhergestellt'), {
        description: 'the reconnecting notice',
        diagnose: () => describePage(page),
      });
      assert.equal(await page.evaluate(() => document.body.dataset.state), 'in-call', await describePage(page));
    }
    await assertVideoFlows(anna, 'anna while the server is down');
    await assertVideoFlows(ben, 'ben while the server is down');

    // On the same address and data directory, the server has the room but
    // not the participants, which it kept in memory. So both pages join
    // again under new peer ids and build new connections to each other.
    const second = await resources.startServer({ dataDir, listen: new URL(first.origin).host });
    const rebuilt = async (page, oldId) => {
      const marks = await markedPeerConnections(page);
      const ids = Object.keys(marks);
      return ids.length === 1 && ids[0] !== oldId && marks[ids[0]] === false;
    };
    await waitFor(async () => (await rebuilt(anna, benId)) && (await rebuilt(ben, annaId)), {
      description: 'new peer connections between the pages under new peer ids',
      timeout: 60_000,
      diagnose: async () => `anna: ${JSON.stringify(await markedPeerConnections(anna))}, ben: ${JSON.stringify(await markedPeerConnections(ben))}`,
    });
    for (const page of [anna, ben]) {
      await waitForDecodedVideo(page);
      assert.equal(await page.locator('#notice').isVisible(), false, `the notice is gone: ${await describePage(page)}`);
    }
    await assertVideoFlows(anna, 'anna after the restart');
    await assertVideoFlows(ben, 'ben after the restart');
    assert.ok(second.log.some((line) => line.includes('participant joined')), 'the pages joined the new server');
  });
});

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

test('failed pair is rebuilt, others stay', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('rebuild of one failed pair', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const pages = {};
    for (const name of ['Anna', 'Ben', 'Carla']) {
      pages[name] = await resources.openPage(browser, { label: name.toLowerCase() });
      await joinCall(pages[name], room.joinUrl, name);
    }
    for (const page of Object.values(pages)) await waitForDecodedVideo(page, { peerCount: 2 });

    // Peer ids as the others know them.
    const idsSeenByCarla = await markPeerConnections(pages.Carla);
    const annaBen = await markPeerConnections(pages.Anna);
    await markPeerConnections(pages.Ben);
    const [carlaId] = (await markPeerConnections(pages.Anna)).filter((id) => !idsSeenByCarla.includes(id));
    const benId = annaBen.find((id) => id !== carlaId);
    const annaId = idsSeenByCarla.find((id) => id !== benId);
    // The side whose id sorts last is impolite and starts the rebuild.
    const [impolite, other, otherId] = annaId > benId ? [pages.Anna, pages.Ben, benId] : [pages.Ben, pages.Anna, annaId];
    const impoliteId = otherId === benId ? annaId : benId;

    await failRepeatedly(impolite, otherId, 3);
    await waitFor(
      async () => (await markedPeerConnections(impolite))[otherId] === false && (await markedPeerConnections(other))[impoliteId] === false,
      { description: 'new connections between the failed pair on both sides', diagnose: () => describePage(other) },
    );
    await waitForDecodedVideo(impolite, { peerCount: 2 });
    await waitForDecodedVideo(other, { peerCount: 2 });
    await assertVideoFlows(impolite, 'impolite side');
    await assertVideoFlows(other, 'polite side');

    // Carla's connections were not touched.
    assert.deepEqual(await markedPeerConnections(pages.Carla), { [annaId]: true, [benId]: true });
    assert.equal((await markedPeerConnections(impolite))[carlaId], true);
    assert.equal((await markedPeerConnections(other))[carlaId], true);
  });
});

/**
 * Waits until the tile of the only remote participant on `page` has
 * `data-connection` equal to `state`, and returns the text of its status.
 */
async function waitForTileConnection(page, state) {
  const tile = page.locator('.tile-remote');
  let last = '';
  await waitFor(
    async () => {
      last = (await tile.getAttribute('data-connection')) ?? '';
      return last === state;
    },
    { description: `data-connection="${state}" on the remote tile`, diagnose: async () => `last: ${last}\n${await describePage(page)}` },
  );
  const status = tile.locator('.tile-status');
  return (await status.isVisible()) ? (await status.textContent()).trim() : '';
}

/**
 * Makes the page's only peer connection report `state` from now on, as the
 * browser's own state changes would, or its real state again with `null`.
 */
async function fakeConnectionState(page, state) {
  await page.evaluate((shown) => {
    const [pc] = window.__videoCall.peerConnections.values();
    if (shown === null) delete pc.connectionState;
    else Object.defineProperty(pc, 'connectionState', { configurable: true, get: () => shown });
    pc.dispatchEvent(new Event('connectionstatechange'));
  }, state);
}

test('connection that never comes up is explained', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('stalled connection explained', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const anna = await resources.openPage(await resources.launchBrowser(), { label: 'anna' });
    // Without a media permission, Chromium 156 gathers no ICE candidate at all
    // in the loopback-only namespace, so Ben's connection to Anna stays "new".
    const ben = await resources.openPage(await resources.launchBrowser({ acceptMediaPrompts: false }), { locale: 'en-GB', label: 'ben' });
    for (const page of [anna, ben]) await page.clock.install();

    await joinCall(anna, room.joinUrl, 'Anna');
    await openJoinPage(ben, room.joinUrl);
    await ben.getByTestId('display-name').fill('Ben');
    await ben.getByRole('button', { name: 'Join without camera and microphone' }).click();
    await waitForState(ben, 'in-call');
    assert.equal(await waitForTileConnection(anna, 'new'), 'Verbindung wird aufgebaut …');

    for (const page of [anna, ben]) await page.clock.fastForward(STALLED_AFTER_MS);
    assert.equal(
      await waitForTileConnection(anna, 'stalled'),
      'Die Verbindung zu Ben kommt nicht zustande, vielleicht weil ein Netzwerk sie blockiert. Bitte verlassen Sie das Gespräch und wählen Sie dann „Erneut teilnehmen“. Hilft das nicht, wenden Sie sich bitte an Ihre Praxis.',
    );
    assert.equal(
      await waitForTileConnection(ben, 'stalled'),
      'The connection to Anna cannot be established, perhaps because a network blocks it. Please leave the call, then choose “Join again”. If that does not help, please contact your practice.',
    );
    // The name stays on top of the message's dark layer, which follows it in
    // the tile and would cover it at the same stacking level. The layer lets
    // clicks through, so elementFromPoint cannot tell.
    const nameOnTop = await anna.locator('.tile-remote').evaluate((tile) => {
      const level = (/** @type {Element} */ element) => Number(getComputedStyle(element).zIndex) || 0;
      const name = tile.querySelector('.tile-name');
      const status = tile.querySelector('.tile-status');
      return name !== null && status !== null && level(name) > level(status);
    });
    assert.ok(nameOnTop, 'the name of a stalled connection is covered');

    // A later success clears the message.
    await fakeConnectionState(anna, 'connected');
    assert.equal(await waitForTileConnection(anna, 'connected'), '');

    // A connection lost for as long is explained as lost.
    await fakeConnectionState(anna, 'disconnected');
    assert.equal(await waitForTileConnection(anna, 'disconnected'), 'Verbindung unterbrochen …');
    await anna.clock.fastForward(STALLED_AFTER_MS);
    assert.match(await waitForTileConnection(anna, 'stalled'), /^Die Verbindung zu Ben ist abgebrochen und ließ sich bisher nicht wiederherstellen\. /);
  });
});
