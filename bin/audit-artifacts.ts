// npm run audit:artifacts — proves that nothing this checkout produced carries a secret.
// Scans reports/, test-results/, blob-report/ and .stack/*/logs (text files and every zip entry, traces
// included) for every secret the runs' records list (.gbv/run-*.json, written by global setup: the configured
// target's passwords and tokens), the secrets the environment names (CI passes them as variables), the session
// tokens of .auth/*.json storage states, and unredacted credential shapes (session cookies, Authorization
// headers, password fields). Exit 1 listing files, never secrets.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { scanTree, type SecretHit } from '../helpers/redact.ts';
import { collectSecrets } from '../helpers/secrets.ts';

export interface AuditOptions { cwd?: string; env?: Record<string, string | undefined>; dirs?: string[] }
export interface AuditResult { hits: SecretHit[]; files: number; entries: number; secrets: number; dirs: string[]; errors: string[] }

/** The folders an audit covers (those that exist). */
export function auditDirs(cwd: string, env: Record<string, string | undefined> = process.env): string[] {
  const dirs = ['reports', 'test-results', 'blob-report'].map((d) => resolve(cwd, d));
  if (env.GBV_REPORTS_DIR) dirs.push(resolve(cwd, env.GBV_REPORTS_DIR));
  if (env.GBV_OUTPUT_DIR) dirs.push(resolve(cwd, env.GBV_OUTPUT_DIR));
  const stack = join(cwd, '.stack');
  if (existsSync(stack)) {
    for (const run of readdirSync(stack, { withFileTypes: true })) {
      if (run.isDirectory()) dirs.push(join(stack, run.name, 'logs'));
    }
  }
  return [...new Set(dirs)].filter((d) => existsSync(d));
}

export async function audit(opts: AuditOptions = {}): Promise<AuditResult> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const secrets = collectSecrets({ cwd, env, records: 'all', recordDir: join(cwd, '.gbv') });
  const dirs = opts.dirs ?? auditDirs(cwd, env);
  const res = await scanTree(dirs, secrets, cwd);
  // One line per file/entry and kind, however often it occurs.
  const seen = new Set<string>();
  const hits = res.hits.filter((h) => {
    const k = `${h.file}\0${h.entry ?? ''}\0${h.secretKind}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { hits, files: res.files, entries: res.entries, secrets: secrets.length, dirs, errors: res.errors };
}

async function main(): Promise<number> {
  const r = await audit();
  const where = r.dirs.length ? r.dirs.map((d) => d.replace(`${process.cwd()}/`, '')).join(', ') : '(no artifact folders)';
  for (const e of r.errors) console.error(`audit: could not read ${e}`);
  if (r.hits.length) {
    console.error(`audit: FAILED — ${r.hits.length} finding(s) in ${where}:`);
    for (const h of r.hits) console.error(`  ${h.file}${h.entry ? ` [${h.entry}]` : ''}: ${h.secretKind}`);
    console.error('Delete these artifacts (or run the suite again: its reporter redacts them) before sharing them.');
    return 1;
  }
  console.log(`audit: OK — ${r.files} files (${r.entries} zip entries) scanned in ${where} for ${r.secrets} known secrets and credential shapes; nothing found`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then((code) => process.exit(code), (e) => {
    console.error(`audit: ${(e as Error).message}`);
    process.exit(2);
  });
}
