// Call set-up benchmark: time from clicking join until the pages of a call
// decode each other's video, for 2 pages and for a full room of 8. See
// bench/README.md for the cases, the command and what the numbers cover, and
// docs/benchmarks.md for recorded results.
//
// Usage, from the repository root, as root, after `cargo build -p video-local`
// and `npm ci --prefix tests`:
//   unshare -n bash -c 'ip link set lo up && node bench/call-setup.mjs [--runs N] [--cases LIST] [--video WxH@FPS]'

import { parseArgs } from 'node:util';

import {
  TestResources,
  createRoom,
  decodedVideoFrames,
  describePage,
  joinCall,
  openJoinPage,
  waitFor,
  waitForDecodedVideo,
  waitForPreview,
} from '../tests/browser/helpers.mjs';
import {
  describeRun,
  describeVideoFormat,
  launchBenchBrowser,
  limitCameraFormat,
  loadAverages,
  median,
  parseVideoFormat,
} from './chromium.mjs';

/** Participants of a full room, the server's limit (MAX_PARTICIPANTS in shared/src/room.rs). */
const FULL_ROOM = 8;

/** Interval in ms at which each page of a 2-page run polls `getStats()`. */
const POLL_INTERVAL_TWO_MS = 5;

/**
 * Interval in ms at which each page of an 8-page run polls `getStats()`.
 * Longer than for 2 pages, because 8 pages polling up to 7 connections every
 * 5 ms would take CPU time from the call being measured.
 */
const POLL_INTERVAL_FULL_MS = 25;

/** Time in ms from scheduling the simultaneous clicks to the clicks, so that every page has set its timer by then. */
const TOGETHER_CLICK_DELAY_MS = 1_000;

/** Limit in ms of each wait in an 8-page run, because set-up on 2 busy cores can take many seconds. */
const FULL_ROOM_TIMEOUT_MS = 120_000;

const CASES = ['2', '8-last', '8-together'];

const USAGE = `Usage: node bench/call-setup.mjs [options]
  --runs N        runs per case, 1 to 50 (default 5)
  --cases LIST    comma-separated cases out of ${CASES.join(',')} (default all)
  --video FORMAT  camera format WIDTHxHEIGHT@FPS that every page requests, or "client"
                  for the client's own 1280x720 at 30 frames/s (default 320x240@15)`;

/**
 * Starts a poll inside the page that stores, per remote peer id, the
 * wall-clock time in ms at which its peer connection first reports a decoded
 * inbound video frame, in `window.__benchFirstFrameAt`. Only connections
 * without a decoded frame yet are polled, and the poll stops once
 * `expectedPeers` have one. A capturing listener stores the time of the click
 * on the join button in `window.__benchJoinClickAt`. Times are
 * `performance.timeOrigin + performance.now()`, comparable across the pages
 * of one machine.
 *
 * @param {import('playwright-core').Page} page
 * @param {{ expectedPeers: number, interval: number }} options
 */
async function startDecodeWatch(page, { expectedPeers, interval }) {
  await page.evaluate(
    ({ expectedPeers: expected, interval: pollInterval }) => {
      const now = () => performance.timeOrigin + performance.now();
      const firstFrameAt = {};
      window.__benchFirstFrameAt = firstFrameAt;
      window.__benchJoinClickAt = 0;
      document.addEventListener(
        'click',
        (event) => {
          const target = event.target instanceof Element ? event.target.closest('[data-testid="join"]') : null;
          if (target && window.__benchJoinClickAt === 0) window.__benchJoinClickAt = now();
        },
        { capture: true },
      );

      const decodedFrames = async (pc) => {
        let decoded = 0;
        for (const receiver of pc.getReceivers()) {
          if (receiver.track?.kind !== 'video') continue;
          const report = await receiver.getStats();
          report.forEach((stats) => {
            if (stats.type === 'inbound-rtp' && stats.kind === 'video') decoded += stats.framesDecoded ?? 0;
          });
        }
        return decoded;
      };
      const poll = async () => {
        for (const [peerId, pc] of window.__videoCall?.peerConnections ?? []) {
          if (firstFrameAt[peerId]) continue;
          try {
            if ((await decodedFrames(pc)) > 0) firstFrameAt[peerId] = now();
          } catch {
            // A peer connection that the client closed meanwhile has no stats, so skip it.
          }
        }
        if (Object.keys(firstFrameAt).length < expected) setTimeout(poll, pollInterval);
      };
      void poll();
    },
    { expectedPeers, interval },
  );
}

/**
 * Waits until the page has decoded video from `expectedPeers` peers and
 * returns the time of the first frame per peer id.
 *
 * @returns {Promise<Record<string, number>>}
 */
async function waitForFirstFrames(page, expectedPeers, timeout) {
  return waitFor(
    () =>
      page.evaluate((expected) => {
        const times = window.__benchFirstFrameAt ?? {};
        return Object.keys(times).length >= expected ? times : null;
      }, expectedPeers),
    {
      description: `decoded video from ${expectedPeers} peer(s)`,
      timeout,
      interval: 50,
      diagnose: async () => `frames decoded per peer: ${JSON.stringify(await decodedVideoFrames(page))}\n${await describePage(page)}`,
    },
  );
}

/** Waits for the page's recorded join click and returns its time. */
async function waitForJoinClick(page) {
  return waitFor(() => page.evaluate(() => window.__benchJoinClickAt), {
    description: 'the recorded click on the join button',
    interval: 20,
    diagnose: () => describePage(page),
  });
}

/** Opens a page with the benchmark's camera format. */
async function openBenchPage(browser, resources, video, label) {
  const page = await resources.openPage(browser, { label });
  await limitCameraFormat(page, video);
  return page;
}

/** Opens the join link, waits for the camera preview and enters a name, so that only the click is left. */
async function prepareToJoin(page, joinUrl, name) {
  await openJoinPage(page, joinUrl);
  // The camera start-up is not part of call set-up, so click only once the preview shows a picture.
  await waitForPreview(page);
  await page.getByTestId('display-name').fill(name);
}

/** Returns the time at which the page had decoded video from every peer: the latest of its first frames. */
function latestFrame(firstFrames) {
  return Math.max(...Object.values(firstFrames));
}

async function closePages(pages) {
  for (const page of pages) await page.context().close();
}

/**
 * 2 pages: the first page is in the call, the second clicks join. Returns ms
 * from that click to each page's first decoded remote frame.
 */
async function measureTwoPages({ server, browser, resources, video, run }) {
  const room = await createRoom(server, { title: `Benchmark 2 pages, run ${run}` });
  const first = await openBenchPage(browser, resources, video, `2-run-${run}-first`);
  const second = await openBenchPage(browser, resources, video, `2-run-${run}-second`);
  try {
    await joinCall(first, room.joinUrl, 'Erste Person');
    await prepareToJoin(second, room.joinUrl, 'Zweite Person');

    const watch = { expectedPeers: 1, interval: POLL_INTERVAL_TWO_MS };
    await startDecodeWatch(first, watch);
    await startDecodeWatch(second, watch);
    await second.getByTestId('join').click();

    const clickAt = await waitForJoinClick(second);
    const firstPageAt = latestFrame(await waitForFirstFrames(first, 1));
    const secondPageAt = latestFrame(await waitForFirstFrames(second, 1));
    return {
      total: Math.max(firstPageAt, secondPageAt) - clickAt,
      details: `first page ${(firstPageAt - clickAt).toFixed(0)} ms, second page ${(secondPageAt - clickAt).toFixed(0)} ms`,
    };
  } finally {
    await closePages([first, second]);
  }
}

/**
 * 8 pages, the last one joining: 7 pages join one after the other and wait
 * until each decodes the 6 others, then the 8th clicks join. Returns ms from
 * that click until every page decoded every other page, which here means
 * until the newcomer decoded the 7 others and the 7 others decoded it.
 */
async function measureLastJoining({ server, browser, resources, video, run }) {
  const room = await createRoom(server, { title: `Benchmark 8 pages, last joining, run ${run}` });
  const pages = [];
  try {
    for (let index = 0; index < FULL_ROOM; index += 1) {
      pages.push(await openBenchPage(browser, resources, video, `8-last-run-${run}-page-${index + 1}`));
    }
    const [newcomer, ...present] = [pages[FULL_ROOM - 1], ...pages.slice(0, FULL_ROOM - 1)];
    for (const [index, page] of present.entries()) await joinCall(page, room.joinUrl, `Person ${index + 1}`);
    await Promise.all(
      present.map((page) => waitForDecodedVideo(page, { peerCount: FULL_ROOM - 2, timeout: FULL_ROOM_TIMEOUT_MS })),
    );
    await prepareToJoin(newcomer, room.joinUrl, `Person ${FULL_ROOM}`);

    const watch = { expectedPeers: FULL_ROOM - 1, interval: POLL_INTERVAL_FULL_MS };
    await Promise.all(pages.map((page) => startDecodeWatch(page, watch)));
    await newcomer.getByTestId('join').click();

    const clickAt = await waitForJoinClick(newcomer);
    const doneAt = await Promise.all(
      pages.map(async (page) => latestFrame(await waitForFirstFrames(page, FULL_ROOM - 1, FULL_ROOM_TIMEOUT_MS))),
    );
    const newcomerAt = doneAt[FULL_ROOM - 1];
    const slowestPresentAt = Math.max(...doneAt.slice(0, FULL_ROOM - 1));
    return {
      total: Math.max(...doneAt) - clickAt,
      details: `newcomer decoded all ${FULL_ROOM - 1} after ${(newcomerAt - clickAt).toFixed(0)} ms, the last of the others decoded the newcomer after ${(slowestPresentAt - clickAt).toFixed(0)} ms`,
    };
  } finally {
    await closePages(pages);
  }
}

/**
 * 8 pages joining together: all pages wait on the join form with a camera
 * picture, then each clicks join at the same scheduled wall-clock time,
 * through a timer inside the page. Returns ms from the earliest click until
 * every page decoded every other page.
 */
async function measureTogether({ server, browser, resources, video, run }) {
  const room = await createRoom(server, { title: `Benchmark 8 pages together, run ${run}` });
  const pages = [];
  try {
    for (let index = 0; index < FULL_ROOM; index += 1) {
      pages.push(await openBenchPage(browser, resources, video, `8-together-run-${run}-page-${index + 1}`));
    }
    for (const [index, page] of pages.entries()) await prepareToJoin(page, room.joinUrl, `Person ${index + 1}`);

    const watch = { expectedPeers: FULL_ROOM - 1, interval: POLL_INTERVAL_FULL_MS };
    await Promise.all(pages.map((page) => startDecodeWatch(page, watch)));
    const clickTime = Date.now() + TOGETHER_CLICK_DELAY_MS;
    await Promise.all(
      pages.map((page) =>
        page.evaluate((at) => {
          const delay = at - (performance.timeOrigin + performance.now());
          setTimeout(() => document.querySelector('[data-testid="join"]')?.click(), Math.max(0, delay));
        }, clickTime),
      ),
    );

    const clicks = await Promise.all(pages.map(waitForJoinClick));
    const doneAt = await Promise.all(
      pages.map(async (page) => latestFrame(await waitForFirstFrames(page, FULL_ROOM - 1, FULL_ROOM_TIMEOUT_MS))),
    );
    const firstClick = Math.min(...clicks);
    return {
      total: Math.max(...doneAt) - firstClick,
      details: `clicks within ${(Math.max(...clicks) - firstClick).toFixed(0)} ms, first page done after ${(Math.min(...doneAt) - firstClick).toFixed(0)} ms`,
    };
  } finally {
    await closePages(pages);
  }
}

const MEASURES = {
  '2': {
    title: '2 pages: join click on the second page until both pages decoded a remote video frame',
    poll: POLL_INTERVAL_TWO_MS,
    measure: measureTwoPages,
  },
  '8-last': {
    title: `${FULL_ROOM} pages, last joining: join click on page ${FULL_ROOM} until every page decoded every other page`,
    poll: POLL_INTERVAL_FULL_MS,
    measure: measureLastJoining,
  },
  '8-together': {
    title: `${FULL_ROOM} pages together: earliest of ${FULL_ROOM} simultaneous join clicks until every page decoded every other page`,
    poll: POLL_INTERVAL_FULL_MS,
    measure: measureTogether,
  },
};

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        runs: { type: 'string', default: '5' },
        cases: { type: 'string', default: CASES.join(',') },
        video: { type: 'string', default: '320x240@15' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new Error(`${error.message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    throw new Error(`--runs must be a whole number from 1 to 50, got ${JSON.stringify(values.runs)}`);
  }
  const cases = values.cases.split(',').map((name) => name.trim());
  const unknown = cases.filter((name) => !CASES.includes(name));
  if (unknown.length > 0 || cases.length === 0) {
    throw new Error(`--cases must list some of ${CASES.join(', ')}, got ${JSON.stringify(values.cases)}`);
  }
  return { runs, cases, video: parseVideoFormat(values.video) };
}

async function main() {
  const { runs, cases, video } = parseOptions();
  const resources = new TestResources();
  let browser;
  try {
    const server = await resources.startServer();
    browser = await launchBenchBrowser();

    console.log('Call set-up in Chromium');
    for (const line of await describeRun(browser, server)) console.log(line);
    console.log(`camera:         Chromium's fake test pattern, requested as ${describeVideoFormat(video)}`);
    console.log('');

    const summary = [];
    for (const name of cases) {
      const { title, poll, measure } = MEASURES[name];
      console.log(`${title} (getStats polled every ${poll} ms in each page)`);
      const totals = [];
      for (let run = 1; run <= runs; run += 1) {
        const result = await measure({ server, browser, resources, video, run });
        totals.push(result.total);
        console.log(`  run ${run}: ${result.total.toFixed(0)} ms (${result.details})`);
      }
      const line = `median ${median(totals).toFixed(0)} ms over ${runs} runs (min ${Math.min(...totals).toFixed(0)}, max ${Math.max(...totals).toFixed(0)})`;
      console.log(`  ${line}`);
      console.log('');
      summary.push(`${name.padEnd(12)} ${line}`);
    }
    console.log('Summary');
    for (const line of summary) console.log(`  ${line}`);
    console.log(`load average:   ${loadAverages()} (1, 5, 15 min) at the end`);
  } finally {
    await browser?.close();
    await resources.close();
  }
}

try {
  await main();
} catch (error) {
  console.error(`call-setup benchmark failed: ${error.stack ?? error}`);
  process.exitCode = 1;
}
