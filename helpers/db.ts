// Read-only look at the app database: structure, migrations, version and row counts. Every query runs
// inside BEGIN READ ONLY … ROLLBACK, so even a wrong query in this suite cannot change production data,
// and no row contents are ever read (counts only).
import pg from 'pg';
import { databasePassword, redactDatabaseUrl } from './config.ts';

export interface ColumnInfo {
  name: string;
  type: string;            // format_type(): "uuid", "text[]", "timestamp with time zone", ...
  nullable: boolean;
  default: string | null;  // as stored, e.g. "gen_random_uuid()", "'available'::text"
}
export interface ConstraintInfo {
  name: string;
  kind: 'primary key' | 'unique' | 'foreign key' | 'check' | 'exclusion' | 'other';
  columns: string[];
  definition: string;      // pg_get_constraintdef()
}
export interface ForeignKeyInfo {
  name: string; columns: string[]; refTable: string; refColumns: string[];
  onDelete: 'cascade' | 'set null' | 'set default' | 'restrict' | 'no action';
  onUpdate: 'cascade' | 'set null' | 'set default' | 'restrict' | 'no action';
}
export interface TableInfo { name: string; columns: ColumnInfo[]; constraints: ConstraintInfo[]; foreignKeys: ForeignKeyInfo[] }
export interface MigrationRow { id: number; hash: string; createdAt: number | null }
export interface DbSnapshot {
  serverVersion: string;  // e.g. "17.4"
  serverMajor: number;
  database: string;
  tables: Record<string, TableInfo>;
  migrations: MigrationRow[] | null;   // null: no drizzle.__drizzle_migrations table
  rowCounts: Record<string, number>;
  indexes: IndexInfo[];
}

export type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]) => Promise<R[]>;

/** Removes the URL's password from any text (pg errors name the host/user, but be safe). */
function scrub(text: string, url: string): string {
  let out = text;
  const pw = databasePassword(url);
  if (pw) out = out.split(pw).join('***');
  try { const raw = new URL(url).password; if (raw) out = out.split(raw).join('***'); } catch { /* not a URL */ }
  return out.split(url).join(redactDatabaseUrl(url));
}

export class DbError extends Error {
  code?: string;
  constructor(message: string, code?: string) { super(message); this.name = 'DbError'; this.code = code; }
}

/**
 * Runs `fn` inside one read-only transaction that is always rolled back. The connection is closed
 * afterwards. Errors are rethrown as DbError without the password.
 */
export async function withReadOnly<T>(url: string, fn: (q: Query) => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const c = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'gadgetbot-verify',
  });
  // pg emits 'error' on the client for a dropped connection; without a listener that would crash the process.
  c.on('error', () => undefined);
  let began = false;
  try {
    await c.connect();
    await c.query('BEGIN READ ONLY');
    began = true;
    const q: Query = async (sql, params) => (await c.query(sql, params as unknown[])).rows;
    return await fn(q);
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new DbError(`database ${safeTarget(url)}: ${scrub(err.message ?? String(e), url)}${err.code ? ` (${err.code})` : ''}`, err.code);
  } finally {
    if (began) await c.query('ROLLBACK').catch(() => undefined);
    await c.end().catch(() => undefined);
  }
}

function safeTarget(url: string): string {
  try { const u = new URL(url); return `${u.hostname}:${u.port || 5432}${u.pathname}`; } catch { return '(unparseable URL)'; }
}

const KIND: Record<string, ConstraintInfo['kind']> = { p: 'primary key', u: 'unique', f: 'foreign key', c: 'check', x: 'exclusion' };
const ACTION: Record<string, ForeignKeyInfo['onDelete']> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };

export async function serverVersion(q: Query): Promise<{ version: string; major: number }> {
  const [row] = await q<{ server_version: string; num: string }>(
    "SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS num");
  return { version: row.server_version, major: Math.floor(Number(row.num) / 10000) };
}

export async function tablesOf(q: Query, schema = 'public'): Promise<Record<string, TableInfo>> {
  const cols = await q<{ table_name: string; column_name: string; type: string; not_null: boolean; default: string | null }>(`
    SELECT c.relname AS table_name, a.attname AS column_name,
           format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
           pg_get_expr(d.adbin, d.adrelid) AS default
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
     ORDER BY c.relname, a.attnum`, [schema]);
  const cons = await q<{ table_name: string; name: string; contype: string; columns: string[] | null; definition: string;
    ref_table: string | null; ref_columns: string[] | null; confdeltype: string; confupdtype: string }>(`
    SELECT c.relname AS table_name, k.conname AS name, k.contype,
           (SELECT array_agg(a.attname::text ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS columns,
           pg_get_constraintdef(k.oid) AS definition,
           rc.relname AS ref_table,
           (SELECT array_agg(a.attname::text ORDER BY u.ord) FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum) AS ref_columns,
           k.confdeltype, k.confupdtype
      FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_class rc ON rc.oid = k.confrelid
     WHERE n.nspname = $1
     ORDER BY c.relname, k.conname`, [schema]);
  const out: Record<string, TableInfo> = {};
  const table = (n: string) => (out[n] ??= { name: n, columns: [], constraints: [], foreignKeys: [] });
  for (const r of cols) table(r.table_name).columns.push({ name: r.column_name, type: r.type, nullable: !r.not_null, default: r.default });
  for (const r of cons) {
    const t = table(r.table_name);
    t.constraints.push({ name: r.name, kind: KIND[r.contype] ?? 'other', columns: r.columns ?? [], definition: r.definition });
    if (r.contype === 'f') t.foreignKeys.push({
      name: r.name, columns: r.columns ?? [], refTable: r.ref_table ?? '?', refColumns: r.ref_columns ?? [],
      onDelete: ACTION[r.confdeltype] ?? 'no action', onUpdate: ACTION[r.confupdtype] ?? 'no action',
    });
  }
  return out;
}

export interface IndexInfo { table: string; name: string; columns: string[]; unique: boolean; primary: boolean; valid: boolean }

/** Every index of the schema: columns in order, unique/primary, and whether the planner may use it (valid, ready). */
export async function indexesOf(q: Query, schema = 'public'): Promise<IndexInfo[]> {
  return (await q<IndexInfo>(`
    SELECT t.relname AS table, i.relname AS name,
           array(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY u(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = u.attnum ORDER BY u.ord) AS columns,
           x.indisunique AS unique, x.indisprimary AS primary, (x.indisvalid AND x.indisready) AS valid
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = $1
     ORDER BY t.relname, i.relname`, [schema]));
}

/** Unique indexes also make a column unique (Better Auth sometimes declares them as indexes). */
export async function uniqueIndexes(q: Query, schema = 'public'): Promise<IndexInfo[]> {
  return (await indexesOf(q, schema)).filter((i) => i.unique);
}

/** drizzle's migration journal; null when the table does not exist. */
export async function migrationsOf(q: Query): Promise<MigrationRow[] | null> {
  const [exists] = await q<{ t: string | null }>("SELECT to_regclass('drizzle.__drizzle_migrations')::text AS t");
  if (!exists?.t) return null;
  const rows = await q<{ id: number; hash: string; created_at: string | null }>(
    'SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id');
  return rows.map((r) => ({ id: Number(r.id), hash: r.hash, createdAt: r.created_at === null ? null : Number(r.created_at) }));
}

/** Exact row counts of the given tables (counts only: row contents are never read). */
export async function rowCounts(q: Query, tables: string[], schema = 'public'): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const ident = `"${schema.replace(/"/g, '""')}"."${t.replace(/"/g, '""')}"`;
    const [r] = await q<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${ident}`);
    out[t] = Number(r.n);
  }
  return out;
}

/** Everything the db checks need, in one read-only transaction. */
export async function snapshot(url: string, opts: { timeoutMs?: number } = {}): Promise<DbSnapshot> {
  return withReadOnly(url, async (q) => {
    const v = await serverVersion(q);
    const [db] = await q<{ d: string }>('SELECT current_database() AS d');
    const tables = await tablesOf(q);
    const migrations = await migrationsOf(q);
    const counts = await rowCounts(q, Object.keys(tables));
    const indexes = await indexesOf(q);
    return { serverVersion: v.version, serverMajor: v.major, database: db.d, tables, migrations, rowCounts: counts, indexes };
  }, opts);
}

/** "'available'::text" → "'available'", "'{}'::text[]" → "'{}'": the cast is noise when comparing. */
export function normalizeDefault(d: string | null): string | null {
  if (d === null) return null;
  return d.replace(/::[a-z ]+(\[\])?(\([0-9, ]+\))?$/i, '').trim();
}

// ---- comparison against an expected schema (the reference lives in tests/db/expected-schema.ts)

export type FkAction = ForeignKeyInfo['onDelete'];
export interface ExpectedColumn { type: string; nullable: boolean; default: string | null }
export interface ExpectedTable {
  columns: Record<string, ExpectedColumn>;
  primaryKey: string[];
  unique?: string[][];
  foreignKeys?: { columns: string[]; refTable: string; refColumns: string[]; onDelete: FkAction }[];
}
export interface SchemaComparison { problems: string[]; notes: string[] }

/**
 * Differences between the database and the expected tables, one line each, naming table.column and
 * what differs. Extra tables/columns are notes (the app still works), everything else a problem.
 */
export function compareSchema(actual: Record<string, TableInfo>, expected: Record<string, ExpectedTable>,
  indexes: (Pick<IndexInfo, 'table' | 'columns'> & Partial<IndexInfo>)[] = []): SchemaComparison {
  const uniqueIdx = indexes.filter((i) => i.unique !== false);
  const problems: string[] = [];
  const notes: string[] = [];
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  for (const [name, exp] of Object.entries(expected)) {
    const t = actual[name];
    if (!t) { problems.push(`table ${name} is missing`); continue; }
    const cols = new Map(t.columns.map((c) => [c.name, c]));
    for (const [col, e] of Object.entries(exp.columns)) {
      const c = cols.get(col);
      if (!c) { problems.push(`${name}.${col}: column missing (expected ${e.type}${e.nullable ? '' : ' NOT NULL'})`); continue; }
      if (c.type !== e.type) problems.push(`${name}.${col}: type ${c.type}, expected ${e.type}`);
      if (c.nullable !== e.nullable) problems.push(`${name}.${col}: ${c.nullable ? 'nullable' : 'NOT NULL'}, expected ${e.nullable ? 'nullable' : 'NOT NULL'}`);
      const d = normalizeDefault(c.default);
      if (d !== e.default) problems.push(`${name}.${col}: default ${d ?? 'none'}, expected ${e.default ?? 'none'}`);
    }
    for (const c of t.columns) if (!(c.name in exp.columns)) notes.push(`${name}.${c.name}: extra column (${c.type})`);
    const pk = t.constraints.find((c) => c.kind === 'primary key');
    if (!pk) problems.push(`${name}: no primary key (expected ${exp.primaryKey.join(', ')})`);
    else if (!same(pk.columns, exp.primaryKey)) problems.push(`${name}: primary key (${pk.columns.join(', ')}), expected (${exp.primaryKey.join(', ')})`);
    for (const u of exp.unique ?? []) {
      const hasConstraint = t.constraints.some((c) => c.kind === 'unique' && same(c.columns, u));
      const hasIndex = uniqueIdx.some((i) => i.table === name && same(i.columns, u));
      if (!hasConstraint && !hasIndex) problems.push(`${name}.${u.join(',')}: not unique: no unique constraint or unique index on (${u.join(', ')})`);
    }
    // An index the planner may not use (a failed CREATE INDEX CONCURRENTLY) enforces and speeds up nothing.
    for (const i of indexes) if (i.table === name && i.valid === false) problems.push(`${name}: index ${i.name ?? '?'} on (${i.columns.join(', ')}) is INVALID (a failed concurrent build): it enforces nothing`);
    for (const f of exp.foreignKeys ?? []) {
      const fk = t.foreignKeys.find((k) => same(k.columns, f.columns));
      const want = `→ ${f.refTable}(${f.refColumns.join(', ')}) ON DELETE ${f.onDelete}`;
      if (!fk) problems.push(`${name}.${f.columns.join(',')}: no foreign key (expected ${want})`);
      else if (fk.refTable !== f.refTable || !same(fk.refColumns, f.refColumns) || fk.onDelete !== f.onDelete)
        problems.push(`${name}.${f.columns.join(',')}: foreign key → ${fk.refTable}(${fk.refColumns.join(', ')}) ON DELETE ${fk.onDelete}, expected ${want}`);
    }
  }
  for (const name of Object.keys(actual)) if (!(name in expected)) notes.push(`table ${name}: not in the reference`);
  return { problems, notes };
}
