// The app database, read-only: the URL scheme the app needs, PostgreSQL 17, the five tables as the
// reference defines them, both drizzle migrations applied. Row counts are attached, row contents never read.
import { expect, test } from '@playwright/test';
import { getConfig, redactDatabaseUrl } from '../../helpers/config.ts';
import { compareSchema, snapshot, uniqueIndexes, withReadOnly, type DbSnapshot } from '../../helpers/db.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { EXPECTED_MIGRATIONS, EXPECTED_PG_MAJOR, EXPECTED_TABLES } from './expected-schema.ts';

// Read at collection time only to decide the skip; `--list` without any target simply lists them as skipped.
const url = (() => { try { return getConfig().databaseUrl; } catch { return undefined; } })();
const where = url ? (() => { const u = new URL(url); return `${u.hostname}:${u.port || 5432}${u.pathname}`; })() : '';

// One read-only snapshot per worker, shared by the checks below.
let snap: Promise<{ s: DbSnapshot; uniq: { table: string; name: string; columns: string[] }[] }> | undefined;
function read() {
  snap ??= (async () => ({ s: await snapshot(url!), uniq: await withReadOnly(url!, (q) => uniqueIndexes(q)) }))();
  return snap;
}

test.describe('App database', () => {
  test.skip(!url, 'DATABASE_URL not set: the database checks need read-only access to the app database');

  test('DATABASE_URL uses the postgresql:// scheme', { tag: '@smoke' }, async ({}, info) => {
    await label({ epic: EPIC.db, feature: 'Connection', story: 'URL scheme the app accepts', severity: 'critical' });
    info.annotations.push({ type: 'database', description: redactDatabaseUrl(url!) });
    const scheme = new URL(url!).protocol;
    expect(scheme, `${where}: DATABASE_URL uses ${scheme}// — the app requires postgresql:// and refuses to start with `
      + 'postgres://, which is what Coolify hands out; change the scheme in the app\'s environment').toBe('postgresql:');
  });

  test(`server is PostgreSQL ${EXPECTED_PG_MAJOR}; row counts attached`, { tag: '@smoke' }, async ({}, info) => {
    await label({ epic: EPIC.db, feature: 'Server', story: `PostgreSQL ${EXPECTED_PG_MAJOR}`, severity: 'normal' });
    const { s } = await read();
    await info.attach('row-counts.json', { body: JSON.stringify(s.rowCounts, null, 2), contentType: 'application/json' });
    info.annotations.push({ type: 'server-version', description: `${where}: PostgreSQL ${s.serverVersion}` });
    expect(s.serverMajor, `${where}: PostgreSQL ${s.serverVersion}, expected major ${EXPECTED_PG_MAJOR}`).toBe(EXPECTED_PG_MAJOR);
  });

  for (const name of Object.keys(EXPECTED_TABLES)) {
    test(`table ${name} matches the reference`, { tag: '@smoke' }, async ({}, info) => {
      await label({ epic: EPIC.db, feature: 'Schema', story: `table ${name}`, severity: 'critical' });
      const { s, uniq } = await read();
      const r = compareSchema(s.tables[name] ? { [name]: s.tables[name] } : {}, { [name]: EXPECTED_TABLES[name] }, uniq);
      if (s.tables[name]) await info.attach(`table-${name}.json`, { body: JSON.stringify(s.tables[name], null, 2), contentType: 'application/json' });
      for (const n of r.notes) info.annotations.push({ type: 'note', description: `${where}: ${n}` });
      const problems = r.problems.map((p) => `${where}: ${p}`);
      expect(problems, problems.join('\n')).toEqual([]);
    });
  }

  test(`all ${EXPECTED_MIGRATIONS} drizzle migrations are applied`, { tag: '@smoke' }, async ({}, info) => {
    await label({ epic: EPIC.db, feature: 'Schema', story: 'migrations applied', severity: 'critical' });
    const { s } = await read();
    expect(s.migrations, `${where}: no drizzle.__drizzle_migrations table: migrations were never run`).not.toBeNull();
    const m = s.migrations!;
    await info.attach('migrations.json', {
      // drizzle stores the migration's journal time ("when"), not the time it was applied.
      body: JSON.stringify(m.map((x) => ({ id: x.id, hash: x.hash.slice(0, 12), journalTime: x.createdAt ? new Date(x.createdAt).toISOString() : null })), null, 2),
      contentType: 'application/json',
    });
    expect(m.length, `${where}: ${m.length} of ${EXPECTED_MIGRATIONS} drizzle migrations recorded (run the app's migrations)`).toBe(EXPECTED_MIGRATIONS);
  });
});
