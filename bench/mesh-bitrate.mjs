// Mesh bitrate benchmark: 8 Chromium pages in one call, each sending one video
// stream per peer. It measures each page's total outbound video bitrate
// against the client's upload budget (TOTAL_VIDEO_BITRATE in web/js/call.js),
// then lets pages leave one by one down to 2 and measures again after each
// departure, when the per-peer cap has risen. See bench/README.md.
//
// Usage, from the repository root, as root, after `cargo build -p video-local`
// and `npm ci --prefix tests`:
//   unshare -n bash -c 'ip link set lo up && node bench/mesh-bitrate.mjs [--warm-up S] [--window S] [--video WxH@FPS]'

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import {
  TestResources,
  createRoom,
  describePage,
  joinCall,
  waitFor,
  waitForDecodedVideo,
  waitForState,
} from '../tests/browser/helpers.mjs';
import {
  describeRun,
  describeVideoFormat,
  launchBenchBrowser,
  limitCameraFormat,
  loadAverages,
  median,
  parseVideoFormat,
  writeNoiseVideo,
} from './chromium.mjs';

/** Participants at the start, the server's limit (MAX_PARTICIPANTS in shared/src/room.rs). */
const FULL_ROOM = 8;

/** Participants left after the last departure. */
const SMALLEST_CALL = 2;

/** Length in s of the noise video, which the fake camera plays in a loop. */
const NOISE_SECONDS = 5;

/**
 * Share by which a page's average over the window may exceed the budget and
 * still count as within it. An encoder's rate control meets its target only
 * on average, so a window can end a little above the cap. The 5% is a chosen
 * margin, not a figure from libwebrtc, and the output prints the excess either way.
 */
const BUDGET_TOLERANCE = 0.05;

/** Limit in ms of the waits for joining and for the caps after a departure, which take long on 2 busy cores. */
const WAIT_TIMEOUT_MS = 120_000;

const USAGE = `Usage: node bench/mesh-bitrate.mjs [options]
  --warm-up S     seconds between a change of participants and the measurement, for the
                  bandwidth estimate to settle (default 10)
  --window S      seconds over which bytesSent is measured (default 10)
  --video FORMAT  format WIDTHxHEIGHT@FPS of the noise video the fake camera plays,
                  with even dimensions (default 320x240@10)`;

/**
 * Returns, for each peer connection of the page, the video sender's cap and
 * its `outbound-rtp` statistics.
 *
 * @param {import('playwright-core').Page} page
 */
async function readOutboundVideo(page) {
  return page.evaluate(async () => {
    const streams = [];
    for (const [peerId, pc] of window.__videoCall.peerConnections) {
      const sender = pc.getSenders().find((candidate) => candidate.track?.kind === 'video');
      const stream = { peerId, connectionState: pc.connectionState, maxBitrate: null, outbound: null };
      if (sender) {
        stream.maxBitrate = sender.getParameters().encodings?.[0]?.maxBitrate ?? null;
        const report = await sender.getStats();
        report.forEach((stats) => {
          if (stats.type !== 'outbound-rtp' || stats.kind !== 'video') return;
          stream.outbound = {
            ssrc: stats.ssrc,
            timestamp: stats.timestamp,
            bytesSent: stats.bytesSent ?? 0,
            headerBytesSent: stats.headerBytesSent ?? 0,
            targetBitrate: stats.targetBitrate ?? null,
            framesPerSecond: stats.framesPerSecond ?? 0,
            frameSize: stats.frameWidth ? `${stats.frameWidth}x${stats.frameHeight}` : '',
            qualityLimitationReason: stats.qualityLimitationReason ?? '',
          };
        });
      }
      streams.push(stream);
    }
    return streams;
  });
}

/**
 * Computes a page's outbound video over the window between two readings.
 * A stream counts only when its SSRC is in both, so a connection replaced
 * during the window is left out and reported as such.
 */
function summarizePage(before, after) {
  const streamBitrates = [];
  let total = 0;
  let totalWithHeaders = 0;
  let unmatched = 0;
  for (const stream of after) {
    const earlier = before.find((candidate) => candidate.peerId === stream.peerId);
    if (!stream.outbound || earlier?.outbound?.ssrc !== stream.outbound.ssrc) {
      unmatched += 1;
      continue;
    }
    const seconds = (stream.outbound.timestamp - earlier.outbound.timestamp) / 1000;
    const payloadBits = (stream.outbound.bytesSent - earlier.outbound.bytesSent) * 8;
    const headerBits = (stream.outbound.headerBytesSent - earlier.outbound.headerBytesSent) * 8;
    streamBitrates.push(payloadBits / seconds);
    total += payloadBits / seconds;
    totalWithHeaders += (payloadBits + headerBits) / seconds;
  }
  const outbound = after.map((stream) => stream.outbound).filter(Boolean);
  return {
    streams: after.length,
    unmatched,
    total,
    totalWithHeaders,
    streamBitrates,
    caps: after.map((stream) => stream.maxBitrate),
    targetSum: outbound.reduce((sum, stats) => sum + (stats.targetBitrate ?? 0), 0),
    framesPerSecond: outbound.map((stats) => stats.framesPerSecond),
    frameSizes: outbound.map((stats) => stats.frameSize),
    limitations: outbound.map((stats) => stats.qualityLimitationReason),
  };
}

/** Waits until every page has `peers` connected peer connections whose video sender has `cap` as its maxBitrate. */
async function waitForCaps(pages, peers, cap) {
  await Promise.all(
    pages.map((page) =>
      waitFor(
        async () => {
          const streams = await readOutboundVideo(page);
          return (
            streams.length === peers &&
            streams.every((stream) => stream.connectionState === 'connected' && stream.maxBitrate === cap)
          );
        },
        {
          description: `${peers} connected peer(s) with a video cap of ${cap} bit/s`,
          timeout: WAIT_TIMEOUT_MS,
          interval: 250,
          diagnose: async () => `streams: ${JSON.stringify(await readOutboundVideo(page))}\n${await describePage(page)}`,
        },
      ),
    ),
  );
}

/** Counts each distinct value, such as "none 40, bandwidth 2". */
function countValues(values) {
  const counts = new Map();
  for (const value of values) counts.set(value || '-', (counts.get(value || '-') ?? 0) + 1);
  return [...counts].map(([value, count]) => `${value} ${count}`).join(', ');
}

const kbit = (bitsPerSecond) => (bitsPerSecond / 1000).toFixed(0);

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'warm-up': { type: 'string', default: '10' },
        window: { type: 'string', default: '10' },
        video: { type: 'string', default: '320x240@10' },
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
  const warmUp = Number(values['warm-up']);
  const window = Number(values.window);
  if (!(warmUp >= 0 && warmUp <= 300)) throw new Error(`--warm-up must be 0 to 300 seconds, got ${JSON.stringify(values['warm-up'])}`);
  if (!(window >= 1 && window <= 300)) throw new Error(`--window must be 1 to 300 seconds, got ${JSON.stringify(values.window)}`);
  const video = parseVideoFormat(values.video);
  if (!video) throw new Error('--video must give a format for the noise video, "client" is not possible here');
  return { warmUp, window, video };
}

/** Joins `FULL_ROOM` pages one after the other and waits until each decodes all others. */
async function fillRoom({ server, browser, resources, video }) {
  const room = await createRoom(server, { title: 'Mesh bitrate benchmark' });
  const pages = [];
  for (let index = 0; index < FULL_ROOM; index += 1) {
    const page = await resources.openPage(browser, { label: `page-${index + 1}` });
    await limitCameraFormat(page, video);
    await joinCall(page, room.joinUrl, `Person ${index + 1}`);
    pages.push(page);
  }
  await Promise.all(pages.map((page) => waitForDecodedVideo(page, { peerCount: FULL_ROOM - 1, timeout: WAIT_TIMEOUT_MS })));
  return pages;
}

/** Reads the client's own per-peer cap for each call size, from its module `/js/call.js`. */
async function readCaps(page) {
  return page.evaluate(async (sizes) => {
    const { videoBitrateFor } = await import('/js/call.js');
    return Object.fromEntries(sizes.map((size) => [size, videoBitrateFor(size)]));
  }, Array.from({ length: FULL_ROOM - 1 }, (_, index) => index + 2));
}

async function main() {
  const { warmUp, window, video } = parseOptions();
  const resources = new TestResources();
  const videoDir = await mkdtemp(path.join(tmpdir(), 'mesh-bitrate-'));
  let browser;
  try {
    const videoFile = path.join(videoDir, 'noise.y4m');
    await writeNoiseVideo(videoFile, { ...video, frames: video.frameRate * NOISE_SECONDS });
    const server = await resources.startServer();
    browser = await launchBenchBrowser({ videoFile });

    console.log(`Mesh bitrate: outbound video per page with ${FULL_ROOM} down to ${SMALLEST_CALL} participants`);
    for (const line of await describeRun(browser, server)) console.log(line);
    console.log(`camera:         random noise, ${describeVideoFormat(video)}, a ${NOISE_SECONDS}-s loop`);
    console.log(`measurement:    ${warmUp} s warm-up after each change, then bytesSent over ${window} s`);

    const pages = await fillRoom({ server, browser, resources, video });
    const caps = await readCaps(pages[0]);
    // One peer gets the whole budget, unless MIN_VIDEO_BITRATE is above it.
    const budget = caps[2];
    console.log(`budget:         ${kbit(budget)} kbit/s per page (videoBitrateFor(2) in web/js/call.js)`);
    console.log('');
    console.log('bit rates in kbit/s; payload = outbound-rtp bytesSent, without RTP headers and padding');
    console.log('| participants | per-peer cap | caps on senders | page total median | min | max | max / budget | max with headers | per-stream median | targetBitrate sum median | encoded frames/s median | frame sizes | qualityLimitationReason |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');

    const rows = [];
    for (let participants = FULL_ROOM; participants >= SMALLEST_CALL; participants -= 1) {
      const cap = caps[participants];
      await waitForCaps(pages, participants - 1, cap);
      await sleep(warmUp * 1000);
      const before = await Promise.all(pages.map(readOutboundVideo));
      await sleep(window * 1000);
      const after = await Promise.all(pages.map(readOutboundVideo));
      const summaries = pages.map((_, index) => summarizePage(before[index], after[index]));

      const totals = summaries.map((summary) => summary.total);
      const setCaps = summaries.flatMap((summary) => summary.caps);
      const row = {
        participants,
        cap,
        totalMedian: median(totals),
        totalMax: Math.max(...totals),
        streamMedian: median(summaries.flatMap((summary) => summary.streamBitrates)),
        unmatched: summaries.reduce((sum, summary) => sum + summary.unmatched, 0),
      };
      rows.push(row);
      console.log(
        `| ${participants} | ${kbit(cap)} | ${kbit(Math.min(...setCaps))}–${kbit(Math.max(...setCaps))} | ${kbit(row.totalMedian)} | ${kbit(Math.min(...totals))} | ${kbit(row.totalMax)} | ${(row.totalMax / budget).toFixed(3)} | ${kbit(Math.max(...summaries.map((summary) => summary.totalWithHeaders)))} | ${kbit(row.streamMedian)} | ${kbit(median(summaries.map((summary) => summary.targetSum)))} | ${median(summaries.flatMap((summary) => summary.framesPerSecond)).toFixed(1)} | ${countValues(summaries.flatMap((summary) => summary.frameSizes))} | ${countValues(summaries.flatMap((summary) => summary.limitations))} |`,
      );
      if (row.unmatched > 0) console.log(`  ${row.unmatched} stream(s) changed SSRC or had no statistics during the window and are left out`);

      if (participants > SMALLEST_CALL) {
        // The page that joined last leaves through its button, as a person would, then closes.
        const leaving = pages.pop();
        await leaving.getByTestId('leave').click();
        await waitForState(leaving, 'left');
        await leaving.context().close();
      }
    }

    console.log('');
    const worst = rows.reduce((max, row) => (row.totalMax > max.totalMax ? row : max));
    const withinBudget = worst.totalMax <= budget * (1 + BUDGET_TOLERANCE);
    console.log(
      `within budget:  ${withinBudget ? 'yes' : 'NO'}, the highest page total was ${kbit(worst.totalMax)} kbit/s with ${worst.participants} participants (${((worst.totalMax / budget - 1) * 100).toFixed(1)}% against ${kbit(budget)}, tolerance ${BUDGET_TOLERANCE * 100}%)`,
    );
    const streamsGrew = rows.every((row, index) => index === 0 || row.streamMedian > rows[index - 1].streamMedian);
    console.log(
      `grows back:     per-stream median ${rows.map((row) => kbit(row.streamMedian)).join(' -> ')} kbit/s from ${FULL_ROOM} to ${SMALLEST_CALL} participants (${streamsGrew ? 'rose after every departure' : 'did NOT rise after every departure'}), page total median ${kbit(rows[0].totalMedian)} -> ${kbit(rows[rows.length - 1].totalMedian)} kbit/s`,
    );
    console.log(`load average:   ${loadAverages()} (1, 5, 15 min) at the end`);
  } finally {
    await browser?.close();
    await resources.close();
    await rm(videoDir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  console.error(`mesh-bitrate benchmark failed: ${error.stack ?? error}`);
  process.exitCode = 1;
}
