// Signaling relay benchmark: PeerJS server (npm `peer`) and the release
// build of `video-local`, one after the other with the same load generator,
// rooms, payloads and phases. For each server it measures the signals
// relayed per second at saturation and the one-way latency at a fixed rate.
// Each server runs pinned to its own cores, the load generator to others.
// See bench/signaling/README.md.
//
// Usage, from the repository root, after
// `cargo build --release -p video-local -p signaling-load` and
// `npm ci --prefix bench/signaling`:
//   node bench/signaling/run.mjs [--rooms 50] [--windows 1,2,4,8,16] ...

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { buildSdpPool, candidateLine, randomUfrag } from '../soak/payload.mjs';
import { createRoom, daytimeTimeZone, loadAverage, openFileLimit, readProcessUsage, startServer } from '../soak/server.mjs';
import { startPeerJsServer } from './peerjs.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../..');

/** Server binary: the release build, unless `VIDEO_LOCAL_BIN` names another. */
const SERVER_BINARY = process.env.VIDEO_LOCAL_BIN ?? path.join(REPO_ROOT, 'target/release/video-local');
/** Load generator binary, from `bench/signaling/load`. */
const LOAD_BINARY = process.env.SIGNALING_LOAD_BIN ?? path.join(REPO_ROOT, 'target/release/signaling-load');

/** Participants per room, video-local's room limit. */
const PARTICIPANTS_PER_ROOM = 8;
/**
 * Largest window per sender. video-local queues at most 256 messages per
 * socket and drops what does not fit, and a receiver has 7 senders, so
 * 7 x 32 = 224 outstanding signals to one receiver always fit.
 */
const MAX_WINDOW = 32;
/** Distinct candidate lines generated and then reused, like the SDP pool. */
const CANDIDATE_POOL_SIZE = 256;
/** Interval of the load-average samples. */
const LOAD_SAMPLE_INTERVAL_MS = 5_000;
/** Interval of the load-average checks while waiting for an idle machine. */
const IDLE_CHECK_INTERVAL_MS = 30_000;

/** Server CPU, in % of its core, below which a saturation step did not saturate the server. */
const UNSATURATED_CPU_PERCENT = 95;
const EXIT_FAILED = 1;
const EXIT_SETUP_FAILED = 2;
const EXIT_INTERRUPTED = 130;

const USAGE = `Usage: node bench/signaling/run.mjs [options]
  --rooms N              rooms of ${PARTICIPANTS_PER_ROOM} participants each (default 50)
  --windows LIST         outstanding signals per sender in the saturation steps, comma-separated, 1 to ${MAX_WINDOW} (default 1,2,4,8,16)
  --warm-up S            seconds of traffic before each measurement (default 3)
  --measure S            seconds measured per saturation step (default 10)
  --paced S              seconds of the fixed-rate phase, warm-up included (default 30)
  --rate-fraction F      fixed rate as a fraction of PeerJS's saturation throughput (default 0.2)
  --rate R               fixed rate in signals per second instead, for both servers
  --only NAME            benchmark only "video-local" or "PeerJS", e.g. to profile it; needs --rate
  --server-cpus LIST     cores the server under test runs on, as taskset takes them (default 0)
  --load-cpus LIST       cores the load generator and this script run on (default 1)
  --idle-load L          before starting, wait until the 1-minute load average is below L (default 1.0)
  --idle-wait M          minutes to wait for that at most, then start anyway; 0 skips the wait (default 20)`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rooms: { type: 'string', default: '50' },
      windows: { type: 'string', default: '1,2,4,8,16' },
      'warm-up': { type: 'string', default: '3' },
      measure: { type: 'string', default: '10' },
      paced: { type: 'string', default: '30' },
      'rate-fraction': { type: 'string', default: '0.2' },
      rate: { type: 'string' },
      only: { type: 'string' },
      'server-cpus': { type: 'string', default: '0' },
      'load-cpus': { type: 'string', default: '1' },
      'idle-load': { type: 'string', default: '1.0' },
      'idle-wait': { type: 'string', default: '20' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const number = (name, check, requirement) => {
    const value = Number(values[name]);
    if (!check(value)) throw new Error(`--${name} must be ${requirement}, got "${values[name]}"`);
    return value;
  };
  const options = {
    rooms: number('rooms', (value) => Number.isInteger(value) && value >= 1, 'a positive integer'),
    windows: values.windows.split(',').map(Number),
    warmUpSeconds: number('warm-up', (value) => value >= 0 && value <= 60, 'between 0 and 60'),
    measureSeconds: number('measure', (value) => value >= 1 && value <= 600, 'between 1 and 600'),
    pacedSeconds: number('paced', (value) => value >= 2 && value <= 600, 'between 2 and 600'),
    rateFraction: number('rate-fraction', (value) => value > 0 && value <= 1, 'above 0 and at most 1'),
    rate: values.rate === undefined ? null : number('rate', (value) => value >= 1 && value <= 1e6, 'between 1 and 1000000'),
    only: values.only ?? null,
    serverCpus: values['server-cpus'],
    loadCpus: values['load-cpus'],
    idleLoad: number('idle-load', (value) => value > 0, 'a positive number'),
    idleWaitMinutes: number('idle-wait', (value) => value >= 0 && value <= 120, 'between 0 and 120'),
  };
  if (options.windows.some((window) => !Number.isInteger(window) || window < 1 || window > MAX_WINDOW)) {
    throw new Error(`--windows must list integers from 1 to ${MAX_WINDOW}, got "${values.windows}"`);
  }
  if (options.only !== null && options.only !== 'video-local' && options.only !== 'PeerJS') {
    throw new Error(`--only must be "video-local" or "PeerJS", got "${options.only}"`);
  }
  if (options.only !== null && options.rate === null) throw new Error('--only needs --rate, since the fixed rate otherwise comes from PeerJS');
  for (const name of ['server-cpus', 'load-cpus']) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(values[name])) throw new Error(`--${name} must be a core list such as 0 or 0-1,3, got "${values[name]}"`);
  }
  const serverCores = coreSet(options.serverCpus);
  if ([...coreSet(options.loadCpus)].some((core) => serverCores.has(core))) {
    throw new Error(`--server-cpus (${options.serverCpus}) and --load-cpus (${options.loadCpus}) must not share a core`);
  }
  const sockets = options.rooms * PARTICIPANTS_PER_ROOM;
  const limit = openFileLimit();
  if (sockets + 64 > limit) {
    throw new Error(`${sockets} sockets need more than the open-file limit of ${limit}; raise it with "ulimit -n" or use fewer --rooms`);
  }
  return options;
}

/** Returns the cores of a taskset core list such as "0-1,3". */
function coreSet(list) {
  const cores = new Set();
  for (const part of list.split(',')) {
    const [first, last = first] = part.split('-').map(Number);
    for (let core = first; core <= last; core += 1) cores.add(core);
  }
  return cores;
}

/** Pins every thread of process `pid` to the cores in `list`, with taskset. */
function pin(pid, list) {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', list, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Returns the cores that process `pid` may run on, as taskset prints them. */
function affinity(pid) {
  const output = execFileSync('taskset', ['--cpu-list', '--pid', String(pid)], { encoding: 'utf8' });
  return output.trim().split(': ').pop();
}

function fixed(value, digits) {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

function thousands(value) {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

/** Load-average samples of the whole run. */
const loadSamples = [];

/** Waits until the 1-minute load average is below `threshold`, for at most `minutes`. */
async function waitForIdleMachine(threshold, minutes) {
  if (minutes === 0) return;
  const deadline = performance.now() + minutes * 60_000;
  for (;;) {
    const load = loadAverage();
    if (load < threshold) {
      console.log(`Load average ${load.toFixed(2)} is below ${threshold}; starting`);
      return;
    }
    if (performance.now() >= deadline) {
      console.log(`WARNING: load average still ${load.toFixed(2)} after ${minutes} min of waiting; starting anyway, so compare only the ratios`);
      return;
    }
    console.log(`Load average ${load.toFixed(2)}, waiting for it to drop below ${threshold} (checking every ${IDLE_CHECK_INTERVAL_MS / 1000} s)`);
    await sleep(IDLE_CHECK_INTERVAL_MS);
  }
}

/**
 * The load generator, `bench/signaling/load`: one process on one thread,
 * pinned to the load cores. It takes one JSON command per line on its
 * standard input and replies to each with one JSON line.
 */
class LoadGenerator {
  constructor(cpus) {
    if (!existsSync(LOAD_BINARY)) throw new Error(`${LOAD_BINARY} not found: run "cargo build --release -p signaling-load" first`);
    this.pending = new Map();
    this.nextCommandId = 1;
    this.child = spawn('taskset', ['--cpu-list', cpus, LOAD_BINARY], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.once('exit', (code, signal) => {
      for (const entry of this.pending.values()) entry.reject(new Error(`the load generator exited (code ${code}, signal ${signal})`));
      this.pending.clear();
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const { id, result, error } = JSON.parse(line);
      const entry = this.pending.get(id);
      this.pending.delete(id);
      if (error) entry.reject(new Error(`load generator: ${error}`));
      else entry.resolve(result);
    });
  }

  /** Sends a command and returns its result. */
  command(type, fields = {}) {
    const id = this.nextCommandId;
    this.nextCommandId += 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, type, ...fields })}\n`);
    });
  }

  async terminate() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const outcome = await Promise.race([this.exited, sleep(5_000, 'timeout', { ref: false })]);
    if (outcome === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Reads the counters and CPU times that a measurement interval starts or ends with. */
async function snapshot(load, serverPid) {
  const counters = await load.command('counters');
  return {
    at: counters.atMs,
    ...counters,
    serverCpu: readProcessUsage(serverPid).cpuSeconds,
    clientCpu: readProcessUsage(load.pid).cpuSeconds,
  };
}

/** Returns the rates and CPU shares between two snapshots. */
function interval(before, after) {
  const seconds = (after.at - before.at) / 1000;
  const relayed = after.received - before.received;
  return {
    seconds,
    sentPerSecond: (after.sent - before.sent) / seconds,
    relayedPerSecond: relayed / seconds,
    serverCpuPercent: ((after.serverCpu - before.serverCpu) / seconds) * 100,
    clientCpuPercent: ((after.clientCpu - before.clientCpu) / seconds) * 100,
    serverMicrosPerSignal: ((after.serverCpu - before.serverCpu) / relayed) * 1e6,
  };
}

/** Starts one server and connects every participant to it. */
async function prepare(target, options, load) {
  let server;
  if (target.name === 'PeerJS') {
    server = await startPeerJsServer();
  } else {
    // Tokio starts one worker thread per core of the machine; the server
    // gets one per core it is pinned to.
    const inherited = process.env.TOKIO_WORKER_THREADS;
    process.env.TOKIO_WORKER_THREADS = String(coreSet(options.serverCpus).size);
    try {
      server = await startServer(SERVER_BINARY);
    } finally {
      if (inherited === undefined) delete process.env.TOKIO_WORKER_THREADS;
      else process.env.TOKIO_WORKER_THREADS = inherited;
    }
  }
  target.server = server;
  pin(server.pid, options.serverCpus);
  console.log(`\n${target.name}: pid ${server.pid}, ${server.origin}, pinned to cores ${affinity(server.pid)}`);
  const rooms = [];
  if (target.name === 'PeerJS') {
    // PeerJS has no rooms: each client knows the ids of its 7 peers.
    for (let index = 0; index < options.rooms; index += 1) rooms.push({ roomIndex: index, token: null });
  } else {
    const timeZone = daytimeTimeZone();
    for (let index = 0; index < options.rooms; index += 1) {
      rooms.push({ roomIndex: index, token: await createRoom(server, timeZone, `Benchmark room ${index + 1}`) });
    }
  }
  const started = performance.now();
  await load.command('setup', {
    protocolName: target.name,
    origin: server.origin,
    key: server.key ?? null,
    rooms,
    participantsPerRoom: PARTICIPANTS_PER_ROOM,
    sdpPool: load.sdpPool,
    candidatePool: load.candidatePool,
  });
  console.log(`  ${options.rooms * PARTICIPANTS_PER_ROOM} participants in ${options.rooms} rooms connected in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Raises the window of outstanding signals per sender step by step and
 * returns each step's measurement. Every step starts from an idle server
 * and ends with all its signals delivered.
 */
async function saturate(target, options, load) {
  console.log('  saturation: closed loop, each sender keeps WINDOW signals outstanding');
  console.log('  window  relayed/s  server CPU  client CPU  server us/signal  p50 ms  p99 ms  load 1m');
  const steps = [];
  for (const window of options.windows) {
    await load.command('closed-loop', { window });
    await sleep(options.warmUpSeconds * 1000);
    const before = await snapshot(load, target.server.pid);
    await sleep(options.measureSeconds * 1000);
    const after = await snapshot(load, target.server.pid);
    const result = await load.command('stop');
    const { p50, p99 } = result.latency;
    const step = { window, ...interval(before, after), p50, p99, load: loadAverage(), notDrained: result.outstanding };
    steps.push(step);
    console.log(
      [
        String(window).padStart(8),
        thousands(step.relayedPerSecond).padStart(10),
        `${fixed(step.serverCpuPercent, 0)} %`.padStart(11),
        `${fixed(step.clientCpuPercent, 0)} %`.padStart(11),
        fixed(step.serverMicrosPerSignal, 1).padStart(17),
        fixed(p50, 2).padStart(7),
        fixed(p99, 2).padStart(7),
        step.load.toFixed(2).padStart(8),
      ].join(' ') + (step.notDrained > 0 ? `  ${step.notDrained} signals not delivered` : ''),
    );
  }
  return steps;
}

/** Sends `rate` signals per second in all for the paced phase and returns the latencies. */
async function paced(target, options, load, rate) {
  const durationMs = options.pacedSeconds * 1000;
  const warmUpMs = Math.min(options.warmUpSeconds * 1000, durationMs / 2);
  const before = await snapshot(load, target.server.pid);
  const result = await load.command('paced', { rate, durationMs, warmUpMs });
  const after = await snapshot(load, target.server.pid);
  const { count, p50, p90, p99, p999, max } = result.latency;
  return {
    rate,
    ...interval(before, after),
    samples: count,
    p50,
    p90,
    p99,
    p999,
    max,
    skips: result.skips,
    maxLagMs: result.maxLagMs,
    notDrained: result.outstanding,
  };
}

function printPaced(result) {
  console.log(
    `  fixed rate ${thousands(result.rate)}/s for ${fixed(result.seconds, 0)} s: relayed ${thousands(result.relayedPerSecond)}/s, ` +
      `server CPU ${fixed(result.serverCpuPercent, 0)} %, client CPU ${fixed(result.clientCpuPercent, 0)} %`,
  );
  console.log(
    `    one-way latency over ${thousands(result.samples)} signals: p50 ${fixed(result.p50, 3)} ms, p90 ${fixed(result.p90, 3)} ms, ` +
      `p99 ${fixed(result.p99, 3)} ms, p99.9 ${fixed(result.p999, 3)} ms, max ${fixed(result.max, 1)} ms; ` +
      `schedule lag max ${fixed(result.maxLagMs, 1)} ms, ${result.skips} skips`,
  );
  if (result.notDrained > 0) console.log(`    ${result.notDrained} signals not delivered within the drain time`);
}

/** Counts losses, leaves, stops the server and returns the check results. */
async function conclude(target, load) {
  const reports = [await load.command('finish')];
  await target.server.stop();
  const merged = new Map();
  for (const report of reports) {
    for (const { kind, count, examples } of report.errors) {
      const entry = merged.get(kind) ?? { count: 0, examples: [] };
      entry.count += count;
      entry.examples.push(...examples.slice(0, 3 - entry.examples.length));
      merged.set(kind, entry);
    }
  }
  const sent = reports.reduce((sum, report) => sum + report.sent, 0);
  const lost = reports.reduce((sum, report) => sum + report.lost, 0);
  const errorCount = [...merged.values()].reduce((sum, entry) => sum + entry.count, 0);
  const sum = (key) => reports.reduce((total, report) => total + report.sizes[key], 0);
  console.log(
    `  sent ${thousands(sum('descriptions'))} descriptions of ${thousands(sum('descriptionBytes') / sum('descriptions'))} B on average and ` +
      `${thousands(sum('candidates'))} candidates of ${thousands(sum('candidateBytes') / sum('candidates'))} B`,
  );
  console.log(`  checked ${thousands(sent)} signals: ${lost} lost, ${errorCount} errors; server log: ${target.server.problemCount.error} ERROR and ${target.server.problemCount.warn} WARN lines`);
  for (const [kind, entry] of merged) {
    console.log(`    ${kind}: ${entry.count}`);
    for (const example of entry.examples) console.log(`      e.g. ${example}`);
  }
  for (const line of target.server.problemLines.slice(0, 5)) console.log(`    server: ${line}`);
  target.server = null;
  return { sent, lost, errorCount };
}

function describeMachine() {
  const cpus = os.cpus();
  const kernel = `${os.type()} ${os.release()}`;
  const memory = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
  const readVersion = (file) => JSON.parse(readFileSync(file, 'utf8')).version;
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not a git checkout: the commit stays unknown.
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown CPU',
    cores: cpus.length,
    memory,
    kernel,
    node: process.version,
    peer: readVersion(path.join(HERE, 'node_modules/peer/package.json')),
    commit,
  };
}

async function main() {
  let options;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(error.message);
    return EXIT_SETUP_FAILED;
  }
  if (!existsSync(SERVER_BINARY)) {
    console.error(`server binary ${SERVER_BINARY} not found: run "cargo build --release -p video-local" first`);
    return EXIT_SETUP_FAILED;
  }
  if (!existsSync(path.join(HERE, 'node_modules/peer/package.json'))) {
    console.error(`the npm package peer is not installed in ${HERE}: run "npm ci --prefix bench/signaling" first`);
    return EXIT_SETUP_FAILED;
  }

  const machine = describeMachine();
  console.log(`Signaling relay benchmark, ${new Date().toISOString()}`);
  console.log(`Command: node ${path.relative(process.cwd(), fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(`Machine: ${machine.cpu}, ${machine.cores} logical cores, ${machine.memory}, ${machine.kernel}; Node.js ${machine.node}`);
  console.log(`Servers: video-local ${path.relative(REPO_ROOT, SERVER_BINARY)} (checkout at commit ${machine.commit}; the binary may be older); PeerJS server peer ${machine.peer}; load generator ${path.relative(REPO_ROOT, LOAD_BINARY)}`);
  console.log(
    `Load: ${options.rooms} rooms x ${PARTICIPANTS_PER_ROOM} participants, server on cores ${options.serverCpus}, load generator on cores ${options.loadCpus}, windows ${options.windows.join(', ')}, ` +
      `${options.warmUpSeconds} s warm-up + ${options.measureSeconds} s per step, fixed rate ${options.rate === null ? `${options.rateFraction} x PeerJS saturation` : `${options.rate}/s`} for ${options.pacedSeconds} s`,
  );
  await waitForIdleMachine(options.idleLoad, options.idleWaitMinutes);
  // This script only starts, stops and reads; it stays off the server's cores.
  pin(process.pid, options.loadCpus);

  const targets = [{ name: 'PeerJS', server: null }, { name: 'video-local', server: null }].filter(
    (target) => options.only === null || target.name === options.only,
  );
  let load = null;
  let stopping;
  const shutdown = () => {
    stopping ??= Promise.allSettled([...targets.map((target) => target.server?.stop()), load?.terminate()]);
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the servers`);
      shutdown().finally(() => process.exit(EXIT_INTERRUPTED));
    });
  }

  const loadTimer = setInterval(() => loadSamples.push(loadAverage()), LOAD_SAMPLE_INTERVAL_MS);
  const loadAtStart = loadAverage();
  console.log(`Measuring from ${new Date().toISOString()}`);
  loadSamples.push(loadAtStart);
  const results = {};
  try {
    const sdpPool = buildSdpPool();
    const candidatePool = Array.from({ length: CANDIDATE_POOL_SIZE }, () => {
      const ufrag = randomUfrag();
      return { line: candidateLine(ufrag), ufrag };
    });
    load = new LoadGenerator(options.loadCpus);
    load.sdpPool = sdpPool;
    load.candidatePool = candidatePool;

    let rate = options.rate ?? NaN;
    for (const target of targets) {
      try {
        await prepare(target, options, load);
      } catch (error) {
        console.error(`setting up ${target.name} failed: ${error.message}`);
        return EXIT_SETUP_FAILED;
      }
      const steps = await saturate(target, options, load);
      const best = steps.reduce((top, step) => (step.relayedPerSecond > top.relayedPerSecond ? step : top));
      if (target.name === 'PeerJS' && options.rate === null) rate = Math.round(best.relayedPerSecond * options.rateFraction);
      const latency = await paced(target, options, load, rate);
      printPaced(latency);
      const checks = await conclude(target, load);
      results[target.name] = { steps, best, latency, checks };
    }
  } catch (error) {
    console.error(`benchmark aborted: ${error.stack ?? error}`);
    for (const target of targets) {
      if (target.server?.logTail?.length) console.error(`last ${target.name} log lines:\n${target.server.logTail.slice(-10).join('\n')}`);
    }
    return EXIT_SETUP_FAILED;
  } finally {
    clearInterval(loadTimer);
    await shutdown();
  }

  const loadAtEnd = loadAverage();
  loadSamples.push(loadAtEnd);
  if (options.only !== null) {
    const { checks } = results[options.only];
    return checks.lost + checks.errorCount === 0 ? 0 : EXIT_FAILED;
  }
  const ours = results['video-local'];
  const theirs = results.PeerJS;
  const ratio = ours.best.relayedPerSecond / theirs.best.relayedPerSecond;
  const cpuRatio = theirs.best.serverMicrosPerSignal / ours.best.serverMicrosPerSignal;
  const targetMet = ratio >= 5 && ours.latency.p99 < theirs.latency.p99;
  const failures = ours.checks.lost + ours.checks.errorCount + theirs.checks.lost + theirs.checks.errorCount;

  console.log('\nSummary');
  for (const name of ['video-local', 'PeerJS']) {
    const { best, latency, checks } = results[name];
    console.log(
      `  ${name.padEnd(11)} saturation ${thousands(best.relayedPerSecond)} signals/s (window ${best.window}, server CPU ${fixed(best.serverCpuPercent, 0)} %, ` +
        `${fixed(best.serverMicrosPerSignal, 1)} us per signal); at ${thousands(latency.rate)}/s p50 ${fixed(latency.p50, 3)} ms, p99 ${fixed(latency.p99, 3)} ms; ` +
        `${checks.lost} lost, ${checks.errorCount} errors`,
    );
  }
  console.log(`  throughput ratio video-local / PeerJS: ${fixed(ratio, 2)}x; server CPU per signal, PeerJS / video-local: ${fixed(cpuRatio, 2)}x`);
  console.log(`  p99 latency at ${thousands(theirs.latency.rate)}/s: video-local ${fixed(ours.latency.p99, 3)} ms, PeerJS ${fixed(theirs.latency.p99, 3)} ms`);
  console.log(`  target (at least 5x the throughput and a lower p99): ${targetMet ? 'met' : 'MISSED'}`);
  // A server below its whole core was held back by the load generator or
  // by other work on its core, so its "saturation" figure is a lower bound.
  for (const name of ['video-local', 'PeerJS']) {
    const { best } = results[name];
    if (best.serverCpuPercent < UNSATURATED_CPU_PERCENT) {
      console.log(
        `  NOTE: ${name} used only ${fixed(best.serverCpuPercent, 0)} % of its core at its best window, so it was not saturated ` +
          'and its throughput is a lower bound; check the load average and rerun on an idle machine',
      );
    }
  }
  console.log(
    `  load average 1 min: ${loadAtStart.toFixed(2)} at the start, ${loadAtEnd.toFixed(2)} at the end, ` +
      `${Math.min(...loadSamples).toFixed(2)} to ${Math.max(...loadSamples).toFixed(2)} during the run`,
  );
  return failures === 0 ? 0 : EXIT_FAILED;
}

process.exit(await main());
