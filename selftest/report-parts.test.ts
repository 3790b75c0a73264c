// The verdict reporter's parts on their own, on real files: the Allure rewrite (idempotent, exact), the summaries,
// the run record (owner-only, pruned) and the live secrets the output guard redacts with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rewriteAllureResults } from '../helpers/report/allure-rewrite.ts';
import { stepSummary, terminalSummary } from '../helpers/report/summary.ts';
import { computeVerdict } from '../helpers/report/verdict.ts';
import { guardStdio } from '../helpers/report/stdio-guard.ts';
import { loadConfig } from '../helpers/config.ts';
import { makeRunRecord, readRunRecord, runRecordFiles, writeRunRecord } from '../helpers/run-record.ts';
import { LiveSecrets } from '../helpers/secrets.ts';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'gbv-parts-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('allure rewrite: diagnosis on failures, measurements and warnings on top of the overview, duplicates dropped; twice = once', (t) => {
  const dir = tmp(t);
  const label = (name: string, value: string) => ({ name, value });
  writeFileSync(join(dir, 'a-result.json'), JSON.stringify({
    name: 'redeploy keeps sessions', status: 'passed', description: 'Probes every 200 ms.',
    labels: [label('epic', 'Resilience'), label('epic', 'Resilience'), label('figure', 'downtime app: 0.0 s of 10 s'),
      label('headline', 'redeploy: 0.0 s downtime of 10 s, sessions kept'), label('warning', 'no Permissions-Policy')],
  }));
  writeFileSync(join(dir, 'b-result.json'), JSON.stringify({
    name: 'app host certificate', status: 'failed', statusDetails: { message: 'gadgetbot.stack.test: certificate expired 1 day ago' }, labels: [],
  }));
  writeFileSync(join(dir, 'c-result.json'), JSON.stringify({ name: 'plain', status: 'passed', labels: [label('epic', 'Database')] }));
  writeFileSync(join(dir, 'd-result.json'), '{"being written');
  assert.equal(rewriteAllureResults(dir), 2);
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const a = read('a-result.json');
  assert.deepEqual(a.labels.filter((l: { name: string }) => l.name === 'epic'), [label('epic', 'Resilience')]);
  assert.equal(a.description, [
    '**Measurements**: redeploy: 0.0 s downtime of 10 s, sessions kept', '', '- downtime app: 0.0 s of 10 s', '', '---', '',
    '**Warnings** (a second line of defence is missing; `--strict` fails on it)', '', '- no Permissions-Policy', '', '---', '',
    'Probes every 200 ms.',
  ].join('\n'));
  const b = read('b-result.json');
  assert.match(b.description, /^\*\*Likely cause:\*\* The certificate served for this host has expired/);
  assert.deepEqual(b.labels, [label('diagnosis', 'cert-expired')]);
  const before = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
  assert.equal(rewriteAllureResults(dir), 0, 'a second pass changes nothing');
  assert.deepEqual(readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')), before);
  assert.equal(rewriteAllureResults(join(dir, 'none')), 0);
});

test('summaries: measurements per test, then warnings; the step summary marks a warned pass', () => {
  const v = computeVerdict({
    projects: ['disruptive'], runStatus: 'passed', globalErrors: [],
    tests: [{
      project: 'disruptive', title: 'redeploy', tags: [], outcome: 'expected', lastStatus: 'passed', declaredSkip: false, errorText: '',
      annotations: [{ type: 'figure', description: 'downtime app: 0.0 s of 10 s' }, { type: 'headline', description: 'redeploy: 0.0 s, sessions kept' },
        { type: 'warning', description: 'deployment id not reported' }],
    }],
  });
  assert.equal(terminalSummary(v), [
    'Measurements:', '  [disruptive] redeploy — redeploy: 0.0 s, sessions kept', '    downtime app: 0.0 s of 10 s',
    'Warnings (1; a missing second line of defence, not a failure unless --strict):', '  [disruptive] redeploy: deployment id not reported',
  ].join('\n'));
  assert.match(stepSummary(v), /^### ⚠️ VERDICT: PASSED with 1 warning: deployment id not reported — disruptive 1\/1 — redeploy: 0\.0 s, sessions kept\n/);
  assert.equal(terminalSummary(computeVerdict({ projects: [], tests: [], runStatus: 'passed', globalErrors: [] })), '');
});

test('run record: owner-only in an owner-only folder, readable back, the newest 10 kept', (t) => {
  const dir = join(tmp(t), '.gbv');
  const target = loadConfig({ APP_URL: 'https://a.test', AUTH_URL: 'https://b.test', ADMIN_USER: 'u', ADMIN_PASSWORD: 'Rec-Pw-123', RUN_ID: 'r0' });
  const first = writeRunRecord(makeRunRecord(target, { embedded: true, extraSecrets: [{ kind: 'BETTER_AUTH_SECRET', value: 'stack-secret-1' }] }), dir);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(first).mode & 0o777, 0o600);
  const rec = readRunRecord(first)!;
  assert.deepEqual(rec.redact, [{ kind: 'ADMIN_PASSWORD', value: 'Rec-Pw-123' }, { kind: 'BETTER_AUTH_SECRET', value: 'stack-secret-1' }]);
  assert.equal(rec.target.ADMIN_PASSWORD, '***');
  assert.equal(rec.embedded, true);
  utimesSync(first, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
  for (let i = 1; i <= 11; i++) writeRunRecord(makeRunRecord(loadConfig({ APP_URL: 'https://a.test', AUTH_URL: 'https://b.test', ADMIN_USER: 'u', ADMIN_PASSWORD: 'p', RUN_ID: `r${i}` }), { embedded: false }), dir);
  const kept = runRecordFiles(dir);
  assert.equal(kept.length, 10);
  assert.ok(!kept.includes(first), 'the oldest went first');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no half-written file left');
  assert.equal(readRunRecord(join(dir, 'nope.json')), undefined);
  writeFileSync(join(dir, 'run-bad.json'), '{"version":2}');
  assert.equal(readRunRecord(join(dir, 'run-bad.json')), undefined);
});

test('live secrets: the env names at once, the run record as soon as it appears; the guard redacts stdout with them', (t) => {
  const dir = join(tmp(t), '.gbv');
  const env: Record<string, string | undefined> = { SOME_TOKEN: 'early-token-1' };
  const live = new LiveSecrets(env);
  assert.deepEqual(live.current().map((s) => s.value), ['early-token-1']);
  const target = loadConfig({ APP_URL: 'https://a.test', AUTH_URL: 'https://b.test', ADMIN_USER: 'u', ADMIN_PASSWORD: 'Late-Admin-Pw', RUN_ID: 'live-1' });
  env.GBV_RUN_RECORD = writeRunRecord(makeRunRecord(target, { embedded: false }), dir);
  assert.ok(live.current().some((s) => s.value === 'Late-Admin-Pw'));
  const seen: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = ((c: string) => { seen.push(String(c)); return true; }) as typeof process.stdout.write;
  const unguard = guardStdio(() => live.current());
  try {
    process.stdout.write('signed in with Late-Admin-Pw and early-token-1\n');
    process.stdout.write(Buffer.from('bytes: Late-Admin-Pw\n'));
  } finally {
    unguard();
    process.stdout.write = original;
  }
  assert.deepEqual(seen, ['signed in with [REDACTED] and [REDACTED]\n', 'bytes: [REDACTED]\n']);
});
