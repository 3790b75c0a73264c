// `npm run bench -- suite [--runs N] [--only gate|smoke] [--keep] [--strict]`: the suite's own speed. Runs the gate
// (`npm run gate`) and the smoke (`npm run smoke`) through bin/verify.ts against a fresh embedded deployment each
// time, with Better Auth's sign-in rate limit on (production's) and off (STACK_SIGNIN_RATE_LIMIT=off), interleaved so
// that both see the same minutes of a shared machine. Per run: wall time (the stack's start included), checks run
// (Playwright's JSON report), sign-in requests and seconds spent waiting on 429s (the sign-in ledger,
// helpers/signin-ledger.ts). Prints medians and the ratios the targets are stated in.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LedgerEntry } from '../../helpers/signin-ledger.ts';
import { argOf, loadavg, median, runBenchmarks, runsOf, type Benchmark, type Target } from './common.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

export type Kind = 'gate' | 'smoke';
export type Limit = 'on' | 'off';

export interface SuiteRun {
  kind: Kind; limit: Limit; round: number;
  wallMs: number; code: number | null; checks: number; failed: number; signIns: number; waitMs: number;
}

/** The order of the runs: each round runs every kind with the limit on and off, alternating which goes first. */
export function plan(runs: number, kinds: Kind[]): { kind: Kind; limit: Limit; round: number }[] {
  const out: { kind: Kind; limit: Limit; round: number }[] = [];
  for (let round = 1; round <= runs; round++) {
    const limits: Limit[] = round % 2 ? ['on', 'off'] : ['off', 'on'];
    for (const kind of kinds) for (const limit of limits) out.push({ kind, limit, round });
  }
  return out;
}

/** Sign-in requests and the time spent waiting on their 429s, from a ledger file (absent: none). */
export function readLedger(file: string): { signIns: number; waitMs: number } {
  if (!existsSync(file)) return { signIns: 0, waitMs: 0 };
  let signIns = 0;
  let waitMs = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as LedgerEntry;
    if (e.kind === 'sign-in') signIns++;
    else if (e.kind === 'rate-limit-wait') waitMs += e.ms;
  }
  return { signIns, waitMs };
}

/** Checks that ran (passed, failed or flaky; skipped ones did not) and failed, from Playwright's JSON report. */
export function readChecks(file: string): { checks: number; failed: number } {
  if (!existsSync(file)) return { checks: 0, failed: 0 };
  const s = (JSON.parse(readFileSync(file, 'utf8')) as { stats?: Record<string, number> }).stats ?? {};
  return { checks: (s.expected ?? 0) + (s.unexpected ?? 0) + (s.flaky ?? 0), failed: s.unexpected ?? 0 };
}

/** The environment of one run: the embedded deployment (a `.env` target never applies), its own report folders. */
export function runEnv(dir: string, limit: Limit, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    GBV_NO_DOTENV: '1', // no `.env` target: the embedded stack is what is measured
    GBV_REPORTS_DIR: join(dir, 'reports'),
    GBV_OUTPUT_DIR: join(dir, 'test-results'),
    GBV_SIGNIN_LEDGER: join(dir, 'signin-ledger.jsonl'),
  };
  delete env.APP_URL;
  delete env.STACK_FAULTS;
  delete env.PLAYWRIGHT_JSON_OUTPUT_NAME;
  if (limit === 'off') env.STACK_SIGNIN_RATE_LIMIT = 'off';
  else delete env.STACK_SIGNIN_RATE_LIMIT;
  return env;
}

/** One suite run through bin/verify.ts, its output kept in `<dir>/output.log`. */
export async function suiteRun(kind: Kind, limit: Limit, round: number, dir: string): Promise<SuiteRun> {
  mkdirSync(dir, { recursive: true });
  const args = ['--import', 'tsx', join(ROOT, 'bin', 'verify.ts'), '--no-report', ...(kind === 'gate' ? ['--grep', '@smoke'] : [])];
  const log = createWriteStream(join(dir, 'output.log'));
  const t0 = performance.now();
  const code = await new Promise<number | null>((res) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: runEnv(dir, limit), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', () => res(127));
    child.on('close', (c) => res(c));
  });
  const wallMs = performance.now() - t0;
  log.end();
  return { kind, limit, round, wallMs, code, ...readChecks(join(dir, 'reports', 'results.json')), ...readLedger(join(dir, 'signin-ledger.jsonl')) };
}

const s1 = (ms: number) => Math.round(ms / 100) / 10;
// Three decimals: a ratio of 0.502 against a target of 0.5 is a miss, not a rounded pass.
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Medians per kind and limit, the targets (as ratios where the issue states them so), notes. */
export function summarize(results: SuiteRun[]): { targets: Target[]; notes: string[]; medians: Record<string, SuiteRun> } {
  const medians: Record<string, SuiteRun> = {};
  for (const r of results) {
    const key = `${r.kind} ${r.limit}`;
    if (medians[key]) continue;
    const same = results.filter((x) => x.kind === r.kind && x.limit === r.limit);
    const m = (f: (x: SuiteRun) => number) => median(same.map(f));
    medians[key] = { ...r, round: same.length, wallMs: m((x) => x.wallMs), checks: m((x) => x.checks), failed: m((x) => x.failed), signIns: m((x) => x.signIns), waitMs: m((x) => x.waitMs) };
  }
  const targets: Target[] = [];
  const [gOn, gOff, sOn, sOff] = ['gate on', 'gate off', 'smoke on', 'smoke off'].map((k) => medians[k]);
  if (gOn) targets.push({ label: 'gate wall time, limit on (stack start included), median', value: s1(gOn.wallMs), limit: 20, unit: 's' });
  if (gOn) targets.push({ label: 'gate time waiting on 429s, limit on, median', value: s1(gOn.waitMs), limit: 0, unit: 's' });
  if (gOn && gOff) targets.push({ label: 'gate wall, limit on / off', value: r3(gOn.wallMs / gOff.wallMs), limit: 1.1, unit: '×' });
  if (sOn) targets.push({ label: 'smoke wall time, limit on, median', value: s1(sOn.wallMs), limit: 35, unit: 's' });
  if (sOn && sOff) targets.push({ label: 'smoke wall, limit on / off', value: r3(sOn.wallMs / sOff.wallMs), limit: 1.5, unit: '×' });
  if (gOn && sOn) targets.push({ label: 'gate wall / smoke wall, limit on', value: r3(gOn.wallMs / sOn.wallMs), limit: 0.5, unit: '×' });
  const bad = results.filter((r) => r.code !== 0);
  const notes = [
    ...Object.entries(medians).map(([k, m]) => `${k}: median of ${m.round}: ${s1(m.wallMs)} s, ${m.checks} checks, ${m.signIns} sign-in requests, ${s1(m.waitMs)} s waiting on 429s`),
    ...(bad.length ? [`NOT ALL RUNS PASSED: ${bad.map((r) => `${r.kind} ${r.limit} #${r.round} exit ${r.code}`).join(', ')} (their figures are in the medians; see output.log with --keep)`] : []),
  ];
  return { targets, notes, medians };
}

const suiteBench = (kinds: Kind[], keep: boolean): Benchmark => ({
  name: 'suite',
  description: `${kinds.join(' and ')} through bin/verify.ts on a fresh embedded deployment each, sign-in rate limit on and off, interleaved`,
  async run({ runs, log }) {
    const root = mkdtempSync(join(tmpdir(), 'gbv-bench-suite-'));
    const loadBefore = loadavg();
    const results: SuiteRun[] = [];
    try {
      for (const [i, p] of plan(runs, kinds).entries()) {
        const r = await suiteRun(p.kind, p.limit, p.round, join(root, `${String(i + 1).padStart(2, '0')}-${p.kind}-${p.limit}`));
        results.push(r);
        log(`${p.kind} limit ${p.limit} #${p.round}: ${s1(r.wallMs)} s, exit ${r.code}, ${r.checks} checks, ${r.signIns} sign-ins, ${s1(r.waitMs)} s on 429s`);
      }
    } finally {
      if (keep) log(`runs kept in ${root}`);
      else rmSync(root, { recursive: true, force: true });
    }
    const { targets, notes } = summarize(results);
    const rows = results.map((r) => ({
      suite: r.kind, limit: r.limit, round: r.round, 'wall s': s1(r.wallMs), exit: r.code ?? '', checks: r.checks,
      failed: r.failed, 'sign-ins': r.signIns, '429 wait s': s1(r.waitMs),
    }));
    notes.push(`load average (1, 5, 15 min) before: ${loadBefore}, after: ${loadavg()} (other work on the machine slows every number)`);
    return { rows, targets, notes };
  },
});

export async function run(args: string[]): Promise<void> {
  const runs = runsOf(args, 3);
  const only = argOf(args, '--only');
  if (only && only !== 'gate' && only !== 'smoke') {
    console.error('--only must be gate or smoke');
    process.exit(2);
  }
  const kinds: Kind[] = only ? [only as Kind] : ['gate', 'smoke'];
  const missed = await runBenchmarks([suiteBench(kinds, args.includes('--keep'))], runs);
  process.exit(args.includes('--strict') && missed ? 1 : 0);
}
