// End-to-end check of the pages' network boundary. Through a two-page call,
// the practitioner page and the join page request nothing from any origin
// other than the server's. Every HTML, JavaScript and CSS response carries a
// strict Content-Security-Policy, and the browser reports no violation of it.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/security.test.mjs'

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createRoom, describePage, joinCall, waitFor, waitForDecodedVideo, withResources } from './helpers.mjs';

/** Limit of the whole test: server and browser start-up, three pages and a call. */
const TEST_TIMEOUT_MS = 180_000;

/**
 * URL schemes whose content never leaves the browser: the empty favicon
 * `data:,` and media streams shown through `blob:` URLs.
 */
const LOCAL_SCHEMES = new Set(['data:', 'blob:']);

/** Sources that would let a script run that the server did not send as a file. */
const UNSAFE_SCRIPT_SOURCES = ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", '*', 'http:', 'https:', 'data:', 'blob:'];

/**
 * Records, in the page, every `securitypolicyviolation` event in
 * `window.__cspViolations`. Runs as an init script, before the page's own
 * scripts.
 */
function recordCspViolations() {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || '(inline)'} in ${event.sourceFile || event.documentURI}`);
  });
}

/**
 * Everything a set of browser contexts fetched or opened, and what their
 * pages reported about the Content-Security-Policy.
 */
class NetworkLog {
  constructor() {
    /** @type {Set<import('playwright-core').Request>} */
    this.requests = new Set();
    /** @type {string[]} */
    this.webSocketUrls = [];
    /** @type {string[]} script URLs of dedicated workers */
    this.workerUrls = [];
    /** @type {{ url: string, contentType: string, csp: string | undefined }[]} */
    this.responses = [];
    /** @type {string[]} CSP messages of the console */
    this.consoleViolations = [];
    /** @type {Promise<void>[]} header reads still running */
    this.pending = [];
  }

  /**
   * Starts recording the page's context: requests of its pages and workers,
   * pages it opens later, and their WebSockets, responses and console.
   *
   * @param {import('playwright-core').Page} page
   */
  async watch(page) {
    const context = page.context();
    context.on('request', (request) => this.requests.add(request));
    context.on('page', (opened) => this.watchPage(opened));
    await context.addInitScript(recordCspViolations);
    this.watchPage(page);
  }

  /** @param {import('playwright-core').Page} page */
  watchPage(page) {
    page.on('request', (request) => this.requests.add(request));
    page.on('websocket', (socket) => this.webSocketUrls.push(socket.url()));
    page.on('worker', (worker) => this.workerUrls.push(worker.url()));
    page.on('console', (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text())) this.consoleViolations.push(`${page.url()}: ${message.text()}`);
    });
    page.on('response', (response) => {
      this.pending.push(
        response.allHeaders().then((headers) => {
          this.responses.push({ url: response.url(), contentType: headers['content-type'] ?? '', csp: headers['content-security-policy'] });
        }),
      );
    });
  }

  /** Returns every recorded URL: requests, WebSockets and worker scripts. */
  urls() {
    return [...[...this.requests].map((request) => request.url()), ...this.webSocketUrls, ...this.workerUrls];
  }

  /** Waits for the header reads that are still running. */
  async settle() {
    await Promise.all(this.pending);
  }
}

/**
 * Tells whether `url` belongs to the server at `origin`: the same host and
 * port over http, or over ws for the signaling socket.
 *
 * @param {string} url
 * @param {string} origin such as `http://127.0.0.1:40123`
 */
function isSameOrigin(url, origin) {
  const parsed = new URL(url);
  const server = new URL(origin);
  const scheme = { 'ws:': 'http:', 'wss:': 'https:' }[parsed.protocol] ?? parsed.protocol;
  return scheme === server.protocol && parsed.host === server.host;
}

/**
 * Splits a Content-Security-Policy into a map from directive name to its
 * list of sources.
 *
 * @param {string} policy
 * @returns {Map<string, string[]>}
 */
function parsePolicy(policy) {
  const directives = new Map();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

/**
 * Returns what is wrong with a Content-Security-Policy, as a list of
 * messages; empty when the policy is strict enough.
 *
 * @param {string | undefined} policy
 * @returns {string[]}
 */
function policyProblems(policy) {
  if (!policy) return ['no Content-Security-Policy header'];
  const directives = parsePolicy(policy);
  const problems = [];
  const defaultSources = directives.get('default-src');
  const strictDefault = defaultSources?.length === 1 && ["'self'", "'none'"].includes(defaultSources[0]);
  if (!strictDefault) problems.push(`default-src is ${JSON.stringify(defaultSources)}, expected 'self' or 'none'`);
  const scriptSources = directives.get('script-src') ?? defaultSources ?? [];
  const unsafe = scriptSources.filter((source) => UNSAFE_SCRIPT_SOURCES.includes(source));
  if (unsafe.length > 0) problems.push(`script-src allows ${unsafe.join(' ')}`);
  const expectExactly = (name, allowed) => {
    const sources = directives.get(name);
    if (!sources || sources.length !== 1 || !allowed.includes(sources[0])) {
      problems.push(`${name} is ${JSON.stringify(sources)}, expected ${allowed.join(' or ')}`);
    }
  };
  expectExactly('frame-ancestors', ["'none'"]);
  expectExactly('object-src', ["'none'"]);
  expectExactly('base-uri', ["'none'", "'self'"]);
  return problems;
}

/** Returns the CSP violations that the page's init script recorded. */
async function pageViolations(page) {
  return page.evaluate(() => window.__cspViolations ?? ['the recorder did not run']);
}

test('pages talk only to their own origin under a strict CSP', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('security own origin and csp', async (resources) => {
    const server = await resources.startServer();
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    const network = new NetworkLog();
    const violations = [];

    // The practitioner page, with the overview loaded through the API.
    const practitioner = await resources.openPage(browser, { label: 'practitioner' });
    await network.watch(practitioner);
    await practitioner.goto(`${server.origin}/`);
    const token = practitioner.getByTestId('api-token');
    await token.fill(server.apiToken);
    await token.press('Enter');
    const row = practitioner.locator(`[data-testid="room-row"][data-room-id="${room.id}"]`);
    await waitFor(async () => (await row.count()) === 1, {
      description: `the overview row of room ${room.id}`,
      diagnose: () => describePage(practitioner),
    });
    violations.push(...(await pageViolations(practitioner)).map((text) => `practitioner: ${text}`));

    // The join page and a short call of two pages.
    const anna = await resources.openPage(browser, { label: 'anna' });
    const ben = await resources.openPage(browser, { label: 'ben' });
    await network.watch(anna);
    await network.watch(ben);
    await joinCall(anna, room.joinUrl, 'Anna');
    await joinCall(ben, room.joinUrl, 'Ben');
    await waitForDecodedVideo(anna);
    await waitForDecodedVideo(ben);
    for (const [label, page] of [['anna', anna], ['ben', ben]]) {
      violations.push(...(await pageViolations(page)).map((text) => `${label}: ${text}`));
    }
    await network.settle();

    // The log must have seen the whole session, or the checks below prove nothing.
    const urls = network.urls();
    const paths = new Set(urls.filter((url) => isSameOrigin(url, server.origin)).map((url) => new URL(url).pathname));
    for (const expected of ['/', '/join', '/js/console.js', '/js/join.js', '/css/app.css', '/config.json', '/api/rooms']) {
      assert.ok(paths.has(expected), `a request of ${expected} was recorded; seen: ${[...paths].join(', ')}`);
    }
    assert.equal(network.webSocketUrls.length, 2, `one signaling socket per participant: ${network.webSocketUrls.join(', ')}`);

    const foreign = urls.filter((url) => !LOCAL_SCHEMES.has(new URL(url).protocol) && !isSameOrigin(url, server.origin));
    assert.deepEqual(foreign, [], `requests to another origin than ${server.origin}`);
    for (const url of network.webSocketUrls) {
      assert.ok(isSameOrigin(url, server.origin), `the WebSocket ${url} goes to the server's host and port`);
    }

    const documents = network.responses.filter(({ contentType }) => /^(text\/html|text\/javascript|application\/javascript|text\/css)\b/.test(contentType));
    const kinds = new Set(documents.map(({ contentType }) => contentType.split(';')[0]));
    assert.deepEqual([...kinds].sort(), ['text/css', 'text/html', 'text/javascript'], 'HTML, JavaScript and CSS responses were checked');
    for (const { url, csp } of documents) {
      assert.deepEqual(policyProblems(csp), [], `the Content-Security-Policy of ${url}: ${csp}`);
    }

    assert.deepEqual(violations, [], 'securitypolicyviolation events');
    assert.deepEqual(network.consoleViolations, [], 'CSP messages in the console');
  });
});

test('policy check rejects weak policies', () => {
  const strict = "default-src 'none'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
  assert.deepEqual(policyProblems(strict), []);
  assert.equal(policyProblems(undefined).length, 1);
  for (const [weak, expected] of [
    [strict.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"), /script-src allows 'unsafe-inline'/],
    [strict.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'"), /script-src allows 'unsafe-eval'/],
    [strict.replace("script-src 'self'", 'script-src *'), /script-src allows \*/],
    [strict.replace("default-src 'none'", 'default-src https:'), /default-src/],
    [strict.replace("frame-ancestors 'none'", "frame-ancestors 'self'"), /frame-ancestors/],
    [strict.replace("; object-src 'none'", ''), /object-src/],
    [strict.replace("base-uri 'none'", 'base-uri *'), /base-uri/],
  ]) {
    assert.match(policyProblems(weak).join('\n'), expected, weak);
  }
  // Without script-src, the default applies to scripts.
  assert.match(policyProblems("default-src *; object-src 'none'; base-uri 'none'; frame-ancestors 'none'").join('\n'), /script-src allows \*/);
});

test('origin check accepts only the server host and port', () => {
  const origin = 'http://127.0.0.1:40123';
  assert.ok(isSameOrigin('http://127.0.0.1:40123/js/join.js', origin));
  assert.ok(isSameOrigin('ws://127.0.0.1:40123/ws', origin));
  assert.ok(!isSameOrigin('wss://127.0.0.1:40123/ws', origin));
  assert.ok(!isSameOrigin('http://127.0.0.1:40124/', origin));
  assert.ok(!isSameOrigin('http://localhost:40123/', origin));
  assert.ok(!isSameOrigin('https://127.0.0.1:40123/', origin));
});
