// The monitor end to end, for real: one embedded deployment, `bin/monitor.ts` as a child process running the
// suite's @smoke checks through Playwright, a real webhook receiver over HTTP (one channel healthy, one answering
// 500), the status page served on loopback and read in a real Chromium.
//   1. app-health-failing switched on after round 1 and off after the round that alerted "down", of `--every 5s
//      --rounds 6`, stopped with SIGTERM (as Ctrl-C) once "up" was alerted: exactly one "down" and one "up" alert
//      naming the app health check; the 500 channel gets its retries; the monitor goes on; no secret anywhere; the
//      page shows both.
//   2. A maintenance window: rounds inside it hold their alerts; the first round after it reports the downtime and
//      sends the held "down". Killed (SIGKILL) and restarted, the monitor continues its history and re-sends nothing.
// Rounds are few and API-level (the browser sign-in has its own suite tests) to keep the CPU cost modest.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from '../stack/process.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { startStackDetailed, type StackDetails } from '../stack/index.ts';
import { loadConfig, secretsOf } from '../helpers/config.ts';
import { pickChromium } from '../helpers/browser.ts';
import { scanText } from '../helpers/redact.ts';
import { ROOT } from './lib/run-suite.ts';
import { Receiver } from './lib/webhook-receiver.ts';

const HOOK = '/services/T0GBV/B0MON/e2eWebhookToken42';
const BROKEN = '/always-500';
const APP_CHECK = /App health › GET \/ answers 2xx in budget/;

interface Run { child: ChildProcess; lines: string[]; exit: Promise<number | null> }


/** Starts `bin/monitor.ts` against the stack; `on(re, fn)` fires once when a stdout line matches. */
function startMonitor(stack: StackDetails, dir: string, args: string[], env: Record<string, string>, hooks: [RegExp, () => unknown][] = []): Run {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(APP_URL|AUTH_URL|DEPLOYER_URL|STACK_FAULTS|MONITOR_\w+)$/.test(k)) childEnv[k] = v;
  Object.assign(childEnv, stack.env, { GBV_NO_DOTENV: '1', MONITOR_RETRY_BASE_MS: '100', FORCE_COLOR: '0' }, env);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'monitor.ts'), '--dir', dir, '--browser-every', '0', '--workers', '1', ...args], {
    cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const pending = [...hooks];
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      for (const h of pending.filter(([re]) => re.test(l))) {
        pending.splice(pending.indexOf(h), 1);
        void Promise.resolve().then(h[1]);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  return { child, lines, exit };
}

/** `npm run stack -- fault <id> on|off --run <dir>` as a separate process; resolves with its output, rejects on a non-zero exit. */
function switchFault(dir: string, id: string, state: 'on' | 'off'): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'stack.ts'), 'fault', id, state, '--run', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('close', (c) => (c === 0 ? res(out) : rej(new Error(`stack fault ${id} ${state} exited ${c}: ${out}`))));
  });
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`${what} took over ${ms / 1000} s`)), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(t); }
}

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const kindOf = (h: { body: string }) => /^(DOWN|UP|DEGRADED|CERTIFICATE|STILL DOWN|MAINTENANCE) on /.exec(JSON.parse(h.body).text)?.[1];
const historyOf = (dir: string) => readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { round: number; maintenance: boolean; alerts: { kind: string }[] });

function assertNoSecret(what: string, text: string, secrets: string[]): void {
  const found = scanText(text, secrets);
  assert.deepEqual(found, [], `${what} carries ${found.join(', ')}`);
}

describe('monitor end to end (embedded deployment, real receiver, real Chromium)', () => {
  let stack: StackDetails;
  const rx = new Receiver();
  const dirs: string[] = [];
  let secrets: string[] = [];

  before(async () => {
    await rx.start();
    rx.always[BROKEN] = 500;
    stack = await startStackDetailed({});
    secrets = [...secretsOf(loadConfig(stack.env)), HOOK];
  });
  after(async () => {
    await stack?.stop();
    await rx.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('a fault switched on after round 1 and off once it alerted: one "down", one "up"; the 500 channel retried; the page shows both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gbv-monitor-'));
    dirs.push(dir);
    const port = await freePort('127.0.0.1');
    let seenDown: Promise<{ status: string; overall: string }> | undefined;
    const switched: Promise<string>[] = [];
    const run = startMonitor(stack, dir, ['--every', '5s', '--rounds', '6', '--serve', String(port)], {
      MONITOR_WEBHOOKS: `${rx.url(HOOK)},${rx.url(BROKEN)}`, MONITOR_STATUS_URL: `http://127.0.0.1:${port}/`,
    }, [
      // From another process, as an operator's second terminal would: `npm run stack -- fault <id> on|off`.
      [/^monitor: round 1 /, () => (switched.push(switchFault(stack.dir, 'app-health-failing', 'on')))],
      // Repair at once: the page keeps showing "down" until the next round ends, which is when Chromium has read it.
      [/^monitor: round \d+ .*alerts: .*\bdown\b/, () => {
        seenDown = readPageInChromium(port);
        switched.push(switchFault(stack.dir, 'app-health-failing', 'off'));
      }],
      // Nothing is left to see after "up": stop as an operator would (the deliveries under way still finish).
      [/^monitor: round \d+ .*alerts: .*\bup\b/, () => run.child.kill('SIGTERM')],
    ]);
    const code = await within(run.exit, 600_000, 'the 6 rounds');
    assert.equal(code, 0, run.lines.slice(-20).join('\n'));
    const said = await Promise.all(switched);
    assert.equal(said.length, 2);
    assert.match(said[0], /app-health-failing on/);
    assert.match(said[1], /app-health-failing off/);

    const alerts = rx.of(HOOK).map((h) => ({ kind: kindOf(h), text: JSON.parse(h.body).text as string }));
    assert.deepEqual(alerts.map((a) => a.kind), ['DOWN', 'UP'], alerts.map((a) => a.text).join('\n---\n'));
    for (const a of alerts) assert.match(a.text, APP_CHECK);
    assert.match(alerts[0].text, /answered 500/);
    assert.match(alerts[0].text, /likely cause: /);
    assert.match(alerts[0].text, new RegExp(`status page: http://127\\.0\\.0\\.1:${port}/`));
    const history = historyOf(dir);
    // Every round recorded in order, up to the "up" one (a round the SIGTERM interrupted is not recorded).
    assert.deepEqual(history.map((h) => h.round), history.map((_, i) => i + 1));
    const downAt = history.find((h) => h.alerts.some((a) => a.kind === 'down'))!.round;
    // Switched on after round 1's line: rounds 2 and 3 fail (or 3 and 4, when round 2 ran before the switch landed).
    assert.ok(downAt === 3 || downAt === 4, `down alerted in round ${downAt}: within two rounds of the switch`);
    const upAt = history.find((h) => h.alerts.some((a) => a.kind === 'up'))!.round;
    // Repaired after the down round's line: the next round passes (or the one after, when it had begun).
    assert.ok(upAt === downAt + 1 || upAt === downAt + 2, `up alerted in round ${upAt}, down in ${downAt}`);

    // The broken channel: every alert got all four attempts; the monitor logged it and went on.
    assert.equal(rx.of(BROKEN).length, 2 * 4, `attempts on the 500 channel: ${rx.of(BROKEN).length}`);
    assert.ok(run.lines.some((l) => /alert down to json 127\.0\.0\.1:\d+ FAILED after 4 attempt/.test(l)), 'the failed delivery is logged');

    const page = readFileSync(join(dir, 'index.html'), 'utf8');
    assert.match(page, /<tr data-kind="down">/);
    assert.match(page, /<tr data-kind="up">/);
    const seen = await within(seenDown!, 60_000, 'reading the page in Chromium');
    assert.equal(seen.status, 'down', 'Chromium showed the app health check down while it was');
    assert.match(seen.overall, /check\(s\) down/);

    for (const f of ['history.jsonl', 'state.json', 'alerts.jsonl', 'index.html']) assertNoSecret(f, readFileSync(join(dir, f), 'utf8'), secrets);
    for (const h of rx.hits) assertNoSecret(`alert to ${h.path.slice(0, 10)}`, `${JSON.stringify(h.headers)} ${h.body}`, secrets);
    assertNoSecret('the terminal', run.lines.join('\n'), secrets);
  });

  test('maintenance holds alerts and reports the downtime; a killed monitor resumes without re-alerting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gbv-monitor-'));
    dirs.push(dir);
    const path = '/services/T0GBV/B0MNT/maintenanceToken7';
    // The deployment down for its maintenance: the app's health check fails in every round. One failing check, not
    // several: Playwright starts a new worker after each failed test, and every worker costs ~2.5 s of CPU.
    await stack.setFault('app-health-failing', true);
    const env = { MONITOR_WEBHOOKS: rx.url(path) };
    // The window starts when the monitor does, so its first round is inside it however busy the machine; 6 s, so
    // that usually the second round is already after it (every round costs a Playwright run). Down after one
    // failing round: the first round's "down" is the one held (the rule of two rounds is proven in monitor.test.ts).
    const first = startMonitor(stack, dir, ['--every', '5s', '--down-after', '1', '--maintenance', '6s'], env);
    await within(rx.until(() => rx.of(path).length >= 2, 300_000, 'the maintenance report and the held down alert'), 310_000, 'the window');
    // Once the monitor has recorded both deliveries (its outbox is empty), kill it as a crash would. (Killed
    // between the receiver's 200 and that record, it would re-send on resume: at least once, never lost.)
    await waitFor(() => {
      try { return (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { outbox: unknown[]; alertsSent: number }).outbox.length === 0; } catch { return false; }
    }, 30_000, 'the deliveries recorded in state.json');
    first.child.kill('SIGKILL');
    await first.exit;
    const kinds = rx.of(path).map(kindOf);
    assert.deepEqual(kinds, ['MAINTENANCE', 'DOWN']);
    const report = JSON.parse(rx.of(path)[0].body).text as string;
    assert.match(report, /maintenance window .* closed: down \d+ s in \d+ round\(s\)/);
    assert.match(JSON.parse(rx.of(path)[1].body).text, APP_CHECK);
    assert.match(JSON.parse(rx.of(path)[1].body).text, /held during the maintenance window/);
    const before = historyOf(dir);
    const inWindow = before.filter((h) => h.maintenance);
    assert.ok(inWindow.length >= 1, 'some rounds fell inside the window');
    assert.ok(inWindow.every((h) => h.alerts.length === 0), 'no alert was decided inside the window');

    const second = startMonitor(stack, dir, ['--every', '2s', '--rounds', '1', '--down-after', '1'], env);
    assert.equal(await within(second.exit, 180_000, 'the resumed round'), 0, second.lines.join('\n'));
    const last = before[before.length - 1].round;
    assert.ok(second.lines.some((l) => l.includes(`resuming after round ${last}`)), second.lines.join('\n'));
    const after = historyOf(dir);
    assert.deepEqual(after.map((h) => h.round), [...before.map((h) => h.round), last + 1]);
    assert.equal(rx.of(path).length, 2, 'nothing re-sent: the checks are still down, and that was told');
    assert.ok(existsSync(join(dir, 'index.html')));
    await stack.setFault('app-health-failing', false);
  });
});

/** Opens the served status page in a real Chromium and reads the app health check's state and the headline. */
async function readPageInChromium(port: number): Promise<{ status: string; overall: string }> {
  const browser = await chromium.launch({ executablePath: pickChromium().path, headless: true });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    const row = page.locator('#checks tr', { hasText: 'GET / answers 2xx in budget' });
    return { status: (await row.locator('td.st').getAttribute('data-status')) ?? '', overall: await page.locator('#overall').innerText() };
  } finally {
    await browser.close();
  }
}
