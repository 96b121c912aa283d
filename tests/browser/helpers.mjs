// Shared set-up for the browser tests and the call set-up benchmark: the
// local server on a free loopback port, rooms created through its API, and
// Debian's Chromium with fake camera and microphone, driven by playwright-core.
//
// WebRTC gathers candidates on every address of the machine, so run these
// inside a loopback-only network namespace, as tests/run does:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/'

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import WebSocket from 'ws';

import { stopChild, waitForListening } from './child.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The server binary; `VIDEO_LOCAL_BIN` overrides the debug build of `cargo build -p video-local`. */
export const SERVER_BINARY = process.env.VIDEO_LOCAL_BIN ?? path.join(REPO_ROOT, 'target/debug/video-local');

/** Debian's Chromium; `CHROMIUM_BIN` overrides it. */
export const CHROMIUM_BINARY = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** Where a failed test leaves screenshots, page logs and the server log. */
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'tests/.artifacts');

/** Default limit in ms of every single wait: generous for 2 cores, but bounded. */
export const WAIT_TIMEOUT_MS = 30_000;

const SERVER_START_TIMEOUT_MS = 15_000;
const SERVER_STOP_TIMEOUT_MS = 5_000;
const LISTENING_LINE = /^Video service listening on (http:\/\/\S+)$/;

/** Lines of server log and browser console kept for failure reports. */
const MAX_LOG_LINES = 400;

/**
 * Chromium flags: no sandbox (the tests run as root), no network traffic of
 * Chromium's own, fake camera and microphone that need no permission prompt,
 * and host candidates on the loopback interface, which is the only one inside
 * the test namespace.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

/** Time zones for test rooms, spread over the day so one has daytime now. */
const ROOM_TIME_ZONES = [
  'Europe/Berlin',
  'America/New_York',
  'America/Los_Angeles',
  'Asia/Tokyo',
  'Pacific/Auckland',
  'Asia/Kolkata',
];

/** Appends a line to a log array, dropping the oldest past `limit`. */
function pushLine(lines, line, limit = MAX_LOG_LINES) {
  lines.push(line);
  if (lines.length > limit) lines.shift();
}

/**
 * Polls `check` until it returns a truthy value and returns that value.
 * Throws after `timeout` ms with `description` and, when given, the text that
 * `diagnose` returns, so a failed wait reports what it waited for and what it saw.
 *
 * @template T
 * @param {() => Promise<T> | T} check
 * @param {{ description: string, timeout?: number, interval?: number, diagnose?: () => Promise<string> | string }} options
 * @returns {Promise<T>}
 */
export async function waitFor(check, { description, timeout = WAIT_TIMEOUT_MS, interval = 100, diagnose }) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(interval);
  }
  let details = '';
  if (diagnose) {
    try {
      details = `\n${await diagnose()}`;
    } catch (error) {
      details = `\n(diagnostics failed: ${error})`;
    }
  }
  const cause = lastError ? `\nlast error: ${lastError}` : '';
  throw new Error(`timed out after ${timeout} ms waiting for ${description}${cause}${details}`);
}

/** Returns a random API token of 32 hex digits. */
export function randomToken() {
  return randomBytes(16).toString('hex');
}

/**
 * A running `video-local` with a fresh data directory.
 *
 * @typedef {object} TestServer
 * @property {string} origin e.g. `http://127.0.0.1:40123`
 * @property {string} apiToken bearer token of the API
 * @property {string} dataDir the server's data directory, such as for reading `outbox/`
 * @property {number} pid
 * @property {string[]} log recent lines of the server's standard error, or all of them with `keepFullLog`
 * @property {() => Promise<void>} stop sends SIGTERM, waits for the exit and the end of
 *   standard error, then removes the data directory unless the caller passed it
 */

/**
 * Starts the server on a free loopback port and waits for its
 * "Video service listening on" line.
 *
 * @param {{ practitioner?: string, extraArgs?: string[], logLevel?: string, keepFullLog?: boolean, dataDir?: string, listen?: string }} [options]
 *   `extraArgs` go after the default options, such as `['--morning-time', '23:59']`;
 *   `logLevel` sets `RUST_LOG` for this server only, over the environment's;
 *   `keepFullLog` keeps every line of standard error, not only the last ones.
 *   `dataDir` is an existing data directory, such as one of a stopped server, and
 *   `stop` leaves it in place. `listen` is the address, `127.0.0.1:0` (a free port) by default.
 * @returns {Promise<TestServer>}
 */
export async function startServer({
  practitioner = 'test-practice',
  extraArgs = [],
  logLevel,
  keepFullLog = false,
  dataDir: givenDataDir,
  listen = '127.0.0.1:0',
} = {}) {
  if (!existsSync(SERVER_BINARY)) {
    throw new Error(`server binary ${SERVER_BINARY} not found: run "cargo build -p video-local" first`);
  }
  const dataDir = givenDataDir ?? (await mkdtemp(path.join(tmpdir(), 'video-test-data-')));
  const apiToken = randomToken();
  const child = spawn(
    SERVER_BINARY,
    ['--listen', listen, '--data-dir', dataDir, '--dev-token', `${apiToken}=${practitioner}`, ...extraArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: logLevel ?? process.env.RUST_LOG ?? 'info' },
    },
  );

  const log = [];
  const logLimit = keepFullLog ? Infinity : MAX_LOG_LINES;
  const logReader = createInterface({ input: child.stderr });
  logReader.on('line', (line) => pushLine(log, line, logLimit));
  // 'exit' can come before the last lines of standard error were read.
  const logEnded = new Promise((resolve) => logReader.once('close', resolve));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const stop = async () => {
    await stopChild(child, exited, {
      name: 'server',
      timeoutMs: SERVER_STOP_TIMEOUT_MS,
      report: (line) => pushLine(log, `test helper: ${line}`),
    });
    await Promise.race([logEnded, sleep(SERVER_STOP_TIMEOUT_MS, null, { ref: false })]);
    if (givenDataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  };

  const origin = await waitForListening(child, exited, {
    name: 'server',
    pattern: LISTENING_LINE,
    timeoutMs: SERVER_START_TIMEOUT_MS,
    log,
  }).catch(async (error) => {
    await stop();
    throw error;
  });

  return { origin, apiToken, dataDir, pid: child.pid, log, stop };
}

/**
 * Returns the calendar date "YYYY-MM-DD" in `timeZone` at `instant`.
 *
 * @param {string} timeZone IANA name
 * @param {Date} [instant]
 */
export function dateInTimeZone(timeZone, instant = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/** Returns the hour 0–23 in `timeZone` at `instant`. */
function hourInTimeZone(timeZone, instant) {
  const text = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' }).format(instant);
  return Number(text);
}

/**
 * Picks a time zone where the local time is between 02:00 and 22:00, so a
 * room for "today" or "tomorrow" there does not change its day while a test runs.
 *
 * @param {Date} [instant]
 */
export function pickDaytimeTimeZone(instant = new Date()) {
  const timeZone = ROOM_TIME_ZONES.find((zone) => {
    const hour = hourInTimeZone(zone, instant);
    return hour >= 2 && hour < 22;
  });
  if (!timeZone) throw new Error(`none of ${ROOM_TIME_ZONES.join(', ')} has a local time between 02:00 and 22:00`);
  return timeZone;
}

/**
 * Adds whole days to a date "YYYY-MM-DD".
 *
 * @param {string} isoDate
 * @param {number} days
 */
export function addDays(isoDate, days) {
  const [year, month, day] = isoDate.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** Formats "YYYY-MM-DD" as the German "DD.MM.YYYY". */
export function germanDate(isoDate) {
  const [year, month, day] = isoDate.split('-');
  return `${day}.${month}.${year}`;
}

/**
 * Creates a room through `POST /api/rooms` and returns the response body.
 * Defaults to a room for today in a time zone with daytime now.
 *
 * @param {TestServer} server
 * @param {{ date?: string, timeZone?: string, title?: string }} [options]
 * @returns {Promise<{ id: string, date: string, timeZone: string, joinUrl: string, validFrom: string, validUntil: string }>}
 */
export async function createRoom(server, { timeZone = pickDaytimeTimeZone(), date, title = 'Test session' } = {}) {
  const roomDate = date ?? dateInTimeZone(timeZone);
  const response = await fetch(`${server.origin}/api/rooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date: roomDate, timeZone, title }),
  });
  const text = await response.text();
  if (response.status !== 201) {
    throw new Error(`POST /api/rooms for ${roomDate} in ${timeZone} returned ${response.status}, expected 201: ${text}`);
  }
  return JSON.parse(text);
}

/**
 * Fetches one room through `GET /api/rooms/{id}` and returns the response body.
 * Throws unless the server returns 200.
 *
 * @param {TestServer} server
 * @param {string} roomId
 * @returns {Promise<{ id: string, status: string, callSeconds: number } & Record<string, unknown>>}
 */
export async function getRoom(server, roomId) {
  const response = await fetch(`${server.origin}/api/rooms/${encodeURIComponent(roomId)}`, {
    headers: { authorization: `Bearer ${server.apiToken}` },
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`GET /api/rooms/${roomId} returned ${response.status}, expected 200: ${text}`);
  }
  return JSON.parse(text);
}

/** Returns the link token, the fragment of a join URL. */
export function linkToken(joinUrl) {
  const token = new URL(joinUrl).hash.slice(1);
  if (!token) throw new Error(`join URL ${joinUrl} has no token in its fragment`);
  return token;
}

/**
 * Launches headless Chromium with fake media devices and a fresh temporary
 * profile, which playwright-core creates and removes itself.
 *
 * @param {{ acceptMediaPrompts?: boolean, extraArgs?: string[] }} [options] with `acceptMediaPrompts: false`,
 *   Chromium runs without --use-fake-ui-for-media-stream and, being headless,
 *   denies every camera and microphone prompt, as a visitor who blocks both.
 *   A permission granted through `BrowserContext.grantPermissions` still holds.
 *   `extraArgs` go after the default flags, such as a `--host-resolver-rules`
 *   that maps a host name to the loopback address.
 */
export async function launchBrowser({ acceptMediaPrompts = true, extraArgs = [] } = {}) {
  if (!existsSync(CHROMIUM_BINARY)) {
    throw new Error(`${CHROMIUM_BINARY} not found: install Debian's chromium package (tests/run does)`);
  }
  const defaultArgs = acceptMediaPrompts ? CHROMIUM_ARGS : CHROMIUM_ARGS.filter((arg) => arg !== '--use-fake-ui-for-media-stream');
  return chromium.launch({ executablePath: CHROMIUM_BINARY, headless: true, args: [...defaultArgs, ...extraArgs] });
}

/**
 * Opens a page in a context of its own, so pages share no storage, and
 * records its console output and uncaught errors for failure reports.
 *
 * @param {import('playwright-core').Browser} browser
 * @param {{ locale?: string, label?: string, timezoneId?: string }} [options]
 *   `timezoneId` is the browser's time zone, such as "Europe/Berlin"; the machine's by default
 */
export async function openPage(browser, { locale = 'de-DE', label = 'page', timezoneId } = {}) {
  const context = await browser.newContext({ locale, timezoneId, viewport: { width: 960, height: 640 } });
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (message) => pushLine(consoleLines, `${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => pushLine(consoleLines, `uncaught: ${error.stack ?? error.message}`));
  page.on('crash', () => pushLine(consoleLines, 'page crashed'));
  testPageInfo.set(page, { label, consoleLines });
  return page;
}

/** @type {WeakMap<import('playwright-core').Page, { label: string, consoleLines: string[] }>} */
const testPageInfo = new WeakMap();

/** Returns the `data-state` of the page body, or '' when the page has none yet. */
export async function pageState(page) {
  return page.evaluate(() => document.body?.dataset.state ?? '');
}

/**
 * Describes a page for a failure message: its state, the error text shown,
 * the number of remote videos and the last console lines.
 */
export async function describePage(page) {
  const info = testPageInfo.get(page) ?? { label: 'page', consoleLines: [] };
  let summary;
  try {
    summary = await page.evaluate(() => {
      const errorElement = document.querySelector('[data-testid="error"]');
      const connections = window.__videoCall?.peerConnections;
      return {
        state: document.body?.dataset.state ?? '',
        error: errorElement && errorElement.getClientRects().length > 0 ? errorElement.textContent.trim() : '',
        remoteVideos: document.querySelectorAll('[data-testid="remote-video"]').length,
        peerConnections: connections
          ? [...connections.entries()].map(([peerId, pc]) => `${peerId}: connection ${pc.connectionState}, ice ${pc.iceConnectionState}, signaling ${pc.signalingState}`)
          : null,
      };
    });
  } catch (error) {
    summary = { evaluateFailed: String(error) };
  }
  const tail = info.consoleLines.slice(-20).join('\n    ');
  return `${info.label} (${page.url()}): ${JSON.stringify(summary)}\n  console:\n    ${tail || '(none)'}`;
}

/**
 * Opens a join link and waits until the page has checked it and offers to join.
 *
 * @param {import('playwright-core').Page} page
 * @param {string} joinUrl
 */
export async function openJoinPage(page, joinUrl) {
  await page.goto(joinUrl);
  await waitFor(async () => (await pageState(page)) === 'ready', {
    description: `state "ready" after opening ${joinUrl}`,
    diagnose: () => describePage(page),
  });
}

/**
 * Waits until the camera preview on the join form shows a picture, the state
 * a visitor is in before clicking join.
 */
export async function waitForPreview(page) {
  // NOTE: the join page has no data-testid for the preview, so this uses its element id.
  await waitFor(() => page.evaluate(() => (document.getElementById('preview-video')?.videoWidth ?? 0) > 0), {
    description: 'a picture in the camera preview (#preview-video)',
    diagnose: () => describePage(page),
  });
}

/**
 * Opens a join link, enters a display name, clicks join and waits for the
 * state "in-call". By default it clicks only after the camera preview shows
 * a picture. With `waitForPreview: false` it clicks as soon as the form is
 * shown, which tests joining while the camera is still opening.
 *
 * @param {import('playwright-core').Page} page
 * @param {string} joinUrl
 * @param {string} name
 * @param {{ waitForPreview?: boolean }} [options]
 */
export async function joinCall(page, joinUrl, name, { waitForPreview: previewFirst = true } = {}) {
  await openJoinPage(page, joinUrl);
  if (previewFirst) await waitForPreview(page);
  await page.getByTestId('display-name').fill(name);
  await page.getByTestId('join').click();
  await waitForState(page, 'in-call');
}

/** Waits until the page body has `data-state` equal to `state`. */
export async function waitForState(page, state, timeout = WAIT_TIMEOUT_MS) {
  await waitFor(async () => (await pageState(page)) === state, {
    description: `state "${state}"`,
    timeout,
    diagnose: () => describePage(page),
  });
}

/** Waits until the page shows exactly `count` remote videos. */
export async function waitForRemoteVideoCount(page, count, timeout = WAIT_TIMEOUT_MS) {
  await waitFor(async () => (await page.getByTestId('remote-video').count()) === count, {
    description: `${count} remote video element(s)`,
    timeout,
    diagnose: () => describePage(page),
  });
}

/**
 * Returns, per remote peer, the frames decoded on the inbound video stream of
 * its peer connection, read from `getStats()`; 0 where no video came in yet.
 *
 * @param {import('playwright-core').Page} page
 * @returns {Promise<Record<string, number>>}
 */
export async function decodedVideoFrames(page) {
  return page.evaluate(async () => {
    const connections = window.__videoCall?.peerConnections;
    if (!connections) throw new Error('window.__videoCall.peerConnections is missing');
    const frames = {};
    for (const [peerId, pc] of connections) {
      const report = await pc.getStats();
      let decoded = 0;
      report.forEach((stats) => {
        if (stats.type === 'inbound-rtp' && stats.kind === 'video') decoded += stats.framesDecoded ?? 0;
      });
      frames[peerId] = decoded;
    }
    return frames;
  });
}

/**
 * Waits until the page has `peerCount` peer connections and each has decoded
 * at least one video frame. Returns the decoded frame counts per peer.
 *
 * @param {import('playwright-core').Page} page
 * @param {{ peerCount?: number, timeout?: number }} [options]
 */
export async function waitForDecodedVideo(page, { peerCount = 1, timeout = WAIT_TIMEOUT_MS } = {}) {
  let lastFrames = {};
  return waitFor(
    async () => {
      lastFrames = await decodedVideoFrames(page);
      const counts = Object.values(lastFrames);
      return counts.length === peerCount && counts.every((count) => count > 0) ? lastFrames : null;
    },
    {
      description: `decoded video frames from ${peerCount} peer(s)`,
      timeout,
      interval: 200,
      diagnose: async () => `frames decoded per peer: ${JSON.stringify(lastFrames)}\n${await describePage(page)}`,
    },
  );
}

/**
 * Joins a room as a bare signaling client, without a browser, and resolves
 * with the server's `joined` message. The socket sends nothing more and stays
 * open until closed, so it takes a place in the room like an idle participant.
 *
 * @param {TestServer} server
 * @param {string} token link token
 * @param {string} name display name
 * @returns {Promise<{ socket: WebSocket, joined: object }>}
 */
export async function joinWithSocket(server, token, name) {
  const socket = new WebSocket(`${server.origin.replace(/^http/, 'ws')}/ws`, { origin: server.origin });
  const joined = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "joined" for ${name} within ${WAIT_TIMEOUT_MS} ms`)), WAIT_TIMEOUT_MS);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'join', v: 1, token, name })));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'joined') {
        clearTimeout(timer);
        resolve(message);
      } else if (message.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`join as ${name} failed: ${message.code}: ${message.message}`));
      }
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket of ${name} failed: ${error.message}`));
    });
    socket.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket of ${name} closed with code ${code} before "joined"`));
    });
  }).catch((error) => {
    socket.terminate();
    throw error;
  });
  return { socket, joined };
}

/**
 * Resources of one test: servers, browsers and sockets, closed by `close()`
 * in reverse order of creation. On failure, `saveArtifacts()` writes a
 * screenshot and the console of every page and the server log to
 * tests/.artifacts/<test name>/.
 */
export class TestResources {
  constructor() {
    /** @type {{ name: string, close: () => Promise<void> | void }[]} */
    this.closers = [];
    /** @type {import('playwright-core').Page[]} */
    this.pages = [];
    /** @type {TestServer[]} */
    this.servers = [];
  }

  async startServer(options) {
    const server = await startServer(options);
    this.servers.push(server);
    this.closers.push({ name: `server pid ${server.pid}`, close: () => server.stop() });
    return server;
  }

  /** @param {Parameters<typeof launchBrowser>[0]} [options] */
  async launchBrowser(options) {
    const browser = await launchBrowser(options);
    this.closers.push({ name: 'browser', close: () => browser.close() });
    return browser;
  }

  async openPage(browser, options) {
    const page = await openPage(browser, options);
    this.pages.push(page);
    return page;
  }

  async joinWithSocket(server, token, name) {
    const client = await joinWithSocket(server, token, name);
    this.closers.push({ name: `socket of ${name}`, close: () => client.socket.terminate() });
    return client;
  }

  async saveArtifacts(testName) {
    const directory = path.join(ARTIFACTS_DIR, testName.replace(/[^A-Za-z0-9._-]+/g, '-'));
    await mkdir(directory, { recursive: true });
    for (const [index, page] of this.pages.entries()) {
      const info = testPageInfo.get(page);
      const base = path.join(directory, `${index + 1}-${(info?.label ?? 'page').replace(/[^A-Za-z0-9_-]+/g, '-')}`);
      try {
        await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: 5_000 });
      } catch (error) {
        await writeFile(`${base}.screenshot-failed.txt`, String(error));
      }
      await writeFile(`${base}.console.txt`, `${await describePage(page)}\n\n${(info?.consoleLines ?? []).join('\n')}\n`);
    }
    for (const [index, server] of this.servers.entries()) {
      await writeFile(path.join(directory, `server-${index + 1}.log`), `${server.log.join('\n')}\n`);
    }
    return directory;
  }

  /** Closes everything, going on past failures, and throws the first one. */
  async close() {
    let firstError;
    for (const closer of this.closers.reverse()) {
      try {
        await closer.close();
      } catch (error) {
        firstError ??= new Error(`closing ${closer.name} failed: ${error}`);
      }
    }
    this.closers = [];
    if (firstError) throw firstError;
  }
}

/**
 * Starts a server and a browser, creates a room for today and joins it with
 * two pages, "Anna" and "Ben", each in its own browser context.
 *
 * @param {TestResources} resources
 * @param {Parameters<typeof startServer>[0]} [serverOptions]
 */
export async function startTwoPersonCall(resources, serverOptions) {
  const server = await resources.startServer(serverOptions);
  const room = await createRoom(server);
  const browser = await resources.launchBrowser();
  const anna = await resources.openPage(browser, { label: 'anna' });
  const ben = await resources.openPage(browser, { label: 'ben' });

  await joinCall(anna, room.joinUrl, 'Anna');
  await joinCall(ben, room.joinUrl, 'Ben');
  return { server, room, browser, anna, ben };
}

/**
 * Runs `body` with fresh `TestResources`, saves artifacts when it throws and
 * closes everything afterwards either way.
 *
 * @param {string} name test name, used for the artifacts folder
 * @param {(resources: TestResources) => Promise<void>} body
 */
export async function withResources(name, body) {
  const resources = new TestResources();
  try {
    await body(resources);
  } catch (error) {
    try {
      const directory = await resources.saveArtifacts(name);
      error.message += `\n(screenshots and logs in ${path.relative(process.cwd(), directory) || directory})`;
    } catch (saveError) {
      error.message += `\n(saving artifacts failed: ${saveError})`;
    }
    throw error;
  } finally {
    await resources.close();
  }
}
