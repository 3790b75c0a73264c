// The fault matrix: for every fault in stack/faults.ts, which part of the suite to run against a stack with that
// fault on, which tests must then fail (and with a message that names the problem), and which unrelated checks must
// still pass. selftest/fault-matrix.test.ts runs it; the coverage check there asserts that every test of the suite
// is expected to fail in at least one row, so removing or weakening a check makes the matrix fail.
import type { FaultId } from '../stack/faults.ts';

export interface Expectation {
  /** Matched against the outcome title "file › describe › test" (e.g. /tls\.spec\.ts › app host: valid certificate/). */
  title: RegExp;
  /** The failure message must match this (it must name the problem, not just "failed"). */
  message?: RegExp;
  /** Playwright project of the test; default: any. */
  project?: string;
}

export interface MatrixRow {
  /** Unique row name (usually the fault id, or "a+b" for a documented grouping). */
  name: string;
  faults: FaultId[];
  /** Projects to run (`--project`); as few as answer the question. */
  projects: string[];
  grep?: string;
  /** Tests that MUST fail (status "unexpected"), each matching its message. */
  mustFail: Expectation[];
  /** Unrelated checks that must still pass in the same run. */
  mustPass: Expectation[];
  /** Why faults share this row (grouping) or anything surprising. */
  note?: string;
}
