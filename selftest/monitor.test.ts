// The monitor's logic on its own: options (every bad value named), the per-check state machine (a blip is ridden
// out, "down" after N failing rounds, "up" on the first passing one, degraded, certificate warnings once a day,
// reminders), maintenance windows (alerts held, downtime inside the window), and the rounds' reading of a real
// Playwright JSON report shape. The end-to-end proof against the embedded deployment is monitor-e2e.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MonitorOptionsError, parseDuration, parseOptions } from '../helpers/monitor/options.ts';
import { applyRound, decide, forgetStale, observe, type CheckState, type Rules } from '../helpers/monitor/state.ts';
import { parseWindow, windowReport, describeWindow } from '../helpers/monitor/maintenance.ts';
import { freshState, pruneHistory, recordRound, uptime } from '../helpers/monitor/history.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readReport, type CheckResult } from '../helpers/monitor/rounds.ts';
import { suiteCheck, SUITE_CHECK_ID } from '../helpers/monitor/monitor.ts';

const RULES: Rules = { downAfter: 2, remindHours: 24, budgetMs: 3000 };
const APP = 'infra › app.spec.ts › App health › GET / answers 2xx in budget with the GadgetBot page';

function check(outcome: CheckResult['outcome'], o: Partial<CheckResult> = {}): CheckResult {
  return { id: APP, project: 'infra', area: 'app', title: 'App health › GET / answers 2xx in budget with the GadgetBot page', outcome, ms: 10, notes: [], ...o };
}
const failing = (msg = 'gadgetbot.stack.test: GET / answered 500 (the container healthcheck curl -f would fail)') =>
  check('fail', { message: msg, problems: [msg], hint: { id: 'app-unhealthy', line: 'The app answers 5xx' } });

/** Feeds rounds (one result each, a minute apart) and returns the alert kinds decided per round. */
function play(results: (CheckResult | undefined)[], rules = RULES, start = Date.parse('2026-12-01T10:00:00Z'), stepMs = 60_000) {
  const states: Record<string, CheckState> = {};
  const kinds: string[][] = [];
  results.forEach((r, i) => {
    const at = new Date(start + i * stepMs);
    applyRound(states, r ? [r] : [], i + 1, at.toISOString(), rules);
    kinds.push(decide(states, at, rules).map((d) => d.kind));
  });
  return { states, kinds };
}

describe('options', () => {
  test('durations and defaults', () => {
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('2'), 2000);
    assert.equal(parseDuration('5 minutes'), undefined);
    const o = parseOptions([], {});
    assert.equal(o.everyMs, 300_000);
    assert.equal(o.browserEvery, 6);
    assert.equal(o.downAfter, 2);
    assert.equal(o.remindHours, 24);
    assert.equal(o.rounds, undefined);
    assert.deepEqual(o.webhooks, []);
  });

  test('every bad value is named at once, and a webhook URL is never echoed', () => {
    const secretHook = 'https://hooks.slack.com/services/T000/B000/sekrit-token-123';
    let err: unknown;
    try {
      parseOptions(['--every', 'soon', '--rounds', '0', '--bogus', '--serve', '70000'], {
        MONITOR_WEBHOOKS: `${secretHook},ftp://x/y-sekrit`, MONITOR_REMIND_HOURS: '-1', MONITOR_MAINTENANCE: 'tomorrow',
      });
    } catch (e) { err = e; }
    assert.ok(err instanceof MonitorOptionsError, 'a MonitorOptionsError');
    const text = (err as Error).message;
    for (const want of [/--every "soon"/, /--rounds="0"/, /unknown argument "--bogus"/, /--serve 70000/, /MONITOR_WEBHOOKS entry #2/, /MONITOR_REMIND_HOURS/, /MONITOR_MAINTENANCE/]) {
      assert.match(text, want);
    }
    assert.doesNotMatch(text, /sekrit/);
  });

  test('--maintenance 30m starts now; MONITOR_MAINTENANCE is an ISO interval', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    const o = parseOptions(['--maintenance', '30m'], {}, now);
    assert.deepEqual([o.maintenance?.start.toISOString(), o.maintenance?.end.toISOString()], ['2026-12-01T10:00:00.000Z', '2026-12-01T10:30:00.000Z']);
    const e = parseOptions([], { MONITOR_MAINTENANCE: '2026-12-01T22:00:00Z/2026-12-01T23:00:00Z' });
    assert.equal(e.maintenance?.end.toISOString(), '2026-12-01T23:00:00.000Z');
    assert.equal(parseWindow('2026-12-01T23:00:00Z/2026-12-01T22:00:00Z'), undefined, 'end before start');
  });
});

describe('state machine', () => {
  test('a single failing round is ridden out; two make one "down"; the first pass makes one "up"', () => {
    const ok = check('pass');
    const { kinds } = play([ok, failing(), ok, failing(), failing(), failing(), failing(), ok, ok]);
    assert.deepEqual(kinds, [[], [], [], [], ['down'], [], [], ['up'], []]);
  });

  test('a check failing from the first round alerts "down"; one healthy from the start says nothing', () => {
    assert.deepEqual(play([failing(), failing(), failing()]).kinds, [[], ['down'], []]);
    assert.deepEqual(play([check('pass'), check('pass')]).kinds, [[], []]);
  });

  test('--down-after 1 alerts on the first failing round', () => {
    assert.deepEqual(play([check('pass'), failing(), check('pass')], { ...RULES, downAfter: 1 }).kinds, [[], ['down'], ['up']]);
  });

  test('a skipped check keeps its state (a browser check between browser rounds)', () => {
    const skipped = check('skipped');
    const { kinds, states } = play([failing(), skipped, failing(), skipped]);
    assert.deepEqual(kinds, [[], [], ['down'], []]);
    assert.equal(states[APP].status, 'down');
  });

  test('answers over budget make "degraded", not "down"', () => {
    const slowFail = failing('gadgetbot.stack.test: GET / took 4200 ms, budget 3000 ms');
    assert.equal(observe(slowFail, 3000), 'slow');
    const slowPass = check('pass', { notes: [{ type: 'response-ms', description: 'gadgetbot-auth.stack.test: /debug/healthz in 3500 ms' }] });
    assert.equal(observe(slowPass, 3000), 'slow');
    assert.equal(observe(check('pass', { notes: [{ type: 'response-ms', description: 'x: /debug/healthz in 35 ms' }] }), 3000), 'ok');
    assert.deepEqual(play([check('pass'), slowFail, slowPass, check('pass')]).kinds, [[], [], ['degraded'], ['up']]);
    // A mixed failure (slow AND wrong) is a failure.
    const mixed = check('fail', { problems: ['a: GET / took 4200 ms, budget 3000 ms', 'a: GET / is not the GadgetBot page'] });
    assert.equal(observe(mixed, 3000), 'fail');
  });

  test('a certificate in its warning window alerts at once, then once a day, never as "down"', () => {
    const warn = 'gadgetbot.stack.test: certificate expires in 10 days, inside the 21-day warning window (notAfter 2026-12-11T10:00:00Z): renewal is not happening';
    const c = check('fail', { message: warn, problems: [warn] });
    // Hourly rounds over 2 days.
    const { kinds } = play(Array.from({ length: 49 }, () => c), RULES, Date.parse('2026-12-01T10:00:00Z'), 3_600_000);
    const flat = kinds.map((k, i) => (k.length ? `${i}:${k.join('+')}` : '')).filter(Boolean);
    assert.deepEqual(flat, ['0:certificate', '24:certificate', '48:certificate']);
    const expired = check('fail', { problems: ['gadgetbot.stack.test: certificate expired 1 day ago (notAfter …)', warn] });
    assert.equal(observe(expired, 3000), 'fail');
  });

  test('a reminder after MONITOR_REMIND_HOURS while it stays down, and only then', () => {
    const hours = Array.from({ length: 30 }, () => failing());
    const { kinds } = play(hours, { ...RULES, remindHours: 12 }, Date.parse('2026-12-01T00:00:00Z'), 3_600_000);
    const flat = kinds.map((k, i) => (k.length ? `${i}:${k.join('+')}` : '')).filter(Boolean);
    assert.deepEqual(flat, ['1:down', '13:reminder', '25:reminder']);
  });

  test('one root cause taking down three checks is one "down" alert listing them', () => {
    const states: Record<string, CheckState> = {};
    const three = ['a', 'b', 'c'].map((x) => ({ ...failing(), id: `infra › ${x}.spec.ts › ${x}`, title: x, area: x }));
    for (let i = 1; i <= 2; i++) applyRound(states, three, i, new Date(i * 60_000).toISOString(), RULES);
    const d = decide(states, new Date(120_000), RULES);
    assert.deepEqual(d.map((x) => [x.kind, x.checks.map((c) => c.title)]), [['down', ['a', 'b', 'c']]]);
  });

  test('a check that left the @smoke set is forgotten after a week, the others kept', () => {
    const states: Record<string, CheckState> = {};
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    applyRound(states, [check('pass'), { ...check('pass'), id: 'old', title: 'old' }], 1, new Date(t0).toISOString(), RULES);
    applyRound(states, [check('pass')], 2, new Date(t0 + 8 * 86_400_000).toISOString(), RULES);
    assert.deepEqual(forgetStale(states, new Date(t0 + 8 * 86_400_000)), ['old']);
    assert.deepEqual(Object.keys(states), [APP]);
  });
});

describe('maintenance window', () => {
  test('downtime inside the window, between round starts, and the checks it hit', () => {
    const w = { start: new Date('2026-12-01T22:00:00Z'), end: new Date('2026-12-01T22:30:00Z') };
    const r = windowReport(w, [
      { at: '2026-12-01T21:59:00Z', failing: ['x'] }, // before: not counted
      { at: '2026-12-01T22:00:00Z', failing: [] },
      { at: '2026-12-01T22:05:00Z', failing: ['auth'] },
      { at: '2026-12-01T22:10:00Z', failing: ['auth', 'sign-in'] },
      { at: '2026-12-01T22:15:00Z', failing: [] },
      { at: '2026-12-01T22:25:00Z', failing: ['auth'] },
    ]);
    assert.equal(r.rounds, 5);
    assert.deepEqual(r.outages.map((o) => [o.from, o.to, o.checks]), [
      ['2026-12-01T22:05:00Z', '2026-12-01T22:15:00Z', ['auth', 'sign-in']],
      ['2026-12-01T22:25:00Z', '2026-12-01T22:30:00.000Z', ['auth']],
    ]);
    assert.equal(r.downMs, 15 * 60_000);
    assert.match(describeWindow(r), /down 15 min 0 s in 5 round\(s\)/);
  });
});

describe('history aggregates', () => {
  test('uptime per check over 24 h from hourly buckets; maintenance rounds do not count', () => {
    const s = freshState('t');
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    for (let i = 0; i < 10; i++) {
      const at = new Date(t0 + i * 600_000);
      const c = i < 3 ? failing() : check('pass');
      applyRound(s.checks, [c], i + 1, at.toISOString(), RULES);
      recordRound(s, { round: i + 1, at, ms: 100, maintenance: i === 0, checks: [c] });
    }
    // Rounds 2 and 3 failed (round 1 was maintenance): 7 of 9 counted rounds up.
    assert.equal(uptime(s, APP, 24, new Date(t0 + 6_000_000)), 7 / 9);
    // Three consecutive rounds of the same failure: one record, first and last round.
    assert.deepEqual(s.failures.map((f) => [f.round, f.lastRound, f.count]), [[1, 3, 3]]);
  });

  test('the bounded aggregates stay bounded over many rounds', () => {
    const s = freshState('t');
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    for (let i = 0; i < 3000; i++) {
      const at = new Date(t0 + i * 300_000);
      const c = i % 7 === 0 ? failing(`gadgetbot.stack.test: GET / answered 50${i % 10}`) : check('pass', { notes: [{ type: 'days-left', description: 'gadgetbot.stack.test: 89 days left (notAfter …)' }] });
      applyRound(s.checks, [c], i + 1, at.toISOString(), RULES);
      recordRound(s, { round: i + 1, at, ms: 100, maintenance: false, checks: [c] });
    }
    assert.ok(s.recent.length <= 288, `recent ${s.recent.length}`);
    assert.ok(s.buckets.length <= 7 * 24 + 1, `buckets ${s.buckets.length}`);
    assert.equal(s.failures.length, 20);
    assert.deepEqual(Object.keys(s.certs), ['gadgetbot.stack.test']);
    assert.equal(s.certs['gadgetbot.stack.test'].daysLeft, 89);
  });
});

describe('history file', () => {
  test('lines older than 8 days are dropped at start; the rest stay in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gbv-mon-hist-'));
    try {
      const file = join(dir, 'history.jsonl');
      const now = new Date('2026-12-20T00:00:00Z');
      const line = (days: number, round: number) => JSON.stringify({ round, at: new Date(now.getTime() - days * 86_400_000).toISOString() });
      writeFileSync(file, [line(10, 1), line(9, 2), line(7, 3), line(0, 4), 'not json'].join('\n') + '\n');
      assert.equal(pruneHistory(file, now), 3);
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).round), [3, 4]);
      assert.equal(pruneHistory(file, now), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('reading a round', () => {
  test("Playwright's JSON report: keyed by project, file and titles; the first error line, its problems and hint", () => {
    const msg = 'Error: gadgetbot.stack.test:41637: GET / answered 500 (the container healthcheck curl -f would fail)\n\n\u001b[2mexpect(\u001b[22mreceived).toBe(expected)\n\nExpected: true\nReceived: false';
    const report = {
      config: {}, stats: {}, errors: [],
      suites: [{
        title: 'app.spec.ts', file: 'app.spec.ts', specs: [], suites: [{
          title: 'App health', file: 'app.spec.ts', suites: [], specs: [
            { title: 'GET / answers 2xx in budget with the GadgetBot page', file: 'app.spec.ts', tags: ['@smoke'], tests: [
              { projectName: 'infra', status: 'unexpected', annotations: [], results: [{ status: 'failed', duration: 33, errors: [{ message: msg }], annotations: [{ type: 'response-ms', description: 'gadgetbot.stack.test:41637: GET / in 12 ms (budget 3000 ms)' }] }] },
            ] },
            { title: 'GET /api/auth/ok answers {"ok":true}', file: 'app.spec.ts', tags: ['@smoke'], tests: [
              { projectName: 'infra', status: 'expected', annotations: [], results: [{ status: 'passed', duration: 5, errors: [], annotations: [] }] },
            ] },
          ],
        }],
      }],
    };
    const { checks, errors } = readReport(report as never);
    assert.deepEqual(errors, []);
    assert.deepEqual(checks.map((c) => [c.id, c.outcome]), [
      [APP, 'fail'],
      ['infra › app.spec.ts › App health › GET /api/auth/ok answers {"ok":true}', 'pass'],
    ]);
    assert.equal(checks[0].message, 'gadgetbot.stack.test:41637: GET / answered 500 (the container healthcheck curl -f would fail)');
    assert.deepEqual(checks[0].problems, [checks[0].message]);
    assert.equal(checks[0].hint?.id, 'app-unhealthy');
    assert.equal(checks[0].notes[0].type, 'response-ms');
  });

  test('errors outside any test (preflight) fail the suite check; none pass it', () => {
    const bad = suiteCheck({ errors: ['preflight failed: no host reachable: gadgetbot.stack.test: NXDOMAIN'], ms: 1 });
    assert.equal(bad.id, SUITE_CHECK_ID);
    assert.equal(bad.outcome, 'fail');
    assert.match(bad.message!, /NXDOMAIN/);
    assert.equal(suiteCheck({ errors: [], ms: 1 }).outcome, 'pass');
  });
});
