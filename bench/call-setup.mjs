// Call set-up benchmark: time from clicking join on the second page, while the
// first page is already in the call, until both pages have decoded their first
// remote video frame. See bench/README.md for the command and recorded results.
//
// Usage, from the repository root, as root, after `cargo build -p video-local`
// and `npm ci --prefix tests`:
//   unshare -n bash -c 'ip link set lo up && node bench/call-setup.mjs [--runs N]'

import os from 'node:os';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import {
  REPO_ROOT,
  SERVER_BINARY,
  TestResources,
  createRoom,
  decodedVideoFrames,
  describePage,
  joinCall,
  openJoinPage,
  waitFor,
  waitForPreview,
} from '../tests/browser/helpers.mjs';

/** Interval in ms at which each page polls `getStats()`, which bounds the measurement's resolution. */
const POLL_INTERVAL_MS = 5;

/**
 * Starts a poll inside the page that stores in `window.__benchFirstFrameAt`
 * the wall-clock time in ms at which some peer connection first reports a
 * decoded inbound video frame. With `recordJoinClick`, a capturing listener
 * also stores the time of the click on the join button in
 * `window.__benchJoinClickAt`. Times are `performance.timeOrigin +
 * performance.now()`, comparable across the pages of one machine.
 */
async function startFirstFrameWatch(page, { recordJoinClick = false } = {}) {
  await page.evaluate(
    ({ interval, recordJoinClick: recordClick }) => {
      const now = () => performance.timeOrigin + performance.now();
      window.__benchFirstFrameAt = 0;
      if (recordClick) {
        window.__benchJoinClickAt = 0;
        document.addEventListener(
          'click',
          (event) => {
            const target = event.target instanceof Element ? event.target.closest('[data-testid="join"]') : null;
            if (target && window.__benchJoinClickAt === 0) window.__benchJoinClickAt = now();
          },
          { capture: true },
        );
      }
      const poll = async () => {
        const connections = window.__videoCall?.peerConnections;
        for (const pc of connections?.values() ?? []) {
          let decoded = 0;
          try {
            const report = await pc.getStats();
            report.forEach((stats) => {
              if (stats.type === 'inbound-rtp' && stats.kind === 'video') decoded += stats.framesDecoded ?? 0;
            });
          } catch {
            // A peer connection that the client closed meanwhile has no stats, so skip it.
          }
          if (decoded > 0) {
            window.__benchFirstFrameAt = now();
            return;
          }
        }
        setTimeout(poll, interval);
      };
      void poll();
    },
    { interval: POLL_INTERVAL_MS, recordJoinClick },
  );
}

/** Waits for a non-zero value of `window[name]` on the page and returns it. */
async function waitForPageTime(page, name) {
  return waitFor(() => page.evaluate((key) => window[key], name), {
    description: `window.${name} on the page`,
    interval: 20,
    diagnose: async () => `frames decoded per peer: ${JSON.stringify(await decodedVideoFrames(page))}\n${await describePage(page)}`,
  });
}

/**
 * Runs one measurement in fresh browser contexts and a fresh room.
 * Returns the times in ms from the join click to each page's first decoded frame.
 */
async function measureOnce(server, browser, resources, runNumber) {
  const room = await createRoom(server, { title: `Benchmark run ${runNumber}` });
  const first = await resources.openPage(browser, { label: `run-${runNumber}-first` });
  const second = await resources.openPage(browser, { label: `run-${runNumber}-second` });

  try {
    await joinCall(first, room.joinUrl, 'Erste Person');
    await openJoinPage(second, room.joinUrl);
    // The camera start-up is not part of call set-up, so click only once the preview shows a picture.
    await waitForPreview(second);
    await second.getByTestId('display-name').fill('Zweite Person');

    await startFirstFrameWatch(first);
    await startFirstFrameWatch(second, { recordJoinClick: true });
    await second.getByTestId('join').click();

    const clickAt = await waitForPageTime(second, '__benchJoinClickAt');
    const firstPageFrameAt = await waitForPageTime(first, '__benchFirstFrameAt');
    const secondPageFrameAt = await waitForPageTime(second, '__benchFirstFrameAt');
    return {
      first: firstPageFrameAt - clickAt,
      second: secondPageFrameAt - clickAt,
      both: Math.max(firstPageFrameAt, secondPageFrameAt) - clickAt,
    };
  } finally {
    await first.context().close();
    await second.context().close();
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function packageVersion(name) {
  const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'tests/node_modules', name, 'package.json'), 'utf8'));
  return manifest.version;
}

async function main() {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    throw new Error(`--runs must be a whole number from 1 to 50, got ${JSON.stringify(values.runs)}`);
  }

  const resources = new TestResources();
  try {
    const server = await resources.startServer();
    const browser = await resources.launchBrowser();
    const cpus = os.cpus();

    console.log('Call set-up: join click on the second page until both pages decoded a remote video frame');
    console.log(`date:           ${new Date().toISOString()}`);
    console.log(`cpu:            ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} logical cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`);
    console.log(`os:             ${os.type()} ${os.release()}`);
    console.log(`chromium:       ${browser.version()} (headless, fake camera and microphone)`);
    console.log(`node:           ${process.version}, playwright-core ${await packageVersion('playwright-core')}`);
    console.log(`server:         ${path.relative(REPO_ROOT, SERVER_BINARY)} at ${server.origin}`);
    console.log(`poll interval:  ${POLL_INTERVAL_MS} ms (getStats inside each page)`);
    console.log('');

    const totals = [];
    for (let run = 1; run <= runs; run += 1) {
      const result = await measureOnce(server, browser, resources, run);
      totals.push(result.both);
      console.log(
        `run ${run}: ${result.both.toFixed(0)} ms (first page ${result.first.toFixed(0)} ms, second page ${result.second.toFixed(0)} ms)`,
      );
    }
    console.log('');
    console.log(`median: ${median(totals).toFixed(0)} ms over ${runs} runs (min ${Math.min(...totals).toFixed(0)}, max ${Math.max(...totals).toFixed(0)})`);
  } finally {
    await resources.close();
  }
}

try {
  await main();
} catch (error) {
  console.error(`call-setup benchmark failed: ${error.stack ?? error}`);
  process.exitCode = 1;
}
