// The app database, read-only: the URL scheme the app needs, PostgreSQL 17, the five tables as the reference
// defines them (columns, types, defaults, constraints, indexes), both drizzle migrations recorded AND applied.
// Row counts are attached, row contents never read. Hashes are not compared: the real app's differ from the
// stand-in's (see the interface reference); the order and what each migration creates are.
import { expectNone } from '../../fixtures/observed.ts';
import { test } from '../../fixtures/test.ts';
import { redactDatabaseUrl } from '../../helpers/config.ts';
import { compareSchema, snapshot, type DbSnapshot, type MigrationRow } from '../../helpers/db.ts';
import { label } from '../../helpers/labels.ts';
import { EXPECTED_MIGRATION_TABLES, EXPECTED_MIGRATIONS, EXPECTED_PG_MAJOR, EXPECTED_TABLES } from './expected-schema.ts';

const whereOf = (url: string) => { const u = new URL(url); return `${u.hostname}:${u.port || 5432}${u.pathname}`; };

// One read-only snapshot per worker and URL, shared by the checks below (each test reads it: order-free).
const snaps = new Map<string, Promise<DbSnapshot>>();
function read(url: string): Promise<DbSnapshot> {
  if (!snaps.has(url)) snaps.set(url, snapshot(url));
  return snaps.get(url)!;
}

/** Recorded is not applied: each recorded migration's tables must exist; the journal times must rise. */
export function migrationProblems(m: MigrationRow[], tables: Record<string, unknown>): string[] {
  const p: string[] = [];
  if (m.length !== EXPECTED_MIGRATIONS) p.push(`${m.length} of ${EXPECTED_MIGRATIONS} drizzle migrations recorded (run the app's migrations)`);
  m.slice(0, EXPECTED_MIGRATION_TABLES.length).forEach((row, i) => {
    const missing = EXPECTED_MIGRATION_TABLES[i]!.filter((t) => !(t in tables));
    if (missing.length) p.push(`migration ${i + 1} of ${EXPECTED_MIGRATIONS} is recorded (id ${row.id}), but ${missing.length > 1 ? 'tables' : 'table'} ${missing.join(', ')} it creates ${missing.length > 1 ? 'are' : 'is'} missing: recorded, not applied`);
    const prev = m[i - 1];
    if (prev && row.createdAt !== null && prev.createdAt !== null && row.createdAt <= prev.createdAt)
      p.push(`migration ${i + 1} has journal time ${row.createdAt}, not after migration ${i}'s ${prev.createdAt}: the journal was rewritten`);
  });
  return p;
}

test.describe('App database', () => {
  test.skip(({ target }) => !target.databaseUrl, 'DATABASE_URL not set: the database checks need read-only access to the app database');

  test('DATABASE_URL uses the postgresql:// scheme', { tag: '@smoke' }, async ({ target: t }, info) => {
    await label({ feature: 'Connection', story: 'URL scheme the app accepts', severity: 'critical' });
    const url = t.databaseUrl!;
    info.annotations.push({ type: 'database', description: redactDatabaseUrl(url) });
    const scheme = new URL(url).protocol;
    const problems = scheme === 'postgresql:' ? [] : [`${whereOf(url)}: DATABASE_URL uses ${scheme}// — the app requires postgresql:// and refuses to start with `
      + 'postgres://, which is what Coolify hands out; change the scheme in the app\'s environment'];
    await expectNone('DATABASE_URL starts with postgresql://', problems);
  });

  test(`server is PostgreSQL ${EXPECTED_PG_MAJOR}; row counts attached`, { tag: '@smoke' }, async ({ target: t }, info) => {
    await label({ feature: 'Server', story: `PostgreSQL ${EXPECTED_PG_MAJOR}`, severity: 'normal' });
    const s = await read(t.databaseUrl!);
    await info.attach('row-counts.json', { body: JSON.stringify(s.rowCounts, null, 2), contentType: 'application/json' });
    info.annotations.push({ type: 'server-version', description: `${whereOf(t.databaseUrl!)}: PostgreSQL ${s.serverVersion}` });
    const problems = s.serverMajor === EXPECTED_PG_MAJOR ? [] : [`${whereOf(t.databaseUrl!)}: PostgreSQL ${s.serverVersion}, expected major ${EXPECTED_PG_MAJOR}`];
    await expectNone(`the server's major version is ${EXPECTED_PG_MAJOR}`, problems);
  });

  for (const name of Object.keys(EXPECTED_TABLES)) {
    test(`table ${name} matches the reference`, { tag: '@smoke' }, async ({ target: t }, info) => {
      await label({ feature: 'Schema', story: `table ${name}`, severity: 'critical' });
      const s = await read(t.databaseUrl!);
      const where = whereOf(t.databaseUrl!);
      const r = compareSchema(s.tables[name] ? { [name]: s.tables[name] } : {}, { [name]: EXPECTED_TABLES[name]! }, s.indexes);
      if (s.tables[name]) await info.attach(`table-${name}.json`, { body: JSON.stringify({ ...s.tables[name], indexes: s.indexes.filter((i) => i.table === name) }, null, 2), contentType: 'application/json' });
      for (const n of r.notes) info.annotations.push({ type: 'note', description: `${where}: ${n}` });
      await expectNone(`table ${name} has the reference's columns, types, defaults, constraints and indexes`, r.problems.map((p) => `${where}: ${p}`));
    });
  }

  test(`all ${EXPECTED_MIGRATIONS} drizzle migrations are applied`, { tag: '@smoke' }, async ({ target: t }, info) => {
    await label({ feature: 'Schema', story: 'migrations applied', severity: 'critical' });
    const s = await read(t.databaseUrl!);
    const where = whereOf(t.databaseUrl!);
    if (s.migrations === null) {
      await expectNone('drizzle has recorded its migrations', [`${where}: no drizzle.__drizzle_migrations table: migrations were never run`]);
      return;
    }
    const m = s.migrations;
    await info.attach('migrations.json', {
      // drizzle stores the migration's journal time ("when"), not the time it was applied.
      body: JSON.stringify(m.map((x) => ({ id: x.id, hash: x.hash.slice(0, 12), journalTime: x.createdAt ? new Date(x.createdAt).toISOString() : null })), null, 2),
      contentType: 'application/json',
    });
    await expectNone(`${EXPECTED_MIGRATIONS} migrations are recorded, in order, and each one's tables exist`, migrationProblems(m, s.tables).map((p) => `${where}: ${p}`));
  });
});
