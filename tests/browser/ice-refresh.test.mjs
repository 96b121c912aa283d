// End-to-end tests of fresh TURN credentials during a call: the client asks
// the server for `ice-servers` before an ICE restart and before it connects
// to a participant who joins late, and applies the reply.
//
// The server hands out credentials for a TURN URL on loopback where no TURN
// server runs. Host candidates on loopback still connect the pages.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/ice-refresh.test.mjs'

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { createRoom, describePage, joinCall, waitFor, waitForDecodedVideo, withResources } from './helpers.mjs';

/** Limit of one whole test: several waits of up to 30 s each, plus start-up. */
const TEST_TIMEOUT_MS = 180_000;

const TURN_URL = 'turn:127.0.0.1:3478?transport=udp';

/**
 * Delay of the server's `ice-servers` replies on their way to the page. A
 * local server replies faster than the browser creates an offer, so without
 * the delay an ICE restart that did not wait for the reply would go unseen.
 * It is below the client's timeout of 5 s for the reply.
 */
const REPLY_DELAY_MS = 2_000;

/**
 * Time the test moves a page's clock forward to make its ICE server list
 * stale: more than the client's ICE_SERVERS_FRESH_MS of 60 s.
 */
const STALE_AFTER_MS = 61_000;

/**
 * Writes a TURN secret of 40 hex digits to a file in a new temporary
 * directory, which `resources` removes at the end, and returns its path.
 */
async function writeTurnSecret(resources) {
  const directory = await mkdtemp(path.join(tmpdir(), 'video-test-turn-'));
  resources.closers.push({
    name: `TURN secret directory ${directory}`,
    close: () => rm(directory, { recursive: true, force: true }),
  });
  const file = path.join(directory, 'turn-secret');
  await writeFile(file, randomBytes(20).toString('hex'), { mode: 0o600 });
  return file;
}

/** Starts the server with `--turn-url` and `--turn-secret-file`. */
async function startServerWithTurn(resources) {
  const secretFile = await writeTurnSecret(resources);
  return resources.startServer({ extraArgs: ['--turn-url', TURN_URL, '--turn-secret-file', secretFile] });
}

/**
 * Adds `window.__testClockOffsetMs` to `performance.now()`, so the test can
 * age what the page received. Runs in the page as an init script.
 */
function installClockOffset() {
  const now = performance.now.bind(performance);
  window.__testClockOffsetMs = 0;
  performance.now = () => now() + window.__testClockOffsetMs;
}

/** Moves the page's `performance.now()` forward by `milliseconds`. */
async function advancePageClock(page, milliseconds) {
  await page.evaluate((step) => {
    window.__testClockOffsetMs += step;
  }, milliseconds);
}

/**
 * Records the JSON messages that the page sends and receives on its
 * WebSockets, in order, as `{ direction: 'sent' | 'received', message }`.
 * Register it before the page opens its socket.
 */
function recordSignaling(page) {
  const frames = [];
  const record = (direction, payload) => {
    try {
      frames.push({ direction, message: JSON.parse(payload.toString()) });
    } catch {
      frames.push({ direction, message: null });
    }
  };
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => record('sent', payload));
    socket.on('framereceived', ({ payload }) => record('received', payload));
  });
  return frames;
}

/**
 * Holds back the server's `ice-servers` messages to the page for `delayMs`
 * and records in `frames` when the page gets each, as
 * `{ direction: 'delivered', message }`. Other messages pass at once.
 */
async function delayIceServersReplies(page, frames, delayMs) {
  await page.routeWebSocket(/\/ws$/, (socket) => {
    const server = socket.connectToServer();
    server.onMessage((payload) => {
      let message = null;
      try {
        message = JSON.parse(payload.toString());
      } catch {
        // Passed on unchanged below.
      }
      if (message?.type !== 'ice-servers') {
        socket.send(payload);
        return;
      }
      setTimeout(() => {
        frames.push({ direction: 'delivered', message });
        socket.send(payload);
      }, delayMs);
    });
  });
}

/** Returns the index of the first frame from `start` on that matches `predicate`, or -1. */
function findFrame(frames, start, predicate) {
  for (let index = start; index < frames.length; index += 1) {
    if (predicate(frames[index])) return index;
  }
  return -1;
}

/** Returns the index of the last frame before `end` that matches `predicate`, or -1. */
function findLastFrame(frames, end, predicate) {
  for (let index = end - 1; index >= 0; index -= 1) {
    if (predicate(frames[index])) return index;
  }
  return -1;
}

const isIceServersRequest = (frame) => frame.direction === 'sent' && frame.message?.type === 'ice-servers';
/** Returns whether the frame is an `ice-servers` reply at the moment the page got it. */
const isIceServersReply = (frame) => frame.direction === 'delivered' && frame.message?.type === 'ice-servers';

/** Returns whether the frame is a session description that the page sent. */
function isSentDescription(frame) {
  return frame.direction === 'sent' && frame.message?.type === 'signal' && frame.message.data?.description !== undefined;
}

/** Returns the `a=ice-ufrag` of a sent description frame. */
function iceUfragOf(frame) {
  const match = /^a=ice-ufrag:(\S+)/m.exec(frame.message.data.description.sdp);
  assert.ok(match, 'the description has an a=ice-ufrag line');
  return match[1];
}

/** Lists the sent and received message types, for failure reports. */
function describeFrames(frames, start = 0) {
  const lines = frames.slice(start).map((frame) => {
    const message = frame.message;
    const kind = message?.data?.description?.type ?? (message?.data ? 'candidate' : '');
    return `${frame.direction} ${message?.type ?? '(not JSON)'}${kind ? ` ${kind}` : ''}`;
  });
  return `frames from index ${start}:\n  ${lines.join('\n  ')}`;
}

/** Returns the entry of an `iceServers` list with the TURN URL, or undefined. */
function turnEntryOf(iceServers) {
  return iceServers.find((server) => [server.urls].flat().includes(TURN_URL));
}

/** Returns the expiry in Unix seconds that a TURN REST API username starts with. */
function usernameExpiry(username) {
  const expiry = Number(username.split(':')[0]);
  assert.ok(Number.isInteger(expiry), `username ${username} starts with an expiry in Unix seconds`);
  return expiry;
}

/**
 * Returns the TURN entry of `getConfiguration().iceServers` of the page's
 * one peer connection, or null without a connection or entry.
 */
async function configuredTurnEntry(page) {
  return page.evaluate((turnUrl) => {
    const [pc] = window.__videoCall.peerConnections.values();
    if (!pc) return null;
    const servers = pc.getConfiguration().iceServers ?? [];
    return servers.find((server) => [server.urls].flat().includes(turnUrl)) ?? null;
  }, TURN_URL);
}

/**
 * Makes the page's one peer connection report connectionState "failed" to
 * the client once, as the browser does when ICE fails, and then returns it
 * to the real state. The client reacts with an ICE restart.
 */
async function reportConnectionFailed(page) {
  await page.evaluate(() => {
    const [pc] = window.__videoCall.peerConnections.values();
    Object.defineProperty(pc, 'connectionState', { configurable: true, get: () => 'failed' });
    try {
      pc.dispatchEvent(new Event('connectionstatechange'));
    } finally {
      delete pc.connectionState;
    }
  });
}

/**
 * Waits until the page sent, from frame `start` on, an offer whose ice-ufrag
 * differs from `previousUfrag`: the offer of an ICE restart. Returns its
 * frame index and ufrag.
 */
async function waitForRestartOffer(page, frames, start, previousUfrag) {
  const index = await waitFor(
    () => {
      const found = findFrame(
        frames,
        start,
        (frame) => isSentDescription(frame) && frame.message.data.description.type === 'offer' && iceUfragOf(frame) !== previousUfrag,
      );
      return found >= 0 ? found + 1 : 0;
    },
    {
      description: `an offer with an ice-ufrag other than ${previousUfrag}`,
      diagnose: async () => `${describeFrames(frames, start)}\n${await describePage(page)}`,
    },
  );
  return { index: index - 1, ufrag: iceUfragOf(frames[index - 1]) };
}

/** Waits until the page's one peer connection is connected and stable again. */
async function waitForConnected(page) {
  await waitFor(
    () =>
      page.evaluate(() => {
        const [pc] = window.__videoCall.peerConnections.values();
        return pc?.connectionState === 'connected' && pc.signalingState === 'stable';
      }),
    { description: 'a connected peer connection in signaling state stable', diagnose: () => describePage(page) },
  );
}

test('ICE restart fetches fresh TURN credentials first', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('ICE restart fetches credentials', async (resources) => {
    const server = await startServerWithTurn(resources);
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    await anna.context().addInitScript(installClockOffset);
    const frames = recordSignaling(anna);
    await delayIceServersReplies(anna, frames, REPLY_DELAY_MS);

    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);
    await waitForConnected(anna);

    const joined = frames.find((frame) => frame.direction === 'received' && frame.message?.type === 'joined');
    assert.ok(joined, 'Anna received joined');
    const joinedTurn = turnEntryOf(joined.message.iceServers);
    assert.ok(joinedTurn, `joined carries the TURN URL: ${JSON.stringify(joined.message.iceServers)}`);
    const initialTurn = await configuredTurnEntry(anna);
    assert.equal(initialTurn?.username, joinedTurn.username, 'the peer connection uses the credentials from joined');

    // A list younger than a minute is used as it is: a restart sends no request.
    const firstMark = frames.length;
    const lastDescription = findLastFrame(frames, firstMark, isSentDescription);
    assert.ok(lastDescription >= 0, 'Anna sent a session description before the restart');
    await reportConnectionFailed(anna);
    const firstRestart = await waitForRestartOffer(anna, frames, firstMark, iceUfragOf(frames[lastDescription]));
    assert.equal(
      findFrame(frames, firstMark, isIceServersRequest),
      -1,
      `no ice-servers request for a fresh list\n${describeFrames(frames, firstMark)}`,
    );
    await waitForConnected(anna);

    // A stale list is fetched again before the restart.
    await advancePageClock(anna, STALE_AFTER_MS);
    const secondMark = frames.length;
    await reportConnectionFailed(anna);
    const secondRestart = await waitForRestartOffer(anna, frames, secondMark, firstRestart.ufrag);
    const request = findFrame(frames, secondMark, isIceServersRequest);
    assert.ok(request >= 0, `Anna sent {"type":"ice-servers"} for the restart\n${describeFrames(frames, secondMark)}`);
    const reply = await waitFor(() => findFrame(frames, secondMark, isIceServersReply) + 1, {
      description: 'the ice-servers reply to reach Anna',
      diagnose: () => describeFrames(frames, secondMark),
    }) - 1;
    const trace = describeFrames(frames, secondMark);
    assert.ok(request < secondRestart.index, `the request came before the restart offer\n${trace}`);
    assert.ok(reply < secondRestart.index, `the restart waited for the reply\n${trace}`);
    assert.deepEqual(frames[request].message, { type: 'ice-servers' });

    const freshTurn = turnEntryOf(frames[reply].message.iceServers);
    assert.ok(freshTurn, `the reply carries the TURN URL: ${JSON.stringify(frames[reply].message.iceServers)}`);
    assert.notEqual(freshTurn.username, joinedTurn.username, 'the reply has newly minted credentials');
    assert.ok(
      usernameExpiry(freshTurn.username) >= usernameExpiry(joinedTurn.username),
      `the new expiry of ${freshTurn.username} is not before the old one of ${joinedTurn.username}`,
    );
    const appliedTurn = await configuredTurnEntry(anna);
    assert.equal(appliedTurn?.username, freshTurn.username, 'the peer connection uses the new username');
    assert.equal(appliedTurn?.credential, freshTurn.credential, 'the peer connection uses the new credential');

    await waitForConnected(anna);
    await waitForDecodedVideo(ben);
  });
});

test('participant joining late gets fresh TURN credentials', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('late participant fresh credentials', async (resources) => {
    const server = await startServerWithTurn(resources);
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    await anna.context().addInitScript(installClockOffset);
    const frames = recordSignaling(anna);
    await delayIceServersReplies(anna, frames, REPLY_DELAY_MS);

    await joinCall(anna, room.joinUrl, 'Anna');
    const joined = frames.find((frame) => frame.direction === 'received' && frame.message?.type === 'joined');
    assert.ok(joined, 'Anna received joined');
    const joinedTurn = turnEntryOf(joined.message.iceServers);
    assert.ok(joinedTurn, `joined carries the TURN URL: ${JSON.stringify(joined.message.iceServers)}`);

    // Anna has been alone for more than a minute when Ben joins.
    await advancePageClock(anna, STALE_AFTER_MS);
    const mark = frames.length;
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);

    const trace = describeFrames(frames, mark);
    const arrival = findFrame(frames, mark, (frame) => frame.direction === 'received' && frame.message?.type === 'peer-joined');
    const request = findFrame(frames, mark, isIceServersRequest);
    const firstSignal = findFrame(frames, mark, (frame) => frame.direction === 'sent' && frame.message?.type === 'signal');
    assert.ok(arrival >= 0, `Anna received peer-joined\n${trace}`);
    assert.ok(request > arrival, `Anna sent {"type":"ice-servers"} after peer-joined\n${trace}`);
    assert.ok(firstSignal > request, `the request came before Anna's first signal to Ben\n${trace}`);

    // The reply is held back, so it reaches Anna after her connection to
    // Ben exists, and the client must apply it to that connection.
    const reply = await waitFor(() => findFrame(frames, request, isIceServersReply) + 1, {
      description: 'the ice-servers reply to reach Anna',
      diagnose: () => describeFrames(frames, mark),
    }) - 1;
    const freshTurn = turnEntryOf(frames[reply].message.iceServers);
    assert.ok(freshTurn, `the reply carries the TURN URL: ${JSON.stringify(frames[reply].message.iceServers)}`);
    assert.notEqual(freshTurn.username, joinedTurn.username, 'the reply has newly minted credentials');
    let configured = null;
    await waitFor(
      async () => {
        configured = await configuredTurnEntry(anna);
        return configured?.username === freshTurn.username;
      },
      {
        description: `the connection to Ben to use the new username ${freshTurn.username}`,
        diagnose: () => `configured TURN entry: ${JSON.stringify(configured)}`,
      },
    );
    await waitForDecodedVideo(ben);
  });
});
