// Every diagnosis hint the security issue asked for, produced ON THE EMBEDDED DEPLOYMENT: the real suite runs
// against a stack with the fault on, and the hint must be attached to the failing check (annotation in the
// JSON report) and, for the run's first failure, printed in the VERDICT line. Faults that do not mask each
// other share a run; --grep keeps each run to the checks that answer the question.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JSONReport, JSONReportSuite } from '@playwright/test/reporter';

const ROOT = resolve(import.meta.dirname, '..');
const PW_CLI = join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js');

interface Row {
  faults: string[];
  projects: string[];
  grep: string;
  /** test title (regex) → diagnosis id its failure must carry */
  hints: [RegExp, string][];
  /** diagnosis id printed in the VERDICT line (the run's first failure) */
  verdict: string;
}

const ROWS: Row[] = [
  { faults: ['app-404-path-prefix', 'auth-not-ready'], projects: ['infra'], grep: 'GET / answers 2xx|GET /debug/ready',
    hints: [[/GET \/ answers 2xx/, 'app-404-path-prefix'], [/GET \/debug\/ready/, 'auth-not-ready']], verdict: 'app-404-path-prefix' },
  { faults: ['app-health-failing', 'login-v1'], projects: ['infra'], grep: 'GET / answers 2xx|requires Login V2',
    hints: [[/GET \/ answers 2xx/, 'app-unhealthy'], [/requires Login V2/, 'login-v1']], verdict: 'app-unhealthy' },
  { faults: ['redirect-uri-unregistered', 'db-url-postgres-scheme'], projects: ['infra', 'db'], grep: 'requires Login V2|postgresql:// scheme',
    hints: [[/requires Login V2/, 'redirect-uri-unregistered'], [/postgresql:\/\/ scheme/, 'db-url-postgres-scheme']], verdict: 'redirect-uri-unregistered' },
  { faults: ['auth-method-basic'], projects: ['setup'], grep: 'sign in as admin',
    hints: [[/sign in as admin/, 'auth-method-basic']], verdict: 'auth-method-basic' },
  { faults: ['login-v1'], projects: ['infra'], grep: 'requires Login V2', hints: [[/requires Login V2/, 'login-v1']], verdict: 'login-v1' },
  { faults: ['db-url-postgres-scheme'], projects: ['db'], grep: 'postgresql:// scheme', hints: [[/postgresql:\/\/ scheme/, 'db-url-postgres-scheme']], verdict: 'db-url-postgres-scheme' },
  { faults: ['auth-not-ready'], projects: ['infra'], grep: 'GET /debug/ready', hints: [[/GET \/debug\/ready/, 'auth-not-ready']], verdict: 'auth-not-ready' },
  { faults: ['db-port-exposed', 'missing-security-headers'], projects: ['infra'], grep: 'Exposure|Security headers',
    hints: [[/forbidden ports/, 'port-exposed'], [/app pages send HSTS/, 'security-headers']], verdict: 'port-exposed' },
  { faults: ['open-redirect', 'callback-replay'], projects: ['setup', 'auth'], grep: 'sign in as admin|external callbackURL|forged or tampered',
    hints: [[/external callbackURL/, 'open-redirect'], [/forged or tampered/, 'callback-replay']], verdict: 'open-redirect' },
];

interface Result { title: string; status: string; message: string; hint?: string }
interface Run { code: number | null; results: Result[]; verdictLine: string; stdout: string }

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function flatten(s: JSONReportSuite, path: string[], out: Result[]): void {
  const here = s.title ? [...path, s.title] : path;
  for (const spec of s.specs ?? []) {
    for (const t of spec.tests) {
      const last = t.results[t.results.length - 1];
      const ann = [...(last?.annotations ?? []), ...(t.annotations ?? [])].find((a) => a.type === 'diagnosis');
      out.push({
        title: [...here, spec.title].join(' › '), status: t.status,
        message: (last?.errors ?? []).map((e) => e.message ?? '').join('\n'),
        hint: ann?.description?.split(':', 1)[0],
      });
    }
  }
  for (const c of s.suites ?? []) flatten(c, here, out);
}

async function run(row: Row): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'gbv-diag-'));
  dirs.push(dir);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(APP_URL|AUTH_URL|DEPLOYER_URL|STACK_FAULTS|CI)$/.test(k)) env[k] = v;
  Object.assign(env, {
    STACK_FAULTS: row.faults.join(','), GBV_NO_DOTENV: '1', GBV_OUTPUT_DIR: join(dir, 'out'), GBV_REPORTS_DIR: join(dir, 'reports'),
    PLAYWRIGHT_JSON_OUTPUT_NAME: join(dir, 'results.json'),
  });
  const args = [PW_CLI, 'test', '--reporter=./helpers/verdict-reporter.ts,json', '--retries=0', '--grep', row.grep, ...row.projects.flatMap((p) => ['--project', p])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ } }, 240_000);
  const code: number | null = await new Promise((r) => child.on('close', r));
  clearTimeout(timer);
  let results: Result[] = [];
  try {
    const report = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as JSONReport;
    for (const s of report.suites) flatten(s, [], results);
  } catch {
    throw new Error(`faults ${row.faults.join(',')}: no JSON report (exit ${code})\n${stdout.slice(-2000)}`);
  }
  const verdictLine = stdout.split('\n').find((l) => l.startsWith('VERDICT:')) ?? '';
  return { code, results, verdictLine, stdout };
}

/** Runs rows a few at a time: each starts its own stack, and the machine is shared. */
async function runAll(rows: Row[], concurrency: number): Promise<Run[]> {
  const out: Run[] = new Array(rows.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < rows.length) { const i = next++; out[i] = await run(rows[i]); }
  }));
  return out;
}

const runs = runAll(ROWS, Number(process.env.GBV_DIAG_CONCURRENCY ?? 3));

for (const [i, row] of ROWS.entries()) {
  test(`diagnosis on the stack: ${row.faults.join(' + ')}`, { timeout: 600_000 }, async () => {
    const r = (await runs)[i];
    assert.notEqual(r.code, 0, `the suite passed with faults ${row.faults.join(',')}\n${r.stdout.slice(-1500)}`);
    for (const [title, id] of row.hints) {
      const failed = r.results.filter((x) => title.test(x.title) && x.status === 'unexpected');
      assert.ok(failed.length > 0, `${title}: no failing check with faults ${row.faults.join(',')}: ${JSON.stringify(r.results.map((x) => [x.title, x.status]))}`);
      for (const f of failed) assert.equal(f.hint, id, `${f.title}: hint ${f.hint ?? '(none)'} instead of ${id}; message: ${f.message.split('\n')[0]}`);
    }
    assert.match(r.verdictLine, /^VERDICT: FAILED/);
    const { RULES } = await import('../helpers/diagnosis.ts');
    const rule = RULES.find((x) => x.id === row.verdict)!;
    assert.ok(r.verdictLine.includes(`[hint: ${rule.cause}`), `VERDICT line lacks the ${row.verdict} hint: ${r.verdictLine}`);
  });
}
