// One monitoring round = the suite's own checks, run by Playwright as CI runs them (`--project infra --grep
// @smoke`, plus the `setup` sign-ins on browser rounds), judged from Playwright's JSON report. Nothing here
// re-implements a check: which checks exist is whatever the suite's @smoke set is today, keyed by title.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { JSONReport, JSONReportSuite, JSONReportTest } from '@playwright/test/reporter';
import { ROOT } from '../config.ts';
import { firstErrorLine } from '../report/verdict.ts';
import { diagnose } from '../diagnosis.ts';

const PW_CLI = join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js');
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export interface CheckResult {
  /** "<project> › <file> › <describe> › <title>": stable across rounds and runs, the key of the check's state. */
  id: string;
  project: string;
  /** The spec file's stem (app, dns, tls …): what the terminal line groups by. */
  area: string;
  title: string;
  outcome: 'pass' | 'fail' | 'skipped';
  ms: number;
  /** First informative line of the error (what was observed). */
  message?: string;
  /** The error's lines before Playwright's expect details: every problem a multi-problem check listed. */
  problems?: string[];
  hint?: { id: string; line: string };
  /** The checks' own measurements: `days-left`, `response-ms` annotations. */
  notes: { type: string; description: string }[];
}

export interface RoundRun {
  checks: CheckResult[];
  /** Errors outside any test (global setup, preflight, a config error, a crash). */
  errors: string[];
  ms: number;
  browser: boolean;
}

export interface RunRoundOptions {
  /** The target as the suite's configuration variables (the embedded stack's env, or the configured one). */
  env: Record<string, string>;
  browser: boolean;
  workDir: string;
  workers: number;
  timeoutMs?: number;
  /** Extra Playwright arguments (self-tests narrow the set). */
  extraArgs?: string[];
}

const KEPT_NOTES = new Set(['days-left', 'response-ms']);

function problemsOf(message: string): string[] {
  const lines = message.replace(ANSI, '').split('\n');
  const head: string[] = [];
  for (const l of lines) {
    if (/^\s*(expect\(|Expected|Received|Call log|at |\d+ \|)/.test(l)) break;
    if (l.trim()) head.push(l.trim().replace(/^(Error|\w+Error):\s*/, ''));
  }
  return head.slice(0, 12);
}

function toCheck(project: string, file: string, titles: string[], t: JSONReportTest): CheckResult {
  const last = t.results[t.results.length - 1];
  const area = project === 'setup' ? 'sign-in' : basename(file).replace(/\.(spec|setup)\.ts$/, '');
  const title = titles.join(' › ');
  const outcome = !last || last.status === 'skipped' || t.status === 'skipped' ? 'skipped'
    : t.status === 'unexpected' ? 'fail' : 'pass';
  const notes = [...(last?.annotations ?? []), ...(t.annotations ?? [])]
    .filter((a) => KEPT_NOTES.has(a.type) && a.description)
    .map((a) => ({ type: a.type, description: a.description! }));
  const check: CheckResult = { id: `${project} › ${basename(file)} › ${title}`, project, area, title, outcome, ms: last?.duration ?? 0, notes };
  if (outcome === 'fail') {
    const raw = (last?.errors ?? []).map((e) => e.message ?? '').join('\n').replace(ANSI, '')
      || (last?.status === 'timedOut' ? 'test timed out' : `test ${last?.status ?? 'failed'}`);
    check.message = firstErrorLine(raw);
    check.problems = problemsOf(raw);
    const d = diagnose(raw);
    if (d) check.hint = { id: d.id, line: `${d.cause} Fix: ${d.fix}` };
  }
  return check;
}

function collect(suite: JSONReportSuite, file: string, titles: string[], out: CheckResult[]): void {
  const here = suite.title && suite.title !== file && suite.title !== basename(file) ? [...titles, suite.title] : titles;
  for (const spec of suite.specs ?? []) {
    for (const t of spec.tests) out.push(toCheck(t.projectName, spec.file ?? file, [...here, spec.title], t));
  }
  for (const s of suite.suites ?? []) collect(s, file, here, out);
}

/** The checks and global errors of one Playwright JSON report. */
export function readReport(report: JSONReport): { checks: CheckResult[]; errors: string[] } {
  const checks: CheckResult[] = [];
  for (const s of report.suites ?? []) collect(s, s.file ?? s.title, [], checks);
  const errors = (report.errors ?? []).map((e) => (e.message ?? e.value ?? '').replace(ANSI, '').trim()).filter(Boolean);
  return { checks, errors };
}

interface Spawned { code: number | null; output: string; timedOut: boolean }

const running = new Set<number>();

/** Ends every round run under way (their whole process groups: runner, workers, browsers). */
export function interruptRounds(): void {
  for (const pid of running) {
    try { process.kill(-pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

function runPlaywright(args: string[], env: Record<string, string>, timeoutMs: number): Promise<Spawned> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [PW_CLI, 'test', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid) running.add(child.pid);
    let output = '';
    // Only the tail matters (why a run wrote no report); keep memory flat however chatty a run is.
    const keep = (d: Buffer) => { output = (output + d.toString()).slice(-8000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
    }, timeoutMs);
    child.on('error', (e) => { output += `\n${e.message}`; });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (child.pid) running.delete(child.pid);
      res({ code, output, timedOut });
    });
  });
}

/** The environment of a round's Playwright run: the target, and nothing that would make it start a stack or read .env. */
export function roundEnv(target: Record<string, string>, jsonFile: string, workDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(STACK_FAULTS|MONITOR_WEBHOOKS|PLAYWRIGHT_JSON_OUTPUT_\w+)$/.test(k)) env[k] = v;
  }
  return {
    ...env,
    ...target,
    PLAYWRIGHT_JSON_OUTPUT_NAME: jsonFile,
    GBV_REPORTS_DIR: join(workDir, 'reports'),
    GBV_OUTPUT_DIR: join(workDir, 'test-results'),
    GBV_NO_DOTENV: '1',
    FORCE_COLOR: '0',
  };
}

async function runOne(name: string, args: string[], o: RunRoundOptions): Promise<{ checks: CheckResult[]; errors: string[] }> {
  const dir = join(o.workDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const jsonFile = join(dir, 'results.json');
  const base = ['--reporter=json', '--trace=off', `--workers=${o.workers}`, '--retries=0', '--output', join(dir, 'test-results')];
  const r = await runPlaywright([...args, ...base, ...(o.extraArgs ?? [])], roundEnv(o.env, jsonFile, dir), o.timeoutMs ?? 180_000);
  try {
    const out = readReport(JSON.parse(readFileSync(jsonFile, 'utf8')) as JSONReport);
    if (r.timedOut) out.errors.push(`the ${name} checks did not finish within ${Math.round((o.timeoutMs ?? 180_000) / 1000)} s`);
    return out;
  } catch {
    const tail = r.output.replace(ANSI, '').split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' | ');
    const why = r.timedOut ? `did not finish within ${Math.round((o.timeoutMs ?? 180_000) / 1000)} s` : `exited ${r.code} without a report`;
    return { checks: [], errors: [`the ${name} checks ${why}${tail ? `: ${tail}` : ''}`] };
  } finally {
    // Traces are off, but a failed browser check leaves a screenshot: nothing of a round outlives it.
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runRound(o: RunRoundOptions): Promise<RoundRun> {
  const started = Date.now();
  const api = await runOne('api', ['--project', 'infra', '--grep', '@smoke'], o);
  const checks = [...api.checks];
  const errors = [...api.errors];
  if (o.browser) {
    const b = await runOne('browser', ['--project', 'setup'], { ...o, timeoutMs: o.timeoutMs ?? 300_000 });
    checks.push(...b.checks);
    errors.push(...b.errors);
  }
  return { checks, errors, ms: Date.now() - started, browser: o.browser };
}
