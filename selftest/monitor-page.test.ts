// The status page as a person sees it: a state built by the monitor's own functions over a day of rounds (an
// outage, a slow spell, a certificate in its warning window, a maintenance window), rendered, served on loopback by
// `serveStatusPage` and read in a real Chromium: states, uptimes, the charts' lines, certificates, failures with
// their hints, the alerts — and no secret, and nothing but the page served.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import { pickChromium } from '../helpers/browser.ts';
import { freshState, recordRound } from '../helpers/monitor/history.ts';
import type { CheckResult } from '../helpers/monitor/rounds.ts';
import { applyRound, decide, type Rules } from '../helpers/monitor/state.ts';
import { renderPage, serveStatusPage } from '../helpers/monitor/status-page.ts';

const RULES: Rules = { downAfter: 2, remindHours: 24, budgetMs: 3000 };
const SECRET = 'Pa55-never-on-the-page-Aa1';
const T0 = Date.parse('2026-12-01T00:00:00Z');

function round(i: number): CheckResult[] {
  const app: CheckResult = i >= 100 && i < 110
    ? { id: 'infra › app.spec.ts › App health › GET /', project: 'infra', area: 'app', title: 'App health › GET /', outcome: 'fail', ms: 20, notes: [],
      message: `gadgetbot.example: GET / answered 500 (token ${SECRET})`, problems: ['gadgetbot.example: GET / answered 500'], hint: { id: 'app-unhealthy', line: 'The app answers 5xx on / Fix: read the app logs' } }
    : { id: 'infra › app.spec.ts › App health › GET /', project: 'infra', area: 'app', title: 'App health › GET /', outcome: 'pass', ms: 20,
      notes: [{ type: 'response-ms', description: `gadgetbot.example:443: GET / in ${40 + (i % 7) * 5} ms (budget 3000 ms)` }] };
  const warn = 'gadgetbot.example: certificate expires in 10 days, inside the 21-day warning window (notAfter 2026-12-11T00:00:00Z): renewal is not happening';
  const tls: CheckResult = { id: 'infra › tls.spec.ts › TLS › app host', project: 'infra', area: 'tls', title: 'TLS › app host: valid certificate', outcome: 'fail', ms: 30,
    message: warn, problems: [warn], notes: [{ type: 'days-left', description: 'gadgetbot.example: 10 days left (notAfter 2026-12-11T00:00:00Z; warning window 21 days)' }] };
  const auth: CheckResult = { id: 'infra › auth.spec.ts › Auth health › healthz', project: 'infra', area: 'auth', title: 'Auth health › GET /debug/healthz answers 200', outcome: 'pass', ms: 10,
    notes: [{ type: 'response-ms', description: `auth.example: /debug/healthz in ${i >= 200 && i < 204 ? 3500 : 30} ms` }] };
  return [app, tls, auth];
}

describe('status page in Chromium', () => {
  let dir: string;
  let server: Server;
  let browser: Browser;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gbv-monitor-page-'));
    const s = freshState('example');
    // 288 rounds, 5 minutes apart (one day); 150–160 inside a maintenance window.
    for (let i = 1; i <= 288; i++) {
      const at = new Date(T0 + i * 300_000);
      const checks = round(i);
      applyRound(s.checks, checks, i, at.toISOString(), RULES);
      const maintenance = i >= 150 && i < 160;
      recordRound(s, { round: i, at, ms: 2500, maintenance, checks });
      if (!maintenance) for (const d of decide(s.checks, at, RULES)) s.lastAlerts.push({ id: String(i), kind: d.kind, at: at.toISOString(), headline: `${d.kind.toUpperCase()}: ${d.checks[0].title}` });
      s.round = i;
    }
    s.maintenance = { start: new Date(T0 + 150 * 300_000).toISOString(), end: new Date(T0 + 160 * 300_000).toISOString(), rounds: [], reported: true };
    const file = join(dir, 'index.html');
    writeFileSync(file, renderPage(s, { targetName: 'example', targetUrl: 'https://gadgetbot.example', everyMs: 300_000, now: new Date(T0 + 289 * 300_000), inMaintenance: false }, [SECRET]));
    server = await serveStatusPage(file, 0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: pickChromium().path, headless: true });
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('states, uptimes, charts, certificates, failures and alerts read as they should', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${base}/`);
    assert.equal(res?.status(), 200);
    assert.equal(res?.headers()['cache-control'], 'no-store');
    await page.locator('#overall').waitFor();
    assert.equal(await page.locator('#overall').innerText(), '1 check(s) degraded', 'the certificate warning, nothing down');
    const row = (text: string) => page.locator('#checks tbody tr', { hasText: text });
    assert.equal(await row('App health').locator('td.st').getAttribute('data-status'), 'up');
    assert.equal(await row('TLS').locator('td.st').innerText(), 'certificate warning');
    // Uptime counts hourly buckets: 24 h = the current hour and the 23 before it (rounds 12–288 here), 7 d = all of
    // it; the 10 failing rounds in both, the 10 maintenance rounds in neither.
    const pctOf = (up: number, n: number) => `${(Math.floor((up / n) * 10000) / 100).toFixed(2)} %`;
    const cells = await row('App health').locator('td').allInnerTexts();
    assert.equal(cells[5], pctOf(277 - 10 - 10, 277 - 10));
    assert.equal(cells[6], pctOf(288 - 10 - 10, 288 - 10));
    assert.equal(await page.locator('#certificates tr[data-host="gadgetbot.example"] td.days').innerText(), '10');
    const points = await page.locator('#response-chart polyline').evaluateAll((ls) => ls.map((l) => [l.getAttribute('data-series'), (l.getAttribute('points') ?? '').trim().split(/\s+/).length]));
    assert.deepEqual(points.map(([n]) => n).sort(), ['auth.example: /debug/healthz', 'gadgetbot.example: GET /']);
    assert.ok(points.every(([, n]) => Number(n) >= 250), `one point per round: ${JSON.stringify(points)}`);
    assert.equal(await page.locator('#round-chart polyline').count(), 1);
    assert.ok(await page.locator('#failures tbody tr', { hasText: 'GET / answered 500' }).count() > 0);
    assert.match(await page.locator('#failures tbody tr').first().innerText(), /app-unhealthy/);
    const kinds = await page.locator('#alerts tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-kind')));
    for (const k of ['down', 'up', 'degraded', 'certificate']) assert.ok(kinds.includes(k), `alerts shown: ${kinds.join(', ')}`);
    assert.match(await page.locator('#maintenance').innerText(), /maintenance window .* closed/);
    assert.doesNotMatch(await page.content(), new RegExp(SECRET));
    await page.close();
  });

  test('only the page is served; no write methods', async () => {
    const other = await fetch(`${base}/state.json`);
    assert.equal(other.status, 404);
    const post = await fetch(`${base}/`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal((server.address() as AddressInfo).address, '127.0.0.1');
  });
});
