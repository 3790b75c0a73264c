// Running and judging fault-matrix rows: one suite run per row (on a stack of its own, or on the shared one),
// checked against the row's expectations; a pool keeps a fixed number of jobs going at once.
import { RULES } from '../../helpers/diagnosis.ts';
import { startStack, type StackHandle } from '../../stack/index.ts';
import { NOT_FAULT_GUARDED, type Expectation, type MatrixRow } from '../fault-matrix.ts';
import { ALL_PROJECTS, runSuite, type Outcome, type RunOptions, type SuiteRun } from './run-suite.ts';

export interface RowResult {
  row: MatrixRow;
  run?: SuiteRun;
  error?: string;
  problems: string[];
  /** One short line per expected failure: what was observed. */
  observed: string[];
}

export function matches(o: Pick<Outcome, 'project' | 'title'>, e: Expectation): boolean {
  return e.title.test(o.title) && (!e.project || e.project === o.project);
}

function firstLine(s: string, n = 160): string {
  const l = s.split('\n').map((x) => x.trim()).find((x) => x.length > 0) ?? '';
  return l.length > n ? `${l.slice(0, n - 1)}…` : l;
}

/**
 * The VERDICT line of a failed run must say FAILED, and its hint (the first failure's) must be the hint of one of
 * the run's failures; without a hint, some failure must have none: the first thing CI and QA read must agree
 * with what the run found.
 */
export function judgeVerdict(verdictLine: string, outcomes: Outcome[]): string[] {
  if (!/^VERDICT: FAILED/.test(verdictLine)) return [`the VERDICT line does not say FAILED: "${verdictLine.slice(0, 200)}"`];
  const failed = outcomes.filter((o) => o.status === 'unexpected');
  const hints = new Set(failed.map((o) => o.hint).filter((h): h is string => !!h));
  const named = RULES.find((r) => verdictLine.includes(`[hint: ${r.cause}`));
  if (named && !hints.has(named.id)) return [`the VERDICT line's hint ${named.id} is not the hint of any failure (${[...hints].join(', ') || 'none'})`];
  if (!named && failed.length && failed.every((o) => o.hint)) return [`the VERDICT line carries no hint although every failure has one (${[...hints].join(', ')}): "${verdictLine.slice(0, 300)}"`];
  return [];
}

/** Rows whose causes are judged strictly by default: the API-level ones, where every failure's hint is declared. */
const STRICT_PROJECTS = new Set(['infra', 'db']);

/**
 * Blame only what the faults created: no failure of the row may mention a `mustNotMention` pattern, and (in rows of
 * the API-level projects, or with `strictCauses`) every failure's hint must be one the row declares (a mustFail
 * `hint` or `allowHints`): a hint the faults did not cause is a wrong cause named to the reader.
 */
export function judgeCauses(row: MatrixRow, outcomes: Outcome[]): string[] {
  const problems: string[] = [];
  const failed = outcomes.filter((o) => o.status === 'unexpected');
  for (const o of failed) for (const re of row.mustNotMention ?? []) {
    if (re.test(o.message)) problems.push(`${o.title} names a cause the row's faults did not create (${re}): ${firstLine(o.message, 300)}`);
  }
  const strict = row.strictCauses ?? row.projects.every((p) => STRICT_PROJECTS.has(p));
  if (!strict) return problems;
  const declared = new Set([...row.mustFail.map((e) => e.hint), ...(row.allowHints ?? [])].filter((h): h is string => !!h));
  for (const o of failed) {
    if (o.hint && !declared.has(o.hint)) problems.push(`${o.title} carries hint ${o.hint}, a cause none of the row's faults creates (declared: ${[...declared].join(', ') || 'none'}): ${firstLine(o.message, 300)}`);
  }
  return problems;
}

/**
 * Severity between pass and fail: each `mustWarn` test passed and carries a warning matching its message; a
 * `mustPass` test carries no warning (an unrelated check must not warn either).
 */
export function judgeWarnings(row: MatrixRow, outcomes: Outcome[]): { problems: string[]; observed: string[] } {
  const problems: string[] = [];
  const observed: string[] = [];
  for (const e of row.mustWarn ?? []) {
    const hits = outcomes.filter((o) => matches(o, e));
    if (!hits.length) problems.push(`expected warning ${e.title} did not run`);
    for (const o of hits) {
      const w = o.warnings.find((x) => !e.message || e.message.test(x));
      if (o.status !== 'expected' || o.result !== 'passed') problems.push(`${o.title} should pass with a warning but was ${o.status}/${o.result}: ${firstLine(o.message, 300)}`);
      else if (!w) problems.push(`${o.title} passed without a warning matching ${e.message} (warnings: ${o.warnings.map((x) => firstLine(x, 120)).join(' | ') || 'none'})`);
      else observed.push(`${short(o.title)}: warned ✓ "${firstLine(w, 90)}"`);
    }
  }
  for (const e of row.mustPass) {
    for (const o of outcomes.filter((x) => matches(x, e))) {
      if (o.warnings.length) problems.push(`${o.title} should pass cleanly but warned: ${firstLine(o.warnings[0]!, 200)}`);
    }
  }
  return { problems, observed };
}

/** Judges a run against a row. Returns the problems (empty = the row holds) and what was observed. */
export function judgeRow(row: MatrixRow, outcomes: Outcome[], verdictLine?: string): { problems: string[]; observed: string[] } {
  const problems: string[] = [];
  const observed: string[] = [];
  for (const e of row.mustFail) {
    const hits = outcomes.filter((o) => matches(o, e));
    if (!hits.length) {
      problems.push(`expected failure ${e.title} did not run`);
      observed.push(`${e.title.source}: not run`);
      continue;
    }
    for (const o of hits) {
      if (o.status !== 'unexpected') {
        problems.push(`${o.title} should fail but was ${o.status} (${o.result})`);
        observed.push(`${short(o.title)}: ${o.result}`);
      } else if (e.message && !e.message.test(o.message)) {
        problems.push(`${o.title} failed, but its message does not match ${e.message}: ${firstLine(o.message, 400)}`);
        observed.push(`${short(o.title)}: failed, wrong message`);
      } else if (e.hint && o.hint !== e.hint) {
        problems.push(`${o.title} failed as expected, but its diagnosis hint is ${o.hint ?? '(none)'} instead of ${e.hint}: ${firstLine(o.message, 300)}`);
        observed.push(`${short(o.title)}: failed, hint ${o.hint ?? 'none'} (want ${e.hint})`);
      } else {
        observed.push(`${short(o.title)}: failed ✓ [${o.hint ?? 'no hint'}] "${firstLine(o.message, 90)}"`);
      }
    }
  }
  for (const e of row.mustPass) {
    const hits = outcomes.filter((o) => matches(o, e));
    if (!hits.length) problems.push(`expected pass ${e.title} did not run`);
    for (const o of hits) {
      if (o.status !== 'expected' || o.result !== 'passed') {
        problems.push(`${o.title} should pass (unrelated to the fault) but was ${o.status}/${o.result}: ${firstLine(o.message, 300)}`);
      }
    }
  }
  problems.push(...judgeCauses(row, outcomes));
  for (const o of outcomes) if (o.status === 'flaky' || o.retries > 0) problems.push(`${o.title} needed a retry (${o.status})`);
  const warned = judgeWarnings(row, outcomes);
  problems.push(...warned.problems);
  observed.push(...warned.observed);
  if (verdictLine !== undefined && row.mustFail.length) problems.push(...judgeVerdict(verdictLine, outcomes));
  return { problems, observed };
}

export function short(title: string): string {
  return title.split(' › ').slice(-1)[0]!.slice(0, 70);
}

/** A test of the suite as `playwright test --list` names it. */
export interface ListedTest { project: string; title: string }

/**
 * The tests a row runs: the ones it judges (mustFail, mustPass) in its projects, plus the sign-ins of the setup
 * project the browser projects depend on. Checks a fault breaks on the side are left out: each failure costs a
 * fresh worker (Playwright restarts it after a failed test), and nothing judges them.
 */
export function testListFor(row: MatrixRow, listed: ListedTest[]): string[] {
  const judged = [...row.mustFail, ...row.mustPass, ...(row.mustWarn ?? [])];
  return listed
    .filter((l) => row.projects.includes(l.project))
    .filter((l) => l.project === 'setup' || judged.some((e) => matches(l, e)))
    .map((l) => `[${l.project}] › ${l.title}`);
}

// Fault runs prove detection, not pacing: without the sign-in rate limit they skip its waits, and a list check gives
// the stand-in's list (it shows a change at once) 4 s instead of the real app's late refetch's 15 s before it fails.
// The healthy runs keep both, as against the real app. Expected failures keep their worker
// (helpers/report/matrix-mark.ts).
const ROW_ENV = { STACK_SIGNIN_RATE_LIMIT: 'off', BUDGET_LIST_REFRESH_MS: '4000' };

// One worker unless the row says otherwise: a row runs a handful of judged tests, one worker per project is all they
// need, and a second Chromium per run only competes with the other rows' for the same two cores. No traces: a row
// judges outcomes, messages and hints, never a trace, and recording every action's DOM costs a browser row about a
// second of CPU (~5 %). The healthy run, and the report self-tests, keep them as CI does.
function rowArgs(row: MatrixRow, noDeps: boolean): string[] {
  return ['--trace=off', `--workers=${row.workers ?? 1}`, ...(noDeps ? ['--no-deps'] : [])];
}

function judged(row: MatrixRow, run: SuiteRun): RowResult {
  const { problems, observed } = judgeRow(row, run.outcomes, run.verdictLine);
  // Nothing ran (a global set-up that failed, a stack that did not start): the run's own last words say why.
  if (!run.outcomes.length) problems.unshift(`no test ran (exit ${run.code}): ${run.verdictLine || '(no VERDICT line)'}\n${run.stdout.slice(-1500)}`);
  return { row, run, problems, observed };
}

function runFailed(row: MatrixRow, e: unknown): RowResult {
  return { row, error: (e as Error).message, problems: [`run failed: ${firstLine((e as Error).message, 600)}`], observed: [] };
}

/** Runs `opts` for `row` as fault runs go (ROW_ENV, its expected failures marked) and judges it; a thrown error fails it. */
async function runJudged(row: MatrixRow, opts: RunOptions, timeoutMs: number, before?: () => Promise<void>): Promise<RowResult> {
  try {
    await before?.();
    return judged(row, await runSuite({ ...opts, timeoutMs, env: ROW_ENV, expectFail: row.mustFail }));
  } catch (e) {
    return runFailed(row, e);
  }
}

/** A row on a stack of its own, started by the run's global set-up with the row's faults. */
export function runRow(row: MatrixRow, listed: ListedTest[], timeoutMs = 420_000): Promise<RowResult> {
  return runJudged(row, { faults: row.faults, projects: row.projects, testList: testListFor(row, listed), extraArgs: rowArgs(row, !!row.noDeps) }, timeoutMs);
}

/**
 * A healthy run of every project (sign-ins, redeploys, rollback included) on `target`, `repeat` times each, retries
 * off, so a pass that needed a second try cannot hide. Two workers spread over every project, disruptive ones
 * included (a disruptive run on its own is serial): the checks must hold beside a redeploy too.
 */
export async function runHealthy(listed: ListedTest[], target: Record<string, string>, repeat: number): Promise<RowResult> {
  const row: MatrixRow = { name: `healthy ×${repeat}`, faults: [], projects: ALL_PROJECTS, mustFail: [], mustPass: [] };
  try {
    const run = await runSuite({ target, projects: ALL_PROJECTS, extraArgs: ['--workers=2', `--repeat-each=${repeat}`], timeoutMs: 600_000 });
    const passed = run.outcomes.filter((o) => o.result === 'passed').length;
    return { row, run, observed: [`${passed}/${run.outcomes.length} passed (each test ${repeat}×)`], problems: judgeHealthy(run.outcomes, NOT_FAULT_GUARDED, run.verdictLine, listed, repeat) };
  } catch (e) {
    return runFailed(row, e);
  }
}

/**
 * The `sharedStack` rows, one after another on one stack signed in once: each row's faults are switched on for its
 * run (--no-deps, the saved sign-ins) and off after it, so a row costs a Playwright run instead of a stack start and
 * two browser sign-ins. Their order is the list's; every check is order-free, and each row judges only what its own
 * run observed. With `healthyRepeat`, the healthy run of every project goes first on the same stack and its setup's
 * sign-ins are the rows' ones; its result comes first. The stack keeps production's sign-in rate limit, which the
 * healthy run must cope with (the rows themselves sign in no one).
 */
export async function runSharedRows(rows: MatrixRow[], listed: ListedTest[], healthyRepeat?: number, timeoutMs = 420_000): Promise<RowResult[]> {
  let stack: StackHandle | undefined;
  const out: RowResult[] = [];
  try {
    stack = await startStack({ signInRateLimit: true });
    const healthy = healthyRepeat ? await runHealthy(listed, stack.env, healthyRepeat) : undefined;
    if (healthy) out.push(healthy);
    const setup = healthy?.run ?? (rows.length ? await runSuite({ target: stack.env, projects: ['setup'], extraArgs: ['--trace=off', '--workers=1'], env: ROW_ENV, timeoutMs }) : undefined);
    const signIns = setup?.outcomes.filter((o) => o.project === 'setup') ?? [];
    const bad = signIns.filter((o) => o.result !== 'passed');
    const noSignIn = !signIns.length || bad.length
      ? bad.map((o) => `${short(o.title)}: ${firstLine(o.message, 300)}`).join('; ') || setup?.verdictLine || (setup ? `exit ${setup.code}` : 'the healthy run did not run')
      : '';
    let stuck = noSignIn && `the shared stack's sign-ins failed: ${noSignIn}`;
    for (const row of rows) {
      if (stuck) {
        out.push({ row, problems: [`not run: ${stuck}`], observed: [] });
        continue;
      }
      out.push(await runOnShared(row, stack, listed, timeoutMs));
      // Off again whatever happened: the next row must start from a healthy deployment, or not at all.
      const off = await Promise.allSettled(row.faults.map((f) => stack!.setFault(f, false)));
      const why = off.flatMap((r) => (r.status === 'rejected' ? [firstLine((r.reason as Error).message)] : []));
      if (why.length) stuck = `the shared stack kept faults of row ${row.name} on (${why.join('; ')})`;
    }
    return out;
  } catch (e) {
    return [...out, ...rows.filter((r) => !out.some((o) => o.row === r)).map((row) => runFailed(row, e))];
  } finally {
    await stack?.stop();
  }
}

/** A shared-stack row: its faults on, then its judged tests (no setup: the shared sign-ins). The caller switches them off. */
function runOnShared(row: MatrixRow, stack: StackHandle, listed: ListedTest[], timeoutMs: number): Promise<RowResult> {
  const opts: RunOptions = {
    target: stack.env, projects: row.projects.filter((p) => p !== 'setup'),
    testList: testListFor(row, listed).filter((t) => !t.startsWith('[setup]')), extraArgs: rowArgs(row, true),
  };
  return runJudged(row, opts, timeoutMs, async () => {
    for (const f of row.faults) await stack.setFault(f, true);
  });
}

/** Runs jobs with at most `concurrency` at once, in order of the list. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** The three longest tests of a run, with their seconds: where a row's time went. */
function slowest(outcomes: Outcome[]): string {
  return [...outcomes].sort((a, b) => b.durationMs - a.durationMs).slice(0, 3)
    .map((o) => `${short(o.title)} ${(o.durationMs / 1000).toFixed(1)} s (${o.result})`).join('; ');
}

/** The printed table: fault(s) → expected failing tests → observed → verdict. */
export function formatTable(results: RowResult[]): string {
  const lines: string[] = ['', 'FAULT MATRIX', ''];
  for (const r of results) {
    const verdict = r.problems.length ? 'FAIL' : 'ok';
    const secs = r.run ? ` (${Math.round(r.run.durationMs / 1000)} s)` : '';
    lines.push(`[${verdict}] ${r.row.faults.length ? r.row.faults.join(' + ') : '(healthy)'}${secs}`);
    if (r.run) lines.push(`    slowest:     ${slowest(r.run.outcomes)}`);
    const where = r.row.sharedStack ? ', on the shared signed-in stack' : '';
    lines.push(`    run: ${r.row.projects.map((p) => `--project ${p}`).join(' ')}${r.row.mustFail.length ? ` (the judged tests only${where})` : ''}`);
    for (const e of r.row.mustFail) lines.push(`    expect fail: ${e.title.source}${e.message ? `  /${e.message.source}/` : ''}`);
    for (const o of r.observed) lines.push(`    observed:    ${o}`);
    for (const p of r.problems) lines.push(`    PROBLEM:     ${p.slice(0, p.startsWith('no test ran') ? 2000 : 500)}`);
  }
  // Summary: one line per run.
  const rowsOut = results.map((r) => {
    const fails = r.row.mustFail.length;
    const seen = r.observed.filter((o) => o.includes('✓')).length;
    return [
      r.problems.length ? 'FAIL' : 'ok',
      r.row.faults.length ? r.row.faults.join(' + ') : r.row.name,
      r.row.faults.length ? `${seen}/${fails} expected failures seen` : (r.observed[0] ?? ''),
      r.run ? `${Math.round(r.run.durationMs / 1000)} s` : 'no run',
    ];
  });
  const w = [0, 1, 2].map((i) => Math.max(...rowsOut.map((c) => c[i]!.length), 7));
  lines.push('', `${'verdict'.padEnd(w[0]!)} | ${'fault(s)'.padEnd(w[1]!)} | ${'observed'.padEnd(w[2]!)} | time`);
  lines.push(`${'-'.repeat(w[0]!)}-+-${'-'.repeat(w[1]!)}-+-${'-'.repeat(w[2]!)}-+-----`);
  for (const c of rowsOut) lines.push(`${c[0]!.padEnd(w[0]!)} | ${c[1]!.padEnd(w[1]!)} | ${c[2]!.padEnd(w[2]!)} | ${c[3]}`);
  return lines.join('\n');
}

/**
 * A healthy run: every test passes on the first attempt; skips only where the suite says so by design. With
 * `expected` (the suite's listing) and `repeat`, every listed test must have run exactly `repeat` times.
 */
export function judgeHealthy(
  outcomes: Outcome[], allowedSkips: { title: RegExp; skipsOnStack?: boolean }[], verdictLine?: string,
  expected?: ListedTest[], repeat = 1,
): string[] {
  const problems: string[] = [];
  if (verdictLine !== undefined && !/^VERDICT: PASSED/.test(verdictLine)) problems.push(`the VERDICT line does not say PASSED: "${verdictLine.slice(0, 300)}"`);
  if (!outcomes.length) problems.push('no test ran');
  for (const l of expected ?? []) {
    const runs = outcomes.filter((o) => o.project === l.project && o.title === l.title).length;
    // Playwright runs a dependency project (setup) once per run, whatever --repeat-each says.
    const want = l.project === 'setup' ? 1 : repeat;
    if (runs !== want) problems.push(`${l.project} › ${l.title}: ran ${runs} times, not ${want}`);
  }
  for (const o of outcomes) {
    if (o.status === 'flaky' || o.retries > 0) problems.push(`${o.project} › ${o.title}: flaky (passed on retry)`);
    else if (o.status === 'unexpected') problems.push(`${o.project} › ${o.title}: ${o.result}: ${firstLine(o.message, 300)}`);
    else if (o.warnings.length) problems.push(`${o.project} › ${o.title}: warned on a healthy stack: ${firstLine(o.warnings[0]!, 300)}`);
    else if (o.result === 'skipped' && !allowedSkips.some((s) => s.skipsOnStack && s.title.test(o.title))) {
      problems.push(`${o.project} › ${o.title}: skipped on a healthy stack`);
    }
  }
  return problems;
}
