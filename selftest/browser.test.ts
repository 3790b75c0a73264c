// helpers/browser.ts against real local servers: a CA made here, an HTTPS server with a leaf it issued,
// a DNS server answering A / NXDOMAIN, and the real Chromium. Proves the browser trusts exactly the CA we
// add (no certificate errors ignored) and resolves names exactly as the DNS server says.
import 'reflect-metadata';
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import dns2 from 'dns2';
import { chromium, type Browser } from '@playwright/test';
import { loadConfig, type Target } from '../helpers/config.ts';
import {
  CHROMIUM_ARGS, disposeBrowserHomes, hostResolverRules, launchOptionsFor, nssHomeFor, pickChromium, targetHosts,
} from '../helpers/browser.ts';
import { fillSecret, selectBotType } from '../fixtures/pages/common.ts';
import { AccountsPage } from '../fixtures/pages/zitadel-accounts.ts';
import { AUTH_DIR, authDirFor, cookieHeaderFor, isSessionTokenCookie, pruneStaleAuthDirs, type StoredCookie } from '../fixtures/auth-state.ts';
import { mkdirSync, utimesSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function pemKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function makeCa(cn: string) {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: `CN=${cn}, O=gadgetbot-verify-selftest`, keys, signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, cert };
}

async function makeLeaf(ca: Awaited<ReturnType<typeof makeCa>>, hosts: string[]) {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02', subject: `CN=${hosts[0]}`, issuer: ca.cert.subject, publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey, signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: 'dns' as const, value: h }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) };
}

let dir: string;
let caFile: string;
let otherCaFile: string;
let https: HttpsServer;
let httpsPort: number;
let dnsServer: ReturnType<typeof dns2.createServer>;
let dnsPort: number;
let pages: HttpServer;
let pagesUrl: string;

const ZONE: Record<string, string | null> = {
  'trust.test': '127.0.0.1',
  'wrong.test': '127.0.0.3', // nothing listens there
  'missing.test': null, // NXDOMAIN
};

function target(extra: Record<string, string> = {}): Target {
  return loadConfig({
    APP_URL: `https://trust.test:${httpsPort}`,
    AUTH_URL: `https://missing.test:${httpsPort}`,
    DEPLOYER_URL: `https://wrong.test:${httpsPort}`,
    ADMIN_USER: 'selftest', ADMIN_PASSWORD: 'selftest-password',
    DNS_SERVERS: `127.0.0.1:${dnsPort}`,
    RESOLVE_VIA_DNS_SERVERS: 'true',
    CA_FILE: caFile,
    ...extra,
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gbv-browser-selftest-'));
  const ca = await makeCa('Selftest Root CA');
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.cert.toString('pem'));
  otherCaFile = join(dir, 'other-ca.pem');
  writeFileSync(otherCaFile, (await makeCa('Unrelated Root CA')).cert.toString('pem'));
  const leaf = await makeLeaf(ca, ['trust.test', 'missing.test', 'wrong.test']);
  https = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>trusted</title><h1>hello from ${req.headers.host}</h1>`);
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  httpsPort = (https.address() as AddressInfo).port;

  dnsServer = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = dns2.Packet.createResponseFromRequest(request);
      const [q] = request.questions;
      const ip = ZONE[q.name.toLowerCase()];
      if (ip && q.type === dns2.Packet.TYPE.A) {
        response.answers.push({ name: q.name, type: dns2.Packet.TYPE.A, class: dns2.Packet.CLASS.IN, ttl: 5, address: ip } as unknown as dns2.Packet.Resource);
      } else if (ip === undefined || ip === null) {
        (response.header as { rcode: number }).rcode = 3; // NXDOMAIN
      }
      send(response);
    },
  });
  const listening = await dnsServer.listen({ udp: { port: 0, address: '127.0.0.1' } });
  dnsPort = (listening as { udp: AddressInfo }).udp.port;

  // Small stand-ins for the two shapes of the bot-type control and the password field.
  pages = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    if (req.url === '/native') {
      res.end(`<!doctype html><label for="type">Bot Type</label>
        <select id="type"><option value="">Select a bot type</option><option value="cleaning">Cleaning Bot</option>
        <option value="security">Security Bot</option></select>`);
    } else if (req.url === '/combobox') {
      res.end(`<!doctype html><label for="type">Bot Type</label>
        <button id="type" role="combobox" aria-expanded="false" aria-controls="lb" type="button">Select a bot type</button>
        <div id="lb" role="listbox" hidden>
          <div role="option" aria-selected="false">Cleaning Bot</div><div role="option" aria-selected="false">Security Bot</div>
        </div>
        <script>
          const b = document.getElementById('type'), lb = document.getElementById('lb');
          b.addEventListener('click', () => { lb.hidden = false; b.setAttribute('aria-expanded', 'true'); });
          for (const o of lb.querySelectorAll('[role=option]')) o.addEventListener('click', () => {
            b.textContent = o.textContent; lb.hidden = true; b.setAttribute('aria-expanded', 'false');
          });
        </script>`);
    } else if (req.url?.startsWith('/accounts')) {
      // Shaped like Login V2's account picker: one button per session (display name + login name).
      res.end(`<!doctype html><h1>Accounts</h1><ul>
        <li><form method="get" action="/picked"><input type="hidden" name="who" value="admin">
          <button type="submit"><span>Ada Admin</span> <span>gbv-admin@gadgetbot.stack.test</span></button></form></li>
        <li><form method="get" action="/picked"><input type="hidden" name="who" value="admin2">
          <button type="submit"><span>Ada Two</span> <span>gbv-admin2</span></button></form></li>
        </ul><a href="/loginname">Add another account</a>`);
    } else if (req.url?.startsWith('/picked') || req.url?.startsWith('/loginname')) {
      res.end(`<!doctype html><p id="where">${req.url}</p>`);
    } else {
      res.end(`<!doctype html><label for="p">Password</label><input id="p" data-testid="password-text-input" type="password">
        <label for="t">Text</label><input id="t" data-testid="plain" type="text">
        <output id="seen"></output>
        <script>document.getElementById('p').addEventListener('input', (e) => {
          document.getElementById('seen').textContent = 'len=' + e.target.value.length; });</script>`);
    }
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((r) => https.close(() => r()));
  await new Promise<void>((r) => pages.close(() => r()));
  await dnsServer.close();
  disposeBrowserHomes();
  rmSync(dir, { recursive: true, force: true });
});

describe('pickChromium', () => {
  test('CHROMIUM_PATH wins, and a missing one is named', () => {
    assert.deepEqual(pickChromium({ chromiumPath: '/bin/sh' }), { path: '/bin/sh', source: 'CHROMIUM_PATH' });
    assert.throws(() => pickChromium({ chromiumPath: '/nonexistent/chrome' }), /CHROMIUM_PATH "\/nonexistent\/chrome" does not exist/);
  });
  test("Playwright's own build when on disk, else Debian's headless shell (headless only), else its chromium, else a clear message", () => {
    const none = '/nonexistent';
    assert.equal(pickChromium({}, { playwrightPath: '/bin/sh', systemPath: none }).source, 'playwright');
    assert.deepEqual(pickChromium({}, { playwrightPath: '/nonexistent/pw', headlessShellPath: '/bin/sh', systemPath: '/bin/ls' }), { path: '/bin/sh', source: 'headless-shell' });
    assert.deepEqual(pickChromium({}, { playwrightPath: null, headlessShellPath: '/bin/sh', systemPath: '/bin/ls', headless: false }), { path: '/bin/ls', source: 'system' });
    assert.deepEqual(pickChromium({}, { playwrightPath: '/nonexistent/pw', headlessShellPath: none, systemPath: '/bin/sh' }), { path: '/bin/sh', source: 'system' });
    assert.throws(() => pickChromium({}, { playwrightPath: null, headlessShellPath: none, systemPath: none }),
      /no Chromium: `npm run setup` installs one \(as root\), or set CHROMIUM_PATH/);
  });
});

describe('name resolution rules', () => {
  test('map each target host to the DNS answer; NXDOMAIN becomes ~NOTFOUND', async () => {
    const t = target();
    assert.deepEqual(targetHosts(t), ['trust.test', 'missing.test', 'wrong.test']);
    assert.equal(await hostResolverRules(t),
      'MAP trust.test 127.0.0.1, MAP missing.test ~NOTFOUND, MAP wrong.test 127.0.0.3');
  });
  test('a DNS server that does not answer is an error naming the host, not a silent fallback', async () => {
    const t = target({ DNS_SERVERS: '127.0.0.1:9' });
    await assert.rejects(hostResolverRules(t, 600), /browser name resolution: cannot resolve trust\.test via 127\.0\.0\.1:9/);
  });
  test('launch options: flags, no ignore-certificate switches, HOME with an NSS db, no secrets in env', async () => {
    process.env.ADMIN_PASSWORD = 'must-not-reach-the-browser';
    try {
      const o = await launchOptionsFor(target());
      for (const a of CHROMIUM_ARGS) assert.ok(o.args?.includes(a), `missing ${a}`);
      assert.ok(o.args?.some((a) => a.startsWith('--host-resolver-rules=MAP trust.test 127.0.0.1')));
      assert.ok(!o.args?.some((a) => /ignore-certificate/.test(a)));
      assert.equal((o as { ignoreHTTPSErrors?: boolean }).ignoreHTTPSErrors, undefined);
      assert.ok(existsSync(join(o.env!.HOME!, '.pki', 'nssdb', 'cert9.db')));
      assert.equal(o.env!.ADMIN_PASSWORD, undefined);
      assert.ok(o.env!.PATH, 'PATH kept for the chromium wrapper script');
      const plain = await launchOptionsFor(target({ RESOLVE_VIA_DNS_SERVERS: 'false', CA_FILE: '' }));
      assert.ok(!plain.args?.some((a) => a.startsWith('--host-resolver-rules')));
      assert.equal(plain.env, undefined);
    } finally {
      delete process.env.ADMIN_PASSWORD;
    }
  });
  test('the NSS home is made once per CA and process', () => {
    assert.equal(nssHomeFor(caFile), nssHomeFor(caFile));
    assert.notEqual(nssHomeFor(caFile), nssHomeFor(otherCaFile));
  });
});

describe('real Chromium', () => {
  let browser: Browser | undefined;
  after(async () => { await browser?.close(); });

  const errorOf = async (p: Promise<unknown>) => {
    try { await p; return 'no error'; } catch (e) { return (e as Error).message; }
  };

  test('trusts the added CA, follows the DNS server, fails on NXDOMAIN and on a wrong A record', async () => {
    browser = await chromium.launch(await launchOptionsFor(target()));
    const page = await browser.newPage();
    const r = await page.goto(`https://trust.test:${httpsPort}/`);
    assert.equal(r?.status(), 200);
    assert.equal(await page.locator('h1').textContent(), `hello from trust.test:${httpsPort}`);
    assert.match(await errorOf(page.goto(`https://missing.test:${httpsPort}/`, { timeout: 10_000 })), /ERR_NAME_NOT_RESOLVED/);
    assert.match(await errorOf(page.goto(`https://wrong.test:${httpsPort}/`, { timeout: 10_000 })),
      /ERR_CONNECTION_REFUSED|ERR_ADDRESS_UNREACHABLE|ERR_CONNECTION_TIMED_OUT/);
    await browser.close();
    browser = undefined;
  });

  test('an unrelated CA is not trusted: the certificate error surfaces (nothing is ignored)', async () => {
    browser = await chromium.launch(await launchOptionsFor(target({ CA_FILE: otherCaFile })));
    const page = await browser.newPage();
    assert.match(await errorOf(page.goto(`https://trust.test:${httpsPort}/`, { timeout: 10_000 })), /ERR_CERT_AUTHORITY_INVALID/);
    await browser.close();
    browser = undefined;
  });

  test('page helpers: secret fill records no value, bot type works for native select and Radix combobox', async () => {
    browser = await chromium.launch(await launchOptionsFor(target({ RESOLVE_VIA_DNS_SERVERS: 'false', CA_FILE: '' })));
    const page = await browser.newPage();
    await page.goto(`${pagesUrl}/password`);
    await fillSecret(page.getByTestId('password-text-input'), 's3cret-Value!');
    assert.equal(await page.locator('#seen').textContent(), 'len=13', 'input events fired as typing would');
    await assert.rejects(fillSecret(page.getByTestId('plain'), 'nope'), /refusing to type a secret into a field of type "text"/);
    assert.equal(await page.getByTestId('plain').inputValue(), '');

    const accounts = new AccountsPage(page);
    await page.goto(`${pagesUrl}/accounts`);
    assert.equal(await accounts.choose('gbv-admin'), 'picked');
    await page.waitForURL((u) => u.pathname === '/picked');
    assert.equal(await page.locator('#where').textContent(), '/picked?who=admin', 'gbv-admin must not match gbv-admin2');
    await page.goto(`${pagesUrl}/accounts`);
    assert.equal(await accounts.choose('gbv-viewer'), 'added');
    await page.waitForURL((u) => u.pathname === '/loginname');

    await page.goto(`${pagesUrl}/native`);
    await selectBotType(page, 'Security Bot');
    assert.equal(await page.locator('#type').inputValue(), 'security');
    await page.goto(`${pagesUrl}/combobox`);
    await selectBotType(page, 'Security Bot');
    assert.equal(await page.getByRole('combobox', { name: 'Bot Type' }).textContent(), 'Security Bot');
    await browser.close();
    browser = undefined;
  });
});

describe('saved sign-in state', () => {
  const c = (over: Partial<StoredCookie>): StoredCookie => ({
    name: 'n', value: 'v', domain: 'app.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax', ...over,
  });
  test('Cookie header as a browser would send it: host, path, Secure, expiry', () => {
    const cookies = [
      c({ name: '__Secure-better-auth.session_token', value: 'tok' }),
      c({ name: 'better-auth.session_data', value: 'cache', expires: Date.now() / 1000 + 300 }),
      c({ name: 'expired', expires: Date.now() / 1000 - 10 }),
      c({ name: 'other-host', domain: 'auth.test' }),
      c({ name: 'parent', domain: '.test' }),
      c({ name: 'deep', path: '/api/rpc' }),
      c({ name: 'plain', secure: false }),
    ];
    assert.equal(cookieHeaderFor(cookies, 'https://app.test:8443/api/auth/get-session'),
      '__Secure-better-auth.session_token=tok; better-auth.session_data=cache; parent=v; plain=v');
    assert.equal(cookieHeaderFor(cookies, 'https://app.test/api/rpc/gadgetbots/list', isSessionTokenCookie), '__Secure-better-auth.session_token=tok');
    assert.equal(cookieHeaderFor(cookies, 'http://app.test/'), 'plain=v', 'Secure cookies never go over http');
  });
  test('one folder per target; stale folders of other targets are pruned, the current one never', () => {
    const me = { appUrl: `https://selftest-${randomBytes(4).toString('hex')}.test:8443` };
    assert.match(authDirFor(me), /selftest-[0-9a-f]{8}\.test_8443$/);
    assert.ok(authDirFor({ appUrl: 'https://gadgetbot.vellandi.net' }).endsWith('gadgetbot.vellandi.net_443'));
    const stale = join(AUTH_DIR, `selftest-stale-${randomBytes(4).toString('hex')}`);
    const fresh = join(AUTH_DIR, `selftest-fresh-${randomBytes(4).toString('hex')}`);
    for (const d of [stale, fresh, authDirFor(me)]) mkdirSync(d, { recursive: true });
    const old = new Date(Date.now() - 2 * 86400_000);
    utimesSync(stale, old, old);
    utimesSync(authDirFor(me), old, old);
    try {
      const removed = pruneStaleAuthDirs(me);
      assert.ok(removed.includes(stale.split('/').pop()!));
      assert.ok(!existsSync(stale));
      assert.ok(existsSync(fresh) && existsSync(authDirFor(me)));
    } finally {
      for (const d of [stale, fresh, authDirFor(me)]) rmSync(d, { recursive: true, force: true });
    }
  });
});
