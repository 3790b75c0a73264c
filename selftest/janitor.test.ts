// bin/janitor.ts: the plan (pure) and the real thing against a fresh embedded stack — it signs in through
// Login V2 itself, removes only the suite's records from older runs, and prints no secret.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { loadConfig, generateRunId, type Target } from '../helpers/config.ts';
import { closeDispatcher } from '../helpers/http.ts';
import { AppApi, type Bot } from '../fixtures/api.ts';
import { adminCookie, planCleanup, runJanitor } from '../bin/janitor.ts';
import { startStack, type StackHandle } from '../stack/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
const bot = (name: string, id = name): Bot => ({ id, name, type: 'cleaning', status: 'available', batteryLife: 8, maxLoadCapacity: 15 });

describe('planCleanup', () => {
  const t = { testDataPrefix: 'gbv-', runId: '20251125T120000-abcdef' };
  test('removes only prefixed records of older runs; keeps current, newer, unparseable; ignores foreign', () => {
    const p = planCleanup([
      bot('gbv-20251125T115959-000001-aaaaaa'), // one second older
      bot('gbv-20200101T000000-123456-bbbbbb'),
      bot('gbv-20251125T120000-abcdef-cccccc'), // current run
      bot('gbv-20251125T120000-ffffff-dddddd'), // another run started the same second
      bot('gbv-29991231T235959-000000-eeeeee'), // newer
      bot('gbv-manual-entry'),
      bot('gbv-my-run-ffffff'), // run id without a stamp
      bot('Cleaner One'),
      bot('GBV-20200101T000000-123456-ffffff'), // prefix is case-sensitive
    ], t);
    assert.deepEqual(p.remove.map((r) => r.bot.name), ['gbv-20251125T115959-000001-aaaaaa', 'gbv-20200101T000000-123456-bbbbbb']);
    assert.deepEqual(p.remove.map((r) => r.runId), ['20251125T115959-000001', '20200101T000000-123456']);
    assert.deepEqual(Object.fromEntries(p.keep.map((k) => [k.bot.name, k.why])), {
      'gbv-20251125T120000-abcdef-cccccc': 'current run',
      'gbv-20251125T120000-ffffff-dddddd': 'same time or newer run',
      'gbv-29991231T235959-000000-eeeeee': 'same time or newer run',
      'gbv-manual-entry': 'no sortable run id in the name',
      'gbv-my-run-ffffff': 'no sortable run id in the name',
    });
    assert.equal(p.foreign, 2);
  });
  test('a grace period spares recent runs; a hand-set RUN_ID without a stamp counts as now', () => {
    const recent = bot('gbv-20251125T114500-000001-aaaaaa'); // 15 min before the current run
    assert.deepEqual(planCleanup([recent], t, new Date(), 30 * 60_000).keep.map((k) => k.why), ['within the 30 min grace']);
    assert.equal(planCleanup([recent], t, new Date(), 10 * 60_000).remove.length, 1);
    const now = new Date(Date.UTC(2025, 10, 25, 12, 0, 0));
    const p = planCleanup([recent, bot('gbv-20251125T120001-000001-aaaaaa')], { testDataPrefix: 'gbv-', runId: 'nightly' }, now);
    assert.deepEqual(p.remove.map((r) => r.bot.name), ['gbv-20251125T114500-000001-aaaaaa']);
  });
});

describe('janitor against the embedded stack', { timeout: 300_000 }, () => {
  let stack: StackHandle;
  let t: Target;
  let api: AppApi;
  let cookie: string;
  const runId = generateRunId();
  const names = {
    old: 'gbv-20200101T000000-0a0a0a-111111',
    current: `gbv-${runId}-222222`,
    newer: 'gbv-29991231T235959-0b0b0b-333333',
    manual: 'gbv-manual-entry',
    foreign: 'Cleaner One (janitor selftest)',
  };

  before(async () => {
    stack = await startStack();
    t = loadConfig({ ...stack.env, RUN_ID: runId });
    cookie = await adminCookie(t);
    api = new AppApi(t, cookie);
    for (const name of Object.values(names)) await api.create({ name, type: 'cleaning' });
  });

  after(async () => {
    if (t) await closeDispatcher(t);
    await stack?.stop();
  });

  test('a dry run lists what it would remove and removes nothing', async () => {
    const lines: string[] = [];
    const r = await runJanitor(t, { dryRun: true, cookie, log: (s) => lines.push(s) });
    assert.deepEqual(r.removed, [names.old]);
    assert.ok(lines.some((l) => l.startsWith(`would remove  ${names.old}`)), lines.join('\n'));
    assert.ok((await api.list()).some((b) => b.name === names.old), 'the dry run deleted a bot');
  });

  test('npm run janitor signs in, removes the older run\'s record only, prints it, leaks no password', async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(APP_URL|AUTH_URL|RUN_ID)$/.test(k)) env[k] = v;
    Object.assign(env, stack.env, { RUN_ID: runId, GBV_NO_DOTENV: '1' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/janitor.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const code = await new Promise<number | null>((res) => child.on('close', res));
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`^removed\\s+${names.old}\\s+\\(run 20200101T000000-0a0a0a`, 'm'));
    assert.match(out, new RegExp(`^kept\\s+${names.current}\\s+\\(current run\\)`, 'm'));
    assert.match(out, /removed 1, kept 3, failed 0; 1 bots without the prefix untouched/);
    for (const secret of [t.users.admin.password, t.users.viewer?.password]) if (secret) assert.ok(!out.includes(secret), 'a password reached the output');
    const left = (await api.list()).map((b) => b.name).sort();
    assert.deepEqual(left, [names.current, names.foreign, names.manual, names.newer].sort());
  });
});
