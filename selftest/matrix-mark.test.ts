// The fault matrix's mark (helpers/report/matrix-mark.ts) in real Playwright runs of a throwaway project: a run
// with its expected failures marked must read exactly as the same run unmarked (outcomes, diagnosis hints, the
// VERDICT line), while Playwright keeps one worker instead of starting a new one after every failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSONReport, JSONReportSuite } from '@playwright/test/reporter';
import { EXPECT_FAIL_ENV, MARK } from '../helpers/report/matrix-mark.ts';
import { readOutcomes, ROOT } from './lib/run-suite.ts';
import { scratchProject } from './lib/scratch-project.ts';

const PW_CLI = join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js');

function makeProject(): string {
  const dir = scratchProject('gbv-mark-');
  writeFileSync(join(dir, 'playwright.config.ts'), `
import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: 'tests', outputDir: 'test-results', workers: 1, retries: 0, timeout: 20000,
  reporter: [[${JSON.stringify(join(ROOT, 'helpers', 'verdict-reporter.ts'))}, { redact: false }], ['json', { outputFile: 'results.json' }]],
  projects: [{ name: 'infra', testDir: 'tests' }],
});
`);
  mkdirSync(join(dir, 'tests'));
  writeFileSync(join(dir, 'tests', 'checks.spec.ts'), `
import { test } from ${JSON.stringify(join(ROOT, 'fixtures', 'test.ts'))};
test('certificate', async () => { throw new Error('gadgetbot.stack.test: certificate expired 1 day ago (notAfter 2025-01-01 00:00 UTC)'); });
test('name', async () => { throw new Error('cannot resolve gadgetbot-auth.stack.test via 127.0.0.1:5353: NXDOMAIN'); });
test('health', async () => {});
test('headers', async () => { throw new Error('gadgetbot.stack.test: no X-Content-Type-Options header'); });
`);
  return dir;
}

interface Run { code: number | null; verdict: string; outcomes: ReturnType<typeof readOutcomes>; workers: number; marked: number }

function workersOf(report: JSONReport): Set<number> {
  const seen = new Set<number>();
  const walk = (s: JSONReportSuite) => {
    for (const spec of s.specs ?? []) for (const t of spec.tests) for (const r of t.results) seen.add(r.workerIndex);
    for (const c of s.suites ?? []) walk(c);
  };
  report.suites.forEach(walk);
  return seen;
}

function run(dir: string, expectFail?: { title: string }[]): Run {
  // The project's test resolves a target for every test (as in the suite after global setup).
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, FORCE_COLOR: '0', APP_URL: 'https://demo.test', AUTH_URL: 'https://auth.demo.test', ADMIN_USER: 'gbv-admin', ADMIN_PASSWORD: 'demo-password-1' };
  if (expectFail) {
    writeFileSync(join(dir, 'expect-fail.json'), JSON.stringify(expectFail));
    env[EXPECT_FAIL_ENV] = join(dir, 'expect-fail.json');
  }
  const r = spawnSync(process.execPath, [PW_CLI, 'test'], { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });
  const raw = readFileSync(join(dir, 'results.json'), 'utf8');
  const report = JSON.parse(raw) as JSONReport;
  return {
    code: r.status,
    verdict: r.stdout.split('\n').find((l) => l.startsWith('VERDICT:')) ?? `(no VERDICT line) ${r.stdout.slice(-800)}`,
    outcomes: readOutcomes(report),
    workers: workersOf(report).size,
    marked: raw.split(MARK).length - 1,
  };
}

test('a run with its expected failures marked reads as the same run unmarked, on one worker instead of one per failure', () => {
  const plain = run(makeProject());
  // "health" is marked but passes: it must read as passed, not as a failure.
  const marked = run(makeProject(), [{ title: 'checks\\.spec\\.ts › (certificate|name|health)$' }]);

  assert.ok(plain.outcomes.every((o) => o.hint !== 'config'), plain.outcomes[0]?.message);
  assert.deepEqual(plain.outcomes.map((o) => [o.title, o.status, o.hint ?? '']), [
    ['checks.spec.ts › certificate', 'unexpected', 'cert-expired'],
    ['checks.spec.ts › name', 'unexpected', 'dns-missing'],
    ['checks.spec.ts › health', 'expected', ''],
    ['checks.spec.ts › headers', 'unexpected', 'security-headers'],
  ], 'the unmarked run is the reference');
  assert.ok(marked.marked >= 3, `the marked tests carry the mark in the JSON report (${marked.marked})`);
  const strip = (r: Run) => r.outcomes.map((o) => ({ ...o, durationMs: 0, message: o.message.replace(/\n\s+at [\s\S]*/, '') }));
  assert.deepEqual(strip(marked), strip(plain), 'marked, every test reads as it does unmarked (status, result, message, hint)');
  assert.equal(marked.verdict, plain.verdict, 'the VERDICT line is the same');
  assert.match(marked.verdict, /^VERDICT: FAILED — infra 1\/4 — first root cause: \[infra\] certificate: .*\[hint: /);
  assert.equal(plain.code, 1);
  // Playwright starts a new worker after each failure: certificate and name each end theirs; health and headers
  // share the third.
  assert.equal(plain.workers, 3, `workers unmarked: ${plain.workers}`);
  // Marked, certificate and name keep the worker; only "health" (marked, but it passed: to Playwright a failure)
  // ends it, and headers runs in the second.
  assert.equal(marked.workers, 2, `workers marked: ${marked.workers}`);
});
