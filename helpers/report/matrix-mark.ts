// The fault matrix's expected failures, and how a report reads them as the failures they are.
//
// Playwright throws a worker away after every failed test (and starts a new process, and a new Chromium), which
// made a matrix row with ten expected failures cost ten worker starts. A test marked "should fail" (testInfo.fail)
// that fails is not a failure to Playwright, so its worker carries on. The matrix therefore hands the suite the
// titles it expects to fail (GBV_MATRIX_EXPECT_FAIL, a JSON file; self-tests only), fixtures/test.ts marks those
// tests with MARK, and everything that judges a run (the verdict reporter, the matrix's own reading) takes the
// mark back off: a marked test's outcome is what it would have been unmarked. The run's VERDICT line, hints and
// the matrix's judgement are therefore the same as without the mark; only the worker count drops.
import { readFileSync } from 'node:fs';

export const EXPECT_FAIL_ENV = 'GBV_MATRIX_EXPECT_FAIL';
export const MARK = 'gbv fault matrix: expected to fail under its faults (unmarked in every report)';

export interface ExpectFail { project?: string; title: string /* RegExp source */ }

type Annotation = { type: string; description?: string };
type Status = 'passed' | 'failed' | 'timedOut' | 'skipped' | 'interrupted' | undefined;
export type Outcome = 'expected' | 'unexpected' | 'flaky' | 'skipped';

/** The expectations of GBV_MATRIX_EXPECT_FAIL, or none (the env unset: every real run). */
export function readExpectFail(env: NodeJS.ProcessEnv = process.env): { project?: string; title: RegExp }[] {
  const file = env[EXPECT_FAIL_ENV];
  if (!file) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as ExpectFail[]).map((e) => ({ project: e.project, title: new RegExp(e.title) }));
}

export const isMarked = (annotations: readonly Annotation[]): boolean => annotations.some((a) => a.type === 'fail' && a.description === MARK);

/** A marked test's status as Playwright would have expected it unmarked ("passed"); others as they are. */
export function unmarkedExpectedStatus(expected: string, annotations: readonly Annotation[]): string {
  return isMarked(annotations) ? 'passed' : expected;
}

/** A test's outcome with the mark taken off: its last result decides, as for any test expected to pass. */
export function unmarkedOutcome(outcome: Outcome, lastStatus: Status, annotations: readonly Annotation[], retried: boolean): Outcome {
  if (!isMarked(annotations)) return outcome;
  if (lastStatus === 'skipped' || lastStatus === undefined) return 'skipped';
  if (lastStatus === 'passed') return retried ? 'flaky' : 'expected';
  return 'unexpected';
}
