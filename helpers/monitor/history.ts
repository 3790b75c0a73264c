// What the monitor remembers: history.jsonl (one line per round, append-only), state.json (the state machine, the
// undelivered alerts, the aggregates the status page needs), alerts.jsonl (every alert and every delivery). All of
// it bounded — the hourly buckets cover 7 days, the recent rounds the chart's 24 hours at most — so memory stays
// flat however long the monitor runs, and all of it redacted before it is written.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactText, type SecretInput } from '../redact.ts';
import type { Alert, DeliveryResult } from './alerts.ts';
import type { WindowRound } from './maintenance.ts';
import type { CheckResult } from './rounds.ts';
import type { CheckState } from './state.ts';

export const RECENT_MAX = 288;
export const FAILURES_MAX = 20;
export const OUTBOX_MAX = 50;
export const ALERTS_MAX = 20;
export const ROUND_SERIES = 'round (all checks)';
const BUCKET_HOURS = 7 * 24 + 1;
const HOUR_MS = 3_600_000;

export interface RoundSummary {
  round: number;
  at: string;
  ms: number;
  maintenance: boolean;
  failing: string[];
  /** Answer times the checks measured (their `response-ms` notes), ms by what was measured. */
  series: Record<string, number>;
}
/** A failure as the page lists it: one record per streak of the same observation (first and last round, count). */
export interface FailureRecord {
  at: string; round: number; id: string; title: string; area: string; project: string; message?: string; hint?: { id: string; line: string };
  lastAt?: string; lastRound?: number; count?: number;
}
/** Rounds per check in one hour: [up, observed]. */
export interface Bucket { hour: number; checks: Record<string, [number, number]> }
export interface PendingAlert { alert: Alert; channels: string[] }
export interface CertNote { daysLeft: number; line: string; at: string }
export interface MaintenanceRecord { start: string; end: string; rounds: WindowRound[]; reported: boolean }

export interface MonitorState {
  version: 1;
  /** The target this state belongs to: another target starts afresh. */
  key: string;
  round: number;
  updatedAt: string;
  checks: Record<string, CheckState>;
  outbox: PendingAlert[];
  recent: RoundSummary[];
  buckets: Bucket[];
  failures: FailureRecord[];
  certs: Record<string, CertNote>;
  maintenance?: MaintenanceRecord;
  alertsSent: number;
  /** The last alerts decided (kind, time, headline), for the status page. */
  lastAlerts: { id: string; kind: string; at: string; headline: string }[];
}

export interface Paths { dir: string; history: string; state: string; alerts: string; page: string }

export function pathsIn(dir: string): Paths {
  return { dir, history: join(dir, 'history.jsonl'), state: join(dir, 'state.json'), alerts: join(dir, 'alerts.jsonl'), page: join(dir, 'index.html') };
}

export function freshState(key: string): MonitorState {
  return { version: 1, key, round: 0, updatedAt: new Date(0).toISOString(), checks: {}, outbox: [], recent: [], buckets: [], failures: [], certs: {}, alertsSent: 0, lastAlerts: [] };
}

/** The saved state for this target, or a fresh one (none saved, another target's, or unreadable). */
export function loadState(p: Paths, key: string, log: (l: string) => void = () => undefined): MonitorState {
  if (!existsSync(p.state)) return freshState(key);
  try {
    const s = JSON.parse(readFileSync(p.state, 'utf8')) as MonitorState;
    if (s.version !== 1 || s.key !== key) {
      log(`monitor: ${p.state} belongs to another target (${s.key}); starting a fresh state`);
      return freshState(key);
    }
    s.lastAlerts ??= [];
    return s;
  } catch (e) {
    log(`monitor: ${p.state} is unreadable (${(e as Error).message}); starting a fresh state`);
    return freshState(key);
  }
}

/** Atomic: a monitor killed while saving leaves the previous state, never half a file. */
export function saveState(p: Paths, s: MonitorState, secrets: readonly SecretInput[]): void {
  mkdirSync(p.dir, { recursive: true });
  const tmp = `${p.state}.${process.pid}.tmp`;
  writeFileSync(tmp, redactText(JSON.stringify(s), secrets));
  renameSync(tmp, p.state);
}

export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** History lines older than this are dropped when the monitor starts (the page needs 7 days). */
export const HISTORY_KEEP_DAYS = 8;

/** Rewrites history.jsonl without lines older than `keepDays` (a CI cache must not grow forever). Returns lines dropped. */
export function pruneHistory(file: string, now: Date, keepDays = HISTORY_KEEP_DAYS): number {
  if (!existsSync(file)) return 0;
  const cutoff = now.getTime() - keepDays * 24 * HOUR_MS;
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const kept = lines.filter((l) => {
    try { return Date.parse((JSON.parse(l) as { at: string }).at) >= cutoff; } catch { return false; }
  });
  if (kept.length !== lines.length) writeAtomic(file, kept.length ? `${kept.join('\n')}\n` : '');
  return lines.length - kept.length;
}

export function appendJsonl(file: string, record: unknown, secrets: readonly SecretInput[]): void {
  appendFileSync(file, `${redactText(JSON.stringify(record), secrets)}\n`);
}

/** A stable, secret-free name for a channel entry (its URL holds a token): what the outbox remembers. */
export function channelKey(entry: string): string {
  return createHash('sha256').update(entry).digest('hex').slice(0, 16);
}

function seriesOf(checks: readonly CheckResult[], roundMs: number): Record<string, number> {
  const out: Record<string, number> = { [ROUND_SERIES]: roundMs };
  for (const c of checks) {
    for (const n of c.notes) {
      if (n.type !== 'response-ms') continue;
      const m = /^(.*?):?\s+in (\d+) ms\b/.exec(n.description);
      if (m) out[m[1].replace(/:\d+(?=:|$)/, '')] = Number(m[2]);
    }
  }
  return out;
}

const DAYS_LEFT = /^(\S+?):\s+(-?\d+) days? left/;

/** Folds one round into the aggregates: recent rounds, hourly uptime buckets, failures, certificates. */
export function recordRound(s: MonitorState, r: { round: number; at: Date; ms: number; maintenance: boolean; checks: readonly CheckResult[] }): void {
  const failing = r.checks.filter((c) => c.outcome === 'fail' && s.checks[c.id]?.lastObservation === 'fail').map((c) => c.id);
  s.recent.push({ round: r.round, at: r.at.toISOString(), ms: r.ms, maintenance: r.maintenance, failing, series: seriesOf(r.checks, r.ms) });
  const cutoff = r.at.getTime() - 24 * HOUR_MS;
  while (s.recent.length > RECENT_MAX || (s.recent.length && Date.parse(s.recent[0].at) < cutoff)) s.recent.shift();
  if (!r.maintenance) {
    // Maintenance rounds count neither for nor against uptime (the downtime was planned).
    const hour = Math.floor(r.at.getTime() / HOUR_MS);
    let b = s.buckets[s.buckets.length - 1];
    if (!b || b.hour !== hour) s.buckets.push((b = { hour, checks: {} }));
    for (const c of r.checks) {
      const obs = s.checks[c.id]?.lastObservation;
      if (c.outcome === 'skipped' || !obs) continue;
      const cell = (b.checks[c.id] ??= [0, 0]);
      cell[1]++;
      if (obs !== 'fail') cell[0]++;
    }
    while (s.buckets.length && s.buckets[0].hour <= hour - BUCKET_HOURS) s.buckets.shift();
  }
  for (const c of r.checks) {
    if (c.outcome === 'fail') {
      // A streak of the same failure is one record (a certificate warning every round must not push out the outage).
      const same = [...s.failures].reverse().find((f) => f.id === c.id);
      if (same && same.message === c.message && (same.lastRound ?? same.round) === r.round - 1) {
        Object.assign(same, { lastAt: r.at.toISOString(), lastRound: r.round, count: (same.count ?? 1) + 1 });
      } else {
        s.failures.push({ at: r.at.toISOString(), round: r.round, id: c.id, title: c.title, area: c.area, project: c.project, message: c.message, hint: c.hint });
      }
    }
    for (const n of c.notes) {
      const m = n.type === 'days-left' ? DAYS_LEFT.exec(n.description) : null;
      if (m) s.certs[m[1]] = { daysLeft: Number(m[2]), line: n.description, at: r.at.toISOString() };
    }
  }
  if (s.failures.length > FAILURES_MAX) s.failures.splice(0, s.failures.length - FAILURES_MAX);
}

/** Uptime of a check over the last `hours` (fraction of observed, non-maintenance rounds not failing), or undefined. */
export function uptime(s: MonitorState, id: string, hours: number, now: Date): number | undefined {
  const from = Math.floor(now.getTime() / HOUR_MS) - hours;
  let up = 0;
  let total = 0;
  for (const b of s.buckets) {
    if (b.hour <= from) continue;
    const cell = b.checks[id];
    if (cell) { up += cell[0]; total += cell[1]; }
  }
  return total ? up / total : undefined;
}

/** One history line: the round as observed, the states after it, the alerts it raised. */
export function historyLine(r: { round: number; at: Date; ms: number; maintenance: boolean; browser: boolean; checks: readonly CheckResult[]; errors: string[] }, s: MonitorState, alerts: readonly Alert[]) {
  return {
    round: r.round,
    at: r.at.toISOString(),
    ms: r.ms,
    browser: r.browser,
    maintenance: r.maintenance,
    errors: r.errors,
    checks: r.checks.map((c) => ({
      id: c.id, outcome: c.outcome, ms: c.ms, status: s.checks[c.id]?.status,
      ...(c.message ? { message: c.message } : {}), ...(c.hint ? { hint: c.hint.id } : {}),
    })),
    alerts: alerts.map((a) => ({ id: a.id, kind: a.kind, checks: a.checks.map((c) => c.id) })),
  };
}

export function logDelivery(p: Paths, a: Alert, d: DeliveryResult, secrets: readonly SecretInput[]): void {
  appendJsonl(p.alerts, { type: 'delivery', at: new Date().toISOString(), alert: a.id, kind: a.kind, channel: d.channel, ok: d.ok, attempts: d.attempts }, secrets);
}
