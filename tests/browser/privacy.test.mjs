// End-to-end check of the privacy page. The join page's footer links it, and
// the link opens it in German for a German browser and in English for an
// English one. The page shows the operator's details as text, its language
// switch works and it carries the join page's Content-Security-Policy. No
// request leaves the server's origin on the way.
//
// Run inside a loopback-only network namespace, after `cargo build -p video-local`:
//   unshare -n bash -c 'ip link set lo up && node --test tests/browser/privacy.test.mjs'

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createRoom, describePage, openJoinPage, waitFor, withResources } from './helpers.mjs';

/** Limit of the whole test: server and browser start-up and four pages. */
const TEST_TIMEOUT_MS = 120_000;

/** Operator details with characters that HTML escaping must keep as text. */
const OPERATOR = {
  name: 'Praxis <Weber> & "Partner"',
  address: 'Hauptstraße 1, 10115 Berlin',
  email: 'datenschutz@praxis.example',
  officer: 'Dr. Jana Roth',
};

/** What each browser language must see. */
const LANGUAGES = [
  {
    locale: 'de-DE',
    lang: 'de',
    linkText: 'Datenschutzhinweise',
    heading: 'Datenschutzhinweise zur Videosprechstunde',
    officerLabel: 'Datenschutzbeauftragte oder Datenschutzbeauftragter:',
    switchedHeading: 'Privacy notice for video consultations',
  },
  {
    locale: 'en-GB',
    lang: 'en',
    linkText: 'Privacy notice',
    heading: 'Privacy notice for video consultations',
    officerLabel: 'Data protection officer:',
    switchedHeading: 'Datenschutzhinweise zur Videosprechstunde',
  },
];

/** URL schemes whose content never leaves the browser. */
const LOCAL_SCHEMES = new Set(['data:', 'blob:']);

/**
 * Tells whether `url` stays with the server at `origin`: the same scheme,
 * host and port (ws for the signaling socket), or a local scheme.
 *
 * @param {string} url
 * @param {string} origin such as `http://127.0.0.1:40123`
 */
function staysWithServer(url, origin) {
  const parsed = new URL(url);
  if (LOCAL_SCHEMES.has(parsed.protocol)) return true;
  const server = new URL(origin);
  const scheme = { 'ws:': 'http:', 'wss:': 'https:' }[parsed.protocol] ?? parsed.protocol;
  return scheme === server.protocol && parsed.host === server.host;
}

/** Records `securitypolicyviolation` events in `window.__cspViolations`. It runs as an init script, before the page's scripts. */
function recordCspViolations() {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || '(inline)'}`);
  });
}

/** Returns the visible text of the element with `testId`, or '' when there is none. */
async function textOf(page, testId) {
  const element = page.getByTestId(testId);
  return (await element.count()) === 1 ? (await element.innerText()).trim() : '';
}

test('join page links the privacy page in the browser language', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('privacy page', async (resources) => {
    const server = await resources.startServer({
      extraArgs: [
        '--operator-name', OPERATOR.name,
        '--operator-address', OPERATOR.address,
        '--operator-email', OPERATOR.email,
        '--data-protection-officer', OPERATOR.officer,
      ],
    });
    const room = await createRoom(server);
    const browser = await resources.launchBrowser();
    /** @type {string[]} */
    const urls = [];
    /** @type {Map<string, string | undefined>} Content-Security-Policy by path */
    const policies = new Map();

    for (const language of LANGUAGES) {
      const page = await resources.openPage(browser, { locale: language.locale, label: `join ${language.locale}` });
      const context = page.context();
      await context.addInitScript(recordCspViolations);
      context.on('request', (request) => urls.push(request.url()));
      context.on('response', (response) => {
        const path = new URL(response.url()).pathname;
        if (path === '/join' || path === '/privacy') policies.set(path, response.headers()['content-security-policy']);
      });

      await openJoinPage(page, room.joinUrl);
      const link = page.getByTestId('privacy-link');
      assert.ok(await link.isVisible(), `the privacy link is visible on the join page for ${language.locale}`);
      assert.equal((await link.innerText()).trim(), language.linkText);

      // The link opens a new tab, so the join page keeps its state.
      const [privacy] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await privacy.waitForLoadState('load');
      assert.equal(new URL(privacy.url()).pathname, '/privacy');
      assert.equal(await privacy.evaluate(() => document.documentElement.lang), language.lang);
      assert.equal((await privacy.locator('h1').innerText()).trim(), language.heading);

      const operator = await textOf(privacy, 'privacy-operator');
      for (const detail of [OPERATOR.name, OPERATOR.address, OPERATOR.email]) {
        assert.ok(operator.includes(detail), `operator block shows ${JSON.stringify(detail)}: ${operator}`);
      }
      assert.equal(await textOf(privacy, 'privacy-officer'), `${language.officerLabel} ${OPERATOR.officer}`);
      assert.equal(await privacy.getByTestId('privacy-operator-missing').count(), 0);
      assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', 'the join page stayed ready');

      await privacy.getByTestId('privacy-language').click();
      await waitFor(async () => (await privacy.locator('h1').innerText()).trim() === language.switchedHeading, {
        description: `the other language's heading after the switch on the ${language.lang} page`,
        diagnose: () => describePage(privacy),
      });

      for (const [label, shown] of [['join', page], ['privacy', privacy]]) {
        assert.deepEqual(await shown.evaluate(() => window.__cspViolations), [], `CSP violations on the ${label} page`);
      }
      await privacy.close();
    }

    // The log must have seen both pages, or the origin check proves nothing.
    const paths = new Set(urls.map((url) => new URL(url).pathname));
    for (const expected of ['/join', '/privacy', '/css/app.css', '/js/join.js']) {
      assert.ok(paths.has(expected), `a request of ${expected} was recorded; seen: ${[...paths].join(', ')}`);
    }
    const foreign = urls.filter((url) => !staysWithServer(url, server.origin));
    assert.deepEqual(foreign, [], `requests to another origin than ${server.origin}`);

    assert.ok(policies.get('/privacy'), 'the privacy page sends a Content-Security-Policy');
    assert.equal(policies.get('/privacy'), policies.get('/join'), 'the privacy page has the join page policy');
  });
});

test('privacy page says when the operator gave no details', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withResources('privacy page without operator', async (resources) => {
    const server = await resources.startServer();
    const browser = await resources.launchBrowser();
    const page = await resources.openPage(browser, { locale: 'de-DE', label: 'privacy' });
    await page.goto(`${server.origin}/datenschutz`);
    const missing = await textOf(page, 'privacy-operator-missing');
    assert.match(missing, /hat hier keinen Namen und keine Anschrift angegeben/);
    assert.ok(
      server.log.some((line) => line.includes('WARN') && line.includes('no operator details configured')),
      `the server warned at start:\n${server.log.join('\n')}`,
    );
  });
});

test('origin check accepts only the server and local schemes', () => {
  const origin = 'http://127.0.0.1:40123';
  assert.ok(staysWithServer('http://127.0.0.1:40123/privacy', origin));
  assert.ok(staysWithServer('ws://127.0.0.1:40123/ws', origin));
  assert.ok(staysWithServer('data:,', origin));
  assert.ok(!staysWithServer('http://127.0.0.1:40124/privacy', origin));
  assert.ok(!staysWithServer('https://fonts.example/font.woff2', origin));
});
