// The suite benchmark's parts (bin/bench/suite.ts) on real files: a ledger written by the real ledger module in a
// child process, Playwright's JSON report shape, the run order and the summary's ratios; and the bench CLI's
// dispatch as a user calls it. The benchmark's figures themselves are never asserted (a shared, noisy machine).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { plan, readChecks, readLedger, runEnv, summarize, type SuiteRun } from '../bin/bench/suite.ts';

const ROOT = resolve(import.meta.dirname, '..');
let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'gbv-bench-selftest-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

describe('suite benchmark parts', () => {
  test('runs interleave: every round runs each kind with the limit on and off, which goes first alternates', () => {
    assert.deepEqual(plan(2, ['gate', 'smoke']).map((p) => `${p.round} ${p.kind} ${p.limit}`), [
      '1 gate on', '1 gate off', '1 smoke on', '1 smoke off', '2 gate off', '2 gate on', '2 smoke off', '2 smoke on',
    ]);
  });

  test('the ledger the suite writes (helpers/signin-ledger.ts, in another process) is counted: sign-ins and 429 waits', () => {
    const file = join(dir, 'ledger.jsonl');
    const script = "import { noteSignInRequest, noteRateLimitWait } from './helpers/signin-ledger.ts';"
      + "noteSignInRequest('setup admin'); noteSignInRequest('setup viewer'); noteRateLimitWait('setup viewer', 4200.4);"
      + "noteSignInRequest('auth: sign back in'); noteRateLimitWait('auth: sign back in', 1800);";
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT, env: { ...process.env, GBV_SIGNIN_LEDGER: file }, encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readLedger(file), { signIns: 3, waitMs: 6000 });
    assert.deepEqual(readLedger(join(dir, 'none.jsonl')), { signIns: 0, waitMs: 0 }, 'no ledger: nothing was noted');
  });

  test("checks run from Playwright's JSON stats: passed, failed and flaky count, skipped does not", () => {
    const file = join(dir, 'results.json');
    writeFileSync(file, JSON.stringify({ config: {}, suites: [], stats: { startTime: 'x', duration: 1, expected: 40, skipped: 3, unexpected: 2, flaky: 1 } }));
    assert.deepEqual(readChecks(file), { checks: 43, failed: 2 });
    assert.deepEqual(readChecks(join(dir, 'missing.json')), { checks: 0, failed: 0 });
  });

  test('a run targets the embedded stack with its own folders; the limit is off only when asked', () => {
    const on = runEnv('/r', 'on', { APP_URL: 'https://real.example', STACK_SIGNIN_RATE_LIMIT: 'off', STACK_FAULTS: 'cert-expired', PATH: '/bin' });
    assert.equal(on.APP_URL, undefined);
    assert.equal(on.GBV_NO_DOTENV, '1');
    assert.equal(on.STACK_SIGNIN_RATE_LIMIT, undefined);
    assert.equal(on.STACK_FAULTS, undefined);
    assert.equal(on.GBV_SIGNIN_LEDGER, '/r/signin-ledger.jsonl');
    assert.equal(on.GBV_REPORTS_DIR, '/r/reports');
    assert.equal(on.PATH, '/bin');
    assert.equal(runEnv('/r', 'off', {}).STACK_SIGNIN_RATE_LIMIT, 'off');
  });

  test('summary: medians per kind and limit, and the targets as the issue states them (ratios included)', () => {
    const r = (kind: 'gate' | 'smoke', limit: 'on' | 'off', wallMs: number, waitMs = 0): SuiteRun =>
      ({ kind, limit, round: 1, wallMs, code: 0, checks: kind === 'gate' ? 20 : 47, failed: 0, signIns: 2, waitMs });
    const s = summarize([
      r('gate', 'on', 18_000), r('gate', 'off', 17_000), r('smoke', 'on', 40_000, 8000), r('smoke', 'off', 30_000),
      r('gate', 'on', 20_000), r('gate', 'off', 16_000), r('smoke', 'on', 44_000, 12_000), r('smoke', 'off', 34_000),
      r('gate', 'on', 19_000), r('gate', 'off', 18_000), r('smoke', 'on', 42_000, 10_000), r('smoke', 'off', 32_000),
    ]);
    assert.deepEqual(s.targets.map((t) => [t.label, t.value, t.limit]), [
      ['gate wall time, limit on (stack start included), median', 19, 20],
      ['gate time waiting on 429s, limit on, median', 0, 0],
      ['gate wall, limit on / off', 1.118, 1.1],
      ['smoke wall time, limit on, median', 42, 35],
      ['smoke wall, limit on / off', 1.313, 1.5],
      ['gate wall / smoke wall, limit on', 0.452, 0.5],
    ]);
    // Just over the target stays over it: 29.9 s / 59.6 s is 0.502, not a rounded 0.50.
    const edge = summarize([r('gate', 'on', 29_900), r('smoke', 'on', 59_600)]).targets.find((t) => t.label.startsWith('gate wall / smoke'))!;
    assert.ok(edge.value > edge.limit, `0.502 must miss 0.5 (got ${edge.value})`);
    assert.equal(s.medians['smoke on'].waitMs, 10_000);
    assert.equal(s.medians['gate off'].round, 3, 'three runs behind the median');
    assert.ok(!s.notes.some((n) => /NOT ALL RUNS PASSED/.test(n)));
    const failed = summarize([{ ...r('gate', 'on', 1000), code: 1 }]);
    assert.match(failed.notes.join('\n'), /NOT ALL RUNS PASSED: gate on #1 exit 1/);
  });
});

describe('npm run bench dispatch', () => {
  const bench = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bin/bench.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  test('an unknown benchmark is named with the known ones, exit 2', () => {
    const r = bench('nosuch');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^no benchmark "nosuch"; known: stack, suite/m);
  });
  test('bad options stop before anything runs, exit 2', () => {
    const a = bench('suite', '--only', 'all');
    assert.equal(a.status, 2);
    assert.match(a.stderr, /--only must be gate or smoke/);
    const b = bench('suite', '--runs', '0');
    assert.equal(b.status, 2);
    assert.match(b.stderr, /--runs must be a whole number in 1\.\.100/);
    const c = bench('--only', 'nope');
    assert.equal(c.status, 2, 'no name: the stack benchmark, as before');
    assert.match(c.stderr, /no benchmark named "nope"; known: stack-cold-start/);
  });
});
