// End-to-end test of the call time that the rooms API reports as `callSeconds`:
// the local server and two participants in headless Chromium. The server counts
// the time during which at least two participants are connected, so the test
// compares that number with bounds taken from its own clock.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test --test-concurrency=1 tests/browser/overview.test.mjs'

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { createRoom, getRoom, joinCall, waitForDecodedVideo, waitForRemoteVideoCount, waitForState, withResources } from './helpers.mjs';

/** Limit of the whole test. A run takes well under a minute, but each wait in helpers.mjs may take up to 30 s. */
const TEST_TIMEOUT_MS = 120_000;

/** How long one participant stays alone before the check that no call time accrues. */
const ALONE_MS = 2_000;

/** How long the first and the second stretch of call last after both sides decode video. */
const FIRST_HOLD_MS = 3_000;
const SECOND_HOLD_MS = 2_000;

/**
 * Pause after the remaining participant saw the other one leave. The server
 * announces the departure first and stores the end of the stretch afterwards,
 * so a read right after the announcement could still see the stretch running.
 */
const STORE_SETTLE_MS = 300;

/**
 * Slack in seconds on the upper bounds, which come from the test's clock. The
 * server truncates each stretch to whole seconds, so this covers only clock
 * steps between the test process and the server.
 */
const CLOCK_SLACK_SECONDS = 1;

/** Whole seconds from `from` to `to`, both from `Date.now()`, rounded down. */
function wholeSecondsBetween(from, to) {
  return Math.floor((to - from) / 1000);
}

/**
 * Asserts that `callSeconds` lies within [min, max] and names the step in the message.
 *
 * @param {number} callSeconds
 * @param {{ min: number, max: number, step: string }} bounds
 */
function assertCallSecondsWithin(callSeconds, { min, max, step }) {
  assert.equal(Number.isInteger(callSeconds), true, `${step}: callSeconds is ${callSeconds}, expected an integer`);
  assert.ok(callSeconds >= min, `${step}: callSeconds is ${callSeconds}, expected at least ${min}`);
  assert.ok(callSeconds <= max, `${step}: callSeconds is ${callSeconds}, expected at most ${max.toFixed(2)}`);
}

/**
 * Joins `guest` to the call that `host` is in, keeps the call running for
 * `holdMs` after both decode video, checks the running count, and makes `guest` leave
 * with the leave button. Returns the test's timestamps around the stretch:
 * `joinStartedAt` is before the stretch began on the server, `connectedAt` and
 * `leaveClickedAt` lie within it.
 *
 * @param {{ server: import('./helpers.mjs').TestServer, room: { id: string, joinUrl: string },
 *   host: import('playwright-core').Page, guest: import('playwright-core').Page, guestName: string,
 *   holdMs: number, secondsBefore: number, step: string }} options
 */
async function holdStretch({ server, room, host, guest, guestName, holdMs, secondsBefore, step }) {
  const joinStartedAt = Date.now();
  await joinCall(guest, room.joinUrl, guestName);
  await waitForDecodedVideo(host);
  await waitForDecodedVideo(guest);
  const connectedAt = Date.now();

  await sleep(holdMs);

  // A running call counts up to the time of the request.
  const readStartedAt = Date.now();
  const running = await getRoom(server, room.id);
  const readEndedAt = Date.now();
  assert.equal(running.status, 'today', `${step}: status during the call`);
  assertCallSecondsWithin(running.callSeconds, {
    min: secondsBefore + wholeSecondsBetween(connectedAt, readStartedAt),
    max: secondsBefore + (readEndedAt - joinStartedAt) / 1000 + CLOCK_SLACK_SECONDS,
    step: `${step}, call running`,
  });

  const leaveClickedAt = Date.now();
  await guest.getByTestId('leave').click();
  await waitForState(guest, 'left');
  await waitForRemoteVideoCount(host, 0);
  await sleep(STORE_SETTLE_MS);
  return { joinStartedAt, connectedAt, leaveClickedAt };
}

test('call time counts two or more participants', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('call time counted', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server, { title: 'Call time' });
    const idleRoom = await createRoom(server, { title: 'Nobody joins' });

    // 1. Before anyone joins.
    const fresh = await getRoom(server, room.id);
    assert.equal(fresh.status, 'today', 'status of a room for today');
    assert.equal(fresh.callSeconds, 0, 'callSeconds before anyone joined');
    const idleFresh = await getRoom(server, idleRoom.id);
    assert.equal(idleFresh.callSeconds, 0, 'callSeconds of the idle room at the start');

    // 2. Anna alone is no call.
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    await joinCall(anna, room.joinUrl, 'Anna');
    await sleep(ALONE_MS);
    const annaAlone = await getRoom(server, room.id);
    assert.equal(annaAlone.status, 'today', 'status while Anna is alone');
    assert.equal(annaAlone.callSeconds, 0, `callSeconds after Anna was alone for ${ALONE_MS} ms`);

    // 3. First stretch: Ben joins, the call is held, Ben leaves.
    const first = await holdStretch({
      server,
      room,
      host: anna,
      guest: ben,
      guestName: 'Ben',
      holdMs: FIRST_HOLD_MS,
      secondsBefore: 0,
      step: 'first stretch',
    });
    const afterFirst = await getRoom(server, room.id);
    const afterFirstReadAt = Date.now();
    const firstMin = wholeSecondsBetween(first.connectedAt, first.leaveClickedAt);
    assert.ok(firstMin >= FIRST_HOLD_MS / 1000, `the test held the first stretch ${firstMin} s, expected at least ${FIRST_HOLD_MS} ms`);
    assertCallSecondsWithin(afterFirst.callSeconds, {
      min: firstMin,
      max: (afterFirstReadAt - first.joinStartedAt) / 1000 + CLOCK_SLACK_SECONDS,
      step: 'after Ben left',
    });

    // 4. Anna alone again: the count does not grow.
    await sleep(ALONE_MS);
    const annaAgainAlone = await getRoom(server, room.id);
    assert.equal(
      annaAgainAlone.callSeconds,
      afterFirst.callSeconds,
      `callSeconds after Anna was alone again for ${ALONE_MS} ms`,
    );

    // 5. Second stretch: Ben rejoins from a new page, then both leave.
    const benAgain = await resources.openPage(browser, { label: 'ben-rejoined' });
    const second = await holdStretch({
      server,
      room,
      host: anna,
      guest: benAgain,
      guestName: 'Ben',
      holdMs: SECOND_HOLD_MS,
      secondsBefore: afterFirst.callSeconds,
      step: 'second stretch',
    });
    await anna.getByTestId('leave').click();
    await waitForState(anna, 'left');
    const total = await getRoom(server, room.id);
    const totalReadAt = Date.now();
    const secondMin = wholeSecondsBetween(second.connectedAt, second.leaveClickedAt);
    assert.ok(secondMin >= SECOND_HOLD_MS / 1000, `the test held the second stretch ${secondMin} s, expected at least ${SECOND_HOLD_MS} ms`);
    assertCallSecondsWithin(total.callSeconds, {
      min: afterFirst.callSeconds + secondMin,
      max: afterFirst.callSeconds + (totalReadAt - second.joinStartedAt) / 1000 + CLOCK_SLACK_SECONDS,
      step: 'after both left',
    });
    assert.equal(total.status, 'today', 'status after the calls, still on the room\'s day');

    // An empty room keeps its total.
    await sleep(ALONE_MS);
    const emptyLater = await getRoom(server, room.id);
    assert.equal(emptyLater.callSeconds, total.callSeconds, `callSeconds after the room was empty for ${ALONE_MS} ms`);

    // The other room saw no participant at all.
    const idleLater = await getRoom(server, idleRoom.id);
    assert.equal(idleLater.status, 'today', 'status of the idle room');
    assert.equal(idleLater.callSeconds, 0, 'callSeconds of the idle room at the end');
  });
});
