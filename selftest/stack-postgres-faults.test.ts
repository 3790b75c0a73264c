// The stack's DB faults against real embedded Postgres clusters (one healthy, one per fault), read through the
// suite's own helpers/db.ts exactly as the db project reads them: the reader role's snapshot, compared with the
// reference schema of tests/db/expected-schema.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { compareSchema, snapshot, uniqueIndexes, withReadOnly, serverVersion } from '../helpers/db.ts';
import { EXPECTED_MIGRATIONS, EXPECTED_PG_MAJOR, EXPECTED_TABLES } from '../tests/db/expected-schema.ts';
import type { FaultId } from '../stack/faults.ts';
import { INTERNAL_HOST, migrateApp, startPostgres, WRONG_MAJOR, type PostgresHandle } from '../stack/postgres/index.ts';
import { freePort } from '../stack/process.ts';
import { bundledNodeArgs } from '../stack/deployer/supervisor.ts';

const ROOT = resolve(import.meta.dirname, '..');
// The shared template cluster (built once, reused by every stack start); each cluster here is a copy of it.
const STACK_ROOT = join(ROOT, '.stack');

interface Cluster {
  pg: PostgresHandle;
  dir: string;
}

let tmp: string;
const clusters: Record<'healthy' | 'drift' | 'major', Cluster> = {} as never;

async function cluster(name: string, faults: FaultId[]): Promise<Cluster> {
  const dir = join(tmp, name);
  mkdirSync(dir, { mode: 0o711 });
  chmodSync(dir, 0o711); // the postgres user (we may be root) must traverse it, whatever the umask
  const port = await freePort(INTERNAL_HOST, ['127.0.0.1']);
  const p = await startPostgres({ stackRoot: STACK_ROOT, runDir: dir, port, faults });
  // What the orchestrator does next: the app's migrations as the app's own role, with the same faults.
  await migrateApp(p.url('gadgetbot'), faults);
  return { pg: p, dir };
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'gbv-pg-faults-'));
  chmodSync(tmp, 0o711);
  const started = await Promise.allSettled([cluster('healthy', []), cluster('drift', ['db-column-drift']), cluster('major', ['db-wrong-major'])]);
  for (const [i, key] of (['healthy', 'drift', 'major'] as const).entries()) {
    const r = started[i];
    if (r.status === 'fulfilled') clusters[key] = r.value;
  }
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
});

after(async () => {
  await Promise.all(Object.values(clusters).map((c) => c.pg.stop().catch(() => undefined)));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** What tests/db/schema.spec.ts computes, per reference table, from one snapshot. */
async function tableProblems(url: string): Promise<Record<string, string[]>> {
  const s = await snapshot(url);
  const uniq = await withReadOnly(url, (q) => uniqueIndexes(q));
  return Object.fromEntries(Object.keys(EXPECTED_TABLES).map((name) => [
    name,
    compareSchema(s.tables[name] ? { [name]: s.tables[name] } : {}, { [name]: EXPECTED_TABLES[name] }, uniq).problems,
  ]));
}

const noProblems = () => Object.fromEntries(Object.keys(EXPECTED_TABLES).map((n) => [n, [] as string[]]));

async function asOwner<T>(c: Cluster, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: c.pg.url('gadgetbot') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

test('healthy: the reader sees PostgreSQL 17, every table matches the reference, both migrations recorded', async () => {
  const url = clusters.healthy.pg.url('gadgetbot', 'reader');
  const s = await snapshot(url);
  assert.equal(s.serverMajor, EXPECTED_PG_MAJOR);
  assert.match(s.serverVersion, /^17\./);
  assert.equal(s.migrations?.length, EXPECTED_MIGRATIONS);
  assert.deepEqual(await tableProblems(url), noProblems());
});

test('fault db-column-drift: gadgetbots.battery_life is integer and image_url is gone; nothing else differs', async () => {
  const c = clusters.drift;
  const url = c.pg.url('gadgetbot', 'reader');
  const s = await snapshot(url);
  const cols = Object.fromEntries(s.tables.gadgetbots.columns.map((col) => [col.name, col.type]));
  assert.equal(cols.battery_life, 'integer');
  assert.equal('image_url' in cols, false);
  // Exactly the two drifted columns, and no other table touched.
  assert.deepEqual(await tableProblems(url), {
    ...noProblems(),
    gadgetbots: ['gadgetbots.battery_life: type integer, expected real', 'gadgetbots.image_url: column missing (expected text)'],
  });
  assert.equal(s.migrations?.length, EXPECTED_MIGRATIONS, 'a hand edit, not a migration: the journal still says both ran');
  assert.equal(s.serverMajor, 17, 'the version is not part of this fault');
  // What the drift does to data: fractions are lost.
  const stored = await asOwner(c, async (client) => {
    await client.query('BEGIN');
    try {
      const r = await client.query<{ battery_life: number }>(
        "INSERT INTO gadgetbots (name, type, description, battery_life, max_load_capacity) VALUES ('gbv-drift-probe', 'cleaning', 'd', 8.5, 15) RETURNING battery_life",
      );
      return r.rows[0].battery_life;
    } finally {
      await client.query('ROLLBACK');
    }
  });
  assert.equal(stored, 9);
  // Applying it again (a second migrateApp) changes nothing and does not fail.
  await migrateApp(c.pg.url('gadgetbot'), ['db-column-drift']);
  assert.equal((await tableProblems(url)).gadgetbots.length, 2);
});

test('fault db-column-drift: the app still starts and answers its healthcheck', async () => {
  const c = clusters.drift;
  const child = spawn(process.execPath, await bundledNodeArgs(join(ROOT, 'stack/app/server.ts')), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOST: INTERNAL_HOST,
      PORT: '0',
      DATABASE_URL: c.pg.url('gadgetbot'),
      APP_URL: 'https://gadgetbot.stack.test:8443',
      BETTER_AUTH_SECRET: 'x'.repeat(32),
      ZITADEL_ISSUER_URL: 'https://gadgetbot-auth.stack.test:8443',
      ZITADEL_CLIENT_ID: '123456789012345678',
      STACK_FAULTS: 'db-column-drift',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const port = await new Promise<number>((res, rej) => {
      let buf = '';
      const timer = setTimeout(() => rej(new Error(`app did not listen: ${buf}`)), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        buf += d;
        const m = /"event":"listening"[^\n]*"port":(\d+)/.exec(buf);
        if (m) {
          clearTimeout(timer);
          res(Number(m[1]));
        }
      });
      void exited.then((code) => rej(new Error(`app exited with ${code}: ${buf}`)));
    });
    const status = await new Promise<number>((res, rej) => {
      const req = request({ host: INTERNAL_HOST, port, path: '/', timeout: 20_000 }, (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      });
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.once('error', rej);
      req.end();
    });
    assert.equal(status, 200);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('fault db-wrong-major: the reader sees 16.4 (major 16) through helpers/db.ts; the schema is intact', async () => {
  const c = clusters.major;
  const url = c.pg.url('gadgetbot', 'reader');
  const v = await withReadOnly(url, serverVersion);
  assert.deepEqual(v, { version: '16.4', major: 16 });
  assert.equal(WRONG_MAJOR.version, '16.4');
  const s = await snapshot(url);
  assert.equal(s.serverVersion, '16.4');
  assert.equal(s.serverMajor, 16);
  assert.notEqual(s.serverMajor, EXPECTED_PG_MAJOR);
  assert.deepEqual(await tableProblems(url), noProblems());
  assert.equal(s.migrations?.length, EXPECTED_MIGRATIONS);
  const other = await withReadOnly(url, (q) =>
    q<{ version: string; tz: string; upper: string }>("SELECT version() AS version, current_setting('TimeZone') AS tz, current_setting('SERVER_VERSION') AS upper"));
  assert.match(other[0].version, /^PostgreSQL 16\.4 /);
  assert.equal(other[0].upper, '16.4', 'setting names are case-insensitive, as in PostgreSQL');
  assert.ok(other[0].tz.length > 0, 'every other setting passes through');
});

test('fault db-wrong-major: the app role, and the reader elsewhere, still see the real server (17)', async () => {
  const c = clusters.major;
  const owner = await asOwner(c, async (client) => {
    const r = await client.query<{ v: string; n: string; path: string }>(
      "SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, current_setting('search_path') AS path");
    return r.rows[0];
  });
  assert.match(owner.v, /^17\./);
  assert.ok(Number(owner.n) >= 170000 && Number(owner.n) < 180000, owner.n);
  assert.doesNotMatch(owner.path, new RegExp(WRONG_MAJOR.schema));
  // The reader's override is per database: in zitadel it sees the truth.
  const elsewhere = await withReadOnly(c.pg.url('zitadel', 'reader'), serverVersion);
  assert.equal(elsewhere.major, 17);
  // And a healthy cluster has no such schema at all.
  const hasSchema = await withReadOnly(clusters.healthy.pg.url('gadgetbot', 'reader'), (q) =>
    q<{ n: string }>('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [WRONG_MAJOR.schema]));
  assert.equal(Number(hasSchema[0].n), 0);
});
