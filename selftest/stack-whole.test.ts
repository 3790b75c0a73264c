// The whole embedded stack: start, reach every service the way the suite does (DNS server + run CA), the
// database faults, port conflicts, and that nothing is left behind after stop, SIGTERM or SIGKILL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { clientFor } from './lib/stack-client.ts';
import { startStackDetailed, sweepStaleRuns, STACK_ROOT, ROOT, type StackDetails } from '../stack/index.ts';
import { startPostgres, stopLeftoverPostgres } from '../stack/postgres/index.ts';
import { freePort, isAlive, PortInUseError } from '../stack/process.ts';
import { loadConfig } from '../helpers/config.ts';

const CONTRACT_VARS = [
  'TARGET_NAME', 'APP_URL', 'AUTH_URL', 'DEPLOYER_URL', 'HTTP_PORT', 'EXPECTED_IPS', 'DNS_SERVERS', 'RESOLVE_VIA_DNS_SERVERS',
  'CA_FILE', 'EXPECTED_CERT_ISSUER', 'ADMIN_USER', 'ADMIN_PASSWORD', 'VIEWER_USER', 'VIEWER_PASSWORD', 'DATABASE_URL',
  'COOLIFY_TOKEN', 'COOLIFY_APP_UUID', 'COOLIFY_AUTH_UUID', 'SERVER_ADDRESS', 'EXPECTED_OPEN_PORTS', 'FORBIDDEN_PORTS',
];

const STAND_IN = `
import http from 'node:http';
const server = http.createServer((req, res) => { res.writeHead(200, { 'x-service': process.env.AUTH_URL ? 'auth' : 'app' }); res.end('ok'); });
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

let tmp: string;
let appStandIn: string;
let authStandIn: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'stack-whole-'));
  appStandIn = join(tmp, 'app.mjs');
  authStandIn = join(tmp, 'auth.mjs');
  writeFileSync(appStandIn, STAND_IN);
  writeFileSync(authStandIn, STAND_IN);
});
after(() => rmSync(tmp, { recursive: true, force: true }));


function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function assertGone(stack: StackDetails, pids: number[]): Promise<void> {
  assert.ok(pids.length >= 3, `pids: ${pids}`);
  for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
  assert.equal(existsSync(stack.dir), false, 'run folder removed');
  for (const port of [stack.ports.https, stack.ports.http, stack.ports.dns]) assert.equal(await portOpen('127.0.0.1', port), false, `port ${port} closed`);
  assert.equal(await portOpen('127.0.0.2', stack.ports.postgres), false);
}

test('the real stack: env for the suite, every service reachable via DNS + CA, read-only DB, exposure, clean stop', async () => {
  const appReal = join(ROOT, 'stack', 'app', 'server.ts');
  const authReal = join(ROOT, 'stack', 'auth', 'server.ts');
  const real = existsSync(appReal) && existsSync(authReal);
  const stack = await startStackDetailed(real ? {} : { appScript: appStandIn, authScript: authStandIn });
  let pids: number[] = [];
  try {
    const env = stack.env;
    for (const v of CONTRACT_VARS) assert.ok(env[v], `${v} is set`);
    assert.equal(env.TARGET_NAME, 'embedded');
    assert.equal(env.APP_URL, `https://gadgetbot.stack.test:${stack.ports.https}`);
    assert.equal(env.AUTH_URL, `https://gadgetbot-auth.stack.test:${stack.ports.https}`);
    assert.equal(env.DEPLOYER_URL, `https://gadgetbot-coolify.stack.test:${stack.ports.https}`);
    const dnsServers = env.DNS_SERVERS.split(',');
    assert.equal(dnsServers.length, 2, 'two nameservers, as a real domain has');
    assert.equal(dnsServers[0], `127.0.0.1:${stack.ports.dns}`);
    assert.match(dnsServers[1]!, /^127\.0\.0\.1:\d+$/);
    assert.equal(env.RESOLVE_VIA_DNS_SERVERS, 'true');
    assert.equal(env.SERVER_ADDRESS, '127.0.0.1');
    assert.equal(env.EXPECTED_OPEN_PORTS, `${stack.ports.https},${stack.ports.http}`);
    assert.equal(env.CA_FILE, join(stack.dir, 'ca.pem'));
    assert.match(env.DATABASE_URL, /^postgresql:\/\/[^:]+:[^@]+@127\.0\.0\.2:\d+\/gadgetbot$/);
    assert.equal(env.ADMIN_USER, 'gbv-admin');
    assert.equal(env.VIEWER_USER, 'gbv-viewer');
    assert.notEqual(env.ADMIN_PASSWORD, env.VIEWER_PASSWORD);
    assert.match(env.COOLIFY_TOKEN, /^\d+\|[A-Za-z0-9]{40}$/);
    assert.match(env.COOLIFY_APP_UUID, /^[a-z0-9]{24}$/);
    // The suite's own config loader accepts the target as it is.
    const target = loadConfig(env);
    assert.equal(target.appUrl, env.APP_URL);
    assert.equal(target.resolveViaDnsServers, true);
    assert.deepEqual(target.exposure.forbiddenPorts, env.FORBIDDEN_PORTS.split(',').map(Number));
    assert.equal(basename(stack.dir).startsWith(`run-${process.pid}-`), true);

    const agent = clientFor(env);
    try {
      const app = await request(`${env.APP_URL}/`, { dispatcher: agent });
      await app.body.text();
      assert.equal(app.statusCode, 200);
      const authPath = real ? '/debug/healthz' : '/';
      const auth = await request(`${env.AUTH_URL}${authPath}`, { dispatcher: agent });
      await auth.body.text();
      assert.equal(auth.statusCode, 200);
      const dep = await request(`${env.DEPLOYER_URL}/api/health`, { dispatcher: agent });
      assert.equal(await dep.body.text(), 'OK');
      if (real) {
        const disc = await request(`${env.AUTH_URL}/.well-known/openid-configuration`, { dispatcher: agent });
        const json = (await disc.body.json()) as { issuer: string };
        assert.equal(json.issuer.replace(/\/$/, ''), env.AUTH_URL);
      }
    } finally {
      await agent.close();
    }

    // DATABASE_URL is read-only and sees the migrated schema.
    const c = new pg.Client({ connectionString: env.DATABASE_URL });
    await c.connect();
    try {
      const tables = (await c.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema='public' order by 1")).rows.map((r) => r.t);
      assert.deepEqual(tables, ['accounts', 'gadgetbots', 'sessions', 'users', 'verifications']);
      assert.equal((await c.query('select count(*)::int as n from drizzle.__drizzle_migrations')).rows[0].n, 2);
      assert.equal((await c.query('show server_version')).rows[0].server_version.split('.')[0], '17');
      await assert.rejects(c.query("insert into gadgetbots (name, type) values ('gbv-x', 'cleaning')"), /permission denied/);
    } finally {
      await c.end();
    }

    // Exposure: only the edge ports answer on the public address.
    for (const p of env.EXPECTED_OPEN_PORTS.split(',')) assert.equal(await portOpen('127.0.0.1', Number(p)), true, `${p} open`);
    for (const p of env.FORBIDDEN_PORTS.split(',')) assert.equal(await portOpen('127.0.0.1', Number(p)), false, `${p} closed on 127.0.0.1`);
    assert.equal(await portOpen('127.0.0.2', stack.ports.postgres), true);
    pids = stack.pids();
  } finally {
    await stack.stop();
  }
  await stack.stop(); // idempotent
  await assertGone(stack, pids);
});

test('db faults: db-port-exposed, db-missing-table, db-url-postgres-scheme', async () => {
  const stack = await startStackDetailed({
    appScript: appStandIn,
    authScript: authStandIn,
    faults: ['db-port-exposed', 'db-missing-table', 'db-url-postgres-scheme'],
  });
  const pids = stack.pids();
  try {
    assert.match(stack.env.DATABASE_URL, /^postgres:\/\//);
    assert.equal(await portOpen('127.0.0.1', stack.ports.postgres), true, 'Postgres answers on the public address');
    const c = new pg.Client({ connectionString: stack.env.DATABASE_URL.replace(/^postgres:/, 'postgresql:') });
    await c.connect();
    try {
      const tables = (await c.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema='public' order by 1")).rows.map((r) => r.t);
      assert.deepEqual(tables, ['accounts', 'gadgetbots', 'sessions', 'users']);
      assert.equal((await c.query('select count(*)::int as n from drizzle.__drizzle_migrations')).rows[0].n, 2, 'recorded as applied');
    } finally {
      await c.end();
    }
  } finally {
    await stack.stop();
  }
  await assertGone(stack, pids);
});

test('db fault db-unapplied-migration: only the first migration, and only it recorded', async () => {
  const stack = await startStackDetailed({ appScript: appStandIn, authScript: authStandIn, faults: ['db-unapplied-migration'] });
  try {
    assert.equal(await portOpen('127.0.0.1', stack.ports.postgres), false);
    const c = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await c.connect();
    try {
      const tables = (await c.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema='public' order by 1")).rows.map((r) => r.t);
      assert.deepEqual(tables, ['gadgetbots']);
      assert.equal((await c.query('select count(*)::int as n from drizzle.__drizzle_migrations')).rows[0].n, 1);
    } finally {
      await c.end();
    }
  } finally {
    await stack.stop();
  }
});

test('a taken port: one clear error naming the port and the way out; nothing left behind', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const busy = (blocker.address() as import('node:net').AddressInfo).port;
  const before = new Set(readdirSync(STACK_ROOT));
  try {
    await assert.rejects(
      startStackDetailed({ appScript: appStandIn, authScript: authStandIn, ports: { https: busy, http: await freePort('127.0.0.1') } }),
      (e: unknown) => {
        assert.ok(e instanceof PortInUseError, String(e));
        assert.equal(e.port, busy);
        assert.match(e.message, new RegExp(`Port ${busy} on 127\\.0\\.0\\.1 is already in use`));
        assert.match(e.message, /STACK_HTTPS_PORT=/);
        return true;
      },
    );
  } finally {
    blocker.close();
  }
  const mine = readdirSync(STACK_ROOT).filter((n) => n.startsWith(`run-${process.pid}-`) && !before.has(n));
  assert.deepEqual(mine, []);
});

/** Runs a stack in a separate process (stand-in services); resolves with its run folder and child pids. */
function childStack(): Promise<{ proc: ReturnType<typeof spawn>; dir: string; pids: number[] }> {
  const script = join(tmp, `child-${Date.now()}-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(
    script,
    `import { startStackDetailed } from ${JSON.stringify(join(ROOT, 'stack', 'index.ts'))};
const s = await startStackDetailed({ appScript: ${JSON.stringify(appStandIn)}, authScript: ${JSON.stringify(authStandIn)} });
console.log('READY ' + JSON.stringify({ dir: s.dir, pids: s.pids() }));
setInterval(() => {}, 1000);
`,
  );
  chmodSync(script, 0o644);
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child stack did not start: ${out}`));
    }, 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (.*)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, ...(JSON.parse(m[1]) as { dir: string; pids: number[] }) });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}): ${out}`));
    });
  });
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('SIGTERM to a process running a stack cleans up; after SIGKILL its children die and the next start sweeps', async () => {
  // Two stacks in two processes, started at once to keep the test short.
  const [termed, killed] = await Promise.all([childStack(), childStack()]);

  const exited = new Promise<NodeJS.Signals | number | null>((r) => termed.proc.once('exit', (code, sig) => r(sig ?? code)));
  termed.proc.kill('SIGTERM');
  killed.proc.kill('SIGKILL');
  assert.equal(await exited, 'SIGTERM', 'the process still dies of the signal after cleaning up');
  for (const pid of termed.pids) assert.equal(isAlive(pid), false, `child ${pid} gone`);
  assert.equal(existsSync(termed.dir), false);

  await until('children to follow their killed parent', () => killed.pids.every((p) => !isAlive(p)));
  // npm test starts other stacks in this repository meanwhile, and every start sweeps dead runs: one of them may
  // have swept this folder already, which is the sweep working too. Otherwise this sweep must take it.
  if (existsSync(killed.dir)) {
    const swept = await sweepStaleRuns();
    assert.ok(swept.includes(killed.dir) || !existsSync(killed.dir), `the killed run's folder is swept (swept: ${swept})`);
  }
  assert.equal(existsSync(killed.dir), false, "the killed run's folder is gone after a sweep");
});

test("a leftover Postgres (its owner gone) is stopped through its postmaster.pid", async () => {
  const runDir = mkdtempSync(join(STACK_ROOT, 'leftover-'));
  chmodSync(runDir, 0o711);
  try {
    const pgH = await startPostgres({ stackRoot: STACK_ROOT, runDir, port: await freePort('127.0.0.2', ['127.0.0.1']) });
    assert.equal(isAlive(pgH.pid), true);
    assert.equal(await stopLeftoverPostgres(join(runDir, 'nope')), false);
    assert.equal(await stopLeftoverPostgres(pgH.dataDir), true);
    await until('postgres to stop', () => !isAlive(pgH.pid));
    await pgH.stop();
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
