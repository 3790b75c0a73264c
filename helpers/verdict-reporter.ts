// A Playwright reporter for people and CI: one verdict line at the end, a likely cause and fix on every failing
// test (Playwright annotation + Allure description), and secret redaction of every artifact before anyone
// (Allure, CI upload) reads it.
//
//   VERDICT: FAILED — infra 12/13, db 5/5, auth 6/6, crud 7/7 — first root cause: <…> [hint: <cause> Fix: <fix>]
//
// Redaction runs twice: in onEnd (over the outputs that exist then) and in onExit, which Playwright calls after
// *every* reporter's onEnd, over whatever was written later (json/junit/blob reporters listed after this one,
// Allure's skipped-test results). So the reporter order in playwright.config.ts does not matter for safety.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestError, TestResult } from '@playwright/test/reporter';
import { collectSecrets, namedSecretsFromEnv, redactText, redactTree, type Secret } from './redact.ts';
import { diagnose, hintLine, type Diagnosis } from './diagnosis.ts';

export interface VerdictReporterOptions {
  /** Where to write the verdict as JSON (default `<GBV_REPORTS_DIR or reports>/verdict.json`). */
  outputFile?: string;
  /** Extra folders or files to redact besides those found in the config. */
  redactPaths?: string[];
  /** Set false to skip redaction (tests of the reporter itself only). */
  redact?: boolean;
  /** Tag whose failures fail the quality gate (default `@smoke`); reported in verdict.json. */
  gateTag?: string;
  /**
   * Redact what every reporter (list, line, …) writes to stdout/stderr (default true): a test that puts a
   * secret into an error message must not leak it into CI logs.
   */
  redactStdio?: boolean;
}

type Write = typeof process.stdout.write;

/**
 * Routes process.stdout/stderr writes through redactText while installed. Chunks are redacted whole: the
 * terminal reporters write complete lines or blocks, so a secret is not split across two writes.
 */
export function guardStdio(getSecrets: () => readonly Secret[]): () => void {
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    const guarded = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      let out = chunk;
      try {
        if (typeof chunk === 'string') out = redactText(chunk, getSecrets());
        else if (chunk instanceof Uint8Array) {
          const text = Buffer.from(chunk).toString('utf8');
          const red = redactText(text, getSecrets());
          if (red !== text) out = Buffer.from(red, 'utf8');
        }
      } catch {
        out = chunk;
      }
      return (original as (...a: unknown[]) => boolean).call(this, out, ...rest);
    } as Write;
    stream.write = guarded;
    restore.push(() => {
      if (stream.write === guarded) stream.write = original;
    });
  }
  return () => restore.forEach((r) => r());
}

export interface ProjectTally { project: string; passed: number; total: number; notRun: number; skipped: number; flaky: number }

export interface Verdict {
  status: 'PASSED' | 'FAILED';
  line: string;
  projects: ProjectTally[];
  rootCause?: { test?: string; project?: string; message: string; diagnosis?: Diagnosis };
  gate: { tag: string; failed: number; passed: boolean };
  runStatus: FullResult['status'];
  /** When the run began (ISO); allurerc.mjs puts it in the report name. */
  startedAt?: string;
  targetName?: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const MAX_CAUSE = 300;

/** The first informative line of an error: custom expect messages win; bare matchers get their Expected/Received. */
export function firstErrorLine(message: string): string {
  const lines = message.replace(ANSI, '').split('\n').map((l) => l.trim()).filter(Boolean);
  if (!lines.length) return '(no error message)';
  let first = lines[0].replace(/^(Error|TypeError|AssertionError|\w+Error):\s*/, '');
  if (/^expect\(/.test(first)) {
    const detail = lines.filter((l) => /^(Expected|Received|Expected pattern|Received string|Call log)\b/.test(l) && !/^Call log/.test(l)).slice(0, 2);
    if (detail.length) first = `${first} — ${detail.join(', ')}`;
  }
  return first.length > MAX_CAUSE ? `${first.slice(0, MAX_CAUSE - 1)}…` : first;
}

function errorText(errors: readonly TestError[]): string {
  return errors.map((e) => e.message ?? e.value ?? '').join('\n').replace(ANSI, '');
}

function finalResult(test: TestCase): TestResult | undefined {
  return test.results[test.results.length - 1];
}

/** Diagnosis from the error messages first; the title only when the messages match nothing. */
export function diagnoseFailure(title: string, message: string): Diagnosis | undefined {
  return diagnose(message) ?? diagnose(title);
}

const DIAG_MARK = '**Likely cause:**';

/** Adds the diagnosis to every failed/broken Allure result under `dir` (description + a `diagnosis` label). Idempotent. */
export function annotateAllureResults(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('-result.json')) continue;
    const file = join(dir, name);
    let tr: {
      status?: string; name?: string; description?: string; descriptionHtml?: string;
      statusDetails?: { message?: string }; labels?: { name: string; value: string }[];
    };
    try {
      tr = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    if (tr.status !== 'failed' && tr.status !== 'broken') continue;
    if (tr.description?.includes(DIAG_MARK)) continue;
    const d = diagnoseFailure(tr.name ?? '', tr.statusDetails?.message ?? '');
    if (!d) continue;
    const md = `${DIAG_MARK} ${d.cause}\n\n**Fix:** ${d.fix}\n\n_(diagnosis \`${d.id}\`)_`;
    tr.description = tr.description ? `${md}\n\n---\n\n${tr.description}` : md;
    if (tr.descriptionHtml) {
      const h = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      tr.descriptionHtml = `<p><b>Likely cause:</b> ${h(d.cause)}</p><p><b>Fix:</b> ${h(d.fix)}</p><hr/>${tr.descriptionHtml}`;
    }
    tr.labels = [...(tr.labels ?? []), { name: 'diagnosis', value: d.id }];
    writeFileSync(file, JSON.stringify(tr));
    n++;
  }
  return n;
}

/** Computes the verdict from a finished run (exported for merge-shards and tests). */
export function computeVerdict(config: FullConfig, suite: Suite, result: FullResult, globalErrors: TestError[], gateTag = '@smoke'): Verdict {
  const order = config.projects.map((p) => p.name);
  const tallies = new Map<string, ProjectTally>();
  const tests = suite.allTests();
  let firstFailure: { test: TestCase; message: string } | undefined;
  const byProject = (t: TestCase) => t.parent.project()?.name ?? '';
  const sorted = [...tests].sort((a, b) => {
    const ia = order.indexOf(byProject(a));
    const ib = order.indexOf(byProject(b));
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib);
  });
  let gateFailed = 0;
  for (const t of sorted) {
    const project = byProject(t);
    const tally = tallies.get(project) ?? { project, passed: 0, total: 0, notRun: 0, skipped: 0, flaky: 0 };
    tallies.set(project, tally);
    const outcome = t.outcome();
    const last = finalResult(t);
    if (outcome === 'skipped') {
      // Explicitly skipped (test.skip/fixme) is not a failure; "never ran" (dependency failed, run stopped) is.
      if (last && last.status === 'skipped') tally.skipped++;
      else if (!last && t.annotations.some((a) => a.type === 'skip' || a.type === 'fixme')) tally.skipped++;
      else {
        tally.total++;
        tally.notRun++;
      }
      continue;
    }
    tally.total++;
    if (outcome === 'expected' || outcome === 'flaky') {
      tally.passed++;
      if (outcome === 'flaky') tally.flaky++;
      continue;
    }
    if (t.tags.includes(gateTag)) gateFailed++;
    if (!firstFailure) firstFailure = { test: t, message: errorText(last?.errors ?? []) || (last?.status === 'timedOut' ? 'test timed out' : `test ${last?.status ?? 'failed'}`) };
  }
  const projects = [...tallies.values()].filter((p) => p.total + p.skipped > 0);
  const unexpected = tests.some((t) => t.outcome() === 'unexpected');
  const passed = result.status === 'passed' && !unexpected && globalErrors.length === 0;

  const counts = projects.length
    ? projects.map((p) => {
      const extra = [p.notRun ? `${p.notRun} not run` : '', p.skipped ? `${p.skipped} skipped` : '', p.flaky ? `${p.flaky} flaky` : ''].filter(Boolean);
      return `${p.project || '(no project)'} ${p.passed}/${p.total}${extra.length ? ` (${extra.join(', ')})` : ''}`;
    }).join(', ')
    : 'no tests ran';

  let rootCause: Verdict['rootCause'];
  if (globalErrors.length) {
    const message = errorText(globalErrors);
    rootCause = { message, diagnosis: diagnose(message) };
  } else if (firstFailure) {
    const title = firstFailure.test.titlePath().slice(3).join(' › ');
    rootCause = {
      test: title,
      project: byProject(firstFailure.test),
      message: firstFailure.message,
      diagnosis: diagnoseFailure(title, firstFailure.message),
    };
  } else if (!passed) {
    const message = result.status === 'timedout' ? 'global time-out reached before all tests ran'
      : result.status === 'interrupted' ? 'run interrupted before all tests ran'
        : `run ended with status ${result.status}`;
    rootCause = { message };
  }

  let line = `VERDICT: ${passed ? 'PASSED' : 'FAILED'} — ${counts}`;
  if (rootCause) {
    const where = rootCause.test ? `[${rootCause.project || '-'}] ${rootCause.test}: ` : '';
    line += ` — first root cause: ${where}${firstErrorLine(rootCause.message)}`;
    if (rootCause.diagnosis) line += ` [hint: ${hintLine(rootCause.diagnosis)}]`;
  }
  return {
    status: passed ? 'PASSED' : 'FAILED',
    line: line.replace(/[\r\n]+/g, ' '),
    projects,
    rootCause,
    gate: { tag: gateTag, failed: gateFailed, passed: gateFailed === 0 },
    runStatus: result.status,
  };
}

type ReporterEntry = [string, unknown];

/** Everything this run writes that can carry a secret: test output dirs, Allure results, json/junit/blob outputs. */
export function artifactPaths(config: FullConfig, extra: string[] = []): { redact: string[]; allure: string[] } {
  const root = config.rootDir;
  const configDir = config.configFile ? dirname(config.configFile) : root;
  const out = new Set<string>();
  const allure = new Set<string>();
  for (const p of config.projects) if (p.outputDir) out.add(resolve(p.outputDir));
  for (const entry of (config.reporter ?? []) as ReporterEntry[]) {
    const [name, raw] = entry;
    const opts = (raw ?? {}) as { resultsDir?: string; outputFile?: string; outputDir?: string; outputFolder?: string };
    if (/allure-playwright/.test(name)) {
      // allure-playwright resolves its resultsDir against the working directory.
      allure.add(resolve(process.cwd(), opts.resultsDir ?? 'allure-results'));
    } else if (name === 'json' || name === 'junit') {
      const env = name === 'json' ? process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ?? process.env.PLAYWRIGHT_JSON_OUTPUT_FILE
        : process.env.PLAYWRIGHT_JUNIT_OUTPUT_NAME ?? process.env.PLAYWRIGHT_JUNIT_OUTPUT_FILE;
      const f = opts.outputFile ?? env;
      if (f) out.add(isAbsolute(f) ? f : resolve(configDir, f));
    } else if (name === 'blob') {
      out.add(resolve(configDir, opts.outputDir ?? process.env.PLAYWRIGHT_BLOB_OUTPUT_DIR ?? 'blob-report'));
    } else if (name === 'html') {
      out.add(resolve(configDir, opts.outputFolder ?? process.env.PLAYWRIGHT_HTML_OUTPUT_DIR ?? 'playwright-report'));
    }
  }
  for (const e of extra) out.add(resolve(e));
  for (const a of allure) out.add(a);
  return { redact: [...out], allure: [...allure] };
}

export default class VerdictReporter implements Reporter {
  private config!: FullConfig;
  private suite!: Suite;
  private readonly globalErrors: TestError[] = [];
  private readonly opts: VerdictReporterOptions;
  private secrets: Promise<Secret[]> | undefined;
  private paths: { redact: string[]; allure: string[] } = { redact: [], allure: [] };
  private endPassStarted = 0;
  private verdict: Verdict | undefined;
  private startedAt = new Date().toISOString();
  private knownSecrets: Secret[] = [];
  private unguard: (() => void) | undefined;

  constructor(opts: VerdictReporterOptions = {}) {
    this.opts = opts;
    // Named secrets are known at once; the config's list and storage-state tokens join in getSecrets().
    this.knownSecrets = namedSecretsFromEnv(process.env);
    if (opts.redactStdio !== false) this.unguard = guardStdio(() => this.knownSecrets);
  }

  printsToStdio(): boolean {
    return false;
  }

  onBegin(config: FullConfig, suite: Suite): void {
    this.config = config;
    this.suite = suite;
    this.paths = artifactPaths(config, this.opts.redactPaths);
    this.startedAt = new Date().toISOString();
  }

  onError(error: TestError): void {
    this.globalErrors.push(error);
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status === test.expectedStatus || result.status === 'skipped') return;
    // A merged (sharded) run replays results that already carry the shard's annotation.
    if (result.annotations.some((a) => a.type === 'diagnosis')) return;
    const d = diagnoseFailure(test.title, errorText(result.errors));
    // Reporters after this one (json, html) and merged reports show it next to the error.
    if (d) result.annotations.push({ type: 'diagnosis', description: `${d.id}: ${hintLine(d)}` });
  }

  /** Secrets are gathered late: global setup may have started the embedded stack and written its env by now. */
  private getSecrets(): Promise<Secret[]> {
    this.secrets ??= collectSecrets().catch(() => [] as Secret[]).then((s) => {
      this.knownSecrets = [...this.knownSecrets, ...s];
      return this.knownSecrets;
    });
    return this.secrets;
  }

  async onEnd(result: FullResult): Promise<void> {
    const secrets = await this.getSecrets();
    this.verdict = computeVerdict(this.config, this.suite, result, this.globalErrors, this.opts.gateTag);
    this.verdict.startedAt = this.startedAt;
    if (process.env.TARGET_NAME) this.verdict.targetName = process.env.TARGET_NAME;
    const line = redactText(this.verdict.line, secrets);
    this.verdict.line = line;
    process.stdout.write(`\n${line}\n`);
    for (const dir of this.paths.allure) {
      try {
        annotateAllureResults(dir);
      } catch {
        /* a result file being written concurrently: the diagnosis is a nicety, the verdict line stands */
      }
    }
    this.endPassStarted = Date.now() - 1000; // mtime granularity
    if (this.opts.redact !== false) await this.redactAll(secrets);
    this.writeVerdictFile(secrets);
    if (process.env.GITHUB_STEP_SUMMARY) {
      try {
        appendFileSync(process.env.GITHUB_STEP_SUMMARY, `### ${line.startsWith('VERDICT: PASSED') ? '✅' : '❌'} ${line}\n`);
      } catch {
        /* not fatal */
      }
    }
  }

  async onExit(): Promise<void> {
    try {
      await this.lateRedaction();
    } finally {
      this.unguard?.();
    }
  }

  private async lateRedaction(): Promise<void> {
    if (this.opts.redact === false || !this.endPassStarted) return;
    const secrets = await this.getSecrets();
    for (const dir of this.paths.allure) {
      try {
        annotateAllureResults(dir);
      } catch {
        /* see onEnd */
      }
    }
    await this.redactAll(secrets, this.endPassStarted);
  }

  private async redactAll(secrets: Secret[], newerThanMs?: number): Promise<void> {
    for (const p of this.paths.redact) {
      const r = await redactTree(p, secrets, { newerThanMs });
      for (const e of r.errors) process.stderr.write(`verdict-reporter: could not redact ${e}\n`);
    }
  }

  private writeVerdictFile(secrets: Secret[]): void {
    if (!this.verdict) return;
    const configDir = this.config.configFile ? dirname(this.config.configFile) : process.cwd();
    const file = this.opts.outputFile ?? join(process.env.GBV_REPORTS_DIR ?? resolve(configDir, 'reports'), 'verdict.json');
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, redactText(JSON.stringify(this.verdict, null, 2), secrets));
    } catch (e) {
      process.stderr.write(`verdict-reporter: could not write ${file}: ${(e as Error).message}\n`);
    }
  }
}
