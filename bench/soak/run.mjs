// Signaling soak: fills R rooms of the release build of `video-local` with 8
// bare WebSocket participants each, lets every participant send offers,
// answers and ICE candidates to each of its peers at a steady rate for D
// minutes, checks that every signal arrives exactly once and in order, and
// tracks the server's memory. See bench/soak/README.md.
//
// Usage, from the repository root, after `cargo build --release -p video-local`
// and `npm ci --prefix tests`:
//   unshare -n bash -c 'ip link set lo up && node bench/soak/run.mjs [--rooms 50] [--minutes 3] [--rate 2]'

import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { buildSdpPool, candidateLine, randomUfrag } from './payload.mjs';
import { createRoom, daytimeTimeZone, loadAverage, openFileLimit, readProcessUsage, startServer } from './server.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Server binary: the release build, unless `VIDEO_LOCAL_BIN` names another. */
const SERVER_BINARY = process.env.VIDEO_LOCAL_BIN ?? path.join(REPO_ROOT, 'target/release/video-local');

/** Participants per room, the server's room limit, so every room is full. */
const PARTICIPANTS_PER_ROOM = 8;
/** After each description, a sender sends this many candidates to the same peer. */
const CANDIDATES_PER_DESCRIPTION = 5;
const PING_INTERVAL_MS = 30_000;
const SAMPLE_INTERVAL_MS = 10_000;
/** Period of the loop that sends due signals and pings. */
const SCHEDULER_TICK_MS = 5;
/** A participant more than this far behind its schedule skips ahead instead of sending a burst. */
const MAX_SCHEDULE_LAG_MS = 1_000;
/** Memory after this much traffic is the baseline of "memory flat". Runs under 3 minutes use a third of their length. */
const WARM_UP_MS = 60_000;
const ROOMS_JOINED_IN_PARALLEL = 10;
const JOIN_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 15_000;
/** Time after the last expected message in which late duplicates would still be seen. */
const DUPLICATE_GRACE_MS = 1_000;
const LEAVE_TIMEOUT_MS = 10_000;
/** Sampling period of the client's event-loop delay histogram, which its values include. */
const EVENT_LOOP_RESOLUTION_MS = 10;
/**
 * Maximum run length. The server closes sockets at `--max-connection-age`,
 * by default 7200 s, and joins and the drain need a few minutes on top.
 */
const MAX_MINUTES = 110;
/** Examples kept per kind of error for the report. */
const KEPT_EXAMPLES = 3;

const EXIT_FAILED = 1;
const EXIT_SETUP_FAILED = 2;
const EXIT_INTERRUPTED = 130;

const require = createRequire(path.join(REPO_ROOT, 'tests/package.json'));
let WebSocket;
try {
  WebSocket = require('ws');
} catch (error) {
  console.error(`cannot load the npm package ws from tests/node_modules (${error.message}): run "npm ci --prefix tests" first`);
  process.exit(EXIT_SETUP_FAILED);
}

/** A growable list of numbers with percentiles, for latencies in ms. */
class Samples {
  constructor() {
    this.values = new Float64Array(1024);
    this.length = 0;
  }

  push(value) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length] = value;
    this.length += 1;
  }

  /** Returns the nearest-rank percentiles for each fraction in `fractions`, or NaN when empty. */
  percentiles(...fractions) {
    if (this.length === 0) return fractions.map(() => NaN);
    const sorted = this.values.slice(0, this.length).sort();
    return fractions.map((fraction) => sorted[Math.min(this.length - 1, Math.ceil(fraction * this.length) - 1)]);
  }
}

/** Counters of the whole run and of the current sample window. */
const stats = {
  signalsSent: 0,
  descriptionsSent: 0,
  descriptionBytes: 0,
  candidatesSent: 0,
  candidateBytes: 0,
  signalsReceived: 0,
  pingsSent: 0,
  pongsReceived: 0,
  scheduleSkips: 0,
  gcPauses: 0,
  gcPauseMs: 0,
  gcPauseMaxMs: 0,
  latencies: new Samples(),
  window: { sent: 0, received: 0, latencies: new Samples() },
  /** @type {Map<string, { count: number, examples: string[] }>} */
  errors: new Map(),
};

/** Counts one error of kind `kind`, keeping the first few `detail` texts. */
function recordError(kind, detail) {
  let entry = stats.errors.get(kind);
  if (!entry) {
    entry = { count: 0, examples: [] };
    stats.errors.set(kind, entry);
  }
  entry.count += 1;
  if (detail && entry.examples.length < KEPT_EXAMPLES) entry.examples.push(detail);
}

/**
 * Phase of the run, which decides whether a message or close is expected:
 * `joining`, `traffic` (sending and draining), `leaving` (after `leave`) or
 * `stopping` (the server shuts down).
 */
let phase = 'joining';

/** Shared payloads: SDP strings of 3 to 6 KB, built once. */
const sdpPool = buildSdpPool();

/** Index in the participant list of each joined peer id, for the checks of `from` and `to`. */
const indexByPeerId = new Map();

/** One simulated browser: a WebSocket in one room that signals to every other participant. */
class Participant {
  /**
   * @param {number} index position in the list of all participants
   * @param {number} roomIndex
   * @param {number} seat position within the room, from 0
   */
  constructor(index, roomIndex, seat) {
    this.index = index;
    this.roomIndex = roomIndex;
    this.name = `Soak ${roomIndex + 1}.${seat + 1}`;
    this.peerId = '';
    this.socket = null;
    this.ufrag = randomUfrag();
    /**
     * Per other participant: signals sent to it (`sent`, also the last
     * sequence number), the next sequence number expected from it, and the
     * numbers skipped so far that may still arrive late.
     * @type {Map<string, { sent: number, expected: number, missing: Set<number> }>}
     */
    this.peers = new Map();
    this.targets = [];
    this.nextTarget = 0;
    this.nextSignalAt = 0;
    this.nextPingAt = 0;
    this.pingsSent = 0;
    this.pongsReceived = 0;
    this.closeCode = null;
  }

  addPeer(peerId) {
    this.peers.set(peerId, { sent: 0, expected: 1, missing: new Set() });
  }

  /** Opens the socket, sends `join` and resolves once `joined` arrives. */
  join(origin, token) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no "joined" for ${this.name} within ${JOIN_TIMEOUT_MS} ms`)), JOIN_TIMEOUT_MS);
      const fail = (error) => {
        clearTimeout(timer);
        this.socket.terminate();
        reject(error);
      };
      this.socket = new WebSocket(`${origin.replace(/^http/, 'ws')}/ws`, { origin });
      this.socket.once('open', () => this.socket.send(JSON.stringify({ type: 'join', v: 1, token, name: this.name })));
      this.socket.on('message', (data) => {
        let message;
        try {
          message = JSON.parse(data.toString());
        } catch {
          recordError('server message that is not JSON', `${this.name}: ${String(data).slice(0, 120)}`);
          return;
        }
        if (!this.peerId && message.type === 'joined') {
          clearTimeout(timer);
          this.peerId = message.peerId;
          indexByPeerId.set(this.peerId, this.index);
          for (const peer of message.peers) this.addPeer(peer.peerId);
          resolve();
        } else if (!this.peerId && message.type === 'error') {
          fail(new Error(`join as ${this.name} failed: ${message.code}: ${message.message}`));
        } else {
          this.receive(message);
        }
      });
      this.socket.on('error', (error) => {
        if (!this.peerId) fail(new Error(`WebSocket of ${this.name} failed: ${error.message}`));
        else recordError('WebSocket error', `${this.name}: ${error.message}`);
      });
      this.socket.once('close', (code) => {
        this.closeCode = code;
        if (!this.peerId) fail(new Error(`WebSocket of ${this.name} closed with code ${code} before "joined"`));
        else if (phase === 'joining' || phase === 'traffic') recordError('socket closed unexpectedly', `${this.name}: close code ${code}`);
      });
    });
  }

  receive(message) {
    switch (message.type) {
      case 'signal':
        this.receiveSignal(message);
        break;
      case 'pong':
        this.pongsReceived += 1;
        stats.pongsReceived += 1;
        break;
      case 'peer-joined':
        if (phase === 'joining') this.addPeer(message.peerId);
        else recordError('peer-joined after all joins', `${this.name}: ${message.peerId}`);
        break;
      case 'peer-left':
        if (phase !== 'leaving') recordError('peer-left before the end', `${this.name}: ${message.peerId}`);
        break;
      case 'error':
        recordError(`server error "${message.code}"`, `${this.name}: ${message.message}`);
        break;
      default:
        recordError('unexpected message type', `${this.name}: ${JSON.stringify(message).slice(0, 120)}`);
    }
  }

  /** Checks a relayed signal against the sequence number, target and sender in its payload. */
  receiveSignal(message) {
    const receivedAt = performance.now();
    stats.signalsReceived += 1;
    stats.window.received += 1;
    const payload = message.data?.description ?? message.data?.candidate;
    const meta = payload?.soak;
    if (!meta) {
      recordError('signal without sequence number', `${this.name}: ${JSON.stringify(message).slice(0, 120)}`);
      return;
    }
    const text = payload.sdp ?? payload.candidate;
    if (typeof text !== 'string' || text.length !== meta.length) {
      recordError('signal payload altered', `${this.name}: ${meta.length} characters sent, ${text?.length} received`);
    }
    if (meta.to !== this.index) {
      recordError('signal delivered to the wrong peer', `${this.name} got a signal for participant #${meta.to}`);
    }
    if (indexByPeerId.get(message.from) !== meta.from) {
      recordError('signal with wrong "from"', `${this.name}: from ${message.from}, sent by participant #${meta.from}`);
    }
    const peer = this.peers.get(message.from);
    if (!peer) {
      recordError('signal from a peer outside the room', `${this.name}: from ${message.from}`);
      return;
    }
    const latency = receivedAt - meta.sentAt;
    stats.latencies.push(latency);
    stats.window.latencies.push(latency);

    const { seq } = meta;
    if (seq === peer.expected) {
      peer.expected += 1;
    } else if (seq > peer.expected) {
      for (let skipped = peer.expected; skipped < seq; skipped += 1) peer.missing.add(skipped);
      peer.expected = seq + 1;
    } else if (peer.missing.delete(seq)) {
      recordError('signal out of order', `${this.name}: #${seq} from ${message.from} after #${peer.expected - 1}`);
    } else {
      recordError('duplicate signal', `${this.name}: #${seq} from ${message.from} again`);
    }
  }

  /** Sends the next signal, to the next peer in turn: a description, then candidates. */
  sendSignal() {
    const target = this.targets[this.nextTarget];
    this.nextTarget = (this.nextTarget + 1) % this.targets.length;
    const peer = this.peers.get(target);
    peer.sent += 1;

    const isDescription = (peer.sent - 1) % (CANDIDATES_PER_DESCRIPTION + 1) === 0;
    let data;
    if (isDescription) {
      const sdp = sdpPool[Math.floor(Math.random() * sdpPool.length)];
      // The participant with the smaller peer id offers, the other answers.
      const type = this.peerId < target ? 'offer' : 'answer';
      data = { description: { type, sdp, soak: null } };
    } else {
      const candidate = candidateLine(this.ufrag);
      data = { candidate: { candidate, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: this.ufrag, soak: null } };
    }

    // The check fields: sender and target as participant indexes rather than
    // 32-digit peer ids, so that a candidate message stays near browser size.
    const payload = data.description ?? data.candidate;
    payload.soak = {
      from: this.index,
      to: indexByPeerId.get(target),
      seq: peer.sent,
      length: (payload.sdp ?? payload.candidate).length,
      sentAt: Math.round(performance.now() * 1000) / 1000,
    };
    const text = JSON.stringify({ type: 'signal', to: target, data });
    this.socket.send(text);

    stats.signalsSent += 1;
    stats.window.sent += 1;
    if (isDescription) {
      stats.descriptionsSent += 1;
      stats.descriptionBytes += text.length;
    } else {
      stats.candidatesSent += 1;
      stats.candidateBytes += text.length;
    }
  }

  sendPing() {
    this.socket.send('{"type":"ping"}');
    this.pingsSent += 1;
    stats.pingsSent += 1;
  }

  /** Returns the signals sent to this participant that never arrived. */
  lostFrom(sender) {
    const peer = this.peers.get(sender.peerId);
    const sent = sender.peers.get(this.peerId)?.sent ?? 0;
    return peer.missing.size + Math.max(0, sent - (peer.expected - 1));
  }
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rooms: { type: 'string', default: '50' },
      minutes: { type: 'string', default: '3' },
      rate: { type: 'string', default: '2' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'Usage: node bench/soak/run.mjs [--rooms N] [--minutes M] [--rate S]\n' +
        `  --rooms N     rooms, each with ${PARTICIPANTS_PER_ROOM} participants (default 50)\n` +
        `  --minutes M   minutes of signaling traffic, fractions allowed, at most ${MAX_MINUTES} (default 3)\n` +
        '  --rate S      signals per participant per second (default 2)',
    );
    process.exit(0);
  }

  const rooms = Number(values.rooms);
  const minutes = Number(values.minutes);
  const rate = Number(values.rate);
  if (!Number.isInteger(rooms) || rooms < 1) throw new Error(`--rooms must be a positive integer, got "${values.rooms}"`);
  if (!(minutes > 0 && minutes <= MAX_MINUTES)) {
    throw new Error(`--minutes must be above 0 and at most ${MAX_MINUTES} (the server closes sockets after 2 hours), got "${values.minutes}"`);
  }
  if (!(rate > 0 && Number.isFinite(rate))) throw new Error(`--rate must be a positive number of signals per second, got "${values.rate}"`);

  const sockets = rooms * PARTICIPANTS_PER_ROOM;
  const limit = openFileLimit();
  if (sockets + 64 > limit) {
    throw new Error(`${sockets} sockets need more than the open-file limit of ${limit}; raise it with "ulimit -n" or use fewer --rooms`);
  }
  return { rooms, minutes, rate };
}

/** Runs `work` on every item with at most `parallel` at a time. */
async function forEachParallel(items, parallel, work) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

/** Polls `condition` every 50 ms until it is true or `timeoutMs` have passed, and returns whether it became true. */
async function waitUntil(condition, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Sends each participant's due signals and pings until `durationMs` have passed. */
function runTraffic(participants, durationMs, rate) {
  const interval = 1000 / rate;
  const start = performance.now();
  for (const participant of participants) {
    participant.targets = [...participant.peers.keys()];
    participant.nextSignalAt = start + Math.random() * interval;
    participant.nextPingAt = start + Math.random() * PING_INTERVAL_MS;
  }
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - start >= durationMs) {
        clearInterval(timer);
        resolve();
        return;
      }
      for (const participant of participants) {
        if (now - participant.nextSignalAt > MAX_SCHEDULE_LAG_MS) {
          stats.scheduleSkips += 1;
          participant.nextSignalAt = now;
        }
        while (participant.nextSignalAt <= now) {
          participant.sendSignal();
          participant.nextSignalAt += interval;
        }
        if (participant.nextPingAt <= now) {
          participant.sendPing();
          participant.nextPingAt += PING_INTERVAL_MS;
        }
      }
    }, SCHEDULER_TICK_MS);
  });
}

/** Takes memory and CPU samples of the server and prints one table row each. */
class Sampler {
  constructor(serverPid, trafficStart) {
    this.serverPid = serverPid;
    this.trafficStart = trafficStart;
    this.rows = [];
    this.previous = { at: performance.now(), serverCpu: readProcessUsage(serverPid).cpuSeconds, clientCpu: process.cpuUsage() };
  }

  static printHeader() {
    console.log('');
    console.log('  time  phase       VmRSS MiB  VmHWM MiB  server CPU  client CPU  load 1m  sent/s  relayed/s  p50 ms  p99 ms');
  }

  /** Samples now, prints the row under `label` and returns it. */
  take(label) {
    const now = performance.now();
    const usage = readProcessUsage(this.serverPid);
    const clientCpu = process.cpuUsage();
    // The first sample has no interval before it, so its rates stay empty.
    const elapsed = (now - this.previous.at) / 1000;
    const seconds = elapsed >= 1 ? elapsed : NaN;
    const clientSeconds = (clientCpu.user + clientCpu.system - this.previous.clientCpu.user - this.previous.clientCpu.system) / 1e6;
    const [p50, p99] = stats.window.latencies.percentiles(0.5, 0.99);
    const row = {
      label,
      elapsedMs: now - this.trafficStart,
      rssKiB: usage.rssKiB,
      hwmKiB: usage.hwmKiB,
      serverCpuPercent: ((usage.cpuSeconds - this.previous.serverCpu) / seconds) * 100,
      clientCpuPercent: (clientSeconds / seconds) * 100,
      load: loadAverage(),
      sentPerSecond: stats.window.sent / seconds,
      relayedPerSecond: stats.window.received / seconds,
      p50,
      p99,
    };
    this.rows.push(row);
    this.previous = { at: now, serverCpu: usage.cpuSeconds, clientCpu };
    stats.window = { sent: 0, received: 0, latencies: new Samples() };
    console.log(formatRow(row));
    return row;
  }
}

function mib(kib) {
  return (kib / 1024).toFixed(1);
}

function clock(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function fixed(value, digits) {
  return Number.isNaN(value) ? '-' : value.toFixed(digits);
}

function formatRow(row) {
  return [
    clock(row.elapsedMs).padStart(6),
    row.label.padEnd(10),
    mib(row.rssKiB).padStart(10),
    mib(row.hwmKiB).padStart(10),
    `${fixed(row.serverCpuPercent, 0)} %`.padStart(11),
    `${fixed(row.clientCpuPercent, 0)} %`.padStart(11),
    row.load.toFixed(2).padStart(8),
    fixed(row.sentPerSecond, 0).padStart(7),
    fixed(row.relayedPerSecond, 0).padStart(10),
    fixed(row.p50, 2).padStart(7),
    fixed(row.p99, 2).padStart(7),
  ].join(' ');
}

/** Returns the traffic sample taken closest to `elapsedMs` into the traffic. */
function rowNear(rows, elapsedMs) {
  return rows.reduce((best, row) => (Math.abs(row.elapsedMs - elapsedMs) < Math.abs(best.elapsedMs - elapsedMs) ? row : best));
}

/**
 * Prints totals, latency, the memory baseline comparison and the errors, and
 * returns the one-line summary and whether the run passed.
 */
function report({ options, participants, rows, trafficMs, joinMs, drained, server, loadAtStart, eventLoopDelay, leaveRow, idleUsage }) {
  const bySender = new Map(participants.map((participant) => [participant.peerId, participant]));
  let lost = 0;
  for (const receiver of participants) {
    for (const senderId of receiver.peers.keys()) {
      const sender = bySender.get(senderId);
      if (sender) lost += receiver.lostFrom(sender);
    }
  }
  if (lost > 0) recordError('signal lost', `${lost} signals sent were never received`);
  const missingPongs = stats.pingsSent - stats.pongsReceived;
  if (missingPongs !== 0) recordError('ping without pong', `${stats.pingsSent} pings, ${stats.pongsReceived} pongs`);

  const seconds = trafficMs / 1000;
  const [p50, p90, p99, p999] = stats.latencies.percentiles(0.5, 0.9, 0.99, 0.999);
  const max = stats.latencies.percentiles(1)[0];
  const trafficRows = rows.filter((row) => row.label === 'traffic' || row.label === 'joined' || row.label === 'end');
  const startRow = rows.find((row) => row.label === 'joined');
  const endRow = rows.find((row) => row.label === 'end');
  const warmUpMs = Math.min(WARM_UP_MS, trafficMs / 3);
  const warmUpRow = rowNear(trafficRows, warmUpMs);
  const middleRow = rowNear(trafficRows, trafficMs / 2);
  const growthKiB = endRow.rssKiB - warmUpRow.rssKiB;
  const growthPercent = (growthKiB / warmUpRow.rssKiB) * 100;
  const minutesAfterWarmUp = (endRow.elapsedMs - warmUpRow.elapsedMs) / 60_000;
  const trafficLoadRows = rows.filter((row) => row.label === 'traffic' || row.label === 'end');
  const meanOf = (key) => {
    const values = trafficLoadRows.map((row) => row[key]).filter((value) => !Number.isNaN(value));
    return values.reduce((sum, value) => sum + value, 0) / values.length;
  };
  const errorCount = [...stats.errors.values()].reduce((sum, entry) => sum + entry.count, 0);

  console.log('');
  console.log('Totals');
  console.log(`  participants        ${participants.length} in ${options.rooms} rooms, joined in ${(joinMs / 1000).toFixed(1)} s`);
  console.log(`  traffic             ${(seconds / 60).toFixed(2)} min at ${options.rate} signals per participant per second`);
  console.log(
    `  signals sent        ${stats.signalsSent} (${(stats.signalsSent / seconds).toFixed(1)}/s): ` +
      `${stats.descriptionsSent} descriptions of ${Math.round(stats.descriptionBytes / Math.max(1, stats.descriptionsSent))} B on average, ` +
      `${stats.candidatesSent} candidates of ${Math.round(stats.candidateBytes / Math.max(1, stats.candidatesSent))} B on average`,
  );
  console.log(`  signals relayed     ${stats.signalsReceived} (${(stats.signalsReceived / seconds).toFixed(1)}/s)${drained ? '' : `, NOT all arrived within ${DRAIN_TIMEOUT_MS / 1000} s after the traffic stopped`}`);
  console.log(`  lost / out of order ${lost} lost, ${stats.errors.get('signal out of order')?.count ?? 0} out of order, ${stats.errors.get('duplicate signal')?.count ?? 0} duplicate`);
  console.log(`  pings               ${stats.pingsSent} sent, ${stats.pongsReceived} pongs received`);
  console.log(`  relay latency       p50 ${fixed(p50, 2)} ms, p90 ${fixed(p90, 2)} ms, p99 ${fixed(p99, 2)} ms, p99.9 ${fixed(p999, 2)} ms, max ${fixed(max, 1)} ms`);
  const loopDelay = (nanoseconds) => Math.max(0, nanoseconds / 1e6 - EVENT_LOOP_RESOLUTION_MS);
  console.log(
    `  client event loop   delay p50 ${loopDelay(eventLoopDelay.percentile(50)).toFixed(1)} ms, p99 ${loopDelay(eventLoopDelay.percentile(99)).toFixed(1)} ms, ` +
      `max ${loopDelay(eventLoopDelay.max).toFixed(1)} ms, ${stats.scheduleSkips} schedule skips (a participant more than ${MAX_SCHEDULE_LAG_MS} ms late)`,
  );
  console.log(`  client GC           ${stats.gcPauses} pauses, ${stats.gcPauseMs.toFixed(0)} ms in all, longest ${stats.gcPauseMaxMs.toFixed(1)} ms`);
  console.log(`  CPU during traffic  server ${meanOf('serverCpuPercent').toFixed(0)} % of one core, client ${meanOf('clientCpuPercent').toFixed(0)} %, ${os.cpus().length} cores`);
  console.log(`  load average 1 min  ${loadAtStart.toFixed(2)} before the server started, ${endRow.load.toFixed(2)} at the end of the traffic, highest sample ${Math.max(...rows.map((row) => row.load)).toFixed(2)}`);
  console.log('');
  console.log('Server memory (VmRSS)');
  console.log(`  before joins        ${mib(idleUsage.rssKiB)} MiB`);
  console.log(
    `  after joins         ${mib(startRow.rssKiB)} MiB, ${((startRow.rssKiB - idleUsage.rssKiB) / participants.length).toFixed(0)} KiB per participant`,
  );
  console.log(`  after warm-up       ${mib(warmUpRow.rssKiB)} MiB at ${clock(warmUpRow.elapsedMs)}`);
  console.log(`  middle              ${mib(middleRow.rssKiB)} MiB at ${clock(middleRow.elapsedMs)}`);
  console.log(`  end                 ${mib(endRow.rssKiB)} MiB at ${clock(endRow.elapsedMs)}`);
  console.log(
    `  end - warm-up       ${growthKiB >= 0 ? '+' : ''}${mib(growthKiB)} MiB (${growthPercent >= 0 ? '+' : ''}${growthPercent.toFixed(1)} %)` +
      (minutesAfterWarmUp > 0 ? `, ${(growthKiB / 1024 / minutesAfterWarmUp).toFixed(2)} MiB per minute` : ''),
  );
  console.log(`  peak (VmHWM)        ${mib(endRow.hwmKiB)} MiB`);
  if (leaveRow) console.log(`  after all left      ${mib(leaveRow.rssKiB)} MiB`);
  console.log('');
  console.log(`Server log: ${server.problemCount.warn} WARN and ${server.problemCount.error} ERROR lines`);
  for (const line of server.problemLines) console.log(`  ${line}`);
  if (errorCount === 0) {
    console.log('Errors: none');
  } else {
    console.log(`Errors: ${errorCount}`);
    for (const [kind, entry] of stats.errors) {
      console.log(`  ${kind}: ${entry.count}`);
      for (const example of entry.examples) console.log(`    e.g. ${example}`);
    }
  }

  const passed = errorCount === 0;
  const summary =
    `soak ${passed ? 'PASSED' : 'FAILED'}: ${options.rooms} rooms x ${PARTICIPANTS_PER_ROOM}, ${(seconds / 60).toFixed(1)} min, ` +
    `${stats.signalsSent} signals sent, ${stats.signalsReceived} relayed, ${lost} lost, ${errorCount} errors, ` +
    `latency p50 ${fixed(p50, 2)} ms p99 ${fixed(p99, 2)} ms, ` +
    `RSS ${mib(startRow.rssKiB)} -> ${mib(warmUpRow.rssKiB)} -> ${mib(endRow.rssKiB)} MiB (joins, warm-up, end)`;
  return { passed, summary };
}

async function main() {
  let options;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(error.message);
    return EXIT_SETUP_FAILED;
  }
  const loadAtStart = loadAverage();
  console.log(
    `Signaling soak: ${options.rooms} rooms x ${PARTICIPANTS_PER_ROOM} participants, ${options.rate} signals per participant per second, ${options.minutes} min`,
  );
  console.log(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load average ${loadAtStart.toFixed(2)}; Node.js ${process.version}`);

  let server;
  const participants = [];
  let stopping;
  const shutdown = () => {
    stopping ??= (async () => {
      phase = 'stopping';
      for (const participant of participants) participant.socket?.terminate();
      await server?.stop();
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the server and removing its data directory`);
      shutdown().finally(() => process.exit(EXIT_INTERRUPTED));
    });
  }

  try {
    server = await startServer(SERVER_BINARY);
  } catch (error) {
    console.error(error.message);
    return EXIT_SETUP_FAILED;
  }
  try {
    console.log(`Server: ${path.relative(process.cwd(), SERVER_BINARY) || SERVER_BINARY}, pid ${server.pid}, ${server.origin}, data ${server.dataDir}`);
    const idleUsage = readProcessUsage(server.pid);
    const timeZone = daytimeTimeZone();
    const joinStart = performance.now();
    const rooms = [];
    for (let index = 0; index < options.rooms; index += 1) {
      rooms.push(await createRoom(server, timeZone, `Soak room ${index + 1}`));
    }
    for (let roomIndex = 0; roomIndex < options.rooms; roomIndex += 1) {
      for (let seat = 0; seat < PARTICIPANTS_PER_ROOM; seat += 1) {
        participants.push(new Participant(participants.length, roomIndex, seat));
      }
    }
    // Participants of one room join one after another, so the `peers` list in each `joined` contains the earlier ones.
    await forEachParallel(rooms, ROOMS_JOINED_IN_PARALLEL, async (token, roomIndex) => {
      for (const participant of participants.slice(roomIndex * PARTICIPANTS_PER_ROOM, (roomIndex + 1) * PARTICIPANTS_PER_ROOM)) {
        await participant.join(server.origin, token);
      }
    });
    const everyoneKnown = await waitUntil(() => participants.every((participant) => participant.peers.size === PARTICIPANTS_PER_ROOM - 1), JOIN_TIMEOUT_MS);
    if (!everyoneKnown) {
      const short = participants.filter((participant) => participant.peers.size !== PARTICIPANTS_PER_ROOM - 1);
      throw new Error(`${short.length} participants did not learn of all ${PARTICIPANTS_PER_ROOM - 1} peers within ${JOIN_TIMEOUT_MS} ms, e.g. ${short[0].name} has ${short[0].peers.size}`);
    }
    const joinMs = performance.now() - joinStart;
    console.log(`Joined ${participants.length} participants in ${options.rooms} rooms (time zone ${timeZone}) in ${(joinMs / 1000).toFixed(1)} s`);

    const trafficMs = options.minutes * 60_000;
    const eventLoopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    // Garbage-collection pauses of the client delay the receive timestamps too, so they are reported.
    const gcObserver = new PerformanceObserver((list) => {
      if (phase !== 'traffic') return;
      for (const entry of list.getEntries()) {
        stats.gcPauses += 1;
        stats.gcPauseMs += entry.duration;
        stats.gcPauseMaxMs = Math.max(stats.gcPauseMaxMs, entry.duration);
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    phase = 'traffic';
    const trafficStart = performance.now();
    const sampler = new Sampler(server.pid, trafficStart);
    Sampler.printHeader();
    sampler.take('joined');
    eventLoopDelay.enable();
    const sampleTimer = setInterval(() => {
      if (phase === 'traffic') sampler.take('traffic');
    }, SAMPLE_INTERVAL_MS);
    await runTraffic(participants, trafficMs, options.rate);
    clearInterval(sampleTimer);
    eventLoopDelay.disable();
    gcObserver.disconnect();
    const measuredTrafficMs = performance.now() - trafficStart;
    sampler.take('end');

    const drained = await waitUntil(() => stats.signalsReceived >= stats.signalsSent && stats.pongsReceived >= stats.pingsSent, DRAIN_TIMEOUT_MS);
    await sleep(DUPLICATE_GRACE_MS);
    sampler.take('drained');

    phase = 'leaving';
    for (const participant of participants) participant.socket.send('{"type":"leave"}');
    const allClosed = await waitUntil(() => participants.every((participant) => participant.closeCode !== null), LEAVE_TIMEOUT_MS);
    if (!allClosed) {
      const open = participants.filter((participant) => participant.closeCode === null).length;
      recordError('socket still open after leave', `${open} sockets open ${LEAVE_TIMEOUT_MS} ms after "leave"`);
    }
    for (const participant of participants) {
      if (participant.closeCode !== null && participant.closeCode !== 1000) {
        recordError('close code after leave is not 1000', `${participant.name}: ${participant.closeCode}`);
      }
    }
    const leaveRow = sampler.take('left');

    phase = 'stopping';
    await server.stop();
    console.log(`Server stopped (${server.exitStatus()}); data directory removed`);

    const { passed, summary } = report({
      options,
      participants,
      rows: sampler.rows,
      trafficMs: measuredTrafficMs,
      joinMs,
      drained,
      server,
      loadAtStart,
      eventLoopDelay,
      leaveRow,
      idleUsage,
    });
    console.log('');
    console.log(summary);
    return passed ? 0 : EXIT_FAILED;
  } catch (error) {
    console.error(`soak aborted: ${error.stack ?? error}`);
    if (server.logTail.length > 0) console.error(`last server log lines:\n${server.logTail.slice(-20).join('\n')}`);
    return EXIT_SETUP_FAILED;
  } finally {
    await shutdown();
  }
}

process.exit(await main());
