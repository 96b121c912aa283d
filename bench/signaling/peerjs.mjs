// Starts and stops peerjs-server.mjs as a child process, with the same
// contract as `startServer` of the soak for video-local.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { stopChild, waitForListening } from '../../tests/browser/child.mjs';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'peerjs-server.mjs');
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const LISTENING_LINE = /^PeerJS server listening on (http:\/\/\S+)$/;
const KEPT_LOG_LINES = 50;

/**
 * Starts PeerJS server on 127.0.0.1 with a free port and a random key, and
 * waits for its "listening" line.
 *
 * @returns {Promise<{ origin: string, key: string, pid: number, logTail: string[],
 *   problemCount: { warn: number, error: number }, stop: () => Promise<void> }>}
 */
export async function startPeerJsServer() {
  const key = randomBytes(12).toString('hex');
  const child = spawn(process.execPath, [SCRIPT], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PEERJS_KEY: key, NODE_ENV: 'production' },
  });

  const logTail = [];
  const problemCount = { warn: 0, error: 0 };
  createInterface({ input: child.stderr }).on('line', (line) => {
    logTail.push(line);
    if (logTail.length > KEPT_LOG_LINES) logTail.shift();
    problemCount.error += 1;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  let stopping;
  const stop = () => {
    stopping ??= stopChild(child, exited, { name: 'PeerJS server', timeoutMs: STOP_TIMEOUT_MS, report: console.error });
    return stopping;
  };

  const origin = await waitForListening(child, exited, {
    name: 'PeerJS server',
    pattern: LISTENING_LINE,
    timeoutMs: START_TIMEOUT_MS,
    log: logTail,
  }).catch(async (error) => {
    await stop();
    throw error;
  });

  return { origin, key, pid: child.pid, logTail, problemCount, problemLines: logTail, stop };
}
