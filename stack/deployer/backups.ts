// Scheduled backups of the stack's two databases, as Coolify keeps them: one schedule per database ("daily at
// 2 AM, 7 days" as the plan says) and its executions. The executions are real: at start each database is
// dumped for real (pg_dump when one of the server's major version is installed, else a logical dump over the
// same connection, in pg_dump's plain format: schema, every table's rows as COPY blocks, constraints), so the
// file and its size are evidence, not numbers. Coolify runs `pg_dump` inside the database's container; Debian 12
// ships pg_dump 15, which refuses a PostgreSQL 17 server, hence the fallback.
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { has, type FaultId } from '../faults.ts';

const execFileP = promisify(execFile);

export interface DatabaseResource {
  uuid: string;
  /** Coolify resource name, e.g. gadgetbot-db. */
  name: string;
  /** Database inside the server, e.g. gadgetbot. */
  database: string;
  /** Owner URL (postgresql://…); never shown. */
  url: string;
}

export interface Execution {
  id: number;
  uuid: string;
  scheduled_database_backup_id: number;
  status: 'running' | 'success' | 'failed';
  message: string | null;
  size: number | null;
  filename: string | null;
  database_name: string;
  finished_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Schedule {
  id: number;
  uuid: string;
  enabled: boolean;
  frequency: string;
  save_s3: boolean;
  database_backup_retention_amount_locally: number;
  database_backup_retention_days_locally: number;
  database_backup_retention_max_storage_locally: number;
  databases_to_backup: string;
  dump_all: boolean;
  timeout: number;
  created_at: string;
  updated_at: string;
  executions: Execution[];
}

const laravelTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** The faults of this module, each breaking one promise of one database (none masks another's check). */
function scheduleFor(db: DatabaseResource, index: number, faults: readonly FaultId[], now: string, uuid: string): Schedule {
  const isApp = index === 0;
  return {
    id: index + 1,
    uuid,
    enabled: !(has(faults, 'backup-disabled') && !isApp),
    frequency: has(faults, 'backup-weekly') && isApp ? '0 2 * * 0' : '0 2 * * *',
    save_s3: false,
    // backup-retention-short: gadgetbot-db keeps 3 backups / 3 days; zitadel-db keeps 14 backups but only 5 days.
    database_backup_retention_amount_locally: has(faults, 'backup-retention-short') ? (isApp ? 3 : 14) : 7,
    database_backup_retention_days_locally: has(faults, 'backup-retention-short') ? (isApp ? 3 : 5) : 7,
    database_backup_retention_max_storage_locally: 0,
    databases_to_backup: db.database,
    dump_all: false,
    timeout: 3600,
    created_at: now,
    updated_at: now,
    executions: [],
  };
}

export interface BackupStoreOptions {
  databases: DatabaseResource[];
  dir: string;
  faults: readonly FaultId[];
  uuid: () => string;
  log: (line: string) => void;
  /** Dumps start once this settles (the databases are up and migrated). */
  after?: Promise<unknown>;
}

export class BackupStore {
  readonly schedules = new Map<string, Schedule>();
  #nextExecution = 1;
  /** Settles when the start-up dumps are done (whatever their outcome). */
  readonly ready: Promise<void>;

  constructor(private readonly o: BackupStoreOptions) {
    const now = laravelTime();
    o.databases.forEach((db, i) => this.schedules.set(db.uuid, scheduleFor(db, i, o.faults, now, o.uuid())));
    this.ready = this.#dumpAll();
    this.ready.catch(() => undefined);
  }

  database(uuid: string): DatabaseResource | undefined {
    return this.o.databases.find((d) => d.uuid === uuid);
  }

  async #dumpAll(): Promise<void> {
    await this.o.after?.catch(() => undefined);
    await mkdir(this.o.dir, { recursive: true });
    await Promise.all(this.o.databases.map((db, i) => this.#run(db, i)));
  }

  /** One execution: running, then success with the real file and size, or failed with the real error. */
  async #run(db: DatabaseResource, index: number): Promise<void> {
    const schedule = this.schedules.get(db.uuid)!;
    const started = new Date();
    const stamp = started.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    const file = join(this.o.dir, `pg-dump-${db.database}-${stamp}.dmp`);
    const e: Execution = {
      id: this.#nextExecution++, uuid: this.o.uuid(), scheduled_database_backup_id: schedule.id, status: 'running',
      message: null, size: null, filename: file, database_name: db.database, finished_at: null,
      created_at: laravelTime(started), updated_at: laravelTime(started),
    };
    schedule.executions.unshift(e);
    // backup-failing: the zitadel-db schedule connects with a stale password (a rotated database password is a
    // classic way backups start failing); the error is Postgres's own.
    const url = has(this.o.faults, 'backup-failing') && index === 1 ? withPassword(db.url, 'stale-password') : db.url;
    try {
      const how = await dumpDatabase(url, file);
      const size = (await stat(file)).size;
      Object.assign(e, { status: 'success', size, message: how });
      this.o.log(`deployer: backup of ${db.name}: ${size} bytes (${how})`);
      if (has(this.o.faults, 'backup-stale') && index === 0) {
        // The scheduler stopped three days ago: the newest backup is that old (file and record alike).
        const old = new Date(Date.now() - 74 * 3600_000);
        await utimes(file, old, old);
        e.created_at = laravelTime(old);
      }
    } catch (err) {
      // Coolify records the location before the dump runs; a failed run keeps it (and no size).
      Object.assign(e, { status: 'failed', size: 0, message: redactUrl(String((err as Error).message), db.url).slice(0, 500) });
      this.o.log(`deployer: backup of ${db.name} failed: ${e.message}`);
    }
    e.finished_at = e.updated_at = laravelTime();
  }
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

function redactUrl(s: string, url: string): string {
  const pw = decodeURIComponent(new URL(url).password);
  return pw ? s.split(pw).join('[redacted]') : s;
}

/** A pg_dump binary that can dump this server (pg_dump refuses a server of a newer major version), if any. */
async function pgDumpFor(serverMajor: number): Promise<string | undefined> {
  const candidates = [process.env.PG_DUMP, ...[20, 19, 18, 17].map((v) => `/usr/lib/postgresql/${v}/bin/pg_dump`), 'pg_dump'].filter(Boolean) as string[];
  for (const bin of candidates) {
    try {
      const { stdout } = await execFileP(bin, ['--version'], { timeout: 5000 });
      const major = Number(/(\d+)(?:\.\d+)?/.exec(String(stdout))?.[1]);
      if (major >= serverMajor) return bin;
    } catch { /* not there */ }
  }
  return undefined;
}

/** Dumps one database into `file`; returns how. Throws with the server's or pg_dump's own message. */
export async function dumpDatabase(url: string, file: string): Promise<string> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    const major = Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0].v) / 10000 | 0;
    const bin = await pgDumpFor(major);
    if (bin) {
      const u = new URL(url);
      const password = decodeURIComponent(u.password);
      u.password = '';
      // The password goes through the environment, never the command line (visible in ps).
      await execFileP(bin, ['--format=custom', '--no-acl', '--no-owner', `--file=${file}`, `--dbname=${u.toString()}`],
        { timeout: 120_000, env: { ...process.env, PGPASSWORD: password } });
      return `pg_dump ${bin}`;
    }
    await logicalDump(c, file);
    return `logical dump (no pg_dump for PostgreSQL ${major} installed)`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const copyText = (v: string | null) => (v === null ? '\\N' : v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r'));
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** pg_dump's plain format, from one REPEATABLE READ snapshot as pg_dump takes it. */
async function logicalDump(c: pg.Client, file: string): Promise<void> {
  const out = createWriteStream(file, { mode: 0o600 });
  const write = (s: string) => new Promise<void>((res, rej) => out.write(s, (e) => (e ? rej(e) : res())));
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const v = (await c.query<{ v: string; db: string }>('SELECT version() AS v, current_database() AS db')).rows[0];
    await write(`--\n-- PostgreSQL database dump of ${v.db}\n-- Server: ${v.v}\n--\n\nSET client_encoding = 'UTF8';\n\n`);
    const tables = (await c.query<{ oid: number; schema: string; name: string }>(
      `SELECT c.oid, n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       ORDER BY 2, 3`)).rows;
    for (const schema of new Set(tables.map((t) => t.schema))) if (schema !== 'public') await write(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)};\n`);
    for (const t of tables) {
      const cols = (await c.query<{ name: string; type: string; notnull: boolean; def: string | null }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [t.oid])).rows;
      const q = `${ident(t.schema)}.${ident(t.name)}`;
      await write(`\nCREATE TABLE ${q} (\n${cols.map((col) => `    ${ident(col.name)} ${col.type}${col.def ? ` DEFAULT ${col.def}` : ''}${col.notnull ? ' NOT NULL' : ''}`).join(',\n')}\n);\n`);
      const list = cols.map((col) => ident(col.name)).join(', ');
      await write(`\nCOPY ${q} (${list}) FROM stdin;\n`);
      const rows = await c.query({ text: `SELECT ${cols.map((col) => `${ident(col.name)}::text`).join(', ')} FROM ${q}`, rowMode: 'array' });
      for (const r of rows.rows as (string | null)[][]) await write(`${r.map(copyText).join('\t')}\n`);
      await write('\\.\n');
    }
    const cons = (await c.query<{ q: string; name: string; def: string }>(
      `SELECT format('%I.%I', n.nspname, cl.relname) AS q, co.conname AS name, pg_get_constraintdef(co.oid) AS def
       FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
       WHERE n.nspname NOT IN ('pg_catalog','information_schema') AND co.contype IN ('p','u','f','c') ORDER BY co.contype DESC, 1, 2`)).rows;
    for (const k of cons) await write(`ALTER TABLE ONLY ${k.q} ADD CONSTRAINT ${ident(k.name)} ${k.def};\n`);
    await write('\n--\n-- PostgreSQL database dump complete\n--\n');
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await new Promise<void>((res) => out.end(() => res()));
  }
}
