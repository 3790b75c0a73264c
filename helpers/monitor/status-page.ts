// The status page: one self-contained HTML file (no script, no external asset), rewritten after every round,
// so it reads the same from disk, from a CI artifact, or served on loopback by `--serve PORT`.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { redactText, type SecretInput } from '../redact.ts';
import { describeWindow, windowReport, fmtMs } from './maintenance.ts';
import { ROUND_SERIES, uptime, type MonitorState, type RoundSummary } from './history.ts';
import type { CheckState } from './state.ts';

const esc = (s: unknown) => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(Math.floor(v * 10000) / 100).toFixed(2)} %`);

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f'];

export interface PageContext { targetName: string; targetUrl: string; everyMs: number; now: Date; inMaintenance: boolean }

function statusCell(s: CheckState): string {
  const label = s.status === 'up' && s.failStreak > 0 ? `up (failing ${s.failStreak})` : s.status === 'warning' ? 'certificate warning' : s.status;
  return `<td class="st ${esc(s.status)}" data-status="${esc(s.status)}">${esc(label)}</td>`;
}

function checksTable(state: MonitorState, now: Date): string {
  const rows = Object.values(state.checks)
    .sort((a, b) => `${a.project} ${a.area}`.localeCompare(`${b.project} ${b.area}`))
    .map((s) => `<tr data-check="${esc(s.id)}"><td>${esc(s.project)}/${esc(s.area)}</td><td>${esc(s.title)}${s.lastRound < state.round ? ` <i>(last run in round ${s.lastRound})</i>` : ''}</td>${statusCell(s)}<td>${esc(s.since)}</td>`
      + `<td class="obs">${esc(s.status === 'up' && !s.failStreak ? '' : s.message ?? '')}</td>`
      + `<td>${pct(uptime(state, s.id, 24, now))}</td><td>${pct(uptime(state, s.id, 24 * 7, now))}</td></tr>`);
  return `<table id="checks"><thead><tr><th>area</th><th>check</th><th>state</th><th>since</th><th>observed</th><th>uptime 24 h</th><th>uptime 7 d</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Response times over the recent rounds: one polyline per measured series, an SVG with axes and a legend. */
export function chart(recent: readonly RoundSummary[], id: string, pick: (series: string) => boolean): string {
  const names = [...new Set(recent.flatMap((r) => Object.keys(r.series)))].filter(pick).slice(0, COLORS.length);
  if (!recent.length || !names.length) return `<p id="${id}">No measurements yet.</p>`;
  const W = 900, H = 240, L = 56, B = 24, T = 10;
  const t0 = Date.parse(recent[0].at);
  const t1 = Math.max(t0 + 1, Date.parse(recent[recent.length - 1].at));
  const max = Math.max(1, ...recent.flatMap((r) => names.map((n) => r.series[n] ?? 0)));
  const x = (at: string) => L + ((Date.parse(at) - t0) / (t1 - t0)) * (W - L - 10);
  const y = (v: number) => T + (1 - v / max) * (H - T - B);
  const lines = names.map((n, i) => {
    const pts = recent.filter((r) => r.series[n] !== undefined).map((r) => `${x(r.at).toFixed(1)},${y(r.series[n]).toFixed(1)}`);
    const dots = pts.length === 1 ? `<circle cx="${pts[0].split(',')[0]}" cy="${pts[0].split(',')[1]}" r="3" fill="${COLORS[i]}"/>` : '';
    return `<polyline data-series="${esc(n)}" fill="none" stroke="${COLORS[i]}" stroke-width="1.5" points="${pts.join(' ')}"/>${dots}`;
  });
  const maint = recent.filter((r) => r.maintenance).map((r) => `<rect x="${(x(r.at) - 2).toFixed(1)}" y="${T}" width="4" height="${H - T - B}" fill="#fde68a"/>`);
  const axis = `<line x1="${L}" y1="${H - B}" x2="${W - 10}" y2="${H - B}" stroke="#999"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#999"/>`
    + `<text x="4" y="${T + 10}" font-size="11">${esc(fmtMs(max))}</text><text x="4" y="${H - B}" font-size="11">0</text>`
    + `<text x="${L}" y="${H - 6}" font-size="11">${esc(recent[0].at)}</text><text x="${W - 200}" y="${H - 6}" font-size="11">${esc(recent[recent.length - 1].at)}</text>`;
  const legend = names.map((n, i) => `<li><span style="background:${COLORS[i]}"></span>${esc(n)}</li>`).join('');
  return `<svg id="${id}" role="img" aria-label="${id}" viewBox="0 0 ${W} ${H}" width="100%">${maint.join('')}${axis}${lines.join('')}</svg><ul class="legend">${legend}</ul>`;
}

function alertsTable(state: MonitorState): string {
  if (!state.lastAlerts?.length) return '<p id="alerts">No alert yet.</p>';
  const rows = [...state.lastAlerts].reverse().map((a) => `<tr data-kind="${esc(a.kind)}"><td>${esc(a.at)}</td><td>${esc(a.kind)}</td><td>${esc(a.headline)}</td></tr>`);
  return `<table id="alerts"><thead><tr><th>at</th><th>kind</th><th>alert</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function failuresTable(state: MonitorState): string {
  if (!state.failures.length) return '<p id="failures">No failures recorded.</p>';
  const rows = [...state.failures].reverse().map((f) => `<tr><td>${esc(f.at)}${f.count ? `<br>… ${esc(f.lastAt)} (${f.count} rounds)` : ''}</td><td>${esc(f.project)}/${esc(f.area)}</td><td>${esc(f.title)}</td>`
    + `<td>${esc(f.message)}</td><td>${f.hint ? `<b>${esc(f.hint.id)}</b>: ${esc(f.hint.line)}` : '—'}</td></tr>`);
  return `<table id="failures"><thead><tr><th>at</th><th>area</th><th>check</th><th>observed</th><th>likely cause</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function certsTable(state: MonitorState): string {
  const entries = Object.entries(state.certs);
  if (!entries.length) return '<p id="certificates">No certificate seen yet.</p>';
  const rows = entries.sort().map(([host, c]) => `<tr data-host="${esc(host)}"><td>${esc(host)}</td><td class="days">${esc(c.daysLeft)}</td><td>${esc(c.line)}</td><td>${esc(c.at)}</td></tr>`);
  return `<table id="certificates"><thead><tr><th>host</th><th>days left</th><th>as measured</th><th>at</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function maintenanceBlock(state: MonitorState, inMaintenance: boolean): string {
  const m = state.maintenance;
  if (!m) return '';
  const rep = windowReport({ start: new Date(m.start), end: new Date(m.end) }, m.rounds);
  const text = inMaintenance ? `Maintenance window ${m.start} → ${m.end} in progress: alerts are held (down so far ${fmtMs(rep.downMs)}).` : describeWindow(rep);
  return `<p id="maintenance" class="maint">${esc(text)}</p>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#111}table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f3f4f6}.st.up{background:#dcfce7}
.st.down{background:#fecaca;font-weight:bold}.st.degraded,.st.warning{background:#fef3c7}.st.unknown{background:#e5e7eb}
.maint{background:#fde68a;padding:6px}.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1em}
.legend span{display:inline-block;width:12px;height:12px;margin-right:4px}.obs{max-width:40em;word-break:break-word}`;

export function renderPage(state: MonitorState, ctx: PageContext, secrets: readonly SecretInput[]): string {
  const all = Object.values(state.checks);
  const down = all.filter((s) => s.status === 'down').length;
  const degraded = all.filter((s) => s.status === 'degraded' || s.status === 'warning').length;
  const overall = down ? `${down} check(s) down` : degraded ? `${degraded} check(s) degraded` : all.length ? 'all checks up' : 'no round yet';
  const refresh = Math.max(5, Math.round(ctx.everyMs / 1000));
  const last = state.recent[state.recent.length - 1];
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${refresh}">
<title>GadgetBot status — ${esc(ctx.targetName)}</title><style>${CSS}</style></head><body>
<h1>GadgetBot status: <span id="overall" data-down="${down}">${esc(overall)}</span></h1>
<p>Target <b>${esc(ctx.targetName)}</b> ${esc(ctx.targetUrl)} · round <span id="round">${state.round}</span> at ${esc(last?.at ?? '—')}${last ? ` (${esc(fmtMs(last.ms))})` : ''} · page written ${esc(ctx.now.toISOString())}</p>
${maintenanceBlock(state, ctx.inMaintenance)}
<h2>Checks</h2>${checksTable(state, ctx.now)}
<h2>Response times</h2>${chart(state.recent, 'response-chart', (n) => n !== ROUND_SERIES)}
<h2>Round duration</h2>${chart(state.recent, 'round-chart', (n) => n === ROUND_SERIES)}
<h2>Alerts sent</h2>${alertsTable(state)}
<h2>Certificates</h2>${certsTable(state)}
<h2>Last failures</h2>${failuresTable(state)}
</body></html>\n`;
  return redactText(html, secrets);
}

/** Serves the page (and only the page) from `file`; loopback unless told otherwise. */
export function serveStatusPage(file: string, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405).end(); return; }
    if (path !== '/' && path !== '/index.html') { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'); return; }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(req.method === 'HEAD' ? undefined : body),
      () => res.writeHead(503, { 'content-type': 'text/plain' }).end('no round yet\n'),
    );
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res(server));
  });
}
