// The local server behind nginx, configured with the block that README.md
// gives: a call through the proxy, and the link throttle counting each
// client behind it on its own (--trusted-proxy).
//
// Needs an nginx binary in NGINX, /usr/sbin/nginx by default. tests/run
// unpacks Debian's into target/test-tools/nginx and sets NGINX. nginx runs
// in the foreground as one process, with its files in a temporary
// directory, and listens only on 127.0.0.1.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/reverse-proxy.test.mjs'

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';

import {
  WAIT_TIMEOUT_MS,
  createRoom,
  joinCall,
  linkToken,
  waitFor,
  waitForDecodedVideo,
  withResources,
} from './helpers.mjs';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

/** Limit of the whole test: a two-page call plus start-up. */
const TEST_TIMEOUT_MS = 180_000;

/** Invalid links after which the server refuses a client's sockets (ThrottlePolicy::default()). */
const MAX_INVALID_LINKS = 20;

/** Returns the first ```nginx block of README.md. */
async function readmeNginxBlock() {
  const text = await readFile(README, 'utf8');
  const match = /```nginx\n([\s\S]*?)```/.exec(text);
  assert.ok(match, 'README.md has an nginx configuration block');
  return match[1];
}

/** Returns a port that was free a moment ago on 127.0.0.1. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Turns the README's block into a configuration for this test: plain HTTP
 * on 127.0.0.1:`port` in place of the TLS lines, and `upstream` in place of
 * the server's default address. Every other line stays as the README has it.
 */
function testConfiguration(block, port, upstream, directory) {
  const replaced = block
    .replace(/^\s*listen 443 ssl;\n/m, `    listen 127.0.0.1:${port};\n`)
    .replace(/^\s*(server_name|ssl_certificate|ssl_certificate_key)\s.*\n/gm, '')
    .replace('proxy_pass http://127.0.0.1:8080;', `proxy_pass ${upstream};`);
  assert.match(replaced, new RegExp(`listen 127\\.0\\.0\\.1:${port};`), 'the listen line was replaced');
  assert.ok(replaced.includes(`proxy_pass ${upstream};`), 'the proxy_pass line was replaced');
  assert.doesNotMatch(replaced, /\bssl\b|listen 443|:8080;/, 'nothing of the TLS set-up or the default address is left');
  return `daemon off;
master_process off;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log info;
events {}
http {
    access_log off;
    client_body_temp_path ${directory}/client_body;
    proxy_temp_path ${directory}/proxy;
    fastcgi_temp_path ${directory}/fastcgi;
    uwsgi_temp_path ${directory}/uwsgi;
    scgi_temp_path ${directory}/scgi;
${replaced}
}
`;
}

/** Starts nginx in the foreground and waits until its port accepts connections. */
async function startNginx(resources, configuration, directory, port) {
  const file = path.join(directory, 'nginx.conf');
  await writeFile(file, configuration);
  const child = spawn(NGINX, ['-p', directory, '-e', path.join(directory, 'error.log'), '-c', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr.on('data', (chunk) => {
    errors += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  resources.closers.push({
    name: `nginx pid ${child.pid}`,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  });
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with code ${child.exitCode}: ${errors}`);
      return (await fetch(`http://127.0.0.1:${port}/privacy`).catch(() => null))?.ok === true;
    },
    { description: `nginx answering on 127.0.0.1:${port}`, diagnose: async () => errors },
  );
}

/**
 * Opens a socket through the proxy from the loopback address `from` and
 * sends `join`. Returns the first reply's type or error code, or the HTTP
 * status when the upgrade is refused.
 */
async function joinFrom(proxyOrigin, from, token) {
  const socket = new WebSocket(`${proxyOrigin.replace(/^http/, 'ws')}/ws`, { origin: proxyOrigin, localAddress: from });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply from ${from} within ${WAIT_TIMEOUT_MS} ms`)), WAIT_TIMEOUT_MS);
      socket.once('unexpected-response', (_request, response) => {
        clearTimeout(timer);
        resolve(`HTTP ${response.statusCode}`);
      });
      socket.once('open', () => socket.send(JSON.stringify({ type: 'join', v: 1, token, name: 'Mallory' })));
      socket.once('message', (data) => {
        clearTimeout(timer);
        const message = JSON.parse(data.toString());
        resolve(message.type === 'error' ? message.code : message.type);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } finally {
    socket.terminate();
  }
}

test('README nginx configuration: call and per-client throttle', { timeout: TEST_TIMEOUT_MS }, async () => {
  assert.ok(existsSync(NGINX), `${NGINX} not found: run tests/run, which unpacks Debian's nginx, or set NGINX to an nginx binary`);
  await withResources('reverse proxy', async (resources) => {
    const directory = await mkdtemp(path.join(tmpdir(), 'video-test-nginx-'));
    resources.closers.push({ name: 'nginx directory', close: () => rm(directory, { recursive: true, force: true }) });
    const port = await freePort();
    const proxyOrigin = `http://127.0.0.1:${port}`;
    const server = await resources.startServer({
      extraArgs: ['--public-url', proxyOrigin, '--trusted-proxy', '127.0.0.1'],
    });
    const configuration = testConfiguration(await readmeNginxBlock(), port, server.origin, directory);
    await startNginx(resources, configuration, directory, port);

    // A call through the proxy: pages, WebSocket and the Origin check.
    const room = await createRoom(server);
    assert.ok(room.joinUrl.startsWith(`${proxyOrigin}/`), room.joinUrl);
    const browser = await resources.launchBrowser();
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);

    // One guesser behind the proxy is blocked; another client is not.
    const token = linkToken(room.joinUrl);
    const guessed = `${token.split('.')[0]}.${'A'.repeat(43)}`;
    for (let attempt = 1; attempt <= MAX_INVALID_LINKS; attempt += 1) {
      assert.equal(await joinFrom(proxyOrigin, '127.0.0.2', guessed), 'invalid-link', `guess ${attempt}`);
    }
    assert.equal(await joinFrom(proxyOrigin, '127.0.0.2', token), 'HTTP 429', 'the guesser is blocked');
    assert.equal(await joinFrom(proxyOrigin, '127.0.0.3', token), 'joined', 'another client behind the proxy joins');
    assert.ok(
      !server.log.some((line) => line.includes('no --trusted-proxy')),
      `no warning about an untrusted proxy:\n${server.log.join('\n')}`,
    );
  });
});
