// The verdict of a run, as a pure function of plain data (no Playwright objects, no files, no clock), so it is
// tested on its own (selftest/verdict.test.ts):
//
//   VERDICT: PASSED with 1 warning: <message> — infra 12/12, db 5/5 — redeploy: 0.0 s downtime of 10 s, sessions kept
//   VERDICT: FAILED — infra 12/13, db 5/5 — first root cause: [infra] <test>: <message> [hint: <cause> Fix: <fix>]
//
// Warnings (helpers/findings.ts) never fail the verdict: under --strict warn() throws, so the test itself fails.
import { diagnose, hintLine, type Diagnosis } from '../diagnosis.ts';
import { WARNING } from '../findings.ts';
import { FIGURE, HEADLINE } from '../figures.ts';

export type TestOutcome = 'expected' | 'unexpected' | 'flaky' | 'skipped';

/** One test of the run, reduced to what the verdict needs. */
export interface TestRecord {
  project: string;
  /** Describe blocks and title (the file left out), joined by " › ". */
  title: string;
  tags: string[];
  outcome: TestOutcome;
  /** Status of the last attempt; undefined when the test never ran (a dependency failed, the run stopped). */
  lastStatus?: string;
  /** test.skip()/fixme declared before the run. */
  declaredSkip: boolean;
  /** The last attempt's error messages, ANSI codes removed. */
  errorText: string;
  /** The last attempt's annotations (warning, figure, headline, diagnosis, …). */
  annotations: { type: string; description?: string }[];
}

export interface VerdictInput {
  /** Project names in the config's order (the tally follows it). */
  projects: string[];
  tests: TestRecord[];
  runStatus: 'passed' | 'failed' | 'timedout' | 'interrupted';
  globalErrors: string[];
  gateTag?: string;
  /** This machine's set-up problems met during the run (a worker found no browser): the run judged nothing. */
  setupProblems?: string[];
}

export interface ProjectTally { project: string; passed: number; total: number; notRun: number; skipped: number; flaky: number }
export interface Finding { project: string; test: string; message: string }
export interface Figures { project: string; test: string; figures: string[]; headline?: string }

export interface Verdict {
  /** NO VERDICT: a set-up problem of this machine stopped checks, so the deployment was neither passed nor failed. */
  status: 'PASSED' | 'FAILED' | 'NO VERDICT';
  line: string;
  projects: ProjectTally[];
  rootCause?: { test?: string; project?: string; message: string; diagnosis?: Diagnosis };
  gate: { tag: string; failed: number; passed: boolean };
  runStatus: VerdictInput['runStatus'];
  /** Missing second lines of defence: listed, counted, never failing the verdict. */
  warnings: Finding[];
  /** Measurements per test (disruptive checks), printed after the run; headlines go on the VERDICT line. */
  figures: Figures[];
  /** When the run began (ISO); allurerc.mjs puts it in the report name. */
  startedAt?: string;
  targetName?: string;
  runId?: string;
  /** The run record (helpers/run-record.ts) of this run, for the report built afterwards. */
  runRecord?: string;
}

// eslint-disable-next-line no-control-regex
export const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const MAX_CAUSE = 300;
const MAX_WARNING = 160;

/** The first informative line of an error: custom expect messages win; bare matchers get their Expected/Received. */
export function firstErrorLine(message: string, max = MAX_CAUSE): string {
  const lines = message.replace(ANSI, '').split('\n').map((l) => l.trim()).filter(Boolean);
  if (!lines.length) return '(no error message)';
  let first = lines[0].replace(/^(Error|TypeError|AssertionError|\w+Error):\s*/, '');
  if (/^expect\(/.test(first)) {
    const detail = lines.filter((l) => /^(Expected|Received|Expected pattern|Received string)\b/.test(l)).slice(0, 2);
    if (detail.length) first = `${first} — ${detail.join(', ')}`;
  }
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function tally(input: VerdictInput): { projects: ProjectTally[]; firstFailure?: TestRecord; gateFailed: number } {
  const order = input.projects;
  const rank = (p: string) => (order.indexOf(p) < 0 ? 1e9 : order.indexOf(p));
  const sorted = [...input.tests].sort((a, b) => rank(a.project) - rank(b.project));
  const tallies = new Map<string, ProjectTally>();
  const gateTag = input.gateTag ?? '@smoke';
  let firstFailure: TestRecord | undefined;
  let gateFailed = 0;
  for (const t of sorted) {
    const p = tallies.get(t.project) ?? { project: t.project, passed: 0, total: 0, notRun: 0, skipped: 0, flaky: 0 };
    tallies.set(t.project, p);
    if (t.outcome === 'skipped') {
      // Explicitly skipped (test.skip/fixme) is not a failure; "never ran" (dependency failed, run stopped) is.
      if (t.lastStatus === 'skipped' || (!t.lastStatus && t.declaredSkip)) p.skipped++;
      else { p.total++; p.notRun++; }
      continue;
    }
    p.total++;
    if (t.outcome === 'expected' || t.outcome === 'flaky') {
      p.passed++;
      if (t.outcome === 'flaky') p.flaky++;
      continue;
    }
    if (t.tags.includes(gateTag)) gateFailed++;
    firstFailure ??= t;
  }
  return { projects: [...tallies.values()].filter((p) => p.total + p.skipped > 0), firstFailure, gateFailed };
}

function failureMessage(t: TestRecord): string {
  return t.errorText || (t.lastStatus === 'timedOut' ? 'test timed out' : `test ${t.lastStatus ?? 'failed'}`);
}

function rootCauseOf(input: VerdictInput, passed: boolean, firstFailure: TestRecord | undefined): Verdict['rootCause'] {
  if (input.setupProblems?.length) return { message: `set-up problem on this machine, not a deployment failure: ${input.setupProblems.join('; ')}` };
  if (input.globalErrors.length) {
    const message = input.globalErrors.join('\n').replace(ANSI, '');
    return { message, diagnosis: diagnose(message) };
  }
  if (firstFailure) {
    const message = failureMessage(firstFailure);
    return { test: firstFailure.title, project: firstFailure.project, message, diagnosis: diagnose(message) };
  }
  if (passed) return undefined;
  const s = input.runStatus;
  return { message: s === 'timedout' ? 'global time-out reached before all tests ran' : s === 'interrupted' ? 'run interrupted before all tests ran' : `run ended with status ${s}` };
}

/** Warnings and figures of every test, each once (a --repeat-each run reports the same finding per repetition). */
export function findingsOf(tests: TestRecord[]): { warnings: Finding[]; figures: Figures[] } {
  const warnings: Finding[] = [];
  const figures = new Map<string, Figures>();
  const seen = new Set<string>();
  for (const t of tests) {
    for (const a of t.annotations) {
      const text = (a.description ?? '').replace(/[\r\n]+/g, ' ').trim();
      if (!text) continue;
      const key = `${a.type}\0${t.project}\0${t.title}\0${text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (a.type === WARNING) warnings.push({ project: t.project, test: t.title, message: text });
      if (a.type !== FIGURE && a.type !== HEADLINE) continue;
      const k = `${t.project}\0${t.title}`;
      const f = figures.get(k) ?? { project: t.project, test: t.title, figures: [] };
      figures.set(k, f);
      if (a.type === FIGURE) f.figures.push(text);
      else f.headline ??= text;
    }
  }
  return { warnings, figures: [...figures.values()] };
}

function countsText(projects: ProjectTally[]): string {
  if (!projects.length) return 'no tests ran';
  return projects.map((p) => {
    const extra = [p.notRun ? `${p.notRun} not run` : '', p.skipped ? `${p.skipped} skipped` : '', p.flaky ? `${p.flaky} flaky` : ''].filter(Boolean);
    return `${p.project || '(no project)'} ${p.passed}/${p.total}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  }).join(', ');
}

/** The one VERDICT line: status (and warnings), the tally, the first root cause with its hint, the headlines. */
export function verdictLine(v: Pick<Verdict, 'status' | 'projects' | 'rootCause' | 'warnings' | 'figures'>): string {
  let line = `VERDICT: ${v.status}`;
  if (v.warnings.length) line += ` with ${plural(v.warnings.length, 'warning')}: ${v.warnings.map((w) => firstErrorLine(w.message, MAX_WARNING)).join('; ')}`;
  line += ` — ${countsText(v.projects)}`;
  const rc = v.rootCause;
  if (rc) {
    const where = rc.test ? `[${rc.project || '-'}] ${rc.test}: ` : '';
    line += ` — first root cause: ${where}${firstErrorLine(rc.message)}`;
    if (rc.diagnosis) line += ` [hint: ${hintLine(rc.diagnosis)}]`;
  }
  const headlines = v.figures.map((f) => f.headline).filter((h): h is string => !!h);
  if (headlines.length) line += ` — ${headlines.join('; ')}`;
  return line.replace(/[\r\n]+/g, ' ');
}

/** Computes the verdict of a finished run. */
export function computeVerdict(input: VerdictInput): Verdict {
  const { projects, firstFailure, gateFailed } = tally(input);
  const unexpected = input.tests.some((t) => t.outcome === 'unexpected');
  const passed = input.runStatus === 'passed' && !unexpected && input.globalErrors.length === 0;
  const { warnings, figures } = findingsOf(input.tests);
  const gateTag = input.gateTag ?? '@smoke';
  const v: Verdict = {
    status: input.setupProblems?.length ? 'NO VERDICT' : passed ? 'PASSED' : 'FAILED',
    line: '',
    projects,
    rootCause: rootCauseOf(input, passed, firstFailure),
    gate: { tag: gateTag, failed: gateFailed, passed: gateFailed === 0 },
    runStatus: input.runStatus,
    warnings,
    figures,
  };
  v.line = verdictLine(v);
  return v;
}
