// Fault auth-missing-security-headers against the real Zitadel stand-in (stack/auth/server.ts as a child
// process, its database on an embedded Postgres copied from the stack's template): the Login V2 pages lose
// X-Content-Type-Options and their framing protection, and nothing else changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { INTERNAL_HOST, startPostgres, type PostgresHandle } from '../stack/postgres/index.ts';
import { freePort } from '../stack/process.ts';

const ROOT = resolve(import.meta.dirname, '..');
const AUTH_URL = 'https://gadgetbot-auth.stack.test:8443';
const APP_URL = 'https://gadgetbot.stack.test:8443';
const AUTH_HOST = new URL(AUTH_URL).host;
// What the edge adds in front of the auth service.
const EDGE_HEADERS = { host: AUTH_HOST, 'x-forwarded-proto': 'https', 'x-forwarded-host': AUTH_HOST, accept: 'text/html' };
// Pages a visitor sees: the username page as the suite asks for it (no request id), the error page for an
// unknown request, a Login V2 page that does not exist, and the console.
const PAGES = ['/ui/v2/login/loginname', '/ui/v2/login/loginname?requestId=oidc_unknown', '/ui/v2/login/nope', '/ui/console'];

let tmp: string;
let db: PostgresHandle | undefined;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'gbv-auth-headers-'));
  chmodSync(tmp, 0o711);
  const runDir = join(tmp, 'run');
  mkdirSync(runDir, { mode: 0o711 });
  chmodSync(runDir, 0o711); // the postgres user (we may be root) must traverse it
  db = await startPostgres({ stackRoot: join(ROOT, '.stack'), runDir, port: await freePort(INTERNAL_HOST, ['127.0.0.1']) });
});

after(async () => {
  await db?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Starts the auth server with STACK_FAULTS, runs `fn` against its port, stops it (SIGTERM, exit 0). */
async function withAuth(faults: string[], fn: (port: number) => Promise<void>): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'stack/auth/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HOST: INTERNAL_HOST,
      PORT: '0',
      AUTH_URL,
      APP_URL,
      DATABASE_URL: db!.url('zitadel'),
      ZITADEL_CLIENT_ID: '344936354465016579',
      ADMIN_USER: 'gbv-admin',
      ADMIN_PASSWORD: `A-${randomBytes(9).toString('base64url')}`,
      VIEWER_USER: 'gbv-viewer',
      VIEWER_PASSWORD: `V-${randomBytes(9).toString('base64url')}`,
      STACK_FAULTS: faults.join(','),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d));
  try {
    const port = await new Promise<number>((res, rej) => {
      let port = 0;
      const timer = setTimeout(() => rej(new Error(`auth server not ready in time:\n${out.slice(-2000)}`)), 45_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d;
        port ||= Number(/"event":"listening"[^\n]*"port":(\d+)/.exec(out)?.[1] ?? 0);
        if (port && /"event":"ready"/.test(out)) {
          clearTimeout(timer);
          res(port);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        rej(new Error(`auth server exited with ${code}:\n${out.slice(-2000)}`));
      });
    });
    await fn(port);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
}

interface Seen {
  path: string;
  status: number;
  headers: Record<string, string | undefined>;
}

async function pages(port: number): Promise<Seen[]> {
  const out: Seen[] = [];
  for (const path of PAGES) {
    const r = await request(`http://${INTERNAL_HOST}:${port}${path}`, { headers: EDGE_HEADERS });
    await r.body.text();
    const h = (n: string) => {
      const v = r.headers[n];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    out.push({
      path,
      status: r.statusCode,
      headers: {
        'content-type': h('content-type'),
        'x-content-type-options': h('x-content-type-options'),
        'x-frame-options': h('x-frame-options'),
        'content-security-policy': h('content-security-policy'),
        'strict-transport-security': h('strict-transport-security'),
        'referrer-policy': h('referrer-policy'),
        'cache-control': h('cache-control'),
      },
    });
  }
  return out;
}

test('healthy: Login V2 pages send nosniff and X-Frame-Options DENY', async () => {
  await withAuth([], async (port) => {
    for (const p of await pages(port)) {
      assert.match(p.headers['content-type'] ?? '', /^text\/html/, p.path);
      assert.equal(p.headers['x-content-type-options'], 'nosniff', p.path);
      assert.equal(p.headers['x-frame-options'], 'DENY', p.path);
    }
  });
});

test('fault auth-missing-security-headers: no X-Content-Type-Options, no X-Frame-Options, no CSP frame-ancestors, no HSTS', async () => {
  // Listed with an id another service owns, as the orchestrator passes the whole list to every service.
  await withAuth(['missing-security-headers', 'auth-missing-security-headers'], async (port) => {
    const seen = await pages(port);
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
    assert.equal(seen[0].status, 200);
  });
});
