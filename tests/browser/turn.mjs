// Debian's coturn for the relay tests, configured by infra/turn/render-config
// from the same template as production, and a small TURN client that speaks
// just enough of RFC 5766 to allocate a relay and ask for a permission.
//
// Like the other browser tests, these run inside a loopback-only network
// namespace: coturn listens on 127.0.0.1 and relays only on loopback.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

import { REPO_ROOT } from './helpers.mjs';

/** Debian's coturn; `TURNSERVER_BIN` overrides it. */
export const TURNSERVER_BINARY = process.env.TURNSERVER_BIN ?? '/usr/bin/turnserver';

export const RENDER_CONFIG = path.join(REPO_ROOT, 'infra/turn/render-config');

/** coturn's fixed listening port from the template. */
export const TURN_PORT = 3478;
export const TURN_HOST = '127.0.0.1';
export const TURN_REALM = 'turn.test';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 2_000;

/** Returns a shared secret for tests only: 48 visible ASCII characters. */
export function testSecret() {
  return randomBytes(24).toString('hex');
}

/**
 * Runs infra/turn/render-config with `args` and returns the configuration
 * text, or throws with its error message.
 *
 * @param {string[]} args
 */
export function renderConfig(args) {
  const result = spawnSync('python3', [RENDER_CONFIG, ...args], { encoding: 'utf8' });
  if (result.error) throw new Error(`running ${RENDER_CONFIG} failed: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${RENDER_CONFIG} exited with ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** Makes a self-signed certificate for TURN over TLS with openssl, as the production profile needs one. */
function selfSignedCertificate(directory) {
  const cert = path.join(directory, 'cert.pem');
  const pkey = path.join(directory, 'key.pem');
  const result = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${TURN_REALM}`, '-keyout', pkey, '-out', cert],
    { encoding: 'utf8' },
  );
  if (result.error || result.status !== 0) {
    throw new Error(`openssl could not make a test certificate: ${result.error?.message ?? result.stderr}`);
  }
  return { cert, pkey };
}

/**
 * Starts coturn on 127.0.0.1 with a configuration rendered from the
 * repository's template and waits until it responds to a STUN binding
 * request.
 *
 * @param {object} options
 * @param {'loopback' | 'production'} options.profile
 * @param {string} options.secret shared secret, also given to the video server
 * @param {string[]} [options.extraArgs] more render-config arguments
 * @returns {Promise<{ config: string, log: string[], stop: () => Promise<void> }>}
 */
export async function startCoturn({ profile, secret, extraArgs = [] }) {
  if (!existsSync(TURNSERVER_BINARY)) {
    throw new Error(`${TURNSERVER_BINARY} not found: install Debian's coturn package (tests/run does)`);
  }
  const directory = await mkdtemp(path.join(tmpdir(), 'video-test-turn-'));
  const secretFile = path.join(directory, 'secret');
  await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  const args = ['--profile', profile, '--realm', TURN_REALM, '--listening-ip', TURN_HOST, '--external-ip', TURN_HOST,
    '--secret-file', secretFile, ...extraArgs];
  if (profile === 'production') {
    const { cert, pkey } = selfSignedCertificate(directory);
    args.push('--cert', cert, '--pkey', pkey);
  }
  const config = renderConfig(args);
  const configFile = path.join(directory, 'turnserver.conf');
  await writeFile(configFile, config, { mode: 0o600 });

  const child = spawn(TURNSERVER_BINARY, ['-c', configFile, '--pidfile', path.join(directory, 'turnserver.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The configuration turns coturn's log off; what it prints before reading
  // the file, such as a bad option, still ends up here.
  const log = [];
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => log.push(line));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const outcome = await Promise.race([exited, sleep(STOP_TIMEOUT_MS, null, { ref: false })]);
      if (outcome === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await rm(directory, { recursive: true, force: true });
  };

  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`coturn exited during start-up (code ${child.exitCode}, signal ${child.signalCode})\n${log.join('\n')}`);
    }
    if (await stunBindingAnswered()) break;
    if (Date.now() - started > START_TIMEOUT_MS) {
      await stop();
      throw new Error(`coturn did not answer STUN on ${TURN_HOST}:${TURN_PORT} within ${START_TIMEOUT_MS} ms\n${log.join('\n')}`);
    }
    await sleep(100);
  }
  return { config, log, stop, pid: child.pid };
}

/**
 * Returns the username and password the signaling server would hand out for
 * `secret`, valid until `expiresAt` (unix seconds).
 */
export function restCredential(secret, expiresAt) {
  const username = `${expiresAt}:${randomBytes(8).toString('hex')}`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  return { username, password };
}

// --- A minimal TURN client over UDP (RFC 5389, RFC 5766) ------------------

const MAGIC_COOKIE = 0x2112a442;
const BINDING = 0x0001;
const ALLOCATE = 0x0003;
const CREATE_PERMISSION = 0x0008;
const SUCCESS = 0x0100;
const ERROR = 0x0110;

const ATTR_USERNAME = 0x0006;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_ERROR_CODE = 0x0009;
const ATTR_XOR_PEER_ADDRESS = 0x0012;
const ATTR_REALM = 0x0014;
const ATTR_NONCE = 0x0015;
const ATTR_XOR_RELAYED_ADDRESS = 0x0016;
const ATTR_REQUESTED_TRANSPORT = 0x0019;
const UDP_PROTOCOL = 17;

/** @param {number} type @param {Buffer} value */
function attribute(type, value) {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  const padding = Buffer.alloc((4 - (value.length % 4)) % 4);
  return Buffer.concat([header, value, padding]);
}

/**
 * Encodes a request. With `key`, a MESSAGE-INTEGRITY attribute over the
 * whole message goes last, as the long-term credential mechanism requires.
 */
function encode(method, attributes, key) {
  const transactionId = randomBytes(12);
  let body = Buffer.concat(attributes);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(method, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  if (key) {
    // The length covers the integrity attribute (4 + 20 bytes) while the HMAC is computed.
    header.writeUInt16BE(body.length + 24, 2);
    const integrity = createHmac('sha1', key).update(Buffer.concat([header, body])).digest();
    body = Buffer.concat([body, attribute(ATTR_MESSAGE_INTEGRITY, integrity)]);
  }
  header.writeUInt16BE(body.length, 2);
  return { message: Buffer.concat([header, body]), transactionId };
}

/** Decodes a response into its class and attributes, keyed by type. */
function decode(message) {
  const type = message.readUInt16BE(0);
  const length = message.readUInt16BE(2);
  const attributes = new Map();
  let offset = 20;
  while (offset + 4 <= 20 + length) {
    const attributeType = message.readUInt16BE(offset);
    const attributeLength = message.readUInt16BE(offset + 2);
    attributes.set(attributeType, message.subarray(offset + 4, offset + 4 + attributeLength));
    offset += 4 + attributeLength + ((4 - (attributeLength % 4)) % 4);
  }
  const errorValue = attributes.get(ATTR_ERROR_CODE);
  const errorCode = errorValue ? errorValue[2] * 100 + errorValue[3] : 0;
  return { success: (type & 0x0110) === SUCCESS, error: (type & 0x0110) === ERROR, errorCode, attributes, transactionId: message.subarray(8, 20) };
}

/** @param {string} address IPv4 @param {number} port */
function xorAddress(address, port) {
  const value = Buffer.alloc(8);
  value[1] = 0x01;
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  const octets = address.split('.').map(Number);
  value.writeUInt32BE((((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) ^ MAGIC_COOKIE) >>> 0, 4);
  return value;
}

/** @param {Buffer} value */
function readXorAddress(value) {
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const raw = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
  return { address: [raw >>> 24, (raw >>> 16) & 255, (raw >>> 8) & 255, raw & 255].join('.'), port };
}

/** One UDP socket to the TURN server; responses are matched to requests by transaction id. */
class TurnSocket {
  constructor() {
    this.socket = createSocket('udp4');
    /** @type {Map<string, (message: Buffer) => void>} */
    this.waiting = new Map();
    this.socket.on('message', (message) => {
      if (message.length < 20) return;
      const key = message.subarray(8, 20).toString('hex');
      this.waiting.get(key)?.(message);
    });
  }

  /** Sends a request and resolves with the decoded response. */
  async request({ message, transactionId }) {
    const key = transactionId.toString('hex');
    const response = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`no answer from ${TURN_HOST}:${TURN_PORT} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(key, (reply) => {
        clearTimeout(timer);
        this.waiting.delete(key);
        resolve(decode(reply));
      });
    });
    this.socket.send(message, TURN_PORT, TURN_HOST);
    return response;
  }

  close() {
    this.socket.close();
  }
}

/** Sends one STUN binding request; true when a success response arrives. */
async function stunBindingAnswered() {
  const client = new TurnSocket();
  try {
    const response = await client.request(encode(BINDING, []));
    return response.success;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/**
 * Allocates a UDP relay with `username` and `password`, as a browser does:
 * a first request without credentials gets 401 with realm and nonce, the
 * second one carries them. Resolves with the outcome, and with `permit`,
 * which requests a permission to send to a peer address through the relay.
 *
 * @param {{ username: string, password: string }} credential
 */
export async function allocateRelay({ username, password }) {
  const client = new TurnSocket();
  const transport = attribute(ATTR_REQUESTED_TRANSPORT, Buffer.from([UDP_PROTOCOL, 0, 0, 0]));
  try {
    const challenge = await client.request(encode(ALLOCATE, [transport]));
    if (challenge.errorCode !== 401) throw new Error(`the first Allocate got ${challenge.errorCode || 'success'}, not 401`);
    const realm = challenge.attributes.get(ATTR_REALM);
    const nonce = challenge.attributes.get(ATTR_NONCE);
    if (!realm || !nonce) throw new Error('the 401 answer carries no realm or nonce');
    const key = createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest();
    const authentication = [
      attribute(ATTR_USERNAME, Buffer.from(username)),
      attribute(ATTR_REALM, realm),
      attribute(ATTR_NONCE, nonce),
    ];
    const response = await client.request(encode(ALLOCATE, [transport, ...authentication], key));
    const relayed = response.attributes.get(ATTR_XOR_RELAYED_ADDRESS);
    return {
      allocated: response.success,
      errorCode: response.errorCode,
      realm: realm.toString(),
      relayedAddress: relayed ? readXorAddress(relayed) : null,
      /**
       * Requests a permission to relay to `address`; resolves with 0 on
       * success or the error code, 403 for a forbidden peer.
       * @param {string} address
       */
      permit: async (address) => {
        const permission = await client.request(
          encode(CREATE_PERMISSION, [attribute(ATTR_XOR_PEER_ADDRESS, xorAddress(address, 9)), ...authentication], key),
        );
        return permission.success ? 0 : permission.errorCode;
      },
      close: () => client.close(),
    };
  } catch (error) {
    client.close();
    throw error;
  }
}
