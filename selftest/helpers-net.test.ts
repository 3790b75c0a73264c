// dns.ts, http.ts, tls.ts, oidc.ts and preflight.ts against real local servers: a DNS server (dns2), an
// HTTPS server with certificates issued here (valid, expired, wrong host, expiring soon, self-signed) and
// a plain HTTP server. Nothing is mocked: the helpers talk to sockets exactly as against a deployment.
import 'reflect-metadata';
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import dns2 from 'dns2';
import { loadConfig, type Target } from '../helpers/config.ts';
import { resolveA, lookupFor } from '../helpers/dns.ts';
import { closeDispatcher, header, request, requestPastRateLimit } from '../helpers/http.ts';
import { expiryJudgement, judgeTls, probeTlsFor, protocolProblem } from '../helpers/tls.ts';
import { discover, discoveryProblems, fetchJwks, probeLoginV2 } from '../helpers/oidc.ts';
import { preflight, PreflightError } from '../helpers/preflight.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** Requests per path seen by the HTTP server's /limited* routes. */
const limitedHits = new Map<string, number>();

interface Authority { cert: x509.X509Certificate; keys: CryptoKeyPair }
interface Leaf { cert: string; key: string }

let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(4, '0');
const genKeys = async () => (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
const keyPem = async (k: CryptoKey) => x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', k), 'PRIVATE KEY');

async function makeRoot(): Promise<Authority> {
  const keys = await genKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(), name: 'CN=Selftest Root, O=gbv-selftest', keys, signingAlgorithm: ALG,
    notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 365 * DAY),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  return { cert, keys };
}

async function makeIntermediate(root: Authority): Promise<Authority> {
  const keys = await genKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(), subject: 'CN=Selftest R1, O=gbv-selftest', issuer: root.cert.subject,
    publicKey: keys.publicKey, signingKey: root.keys.privateKey, signingAlgorithm: ALG,
    notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 365 * DAY),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root.keys.publicKey)],
  });
  return { cert, keys };
}

async function makeLeaf(issuer: Authority | null, names: string[], notBefore: Date, notAfter: Date): Promise<Leaf> {
  const keys = await genKeys();
  const extensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
  ];
  const cert = issuer
    ? await x509.X509CertificateGenerator.create({
        serialNumber: nextSerial(), subject: `CN=${names[0]}`, issuer: issuer.cert.subject, notBefore, notAfter,
        publicKey: keys.publicKey, signingKey: issuer.keys.privateKey, signingAlgorithm: ALG, extensions })
    : await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: nextSerial(), name: `CN=${names[0]}`, notBefore, notAfter, keys, signingAlgorithm: ALG, extensions });
  const chain = issuer ? `${cert.toString('pem')}\n${issuer.cert.toString('pem')}\n` : `${cert.toString('pem')}\n`;
  return { cert: chain, key: await keyPem(keys.privateKey) };
}

let dir: string;
let dnsServer: ReturnType<typeof dns2.createServer>;
let dnsPort: number;
let silentDns: UdpSocket;
let silentDnsPort: number;
let https: HttpsServer;
let httpsPort: number;
let http: HttpServer;
let httpPort: number;
let closedPort: number;
const targets: Target[] = [];

// Host name → A record; names absent here answer NXDOMAIN.
const A: Record<string, string> = {
  'app.test': '127.0.0.1', 'auth.test': '127.0.0.1', 'valid.test': '127.0.0.1', 'expired.test': '127.0.0.1',
  'soon.test': '127.0.0.1', 'wronghost.test': '127.0.0.1', 'selfsigned.test': '127.0.0.1',
  'appv1.test': '127.0.0.1', 'authv1.test': '127.0.0.1', 'authbad.test': '127.0.0.1', 'appbad.test': '127.0.0.1',
  'wrongip.test': '127.0.0.3',
};

function target(env: Record<string, string>): Target {
  const t = loadConfig({
    ADMIN_USER: 'selftest-admin', ADMIN_PASSWORD: 'selftest-password',
    DNS_SERVERS: `127.0.0.1:${dnsPort}`, RESOLVE_VIA_DNS_SERVERS: 'true', CA_FILE: join(dir, 'ca.pem'),
    EXPECTED_CERT_ISSUER: 'gbv-selftest', CERT_WARN_DAYS: '21',
    APP_URL: `https://app.test:${httpsPort}`, AUTH_URL: `https://auth.test:${httpsPort}`,
    ...env,
  });
  targets.push(t);
  return t;
}

function appPage(): string {
  return '<!doctype html><html><head><title>GadgetBot Rental Service</title></head><body>ok</body></html>';
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gbv-selftest-net-'));
  const root = await makeRoot();
  const inter = await makeIntermediate(root);
  writeFileSync(join(dir, 'ca.pem'), root.cert.toString('pem'));
  const now = Date.now();
  const good = (n: string) => makeLeaf(inter, [n], new Date(now - DAY), new Date(now + 90 * DAY));
  const leaves: Record<string, Leaf> = {
    'valid.test': await good('valid.test'),
    'app.test': await good('app.test'), 'auth.test': await good('auth.test'),
    'appv1.test': await good('appv1.test'), 'authv1.test': await good('authv1.test'),
    'appbad.test': await good('appbad.test'), 'authbad.test': await good('authbad.test'),
    'expired.test': await makeLeaf(inter, ['expired.test'], new Date(now - 91 * DAY), new Date(now - DAY)),
    'soon.test': await makeLeaf(inter, ['soon.test'], new Date(now - 80 * DAY), new Date(now + 10 * DAY)),
    'wronghost.test': await makeLeaf(inter, ['other.test'], new Date(now - DAY), new Date(now + 90 * DAY)),
    'selfsigned.test': await makeLeaf(null, ['selfsigned.test'], new Date(now - DAY), new Date(now + 90 * DAY)),
  };
  const contexts = new Map(Object.entries(leaves).map(([n, l]) => [n, createSecureContext({ cert: l.cert, key: l.key })]));

  dnsServer = dns2.createServer({
    udp: true,
    handle: (req, send) => {
      const res = dns2.Packet.createResponseFromRequest(req);
      const [q] = req.questions;
      const addr = A[q.name.toLowerCase()];
      if (!addr) res.header.rcode = 3; // NXDOMAIN
      else if (q.type === dns2.Packet.TYPE.A) res.answers.push({ name: q.name, type: dns2.Packet.TYPE.A, class: dns2.Packet.CLASS.IN, ttl: 5, address: addr } as (typeof res.answers)[number]);
      send(res);
    },
  });
  await dnsServer.listen({ udp: { port: 0, address: '127.0.0.1', type: 'udp4' } } as Parameters<typeof dnsServer.listen>[0]);
  dnsPort = (dnsServer.addresses().udp as AddressInfo).port;

  // A DNS "server" that never answers: resolution must time out within the bound, not hang.
  silentDns = createSocket('udp4');
  await new Promise<void>((r) => silentDns.bind(0, '127.0.0.1', () => r()));
  silentDnsPort = silentDns.address().port;

  https = createHttpsServer({
    SNICallback: (name, cb) => cb(null, contexts.get(name.toLowerCase()) ?? contexts.get('valid.test')!),
    ...leaves['valid.test'],
  }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const origin = `https://${host}:${httpsPort}`;
    const authFor: Record<string, string> = { 'app.test': 'auth.test', 'appv1.test': 'authv1.test', 'appbad.test': 'authbad.test' };
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html', 'strict-transport-security': 'max-age=31536000' });
      res.end(appPage());
    } else if (url.pathname === '/api/auth/sign-in/social' && req.method === 'POST' && authFor[host]) {
      const auth = `https://${authFor[host]}:${httpsPort}`;
      const q = new URLSearchParams({ response_type: 'code', client_id: '1234', state: 'st', redirect_uri: `${origin}/api/auth/callback/zitadel`, code_challenge: 'cc', code_challenge_method: 'S256', scope: 'openid profile email offline_access' });
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'better-auth.state=x; HttpOnly; SameSite=Lax' });
      res.end(JSON.stringify({ url: `${auth}/oauth/v2/authorize?${q}`, redirect: true }));
    } else if (url.pathname === '/.well-known/openid-configuration') {
      const issuer = host === 'authbad.test' ? `https://elsewhere.test:${httpsPort}` : origin;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        issuer, authorization_endpoint: `${origin}/oauth/v2/authorize`, token_endpoint: `${origin}/oauth/v2/token`,
        userinfo_endpoint: `${origin}/oidc/v1/userinfo`, jwks_uri: `${origin}/oauth/v2/keys`, end_session_endpoint: `${origin}/oidc/v1/end_session`,
        code_challenge_methods_supported: ['S256'], response_types_supported: ['code'],
      }));
    } else if (url.pathname === '/oauth/v2/keys') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k1', alg: 'RS256', use: 'sig', n: 'AQAB', e: 'AQAB' }] }));
    } else if (url.pathname === '/oauth/v2/authorize') {
      res.writeHead(302, { location: host === 'authv1.test' ? '/ui/login/login?authRequestID=77' : '/ui/v2/login/login?authRequest=77', 'set-cookie': 'zitadel.session=abc; Path=/' });
      res.end();
    } else if (url.pathname === '/ui/v2/login/login') {
      // The second hop must carry the cookie set by the first, as a browser would.
      const hasCookie = /zitadel\.session=abc/.test(req.headers.cookie ?? '');
      res.writeHead(hasCookie ? 307 : 400, hasCookie ? { location: '/ui/v2/login/loginname?requestId=oidc_77' } : {});
      res.end();
    } else if (url.pathname.startsWith('/ui/')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    } else {
      res.writeHead(404); res.end('not found');
    }
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
  httpsPort = (https.address() as AddressInfo).port;

  http = createHttpServer((req, res) => {
    if (req.url === '/redirect') { res.writeHead(301, { location: `https://app.test:${httpsPort}/redirect` }); res.end(); return; }
    if (req.url === '/slow') { setTimeout(() => { res.writeHead(200); res.end('late'); }, 3000).unref(); return; }
    // Better Auth's limiter: the first two requests of a burst answer 429 with X-Retry-After in seconds.
    if (req.url?.startsWith('/limited')) {
      const n = (limitedHits.get(req.url) ?? 0) + 1;
      limitedHits.set(req.url, n);
      if (n <= 2) { res.writeHead(429, { 'x-retry-after': '1' }); res.end('{"message":"Too many requests. Please try again later."}'); return; }
      res.writeHead(200); res.end('through');
      return;
    }
    if (req.url === '/echo') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
        res.end(JSON.stringify({ method: req.method, cookie: req.headers.cookie ?? null, body }));
      });
      return;
    }
    res.writeHead(200); res.end('plain');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.2', () => r()));
  httpPort = (http.address() as AddressInfo).port;

  // A port with nothing listening: bind, note, close.
  const tmp = createNetServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
  closedPort = (tmp.address() as AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
});

after(async () => {
  await Promise.all(targets.map((t) => closeDispatcher(t)));
  https?.closeAllConnections?.();
  http?.closeAllConnections?.();
  await Promise.all([
    new Promise((r) => https?.close(r)),
    new Promise((r) => http?.close(r)),
    dnsServer?.close(),
    new Promise<void>((r) => (silentDns ? silentDns.close(() => r()) : r())),
  ]);
  rmSync(dir, { recursive: true, force: true });
});

describe('dns', () => {
  test('resolveA answers from the given server', async () => {
    assert.deepEqual(await resolveA('valid.test', [`127.0.0.1:${dnsPort}`]), ['127.0.0.1']);
    assert.deepEqual(await resolveA('wrongip.test', [`127.0.0.1:${dnsPort}`]), ['127.0.0.3']);
  });

  test('NXDOMAIN rejects with ENOTFOUND naming host, server and NXDOMAIN', async () => {
    await assert.rejects(resolveA('missing.test', [`127.0.0.1:${dnsPort}`]), (e: Error & { code: string }) => {
      assert.equal(e.code, 'ENOTFOUND');
      assert.match(e.message, /missing\.test/);
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${dnsPort}`));
      assert.match(e.message, /NXDOMAIN/);
      return true;
    });
  });

  test('a silent server rejects with ETIMEOUT within the bound', async () => {
    const started = Date.now();
    await assert.rejects(resolveA('valid.test', [`127.0.0.1:${silentDnsPort}`], 600), (e: Error & { code: string }) => {
      assert.equal(e.code, 'ETIMEOUT');
      return true;
    });
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms (bound 0.6 s; generous: a shared machine)`);
  });

  test('lookupFor: undefined without RESOLVE_VIA_DNS_SERVERS; otherwise answers both callback shapes', async () => {
    assert.equal(lookupFor(target({ RESOLVE_VIA_DNS_SERVERS: 'false' })), undefined);
    const lookup = lookupFor(target({}))!;
    const one = await new Promise<[unknown, unknown, unknown]>((r) => lookup('wrongip.test', {}, (err, a, f) => r([err, a, f])));
    assert.deepEqual(one, [null, '127.0.0.3', 4]);
    const all = await new Promise<[unknown, unknown]>((r) => lookup('valid.test', { all: true }, (err, a) => r([err, a])));
    assert.deepEqual(all, [null, [{ address: '127.0.0.1', family: 4 }]]);
    const lit = await new Promise<[unknown, unknown]>((r) => lookup('127.0.0.2', {}, (err, a) => r([err, a])));
    assert.deepEqual(lit, [null, '127.0.0.2']);
    const nx = await new Promise<NodeJS.ErrnoException | null>((r) => lookup('missing.test', {}, (err) => r(err)));
    assert.equal(nx?.code, 'ENOTFOUND');
  });
});

describe('http', () => {
  test('GET over https through DNS_SERVERS and CA_FILE', async () => {
    const t = target({});
    const res = await request(t, `https://valid.test:${httpsPort}/`);
    assert.equal(res.status, 200);
    assert.match(res.body, /<title>GadgetBot Rental Service<\/title>/);
    assert.equal(header(res, 'strict-transport-security'), 'max-age=31536000');
    assert.ok(res.ms >= 0);
  });

  test('redirects are returned, not followed; cookie and body are sent; repeated headers kept', async () => {
    const t = target({});
    const r = await request(t, `http://127.0.0.2:${httpPort}/redirect`);
    assert.equal(r.status, 301);
    assert.equal(header(r, 'location'), `https://app.test:${httpsPort}/redirect`);
    const e = await request(t, `http://127.0.0.2:${httpPort}/echo`, { method: 'POST', body: 'hi', cookie: 'k=v' });
    assert.deepEqual(JSON.parse(e.body), { method: 'POST', cookie: 'k=v', body: 'hi' });
    assert.deepEqual(e.headers['set-cookie'], ['a=1', 'b=2']);
  });

  test('an expired certificate fails the request with a message naming the problem', async () => {
    await assert.rejects(request(target({}), `https://expired.test:${httpsPort}/`), /expired\.test.*certificate has expired/);
  });

  test('a self-signed certificate is not trusted (no "ignore errors" anywhere)', async () => {
    await assert.rejects(request(target({}), `https://selfsigned.test:${httpsPort}/`), /self-signed/);
  });

  test('without CA_FILE the private root is not trusted', async () => {
    await assert.rejects(request(target({ CA_FILE: '' }), `https://valid.test:${httpsPort}/`), /issuer|trusted|chain/);
  });

  test('time-out is bounded and named', async () => {
    const started = Date.now();
    await assert.rejects(request(target({}), `http://127.0.0.2:${httpPort}/slow`, { timeoutMs: 400 }), /within 400 ms/);
    assert.ok(Date.now() - started < 10_000, 'gave up at its time-out (0.4 s), not hanging');
  });

  test('requestPastRateLimit waits out 429s as X-Retry-After says, and returns the 429 once its waits are used up', async () => {
    const started = Date.now();
    const r = await requestPastRateLimit(target({}), `http://127.0.0.2:${httpPort}/limited-a`);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'through');
    assert.equal(limitedHits.get('/limited-a'), 3);
    assert.ok(Date.now() - started >= 1990, `two waits of 1 s, took ${Date.now() - started} ms`);
    const gaveUp = await requestPastRateLimit(target({}), `http://127.0.0.2:${httpPort}/limited-b`, {}, { waits: 1, maxWaitMs: 200 });
    assert.equal(gaveUp.status, 429);
    assert.equal(limitedHits.get('/limited-b'), 2);
  });

  test('connection refused and NXDOMAIN are named', async () => {
    await assert.rejects(request(target({}), `https://valid.test:${closedPort}/`), /connection refused/);
    await assert.rejects(request(target({}), `https://missing.test:${httpsPort}/`), /cannot resolve missing\.test via .*NXDOMAIN/);
  });
});

describe('tls', () => {
  test('valid chain: authorized, SAN, issuer, protocol, days left; no problems', async () => {
    const t = target({});
    const p = await probeTlsFor(t, `https://valid.test:${httpsPort}`);
    assert.equal(p.authorized, true, p.authorizationError);
    assert.equal(p.address, '127.0.0.1');
    assert.ok(p.chain.length >= 2, 'leaf + intermediate');
    assert.deepEqual(p.chain[0].san, ['valid.test']);
    assert.match(p.chain[0].issuer, /CN=Selftest R1/);
    assert.ok(p.chain[0].daysLeft > 89 && p.chain[0].daysLeft <= 90, String(p.chain[0].daysLeft));
    assert.match(p.chain[0].fingerprint256, /^[0-9A-F:]+$/);
    assert.equal(protocolProblem(p.protocol), undefined);
    const v = judgeTls(p, { warnDays: 21, expectedIssuer: 'gbv-selftest' });
    assert.deepEqual(v.problems, []);
  });

  test('expired: "<host>: certificate expired 1 day ago (notAfter …)"', async () => {
    const p = await probeTlsFor(target({}), `https://expired.test:${httpsPort}`);
    assert.equal(p.authorized, false);
    assert.equal(p.authorizationError, 'CERT_HAS_EXPIRED');
    const v = judgeTls(p, { warnDays: 21, expectedIssuer: 'gbv-selftest' });
    assert.equal(v.problems.length, 1, v.problems.join('\n'));
    assert.match(v.problems[0], /^expired\.test: certificate expired 1 day ago \(notAfter \d{4}-\d\d-\d\dT/);
  });

  test('wrong host: names the host and the SAN it does have', async () => {
    const p = await probeTlsFor(target({}), `https://wronghost.test:${httpsPort}`);
    assert.equal(p.authorizationError, 'ERR_TLS_CERT_ALTNAME_INVALID');
    const v = judgeTls(p, { warnDays: 21, expectedIssuer: 'gbv-selftest' });
    assert.deepEqual(v.problems, ['wronghost.test: certificate does not cover wronghost.test (SAN: other.test; subject CN=other.test)']);
  });

  test('expiring soon: valid chain but inside the warning window', async () => {
    const p = await probeTlsFor(target({}), `https://soon.test:${httpsPort}`);
    assert.equal(p.authorized, true);
    const v = judgeTls(p, { warnDays: 21, expectedIssuer: 'gbv-selftest' });
    assert.equal(v.problems.length, 1);
    assert.match(v.problems[0], /^soon\.test: certificate expires in (9|10) days, inside the 21-day warning window/);
    assert.equal(expiryJudgement(p.chain[0], 5).level, 'ok');
  });

  test('self-signed and wrong issuer are problems', async () => {
    const p = await probeTlsFor(target({}), `https://selfsigned.test:${httpsPort}`);
    assert.equal(p.authorized, false);
    const v = judgeTls(p, { warnDays: 21, expectedIssuer: "Let's Encrypt" });
    assert.ok(v.problems.some((l) => /^selfsigned\.test: certificate is self-signed/.test(l)), v.problems.join('\n'));
    assert.ok(v.problems.some((l) => /issuer "CN=selfsigned\.test" does not contain "Let's Encrypt"/.test(l)), v.problems.join('\n'));
  });

  test('old protocols are judged', () => {
    assert.match(protocolProblem('TLSv1.1') ?? '', /expected TLSv1\.2 or newer/);
    assert.equal(protocolProblem('TLSv1.3'), undefined);
  });
});

describe('oidc', () => {
  test('discovery through openid-client with the target dispatcher; JWKS', async () => {
    const t = target({});
    const d = await discover(t);
    assert.equal(d.clientError, undefined);
    assert.equal(d.metadata?.issuer, t.authUrl);
    assert.deepEqual(discoveryProblems(t, d), []);
    const jwks = await fetchJwks(t, d.metadata!.jwks_uri!);
    assert.equal(jwks.status, 200);
    assert.deepEqual(jwks.keys, [{ kid: 'k1', kty: 'RSA', alg: 'RS256', use: 'sig' }]);
  });

  test('issuer mismatch is named, and openid-client refuses it too', async () => {
    const t = target({ APP_URL: `https://appbad.test:${httpsPort}`, AUTH_URL: `https://authbad.test:${httpsPort}` });
    const d = await discover(t);
    assert.ok(d.clientError, 'openid-client must refuse a mismatched issuer');
    const p = discoveryProblems(t, d);
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0], /^authbad\.test:\d+: discovery issuer is "https:\/\/elsewhere\.test:\d+", expected "https:\/\/authbad\.test:\d+"/);
  });

  test('Login V2 probe follows the redirects (with cookies) to /ui/v2/login/', async () => {
    const p = await probeLoginV2(target({}));
    assert.equal(p.signInStatus, 200);
    assert.equal(p.authorizeParams.code_challenge_method, 'S256');
    assert.equal(p.authorizeParams.state, '…');
    assert.equal(p.loginV2, true, p.problem);
    assert.equal(p.landedOn, '/ui/v2/login/loginname?requestId');
    assert.equal(p.hops.length, 3);
  });

  test('Login V1 landing is reported as such', async () => {
    const p = await probeLoginV2(target({ APP_URL: `https://appv1.test:${httpsPort}`, AUTH_URL: `https://authv1.test:${httpsPort}` }));
    assert.equal(p.loginV2, false);
    assert.equal(p.landedOn, '/ui/login/login?authRequestID');
    assert.match(p.problem ?? '', /old Login V1 UI/);
  });
});

describe('preflight', () => {
  test('healthy target passes quickly', async () => {
    const r = await preflight(target({}));
    assert.equal(r.hosts.length, 2);
    assert.ok(r.hosts.every((h) => h.ok), JSON.stringify(r.hosts));
    assert.deepEqual(r.warnings, []);
    assert.ok(r.ms < 10_000);
  });

  test('one broken host warns but does not stop the run', async () => {
    const r = await preflight(target({ APP_URL: `https://expired.test:${httpsPort}` }));
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /expired\.test: certificate expired 1 day ago/);
  });

  test('nothing reachable: one root-cause line (NXDOMAIN)', async () => {
    const t = target({ APP_URL: `https://nope.test:${httpsPort}`, AUTH_URL: `https://nada.test:${httpsPort}` });
    await assert.rejects(preflight(t), (e: PreflightError) => {
      assert.equal(e.name, 'PreflightError');
      assert.equal(e.message.split('\n').length, 1);
      assert.match(e.message, new RegExp(`cannot resolve nope\\.test via 127\\.0\\.0\\.1:${dnsPort}: NXDOMAIN`));
      return true;
    });
  });

  test('nothing reachable: connection refused, wrong A record, DNS server silent', async () => {
    const refused = target({ APP_URL: `https://valid.test:${closedPort}`, AUTH_URL: `https://auth.test:${closedPort}` });
    await assert.rejects(preflight(refused), /^PreflightError: target unreachable: connection refused to valid\.test \(127\.0\.0\.1:\d+\)/);
    const wrongIp = target({ APP_URL: `https://wrongip.test:${httpsPort}`, AUTH_URL: `https://wrongip.test:${httpsPort}` });
    await assert.rejects(preflight(wrongIp), /connection refused to wrongip\.test \(127\.0\.0\.3:\d+\)/);
    const started = Date.now();
    const silent = target({ DNS_SERVERS: `127.0.0.1:${silentDnsPort}` });
    await assert.rejects(preflight(silent, { timeoutMs: 1500 }), /cannot resolve app\.test via 127\.0\.0\.1:\d+: timed out/);
    assert.ok(Date.now() - started < 10_000, 'gave up at its time-out (1.5 s), not hanging');
  });

  test('untrusted CA everywhere is a certificate root cause', async () => {
    await assert.rejects(preflight(target({ CA_FILE: '' })), /target unreachable: app\.test: certificate .*(issuer|trusted)/);
  });
});
