// Start-up and shutdown of a server run as a child process, shared by the
// browser tests and the benchmarks. Only Node's own modules are used here,
// so any package of the repository can import this file.

import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits until the child prints a line on standard output that matches
 * `pattern`, and returns the pattern's first group, such as the origin the
 * server listens on. Rejects when the child fails to start, exits first or
 * stays silent for `timeoutMs`; the error ends with the lines of `log`.
 *
 * @param {import('node:child_process').ChildProcess} child
 * @param {Promise<{ code: number | null, signal: string | null }>} exited resolves on the child's exit
 * @param {{ name: string, pattern: RegExp, timeoutMs: number, log: string[] }} options
 *   `name` names the server in errors; `log` contains its recent lines of standard error
 * @returns {Promise<string>}
 */
export function waitForListening(child, exited, { name, pattern, timeoutMs, log }) {
  return new Promise((resolve, reject) => {
    const fail = (/** @type {string} */ message) => {
      clearTimeout(timer);
      reject(new Error(`${message}\n${log.join('\n')}`));
    };
    const timer = setTimeout(() => fail(`${name} printed no line matching ${pattern} within ${timeoutMs} ms`), timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = pattern.exec(line.trim());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('error', (error) => fail(`starting ${name} failed: ${error.message}`));
    exited.then(({ code, signal }) => fail(`${name} exited during start-up (code ${code}, signal ${signal})`));
  });
}

/**
 * Sends SIGTERM to a running child and waits for its exit. A child still
 * running after `timeoutMs` gets SIGKILL, and `report` receives a line
 * saying so.
 *
 * @param {import('node:child_process').ChildProcess} child
 * @param {Promise<unknown>} exited resolves on the child's exit
 * @param {{ name: string, timeoutMs: number, report: (line: string) => void }} options
 */
export async function stopChild(child, exited, { name, timeoutMs, report }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const outcome = await Promise.race([exited, sleep(timeoutMs, null, { ref: false })]);
  if (outcome === null) {
    report(`${name} pid ${child.pid} still running ${timeoutMs} ms after SIGTERM; sending SIGKILL`);
    child.kill('SIGKILL');
    await exited;
  }
}
