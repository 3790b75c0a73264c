// Applies the app's SQL migrations the way drizzle-orm's migrator does, so the bookkeeping the suite
// inspects (schema `drizzle`, table `__drizzle_migrations`, one row per file, sha256 of the file's SQL)
// is indistinguishable from the real deployment's.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';

export const MIGRATIONS_DIR = resolve(import.meta.dirname, '..', 'postgres', 'migrations');

export interface MigrationFile {
  tag: string;
  /** drizzle's "folderMillis": the journal's `when`, stored as created_at */
  when: number;
  sql: string;
  hash: string;
  statements: string[];
}

interface Journal {
  entries: { idx: number; when: number; tag: string; breakpoints: boolean }[];
}

export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  const journal = JSON.parse(readFileSync(join(dir, 'meta', '_journal.json'), 'utf8')) as Journal;
  return [...journal.entries]
    .sort((a, b) => a.idx - b.idx)
    .map((e) => {
      const sql = readFileSync(join(dir, `${e.tag}.sql`), 'utf8');
      return {
        tag: e.tag,
        when: e.when,
        sql,
        hash: createHash('sha256').update(sql).digest('hex'),
        statements: sql
          .split('--> statement-breakpoint')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      };
    });
}

/** The table a statement creates or alters, if any (used only to leave tables out for a fault). */
function tableOf(statement: string): string | undefined {
  const m = /^(?:CREATE TABLE(?: IF NOT EXISTS)?|ALTER TABLE)\s+(?:"?public"?\.)?"?([A-Za-z0-9_]+)"?/i.exec(statement);
  return m?.[1];
}

/**
 * `only: n` applies (and records) just the first n migrations: fault `db-unapplied-migration`.
 * `skipTables` leaves those tables out while still recording the migration as applied, as if someone
 * dropped them afterwards: fault `db-missing-table`.
 */
export async function migrate(
  databaseUrl: string,
  opts: { only?: number; skipTables?: string[] } = {},
): Promise<void> {
  const all = readMigrations();
  const migrations = opts.only === undefined ? all : all.slice(0, Math.max(0, opts.only));
  const skip = new Set((opts.skipTables ?? []).map((t) => t.toLowerCase()));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('CREATE SCHEMA IF NOT EXISTS "drizzle"');
    await client.query(
      'CREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)',
    );
    await client.query('BEGIN');
    try {
      // Two migrators racing on one database would both see "nothing applied"; serialize them.
      await client.query('SELECT pg_advisory_xact_lock(4242424242)');
      const last = await client.query<{ created_at: string }>(
        'SELECT created_at FROM "drizzle"."__drizzle_migrations" ORDER BY created_at DESC LIMIT 1',
      );
      const lastApplied = last.rows[0] ? Number(last.rows[0].created_at) : undefined;
      for (const m of migrations) {
        if (lastApplied !== undefined && m.when <= lastApplied) continue;
        for (const statement of m.statements) {
          const table = tableOf(statement);
          if (table && skip.has(table.toLowerCase())) continue;
          await client.query(statement);
        }
        await client.query('INSERT INTO "drizzle"."__drizzle_migrations" ("hash", "created_at") VALUES ($1, $2)', [
          m.hash,
          m.when,
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    await client.end();
  }
}
