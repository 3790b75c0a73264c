// The monitor's loop around the rounds: which rounds carry the browser sign-in, a missing Chromium as a set-up
// problem (skipped, said once), and an alert decided but not yet delivered when the monitor dies being sent by the
// next start. The rounds' results here are given (what Playwright reported in the end-to-end run's rounds); the
// rounds themselves — the suite through Playwright against a real deployment — are proven in monitor-e2e.test.ts.
// Files are real (a temp folder), the webhook receiver is real HTTP.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Monitor } from '../helpers/monitor/monitor.ts';
import { parseOptions } from '../helpers/monitor/options.ts';
import type { RoundRun, RunRoundOptions } from '../helpers/monitor/rounds.ts';
import { Receiver } from './lib/webhook-receiver.ts';
import { ROOT } from './lib/run-suite.ts';

const TARGET = {
  TARGET_NAME: 'loop-test', APP_URL: 'https://gadgetbot.example', AUTH_URL: 'https://auth.example', ADMIN_USER: 'gbv-admin',
  ADMIN_PASSWORD: 'Loop-Test-Password-Aa1', RESOLVE_VIA_DNS_SERVERS: 'false',
};
const failingRound = (browser: boolean): RoundRun => ({
  browser, ms: 1200, errors: [],
  checks: [{
    id: 'infra › app.spec.ts › App health › GET /', project: 'infra', area: 'app', title: 'App health › GET /', outcome: 'fail', ms: 30, notes: [],
    message: 'gadgetbot.example: GET / answered 500', problems: ['gadgetbot.example: GET / answered 500'], hint: { id: 'app-unhealthy', line: 'The app answers 5xx' },
  }],
});

describe('monitor loop', () => {
  const rx = new Receiver();
  const dirs: string[] = [];
  before(() => rx.start());
  after(async () => {
    await rx.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'gbv-monitor-loop-')); dirs.push(d); return d; };

  test('the browser sign-in rides on rounds 1, 1+k, 1+2k …; a missing Chromium skips it, said once', async () => {
    const dir = tmp();
    const asked: boolean[] = [];
    const lines: string[] = [];
    const runRound = async (o: RunRoundOptions) => { asked.push(o.browser); return failingRound(o.browser); };
    const m = new Monitor(parseOptions(['--every', '1ms', '--rounds', '7', '--browser-every', '3', '--dir', dir], {}), TARGET, { runRound, log: (l) => lines.push(l) });
    await m.start();
    await m.loop();
    await m.close();
    assert.deepEqual(asked, [true, false, false, true, false, false, true]);

    const dir2 = tmp();
    const asked2: boolean[] = [];
    const lines2: string[] = [];
    const m2 = new Monitor(parseOptions(['--every', '1ms', '--rounds', '4', '--browser-every', '1', '--dir', dir2], {}),
      TARGET, { runRound: async (o) => { asked2.push(o.browser); return failingRound(o.browser); }, log: (l) => lines2.push(l) });
    const saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = '/nonexistent/chromium';
    try {
      await m2.start();
      await m2.loop();
      await m2.close();
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH; else process.env.CHROMIUM_PATH = saved;
    }
    assert.deepEqual(asked2, [false, false, false, false]);
    assert.equal(lines2.filter((l) => /browser sign-in skipped this round: CHROMIUM_PATH .* does not exist/.test(l)).length, 1, lines2.join('\n'));
  });

  test('an alert decided but undelivered when the monitor died is delivered by the next start; then never again', async () => {
    const dir = tmp();
    const path = '/services/T0LOOP/B0LOOP/loopToken99';
    // The receiver is away at first: every attempt is refused by a 503 until the monitor "dies".
    rx.always[path] = 503;
    const env = { MONITOR_WEBHOOKS: rx.url(path), MONITOR_RETRY_BASE_MS: '60000', MONITOR_RETRY_ATTEMPTS: '2' };
    const opts = parseOptions(['--every', '1ms', '--rounds', '2', '--browser-every', '0', '--dir', dir], env);
    // The first monitor runs in a child process, to die for real (SIGKILL) while its delivery waits out a 60 s back-off.
    const script = `
      import { Monitor } from ${JSON.stringify(join(ROOT, 'helpers', 'monitor', 'monitor.ts'))};
      import { parseOptions } from ${JSON.stringify(join(ROOT, 'helpers', 'monitor', 'options.ts'))};
      const round = ${JSON.stringify(failingRound(false))};
      const m = new Monitor(parseOptions(${JSON.stringify(['--every', '1ms', '--rounds', '2', '--browser-every', '0', '--dir', dir])}, ${JSON.stringify(env)}),
        ${JSON.stringify(TARGET)}, { runRound: async () => round, log: () => undefined });
      await m.start();
      await m.loop();
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    await rx.until(() => rx.of(path).length >= 1, 60_000, 'the first attempt');
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { round: number; outbox: { alert: { kind: string } }[] };
    assert.equal(saved.round, 2);
    assert.deepEqual(saved.outbox.map((o) => o.alert.kind), ['down']);

    delete rx.always[path];
    const before = rx.of(path).length;
    const second = new Monitor({ ...opts, rounds: 1, retryBaseMs: 10 }, TARGET, { runRound: async () => failingRound(false), log: () => undefined });
    await second.start();
    await rx.until(() => rx.of(path).length > before, 10_000, 'the re-sent alert');
    await second.loop();
    await second.close();
    const resent = rx.of(path).slice(before);
    assert.equal(resent.length, 1, 'the undelivered alert once; round 3 (still down) adds nothing');
    assert.match(JSON.parse(resent[0].body).text, /^DOWN on loop-test: App health › GET \//);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { round: number; outbox: unknown[] };
    assert.equal(state.round, 3);
    assert.deepEqual(state.outbox, []);
    assert.ok(!readFileSync(join(dir, 'state.json'), 'utf8').includes(path), 'the state names channels by a hash, never by URL');
  });
});
