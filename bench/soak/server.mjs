// The server under test for the soak: starts `video-local` on a free loopback
// port with a fresh data directory, creates rooms through its API, and reads
// its memory and CPU time from /proc.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { stopChild, waitForListening } from '../../tests/browser/child.mjs';

const START_TIMEOUT_MS = 15_000;
/**
 * Time the server gets to exit after SIGTERM. It waits up to 5 s for its
 * database handles when participants are away, which happens after an
 * interrupted run, so this allows more.
 */
const STOP_TIMEOUT_MS = 10_000;
const LISTENING_LINE = /^Video service listening on (http:\/\/\S+)$/;

/** Lines of the server's standard error kept for the report. */
const KEPT_LOG_LINES = 200;
/** Warning and error lines of the server log kept verbatim for the report. */
const KEPT_PROBLEM_LINES = 10;

/**
 * Clock ticks per second of the `utime` and `stime` fields in /proc/PID/stat.
 * NOTE: assumed to be 100, the USER_HZ of Linux on x86-64 and arm64. Node
 * cannot call sysconf(_SC_CLK_TCK), so with another value the CPU column is off.
 */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Time zones tried for the rooms, spread around the globe so that one of them
 * has daytime at any hour. A room is open for its whole local day, so the
 * zone must not be close to local midnight while the soak joins.
 */
const TIME_ZONES = ['Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'Asia/Tokyo', 'Pacific/Auckland', 'Asia/Kolkata'];

/**
 * Starts `binary` on 127.0.0.1 with port 0, a new temporary data directory
 * and a random API token, and waits for its "Video service listening on" line.
 *
 * @param {string} binary path of `video-local`
 * @returns {Promise<{ origin: string, apiToken: string, dataDir: string, pid: number,
 *   logTail: string[], problemLines: string[], problemCount: { warn: number, error: number },
 *   exitStatus: () => string, stop: () => Promise<void> }>} `stop` sends SIGTERM, waits
 *   for the exit, then removes the data directory; `exitStatus` describes the exit
 */
export async function startServer(binary) {
  if (!existsSync(binary)) {
    throw new Error(`server binary ${binary} not found: run "cargo build --release -p video-local" first`);
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'video-soak-data-'));
  const apiToken = randomBytes(16).toString('hex');
  const child = spawn(binary, [
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--dev-token',
    `${apiToken}=soak`,
    // Operator details only keep the warning about their absence out of the
    // server log, which the benchmarks report.
    '--operator-name',
    'Benchmark',
    '--operator-email',
    'benchmark@example.org',
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info', NO_COLOR: '1' },
  });

  const logTail = [];
  const problemLines = [];
  const problemCount = { warn: 0, error: 0 };
  createInterface({ input: child.stderr }).on('line', (line) => {
    logTail.push(line);
    if (logTail.length > KEPT_LOG_LINES) logTail.shift();
    const level = /\s(WARN|ERROR)\s/.exec(line)?.[1];
    if (!level) return;
    problemCount[level.toLowerCase()] += 1;
    if (problemLines.length < KEPT_PROBLEM_LINES) problemLines.push(line);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  let stopping;
  let stopMs = NaN;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const sentAt = Date.now();
        exited.then(() => {
          stopMs = Date.now() - sentAt;
        });
      }
      await stopChild(child, exited, { name: 'server', timeoutMs: STOP_TIMEOUT_MS, report: console.error });
      await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const exitStatus = () => `${child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`}, ${stopMs} ms after SIGTERM`;

  const origin = await waitForListening(child, exited, {
    name: `server ${binary}`,
    pattern: LISTENING_LINE,
    timeoutMs: START_TIMEOUT_MS,
    log: logTail,
  }).catch(async (error) => {
    await stop();
    throw error;
  });

  return { origin, apiToken, dataDir, pid: child.pid, logTail, problemLines, problemCount, exitStatus, stop };
}

/** Returns the hour 0 to 23 in `timeZone` at `instant`. */
function localHour(timeZone, instant) {
  const text = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' }).format(instant);
  return Number(text);
}

/** Returns the first time zone of `TIME_ZONES` whose local time is between 02:00 and 22:00 now. */
export function daytimeTimeZone(instant = new Date()) {
  const zone = TIME_ZONES.find((candidate) => {
    const hour = localHour(candidate, instant);
    return hour >= 2 && hour < 22;
  });
  if (!zone) throw new Error(`none of ${TIME_ZONES.join(', ')} has a local time between 02:00 and 22:00`);
  return zone;
}

/** Returns today's date "YYYY-MM-DD" in `timeZone`. */
export function todayIn(timeZone, instant = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/**
 * Creates a room for today in `timeZone` through `POST /api/rooms` and
 * returns its link token, the fragment of its `joinUrl`.
 */
export async function createRoom(server, timeZone, title) {
  const date = todayIn(timeZone);
  const response = await fetch(`${server.origin}/api/rooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date, timeZone, title }),
  });
  const text = await response.text();
  if (response.status !== 201) {
    throw new Error(`POST /api/rooms for ${date} in ${timeZone} returned ${response.status}, expected 201: ${text}`);
  }
  const token = new URL(JSON.parse(text).joinUrl).hash.slice(1);
  if (!token) throw new Error(`the joinUrl of a new room has no token in its fragment: ${text}`);
  return token;
}

/**
 * Reads VmRSS and VmHWM in KiB from /proc/PID/status, and the process's
 * user plus system CPU time in seconds from /proc/PID/stat.
 */
export function readProcessUsage(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field} line`);
    return Number(match[1]);
  };
  // The command name in field 2 may contain spaces, so count fields after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND };
}

/** Returns the 1-minute load average from /proc/loadavg. */
export function loadAverage() {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** Returns the soft limit of open files of this process, from /proc/self/limits. */
export function openFileLimit() {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !match || match[1] === 'unlimited' ? Infinity : Number(match[1]);
}
