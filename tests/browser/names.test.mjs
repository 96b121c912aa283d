// Everyone in a room is visible by name: a participant without media still
// gets a named tile on every page, and names that would render as nothing
// or reorder text are rejected by the join page and by the server.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/names.test.mjs'

import assert from 'node:assert/strict';
import { test } from 'node:test';

import WebSocket from 'ws';

import {
  WAIT_TIMEOUT_MS,
  createRoom,
  describePage,
  joinCall,
  joinWithSocket,
  linkToken,
  openJoinPage,
  waitFor,
  waitForPreview,
  withResources,
} from './helpers.mjs';

/** Limit of one whole test: several waits of up to 30 s each, plus start-up. */
const TEST_TIMEOUT_MS = 180_000;

/** Names that render as nothing (zero-width, fillers, blank Braille) or reorder text. */
const REJECTED_NAMES = ['\u200B', '\u3164\u3164', '\u2800', '\u200B\u2060\uFE0F', '\u0301', 'Anna\u202Ekeb', '\u2067Ben'];

/** Returns the sorted names on the remote tiles of `page`. */
async function remoteNames(page) {
  const names = await page.locator('.tile-remote:visible .tile-name').allTextContents();
  return names.map((name) => name.trim()).sort();
}

/** Waits until the remote tiles of `page` carry exactly `expected` names. */
async function waitForRemoteNames(page, expected) {
  const sortedNames = [...expected].sort();
  await waitFor(async () => JSON.stringify(await remoteNames(page)) === JSON.stringify(sortedNames), {
    description: `remote tiles named ${JSON.stringify(sortedNames)}`,
    diagnose: async () => `remote tiles: ${JSON.stringify(await remoteNames(page))}\n${await describePage(page)}`,
  });
}

/** Sends one `join` on a new socket and returns the server's first reply. */
async function firstReplyToJoin(server, token, name) {
  const socket = new WebSocket(`${server.origin.replace(/^http/, 'ws')}/ws`, { origin: server.origin });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply within ${WAIT_TIMEOUT_MS} ms`)), WAIT_TIMEOUT_MS);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'join', v: 1, token, name })));
      socket.once('message', (data) => {
        clearTimeout(timer);
        resolve(JSON.parse(data.toString()));
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

test('participant without media is shown by name', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('participant without media named', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    await joinCall(anna, room.joinUrl, 'Anna');

    // A socket that joins but ignores every offer: no media, no data channel.
    const silent = await resources.joinWithSocket(server, linkToken(room.joinUrl), 'Stille Teilnehmerin');
    await waitForRemoteNames(anna, ['Stille Teilnehmerin']);

    const carla = await resources.openPage(browser, { label: 'carla' });
    await joinCall(carla, room.joinUrl, 'Carla');
    await waitForRemoteNames(carla, ['Anna', 'Stille Teilnehmerin']);
    await waitForRemoteNames(anna, ['Carla', 'Stille Teilnehmerin']);

    silent.socket.send(JSON.stringify({ type: 'leave' }));
    await waitForRemoteNames(anna, ['Carla']);
    await waitForRemoteNames(carla, ['Anna']);
  });
});

test('invisible and reordering names are rejected', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('invisible names rejected', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const token = linkToken(room.joinUrl);

    for (const name of REJECTED_NAMES) {
      const reply = await firstReplyToJoin(server, token, name);
      assert.equal(reply.type, 'error', `the server rejects ${JSON.stringify(name)}`);
      assert.equal(reply.code, 'invalid-name', `the server rejects ${JSON.stringify(name)} as a name`);
    }
    const { joined } = await joinWithSocket(server, token, 'Zoë 👩\u200D⚕\uFE0F');
    assert.equal(joined.peers.length, 0, 'an ordinary name with a joiner is accepted');

    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { locale: 'de-DE', label: 'invisible' });
    await openJoinPage(page, room.joinUrl);
    await waitForPreview(page);
    for (const name of REJECTED_NAMES) {
      await page.getByTestId('display-name').fill(name);
      await page.getByTestId('join').click();
      const error = page.getByTestId('error');
      await waitFor(async () => (await error.isVisible()) && /nicht erlaubt/.test((await error.textContent()) ?? ''), {
        description: `the join page rejecting ${JSON.stringify(name)}`,
        diagnose: () => describePage(page),
      });
      assert.equal(await page.locator('#call-view').isVisible(), false, 'the page did not enter the call');
    }
  });
});

test('name ends are trimmed', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('name ends trimmed', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const token = linkToken(room.joinUrl);

    // The server trims the name a client sends.
    await resources.joinWithSocket(server, token, '\uFEFF Ben\u200B\u2060');
    const { joined: second } = await resources.joinWithSocket(server, token, 'Carla');
    assert.deepEqual(
      second.peers.map((peer) => peer.name),
      ['Ben'],
    );

    // The join page counts the 64 characters allowed after trimming, so a
    // longest name with a zero-width space pasted after it joins.
    const longest = 'ä'.repeat(64);
    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { locale: 'de-DE', label: 'trimmed' });
    await joinCall(page, room.joinUrl, `\u200B${longest}\u200B`);
    await waitForRemoteNames(page, ['Ben', 'Carla']);
    const { joined: third } = await resources.joinWithSocket(server, token, 'Dana');
    assert.deepEqual(third.peers.map((peer) => peer.name).sort(), ['Ben', 'Carla', longest].sort());
  });
});
