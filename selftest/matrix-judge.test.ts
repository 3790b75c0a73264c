// The fault matrix's judging on hand-built outcomes: the parts that decide "the row holds" and "the healthy
// run was clean" must themselves fail on the cases they exist for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeHealthy, judgeRow, testListFor, type ListedTest } from './lib/matrix.ts';
import type { MatrixRow } from './fault-matrix.ts';
import type { Outcome } from './lib/run-suite.ts';

const listed: ListedTest[] = [
  { project: 'infra', title: 'tests/infra/tls.spec.ts › TLS › app host: valid certificate (chain)' },
  { project: 'infra', title: 'tests/infra/tls.spec.ts › TLS › auth host: valid certificate (chain)' },
  { project: 'infra', title: 'tests/infra/dns.spec.ts › DNS › app host: A records match' },
  { project: 'setup', title: 'tests/setup/auth.setup.ts › sign in as admin' },
  { project: 'auth', title: 'tests/auth/session.spec.ts › without a session › /admin redirects to /login' },
];
const outcome = (l: ListedTest, o: Partial<Outcome> = {}): Outcome => ({
  project: l.project, title: l.title, tags: [], status: 'expected', result: 'passed', retries: 0, durationMs: 0, message: '', warnings: [], ...o,
});

test('testListFor: the judged tests of the row\'s projects, plus the setup sign-ins, in --test-list format', () => {
  const row: MatrixRow = {
    name: 'r', faults: ['cert-expired'], projects: ['infra', 'setup'],
    mustFail: [{ title: /tls\.spec\.ts › .*app host/, message: /expired/ }],
    mustPass: [{ title: /dns\.spec\.ts › .*app host/ }, { title: /session\.spec\.ts/ }],
  };
  assert.deepEqual(testListFor(row, listed), [
    '[infra] › tests/infra/tls.spec.ts › TLS › app host: valid certificate (chain)',
    '[infra] › tests/infra/dns.spec.ts › DNS › app host: A records match',
    '[setup] › tests/setup/auth.setup.ts › sign in as admin',
  ]);
});

test('judgeHealthy: every test run `repeat` times (setup once), first attempt, VERDICT PASSED', () => {
  const clean = [...listed.flatMap((l) => (l.project === 'setup' ? [outcome(l)] : [outcome(l), outcome(l)]))];
  assert.deepEqual(judgeHealthy(clean, [], 'VERDICT: PASSED — infra 6/6', listed, 2), []);

  const once = clean.slice(1); // the first TLS test ran only once
  assert.match(judgeHealthy(once, [], 'VERDICT: PASSED', listed, 2).join('\n'), /app host: valid certificate \(chain\): ran 1 times, not 2/);

  const flaky = clean.map((o, i) => (i === 2 ? { ...o, status: 'flaky' as const, retries: 1 } : o));
  assert.match(judgeHealthy(flaky, [], 'VERDICT: PASSED', listed, 2).join('\n'), /flaky \(passed on retry\)/);

  assert.match(judgeHealthy(clean, [], 'VERDICT: FAILED — infra 5/6', listed, 2).join('\n'), /does not say PASSED/);
});

test('judgeRow: an expected failure that passed, failed with another message, or did not run is a problem', () => {
  const row: MatrixRow = {
    name: 'r', faults: ['cert-expired'], projects: ['infra'],
    mustFail: [{ title: /tls\.spec\.ts › .*app host/, message: /expired/ }],
    mustPass: [{ title: /dns\.spec\.ts › .*app host/ }],
  };
  const [tlsApp, , dnsApp] = listed as [ListedTest, ListedTest, ListedTest];
  const failed = (message: string) => outcome(tlsApp, { status: 'unexpected', result: 'failed', message });
  assert.deepEqual(judgeRow(row, [failed('app: certificate has expired'), outcome(dnsApp)]).problems, []);
  assert.match(judgeRow(row, [outcome(tlsApp), outcome(dnsApp)]).problems.join('\n'), /should fail but was expected/);
  assert.match(judgeRow(row, [failed('connection refused'), outcome(dnsApp)]).problems.join('\n'), /does not match/);
  assert.match(judgeRow(row, [outcome(dnsApp)]).problems.join('\n'), /did not run/);
  assert.match(judgeRow(row, [failed('expired'), outcome(dnsApp, { status: 'unexpected', result: 'failed' })]).problems.join('\n'), /should pass/);
});

test('judgeRow: mustWarn needs a pass WITH a matching warning; mustPass and healthy runs must not warn; mustNotMention blames no wrong cause', () => {
  const [tlsApp, tlsAuth, dnsApp] = listed as [ListedTest, ListedTest, ListedTest];
  const row: MatrixRow = {
    name: 'w', faults: ['no-csrf-check'], projects: ['infra'],
    mustFail: [{ title: /tls\.spec\.ts › .*app host/, message: /expired/ }],
    mustWarn: [{ title: /tls\.spec\.ts › .*auth host/, message: /second line of defence/ }],
    mustPass: [{ title: /dns\.spec\.ts › .*app host/ }],
    mustNotMention: [/authorization/],
  };
  const failed = outcome(tlsApp, { status: 'unexpected', result: 'failed', message: 'expired' });
  const warned = outcome(tlsAuth, { warnings: ['no Origin check; a missing second line of defence'] });
  assert.deepEqual(judgeRow(row, [failed, warned, outcome(dnsApp)]).problems, []);
  assert.match(judgeRow(row, [failed, outcome(tlsAuth), outcome(dnsApp)]).problems.join('\n'), /passed without a warning/);
  assert.match(judgeRow(row, [failed, outcome(tlsAuth, { status: 'unexpected', result: 'failed', message: 'x' }), outcome(dnsApp)]).problems.join('\n'), /should pass with a warning/);
  assert.match(judgeRow(row, [failed, warned, outcome(dnsApp, { warnings: ['stray'] })]).problems.join('\n'), /should pass cleanly but warned/);
  assert.match(judgeRow(row, [outcome(tlsApp, { status: 'unexpected', result: 'failed', message: 'expired: an authorization breach' }), warned, outcome(dnsApp)]).problems.join('\n'), /names a cause the row's faults did not create/);
  assert.match(judgeHealthy([outcome(dnsApp, { warnings: ['w'] })], []).join('\n'), /warned on a healthy stack/);
});
