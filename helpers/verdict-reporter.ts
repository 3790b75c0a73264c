// A Playwright reporter for people and CI, composed of the parts in helpers/report/:
// - verdict.ts: the VERDICT line (tally per area, first root cause and its hint, warnings, headlines), pure;
// - summary.ts: measurements and warnings before the VERDICT line, the GitHub step summary, verdict.json;
// - allure-rewrite.ts: diagnosis, measurements and warnings in the Allure results;
// - stdio-guard.ts + artifacts.ts + helpers/redact.ts: no secret in stdout/stderr or in any artifact.
// What to redact comes from helpers/secrets.ts: the env's named secrets at once, the run record's
// (helpers/run-record.ts, written by global setup) as soon as it exists, storage-state tokens at the end.
//
// Redaction runs twice: in onEnd (over the outputs that exist then) and in onExit, which Playwright calls after
// *every* reporter's onEnd, over whatever was written later (json/junit/blob reporters listed after this one,
// Allure's skipped-test results). So the reporter order in playwright.config.ts does not matter for safety.
import { rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestError, TestResult } from '@playwright/test/reporter';
import { redactText } from './redact.ts';
import { setupProblemFile } from './browser.ts';
import { recordedSetupProblems } from './browser-setup.ts';
import { LiveSecrets, secretsFromStorageStates } from './secrets.ts';
import { readRunRecord, RECORD_ENV } from './run-record.ts';
import { ANSI, computeVerdict, type TestRecord, type Verdict } from './report/verdict.ts';
import { diagnosisAnnotation, rewriteAllureResults } from './report/allure-rewrite.ts';
import { artifactPaths, redactArtifacts, type ArtifactPaths } from './report/artifacts.ts';
import { guardStdio } from './report/stdio-guard.ts';
import { unmarkedExpectedStatus, unmarkedOutcome } from './report/matrix-mark.ts';
import { appendStepSummary, terminalSummary, writeVerdictFile } from './report/summary.ts';

export { firstErrorLine, computeVerdict, type Verdict } from './report/verdict.ts';
export { guardStdio } from './report/stdio-guard.ts';

export interface VerdictReporterOptions {
  /** Where to write the verdict as JSON (default `<GBV_REPORTS_DIR or reports>/verdict.json`). */
  outputFile?: string;
  /** Extra folders or files to redact besides those found in the config. */
  redactPaths?: string[];
  /** Set false to skip redaction (tests of the reporter itself only). */
  redact?: boolean;
  /** Tag whose failures fail the quality gate (default `@smoke`); reported in verdict.json. */
  gateTag?: string;
  /** Redact what every reporter writes to stdout/stderr (default true). */
  redactStdio?: boolean;
}

const errorText = (errors: readonly TestError[]) => errors.map((e) => e.message ?? e.value ?? '').join('\n').replace(ANSI, '');

/** Playwright's tests as the plain records the verdict is computed from. */
export function testRecordsOf(suite: Suite): TestRecord[] {
  return suite.allTests().map((t) => {
    const last = t.results[t.results.length - 1];
    const annotations = [...t.annotations, ...(last?.annotations ?? [])];
    return {
      project: t.parent.project()?.name ?? '',
      title: t.titlePath().slice(3).join(' › '),
      tags: t.tags,
      outcome: unmarkedOutcome(t.outcome(), last?.status, annotations, t.results.length > 1),
      lastStatus: last?.status,
      declaredSkip: t.annotations.some((a) => a.type === 'skip' || a.type === 'fixme'),
      errorText: errorText(last?.errors ?? []),
      annotations,
    };
  });
}

export default class VerdictReporter implements Reporter {
  private config!: FullConfig;
  private suite!: Suite;
  private readonly globalErrors: TestError[] = [];
  private readonly secrets = new LiveSecrets();
  private paths: ArtifactPaths = { redact: [], allure: [] };
  private endPassStarted = 0;
  private startedAt = new Date().toISOString();
  private readonly unguard: (() => void) | undefined;

  constructor(private readonly opts: VerdictReporterOptions = {}) {
    if (opts.redactStdio !== false) this.unguard = guardStdio(() => this.secrets.current());
  }

  printsToStdio(): boolean {
    return false;
  }

  onBegin(config: FullConfig, suite: Suite): void {
    this.config = config;
    this.suite = suite;
    this.paths = artifactPaths(config, this.opts.redactPaths);
    this.startedAt = new Date().toISOString();
    // Before any worker: what the workers record about a missing browser is this run's, never an earlier one's.
    rmSync(setupProblemFile(), { force: true });
  }

  onError(error: TestError): void {
    this.globalErrors.push(error);
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    const expected = unmarkedExpectedStatus(test.expectedStatus, [...test.annotations, ...result.annotations]);
    if (result.status === expected || result.status === 'skipped') return;
    // A merged (sharded) run replays results that already carry the shard's annotation.
    if (result.annotations.some((a) => a.type === 'diagnosis')) return;
    const a = diagnosisAnnotation(errorText(result.errors));
    // Reporters after this one (json, html) and merged reports show it next to the error.
    if (a) result.annotations.push(a);
  }

  async onEnd(result: FullResult): Promise<void> {
    // Storage states hold the session tokens the setup project saved (gone again when the stack was stopped).
    const secrets = this.secrets.add(secretsFromStorageStates(join(process.cwd(), '.auth')));
    const redact = (s: string) => redactText(s, secrets);
    const v = this.verdict(result);
    v.line = redact(v.line);
    const summary = terminalSummary(v);
    process.stdout.write(`\n${summary ? `${redact(summary)}\n` : ''}${v.line}\n`);
    this.rewriteAllure();
    this.endPassStarted = Date.now() - 1000; // mtime granularity
    if (this.opts.redact !== false) this.report((await redactArtifacts(this.paths.redact, secrets)).map((e) => `could not redact ${e}`));
    this.report([writeVerdictFile(this.verdictFile(), v, redact)].filter((e): e is string => !!e));
    appendStepSummary(v, redact);
  }

  async onExit(): Promise<void> {
    try {
      if (this.opts.redact === false || !this.endPassStarted) return;
      this.rewriteAllure();
      this.report((await redactArtifacts(this.paths.redact, this.secrets.current(), this.endPassStarted)).map((e) => `could not redact ${e}`));
    } finally {
      this.unguard?.();
    }
  }

  private verdict(result: FullResult): Verdict {
    const v = computeVerdict({
      projects: this.config.projects.map((p) => p.name),
      tests: testRecordsOf(this.suite),
      runStatus: result.status,
      globalErrors: this.globalErrors.map((e) => e.message ?? e.value ?? ''),
      gateTag: this.opts.gateTag,
      setupProblems: recordedSetupProblems(setupProblemFile()),
    });
    const recordFile = process.env[RECORD_ENV];
    const record = readRunRecord(recordFile);
    v.startedAt = this.startedAt;
    v.targetName = record?.target.TARGET_NAME ?? process.env.TARGET_NAME;
    v.runId = record?.runId;
    if (record) v.runRecord = recordFile;
    return v;
  }

  private rewriteAllure(): void {
    for (const dir of this.paths.allure) {
      try {
        rewriteAllureResults(dir);
      } catch {
        /* a result file being written concurrently: the second pass gets it; the verdict line stands */
      }
    }
  }

  private verdictFile(): string {
    const configDir = this.config.configFile ? dirname(this.config.configFile) : process.cwd();
    return this.opts.outputFile ?? join(process.env.GBV_REPORTS_DIR ?? resolve(configDir, 'reports'), 'verdict.json');
  }

  private report(errors: string[]): void {
    for (const e of errors) process.stderr.write(`verdict-reporter: ${e}\n`);
  }
}
