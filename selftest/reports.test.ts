// Sharded runs merge to the same result as one run; Allure 3 (with allurerc.mjs) builds a report with our
// categories and history, and its quality gate fails on a failed @smoke test only. All on a tiny throwaway
// Playwright project, run as real child processes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mergeShards, type MergeResult } from '../bin/merge-shards.ts';
import { checkAllureResults } from '../bin/check-allure.ts';
import { loadConfig } from '../helpers/config.ts';
import { makeRunRecord, writeRunRecord } from '../helpers/run-record.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PW_CLI = join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js');

function killGroup(pid: number | undefined) {
  try {
    if (pid) process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
const ALLURE_CLI = join(ROOT, 'node_modules', 'allure', 'cli.js');
const ALLURE_CONFIG = join(ROOT, 'allurerc.mjs');

const dir = mkdtempSync(join(tmpdir(), 'gbv-reports-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(rel: string, text: string) {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), text);
}

symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
write('package.json', '{"type":"module","private":true}');
write('playwright.config.ts', `
import { defineConfig, type ReporterDescription } from '@playwright/test';
const out = process.env.FX_OUT!;
const reporter: ReporterDescription[] = [
  ['allure-playwright', { resultsDir: out + '/allure-results' }],
  ['json', { outputFile: out + '/results.json' }],
  [${JSON.stringify(join(ROOT, 'helpers', 'verdict-reporter.ts'))}, { outputFile: out + '/verdict.json' }],
];
if (process.env.FX_BLOB) reporter.push(['blob', { outputDir: out + '/blob-report' }]);
export default defineConfig({
  testDir: 'tests', outputDir: out + '/test-results', workers: 1, retries: 0, timeout: 20000,
  reporter,
  projects: [
    { name: 'infra', testDir: 'tests/infra' },
    { name: 'auth', testDir: 'tests/auth' },
    { name: 'crud', testDir: 'tests/crud' },
  ],
});
`);
write('tests/infra/dns.spec.ts', `
import { test } from '@playwright/test';
test('app host resolves', { tag: '@smoke' }, async () => {});
test('auth host resolves', async () => { throw new Error('cannot resolve gadgetbot-auth.stack.test via 127.0.0.1:5353: NXDOMAIN'); });
`);
write('tests/infra/tls.spec.ts', `
import { test } from '@playwright/test';
test('app host certificate is valid', { tag: '@smoke' }, async () => {
  throw new Error('gadgetbot.stack.test: certificate expired 1 day ago (notAfter 2025-01-01 00:00 UTC)');
});
`);
write('tests/auth/login.spec.ts', `
import { test } from '@playwright/test';
test('login page shows Sign In', { tag: '@smoke' }, async () => {});
test('account picker', async () => { test.skip(true, 'not configured'); });
`);
// A passed @smoke check with a warning (the project's test carries it into Allure): its own category, no gate failure.
write('tests/auth/cookies.spec.ts', `
import { test } from ${JSON.stringify(join(ROOT, 'fixtures', 'test.ts'))};
import { warn } from ${JSON.stringify(join(ROOT, 'helpers', 'findings.ts'))};
test('session cookie flags', { tag: '@smoke' }, async () => { warn('session cookie is SameSite=Lax, not Strict'); });
`);
write('tests/crud/delete.spec.ts', `
import { test } from '@playwright/test';
test('delete removes the bot', async () => {
  throw new Error('getById still finds the deleted bot (HTTP 200): delete answered success but kept the row');
});
`);

function run(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 300_000): Promise<{ code: number | null; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, FORCE_COLOR: '0', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a time-out takes the workers down too
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => killGroup(child.pid), timeoutMs);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, out });
    });
  });
}

// The project's test resolves its target for every test, as in the suite after global setup.
const TARGET = { APP_URL: 'https://demo.test', AUTH_URL: 'https://auth.demo.test', ADMIN_USER: 'gbv-admin', ADMIN_PASSWORD: 'demo-password' };
const playwright = (out: string, args: string[] = [], env: Record<string, string> = {}) =>
  run(process.execPath, [PW_CLI, 'test', ...args], { FX_OUT: join(dir, out), ...TARGET, ...env });
const allure = (cmd: string, reportsDir: string) =>
  run(process.execPath, [ALLURE_CLI, cmd, '--config', ALLURE_CONFIG], { GBV_REPORTS_DIR: join(dir, reportsDir), TARGET_NAME: 'fixture' });

interface Stats { expected: number; unexpected: number; flaky: number; skipped: number }
const stats = (out: string): Stats => {
  const { expected, unexpected, flaky, skipped } = JSON.parse(readFileSync(join(dir, out, 'results.json'), 'utf8')).stats;
  return { expected, unexpected, flaky, skipped };
};
const allureResults = (d: string) => readdirSync(join(dir, d)).filter((f) => f.endsWith('-result.json'));

let full: { code: number | null; out: string };
let merged: MergeResult;

before(async () => {
  const [f, s1, s2] = await Promise.all([
    playwright('full'),
    playwright('shard1', ['--shard=1/2'], { FX_BLOB: '1' }),
    playwright('shard2', ['--shard=2/2'], { FX_BLOB: '1' }),
  ]);
  full = f;
  assert.equal(f.code, 1, f.out);
  assert.ok(existsSync(join(dir, 'shard1', 'blob-report')) && existsSync(join(dir, 'shard2', 'blob-report')), s1.out + s2.out);
  merged = await mergeShards({ inputs: [join(dir, 'shard1'), join(dir, 'shard2')], outDir: join(dir, 'merged'), cwd: dir, echo: false });
});

test('two shards merged equal the unsharded run', () => {
  const one = stats('full');
  assert.deepEqual(one, { expected: 3, unexpected: 3, flaky: 0, skipped: 1 });
  assert.equal(merged.blobs.length, 2);
  assert.equal(merged.tests, 7);
  assert.equal(merged.unexpected, 3);
  assert.equal(merged.exitCode, 1);
  assert.deepEqual(stats('merged'), one);
  // Each shard ran only part of the tests, and together all of them.
  const s1 = stats('shard1');
  const s2 = stats('shard2');
  const n = (s: Stats) => s.expected + s.unexpected + s.flaky + s.skipped;
  assert.ok(n(s1) > 0 && n(s2) > 0 && n(s1) + n(s2) === 7, JSON.stringify({ s1, s2 }));
  assert.equal(merged.allureResults, allureResults('full/allure-results').length);
  assert.equal(allureResults('merged/allure-results').length, 7);
  const junit = readFileSync(join(dir, 'merged', 'junit.xml'), 'utf8');
  // JUnit counts thrown errors as errors, failed expectations as failures.
  const top = /<testsuites [^>]*>/.exec(junit)?.[0] ?? '';
  const attr = (n: string) => Number(new RegExp(`\\b${n}="(\\d+)"`).exec(top)?.[1]);
  assert.equal(attr('tests'), 7, top);
  assert.equal(attr('failures') + attr('errors'), 3, top);
  assert.equal(attr('skipped'), 1, top);
  assert.equal((junit.match(/name="diagnosis"/g) ?? []).length, 3, 'one diagnosis per failed test, not repeated by the merge');
  // Attachments of the merged report resolve (they live next to the merged blobs).
  const attachments = [...junit.matchAll(/\[\[ATTACHMENT\|([^\]]+)\]\]/g)].map((m) => resolve(join(dir, 'merged'), m[1]));
  assert.ok(attachments.length > 0 && attachments.every((a) => existsSync(a)), JSON.stringify(attachments));
  // One verdict for the merged run, with the same tallies and root cause as the unsharded one.
  const verdictLines = (s: string) => s.split('\n').filter((l) => l.startsWith('VERDICT:'));
  assert.deepEqual(verdictLines(merged.output), verdictLines(full.out));
  assert.match(verdictLines(full.out)[0], /^VERDICT: FAILED with 1 warning: session cookie is SameSite=Lax, not Strict — infra 1\/3, auth 2\/2 \(1 skipped\), crud 0\/1 — first root cause: \[infra\] auth host resolves: cannot resolve/);
  const v = JSON.parse(readFileSync(join(dir, 'merged', 'verdict.json'), 'utf8'));
  assert.deepEqual(v.gate, { tag: '@smoke', failed: 1, passed: false });
});

test('allure generate: our categories, report name, environment, and history after two runs', async () => {
  const first = await allure('generate', 'merged');
  assert.equal(first.code, 0, first.out);
  const report = join(dir, 'merged', 'allure-report');
  const categories = JSON.parse(readFileSync(join(report, 'widgets', 'categories.json'), 'utf8'));
  const names = (type: string) => Object.values(categories.nodes as Record<string, { type: string; name: string }>).filter((n) => n.type === type).map((n) => n.name).sort();
  assert.deepEqual(names('category'), ['DNS', 'certificate', 'data', 'warning']);
  assert.deepEqual(names('tr'), ['app host certificate is valid', 'auth host resolves', 'delete removes the bot', 'session cookie flags']);
  const summary1 = JSON.parse(readFileSync(join(report, 'summary.json'), 'utf8'));
  assert.match(summary1.name, /^GadgetBot verify — fixture — \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  assert.equal(summary1.stats.new, 7);
  const vars = JSON.parse(readFileSync(join(report, 'widgets', 'variables.json'), 'utf8'));
  assert.equal(vars.NODE, process.version);
  assert.match(vars.SUITE_VERSION, /^gadgetbot-verify /);
  assert.ok(vars.PLAYWRIGHT && vars.BROWSER && vars.RUN_STARTED);
  // The diagnosis travels into the report's test data.
  const trFiles = readdirSync(join(report, 'data', 'test-results'));
  const cert = trFiles.map((f) => readFileSync(join(report, 'data', 'test-results', f), 'utf8')).find((t) => t.includes('certificate expired'));
  assert.ok(cert && /Likely cause/.test(cert), 'diagnosis in the Allure test page');

  const second = await allure('generate', 'merged');
  assert.equal(second.code, 0, second.out);
  const history = readFileSync(join(dir, 'merged', 'history', 'history.jsonl'), 'utf8').trim().split('\n');
  assert.equal(history.length, 2);
  const summary2 = JSON.parse(readFileSync(join(report, 'summary.json'), 'utf8'));
  assert.ok(!summary2.stats.new, `with history, no test is new any more: ${JSON.stringify(summary2.stats)}`);
});

test('allure generate: the environment panel is the printable target of the run record, never its secrets', async () => {
  const target = loadConfig({ ...TARGET, ADMIN_PASSWORD: 'Rec0rded-Secret-Pw', TARGET_NAME: 'recorded', RUN_ID: 'rec-1', DEPLOYER_URL: 'https://deploy.demo.test', COOLIFY_TOKEN: 'Rec0rded-Token' });
  const record = writeRunRecord(makeRunRecord(target, { embedded: false }), join(dir, '.gbv'));
  const src = join(dir, 'merged', 'allure-results');
  const dst = join(dir, 'recorded', 'allure-results');
  mkdirSync(dst, { recursive: true });
  for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dst, f));
  const v = JSON.parse(readFileSync(join(dir, 'merged', 'verdict.json'), 'utf8'));
  writeFileSync(join(dir, 'recorded', 'verdict.json'), JSON.stringify({ ...v, runRecord: record, runId: 'rec-1' }));
  const r = await run(process.execPath, [ALLURE_CLI, 'generate', '--config', ALLURE_CONFIG], { GBV_REPORTS_DIR: join(dir, 'recorded') });
  assert.equal(r.code, 0, r.out);
  const report = join(dir, 'recorded', 'allure-report');
  const vars = JSON.parse(readFileSync(join(report, 'widgets', 'variables.json'), 'utf8'));
  assert.equal(vars.TARGET_NAME, 'recorded');
  assert.equal(vars.RUN_ID, 'rec-1');
  assert.equal(vars.DEPLOYER_URL, 'https://deploy.demo.test');
  assert.equal(vars.ADMIN_PASSWORD, '***');
  assert.match(JSON.parse(readFileSync(join(report, 'summary.json'), 'utf8')).name, /^GadgetBot verify — recorded — /);
  const all = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)) : [join(d, e.name)]));
  for (const f of all(report)) {
    const text = readFileSync(f, 'latin1');
    assert.ok(!text.includes('Rec0rded-Secret-Pw') && !text.includes('Rec0rded-Token'), `${f} holds a secret of the run record`);
  }
});

test('allure quality-gate fails on a failed @smoke test, not on other failures', async () => {
  const red = await allure('quality-gate', 'merged');
  assert.equal(red.code, 1, red.out);
  assert.match(red.out, /smoke\/maxFailures/);
  // The same results without the failed smoke test: two failures remain, the gate passes.
  const src = join(dir, 'merged', 'allure-results');
  const dst = join(dir, 'nosmoke', 'allure-results');
  mkdirSync(dst, { recursive: true });
  let dropped = 0;
  for (const f of readdirSync(src)) {
    if (f.endsWith('-result.json')) {
      const tr = JSON.parse(readFileSync(join(src, f), 'utf8'));
      if (tr.status === 'failed' && tr.labels.some((l: { name: string; value: string }) => l.name === 'tag' && l.value === 'smoke')) {
        dropped++;
        continue;
      }
    }
    copyFileSync(join(src, f), join(dst, f));
  }
  assert.equal(dropped, 1);
  // What remains holds a passed @smoke check with a warning: a warning is no failure for the gate.
  assert.ok(readdirSync(dst).some((f) => f.endsWith('-result.json') && readFileSync(join(dst, f), 'utf8').includes('"name":"warning"')));
  const green = await allure('quality-gate', 'nosmoke');
  assert.equal(green.code, 0, green.out);
});

test('check-allure: a failed or broken step inside a passed test, and a test that ran without an epic, are offences', () => {
  const d = join(dir, 'check', 'allure-results');
  mkdirSync(d, { recursive: true });
  const step = (name: string, status: string, steps: unknown[] = []) => ({ name, status, steps });
  const put = (id: string, r: unknown) => writeFileSync(join(d, `${id}-result.json`), JSON.stringify(r));
  const epic = [{ name: 'epic', value: 'Infrastructure' }];
  put('a', { name: 'green and clean', status: 'passed', labels: epic, steps: [step('expect answers 200', 'passed')] });
  put('b', { name: 'green outside', status: 'passed', labels: epic, parameters: [{ name: 'Project', value: 'infra' }],
    steps: [step('poll', 'passed', [step('expect certificate expired', 'failed')])] });
  put('c', { name: 'red test', status: 'failed', labels: epic, steps: [step('expect x', 'failed')] });
  put('d', { name: 'no epic', status: 'passed', labels: [], steps: [] });
  put('e', { name: 'skipped early', status: 'skipped', labels: [] });
  const r = checkAllureResults(d);
  assert.equal(r.results, 5);
  assert.equal(r.skippedWithoutEpic, 1);
  assert.deepEqual(r.problems, [
    '[infra] green outside: passed, but its step poll › expect certificate expired (failed)',
    'no epic: no epic label',
  ]);
  assert.deepEqual(checkAllureResults(join(dir, 'check', 'none')).problems, [`${join(dir, 'check', 'none')} does not exist`]);
});
