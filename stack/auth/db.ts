// The stand-in's state in the `zitadel` database: oidc-provider payloads, users, Login V2 sessions and the
// instance's long-lived secrets (signing key, cookie keys, org/project ids). Zitadel keeps its keys in its
// database too, which is why a restart keeps the JWKS and existing cookies stay valid.
import { createHash, generateKeyPair, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import pg from 'pg';
import type { SeedUser } from './config.ts';
import { hashPassword } from './passwords.ts';

export type Pool = pg.Pool;

export function createPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 8,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 10_000,
    application_name: 'gadgetbot-auth',
  });
  // An idle client losing its connection (Postgres restarted) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS auth_meta (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS oidc_payloads (
  id text NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  user_code text,
  uid text,
  expires_at timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (id, type)
);
CREATE INDEX IF NOT EXISTS oidc_payloads_grant_id ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (uid) WHERE uid IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_user_code ON oidc_payloads (user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_expires_at ON oidc_payloads (expires_at);
CREATE TABLE IF NOT EXISTS auth_users (
  id text PRIMARY KEY,
  login_name text NOT NULL,
  display_name text NOT NULL,
  given_name text NOT NULL,
  family_name text NOT NULL,
  email text NOT NULL,
  email_verified boolean NOT NULL DEFAULT true,
  password_hash text NOT NULL,
  roles jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS auth_users_login_name ON auth_users (lower(login_name));
CREATE TABLE IF NOT EXISTS auth_login_sessions (
  id text PRIMARY KEY,
  token_hash text NOT NULL,
  user_id text NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  password_checked_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  terminated_at timestamptz
);
`;

/** Creates the tables (idempotent, serialised between concurrent starts) and drops long-expired rows. */
export async function ensureSchema(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query("SELECT pg_advisory_xact_lock(hashtext('gadgetbot-auth-schema'))");
    await c.query(SCHEMA);
    await c.query("DELETE FROM oidc_payloads WHERE expires_at < now() - interval '1 hour'");
    await c.query("DELETE FROM auth_login_sessions WHERE expires_at < now() - interval '1 hour'");
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}

/** Zitadel ids are 18-digit decimal snowflakes; random ones of the same shape do here. */
export function zitadelId(): string {
  let s = String(randomInt(1, 4));
  while (s.length < 18) s += String(randomInt(0, 10));
  return s;
}

/** A value created once per database and kept: one creator (advisory lock), everyone reads the stored one. */
async function metaOnce<T>(pool: pg.Pool, key: string, make: () => Promise<T> | T): Promise<T> {
  const read = async (q: pg.Pool | pg.PoolClient) =>
    (await q.query<{ value: T }>('SELECT value FROM auth_meta WHERE key = $1', [key])).rows[0]?.value;
  const found = await read(pool);
  if (found !== undefined) return found;
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    // Instances starting together (a redeploy overlap) would otherwise each generate a key for nothing.
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gadgetbot-auth-meta:${key}`]);
    let value = await read(c);
    if (value === undefined) {
      value = await make();
      await c.query('INSERT INTO auth_meta (key, value) VALUES ($1, $2)', [key, JSON.stringify(value)]);
    }
    await c.query('COMMIT');
    return value;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}

export interface Instance {
  orgId: string;
  projectId: string;
  /** Private RS256 signing key (JWK), never leaves the process except as its public part in the JWKS. */
  signingJwk: Record<string, unknown>;
  cookieKeys: string[];
}

/** A new RS256 signing key as a private JWK (generated on libuv's thread pool). */
export async function generateSigningJwk(): Promise<Record<string, unknown>> {
  const { privateKey } = await new Promise<{ privateKey: import('node:crypto').KeyObject }>((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, _pub, priv) => (err ? reject(err) : resolve({ privateKey: priv }))),
  );
  return { ...privateKey.export({ format: 'jwk' }), kid: zitadelId(), alg: 'RS256', use: 'sig' };
}

/**
 * The instance's ids and keys, created on first use. `spareSigningKey` (from generateSigningJwk, started
 * while waiting for the database) is used if the database has no key yet, and dropped otherwise.
 */
export async function loadInstance(pool: pg.Pool, spareSigningKey?: Promise<Record<string, unknown>>): Promise<Instance> {
  const ids = await metaOnce(pool, 'instance', () => ({ orgId: zitadelId(), projectId: zitadelId() }));
  const signingJwk = await metaOnce(pool, 'signing_jwk', () => spareSigningKey ?? generateSigningJwk());
  const cookieKeys = await metaOnce(pool, 'cookie_keys', () => [randomBytes(32).toString('base64url')]);
  return { ...ids, signingJwk, cookieKeys };
}

export interface UserRow {
  id: string;
  login_name: string;
  display_name: string;
  given_name: string;
  family_name: string;
  email: string;
  email_verified: boolean;
  password_hash: string;
  roles: string[];
  updated_at: Date;
}

/** The seeded users' password hashes, all at once (scrypt runs on libuv's thread pool); needs no database. */
export function hashSeedPasswords(users: SeedUser[]): Promise<string[]> {
  return Promise.all(users.map((u) => hashPassword(u.password)));
}

/**
 * Creates or updates the seeded users (same id across restarts: the `sub` must not change). `hashes` (from
 * hashSeedPasswords, in the order of `users`) lets the caller compute them before the database is up.
 */
export async function seedUsers(pool: pg.Pool, users: SeedUser[], hashes?: Promise<string[]> | string[]): Promise<void> {
  hashes = await (hashes ?? hashSeedPasswords(users));
  if (hashes.length !== users.length) throw new Error('seedUsers: one hash per user');
  for (const [i, u] of users.entries()) {
    await pool.query(
      `INSERT INTO auth_users (id, login_name, display_name, given_name, family_name, email, email_verified, password_hash, roles)
       VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8)
       ON CONFLICT (lower(login_name)) DO UPDATE SET
         login_name = excluded.login_name, display_name = excluded.display_name, given_name = excluded.given_name,
         family_name = excluded.family_name, email = excluded.email, email_verified = true,
         password_hash = excluded.password_hash, roles = excluded.roles, updated_at = now()`,
      [zitadelId(), u.username, u.displayName, u.givenName, u.familyName, u.email, hashes[i], JSON.stringify(u.roles)],
    );
  }
}

export async function userById(pool: pg.Pool, id: string): Promise<UserRow | undefined> {
  const r = await pool.query<UserRow>('SELECT * FROM auth_users WHERE id = $1', [id]);
  return r.rows[0];
}

/** Login names are case-insensitive in Zitadel; the email address works as a login name too. */
export async function userByLoginName(pool: pg.Pool, loginName: string): Promise<UserRow | undefined> {
  const r = await pool.query<UserRow>(
    'SELECT * FROM auth_users WHERE lower(login_name) = lower($1) OR lower(email) = lower($1) ORDER BY (lower(login_name) = lower($1)) DESC LIMIT 1',
    [loginName.trim()],
  );
  return r.rows[0];
}

// ---- Login V2 sessions (Zitadel's session API objects): an id the URL may carry plus a secret token
// that only the browser's cookie holds.

export interface LoginSession {
  id: string;
  userId: string;
  passwordCheckedAt: Date;
  createdAt: Date;
}

export interface SessionRef {
  id: string;
  token: string;
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export async function createLoginSession(pool: pg.Pool, userId: string, ttlSeconds: number): Promise<SessionRef> {
  const id = zitadelId();
  const token = randomBytes(32).toString('base64url');
  await pool.query(
    `INSERT INTO auth_login_sessions (id, token_hash, user_id, password_checked_at, expires_at)
     VALUES ($1, $2, $3, now(), now() + make_interval(secs => $4))`,
    [id, tokenHash(token), userId, ttlSeconds],
  );
  return { id, token };
}

/** The sessions among `refs` that are genuine (token matches), unexpired and not terminated, newest first. */
export async function validLoginSessions(pool: pg.Pool, refs: SessionRef[]): Promise<LoginSession[]> {
  if (!refs.length) return [];
  const r = await pool.query<{ id: string; token_hash: string; user_id: string; password_checked_at: Date; created_at: Date }>(
    `SELECT id, token_hash, user_id, password_checked_at, created_at FROM auth_login_sessions
     WHERE id = ANY($1) AND terminated_at IS NULL AND expires_at > now() ORDER BY created_at DESC`,
    [refs.map((s) => s.id)],
  );
  const out: LoginSession[] = [];
  for (const row of r.rows) {
    const ref = refs.find((s) => s.id === row.id);
    if (!ref) continue;
    const a = Buffer.from(tokenHash(ref.token));
    const b = Buffer.from(row.token_hash);
    if (a.length === b.length && timingSafeEqual(a, b))
      out.push({ id: row.id, userId: row.user_id, passwordCheckedAt: row.password_checked_at, createdAt: row.created_at });
  }
  return out;
}

export async function terminateLoginSessions(pool: pg.Pool, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await pool.query('UPDATE auth_login_sessions SET terminated_at = now() WHERE id = ANY($1) AND terminated_at IS NULL', [ids]);
}
