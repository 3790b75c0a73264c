// Runs the real suite (playwright test) as a child process against a fresh embedded stack and reads
// Playwright's JSON report, so self-tests judge outcomes exactly as CI and QA would see them.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JSONReport, JSONReportSuite } from '@playwright/test/reporter';
import { EXPECT_FAIL_ENV, unmarkedOutcome, type ExpectFail } from '../../helpers/report/matrix-mark.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** Every project of the suite, disruptive included: what a healthy run covers. */
export const ALL_PROJECTS = ['infra', 'db', 'setup', 'auth', 'crud', 'disruptive'];
const PW_CLI = join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js');

export interface Outcome {
  project: string;
  title: string; // "file › describe › test"
  tags: string[];
  status: 'expected' | 'unexpected' | 'flaky' | 'skipped';
  /** Final attempt's result status (passed/failed/timedOut/skipped/interrupted). */
  result: string;
  retries: number;
  /** Milliseconds of the final attempt. */
  durationMs: number;
  message: string;
  /** Id of the diagnosis hint the verdict reporter attached to the failure (annotation "diagnosis"). */
  hint?: string;
  /** Texts of the test's warnings (helpers/findings.ts warn(): annotations of type "warning"). */
  warnings: string[];
}

export interface SuiteRun {
  code: number | null;
  outcomes: Outcome[];
  stdout: string;
  durationMs: number;
  /** The verdict reporter's one-line summary ("VERDICT: PASSED …" / "VERDICT: FAILED … [hint: …]"). */
  verdictLine: string;
}

export interface RunOptions {
  faults?: string[];
  projects?: string[];
  /** Only these tests ("[project] › file › describe › title", Playwright's --test-list format). */
  testList?: string[];
  extraArgs?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Tests expected to fail: marked so that Playwright keeps their worker (helpers/report/matrix-mark.ts). */
  expectFail?: { project?: string; title: RegExp }[];
  /** A running deployment's target (a stack's `env`) to run against, instead of a fresh stack of the run's own. */
  target?: Record<string, string>;
}

function flatten(suite: JSONReportSuite, path: string[], out: Outcome[]) {
  const here = suite.title ? [...path, suite.title] : path;
  for (const spec of suite.specs ?? []) {
    for (const t of spec.tests) {
      const last = t.results[t.results.length - 1];
      const annotations = [...(last?.annotations ?? []), ...(t.annotations ?? [])];
      const diagnosis = annotations.find((a) => a.type === 'diagnosis');
      out.push({
        project: t.projectName,
        title: [...here, spec.title].join(' › '),
        tags: spec.tags ?? [],
        // The matrix's mark (helpers/report/matrix-mark.ts) taken off: judged as any test expected to pass.
        status: unmarkedOutcome(t.status, last?.status, annotations, t.results.length > 1),
        result: last?.status ?? 'skipped',
        retries: Math.max(0, t.results.length - 1),
        durationMs: last?.duration ?? 0,
        message: (last?.errors ?? []).map((e) => e.message ?? '').join('\n').replace(/\u001b\[[0-9;]*m/g, ''),
        hint: diagnosis?.description?.split(':', 1)[0],
        warnings: [...(last?.annotations ?? []), ...(t.annotations ?? [])].filter((a) => a.type === 'warning').map((a) => a.description ?? ''),
      });
    }
  }
  for (const s of suite.suites ?? []) flatten(s, here, out);
}

export function readOutcomes(report: JSONReport): Outcome[] {
  const out: Outcome[] = [];
  for (const s of report.suites) flatten(s, [], out);
  return out;
}

/** One suite run on its own embedded stack (no target configured, so global setup starts one), or on `opts.target`. */
export async function runSuite(opts: RunOptions = {}): Promise<SuiteRun> {
  const dir = mkdtempSync(join(tmpdir(), 'gbv-run-'));
  const jsonFile = join(dir, 'results.json');
  // The verdict reporter as CI runs it (hints on failures, the VERDICT line), plus JSON for the judging.
  const args = [PW_CLI, 'test', '--reporter=./helpers/verdict-reporter.ts,json', '--retries=0', ...(opts.extraArgs ?? [])];
  for (const p of opts.projects ?? []) args.push('--project', p);
  if (opts.testList) {
    writeFileSync(join(dir, 'tests.txt'), `${opts.testList.join('\n')}\n`);
    args.push('--test-list', join(dir, 'tests.txt'));
  }
  const env: Record<string, string> = {};
  if (opts.expectFail?.length) {
    const file = join(dir, 'expect-fail.json');
    writeFileSync(file, JSON.stringify(opts.expectFail.map((e): ExpectFail => ({ project: e.project, title: e.title.source }))));
    env[EXPECT_FAIL_ENV] = file;
  }
  for (const [k, v] of Object.entries(process.env)) {
    // The child must start its own stack: drop any target the parent may carry.
    if (v !== undefined && !/^(APP_URL|AUTH_URL|DEPLOYER_URL|STACK_FAULTS|STACK_SIGNIN_RATE_LIMIT|GBV_MATRIX_EXPECT_FAIL)$/.test(k)) env[k] = v;
  }
  Object.assign(env, {
    PLAYWRIGHT_JSON_OUTPUT_NAME: jsonFile,
    STACK_FAULTS: (opts.faults ?? []).join(','),
    GBV_OUTPUT_DIR: join(dir, 'test-results'),
    GBV_REPORTS_DIR: join(dir, 'reports'),
    GBV_NO_DOTENV: '1',
    ...opts.target,
    ...opts.env,
  });
  const started = Date.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const timer = setTimeout(() => {
    try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
  }, opts.timeoutMs ?? 240_000);
  const code: number | null = await new Promise((res) => child.on('close', (c) => res(c)));
  clearTimeout(timer);
  let outcomes: Outcome[] = [];
  try {
    outcomes = readOutcomes(JSON.parse(readFileSync(jsonFile, 'utf8')) as JSONReport);
  } catch (e) {
    throw new Error(`suite run (faults: ${opts.faults?.join(',') || 'none'}) wrote no JSON report; exit ${code}\n${stdout.slice(-3000)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const verdictLine = stdout.split('\n').find((l) => l.startsWith('VERDICT:')) ?? '';
  return { code, outcomes, stdout, durationMs: Date.now() - started, verdictLine };
}

/** Every test of the suite, all projects incl. disruptive: "project › file › describe › title". */
export function listSuite(): { project: string; title: string }[] {
  const env = { ...process.env, RUN_DISRUPTIVE: '1', GBV_NO_DOTENV: '1' };
  // Playwright's CLI straight away: npx first starts npm (~0.7 s of CPU) only to find it.
  const r = spawnSync(process.execPath, [PW_CLI, 'test', '--list', '--reporter=json'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`playwright --list failed: ${r.stderr.slice(-2000)}`);
  return readOutcomes(JSON.parse(r.stdout) as JSONReport).map((o) => ({ project: o.project, title: o.title }));
}
