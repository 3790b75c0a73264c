// Alerts and their channels. An alert names the check(s), what was observed, the diagnosis hint, the target and
// the status page — never a secret: every body is redacted (helpers/redact.ts, the reporter's engine) right before
// it leaves, with the target's secrets and the webhook URLs themselves (Slack's and Discord's carry a token).
// Channels are recognised by URL: Slack-compatible incoming webhooks, Discord, ntfy, and plain JSON for the rest.
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { redactText, type SecretInput } from '../redact.ts';
import type { WindowReport } from './maintenance.ts';
import { describeWindow } from './maintenance.ts';
import type { AlertKind, CheckState, Decision } from './state.ts';

export interface AlertCheck {
  id: string;
  title: string;
  area: string;
  project: string;
  status: string;
  observed?: string;
  problems?: string[];
  hint?: { id: string; line: string };
  since: string;
}

export interface Alert {
  id: string;
  kind: AlertKind;
  at: string;
  round: number;
  target: { name: string; url: string };
  statusPage: string;
  headline: string;
  checks: AlertCheck[];
  window?: WindowReport;
  /** Held during a maintenance window and sent when it closed. */
  afterMaintenance?: boolean;
}

export type ChannelKind = 'slack' | 'discord' | 'ntfy' | 'json';

const LABEL: Record<AlertKind, string> = {
  down: 'DOWN', up: 'UP', degraded: 'DEGRADED', certificate: 'CERTIFICATE', reminder: 'STILL DOWN', maintenance: 'MAINTENANCE',
};

function alertId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function toAlertCheck(s: CheckState): AlertCheck {
  return {
    id: s.id, title: s.title, area: s.area, project: s.project, status: s.status,
    observed: s.message, problems: s.problems, hint: s.hint, since: s.since,
  };
}

export function buildAlert(d: Pick<Decision, 'kind'> & { checks: AlertCheck[] }, ctx: { round: number; at: Date; target: Alert['target']; statusPage: string; window?: WindowReport }): Alert {
  const first = d.checks[0];
  const more = d.checks.length > 1 ? ` (+${d.checks.length - 1} more)` : '';
  const what = d.kind === 'maintenance' && ctx.window ? describeWindow(ctx.window)
    : first ? `${first.title} [${first.project}/${first.area}]${more}${first.observed && d.kind !== 'up' ? `: ${first.observed}` : ''}` : '';
  return {
    id: alertId(), kind: d.kind, at: ctx.at.toISOString(), round: ctx.round, target: ctx.target, statusPage: ctx.statusPage,
    headline: `${LABEL[d.kind]} on ${ctx.target.name}: ${what}`.slice(0, 600), checks: d.checks, window: ctx.window,
  };
}

/** Plain text of an alert: the headline, then one block per check (observed, hint), then the status page. */
export function alertText(a: Alert, max = 3500): string {
  const lines = [a.headline];
  if (a.afterMaintenance) lines.push('(held during the maintenance window)');
  for (const c of a.checks) {
    lines.push('', `• ${c.title} [${c.project}/${c.area}] — ${c.status} since ${c.since}`);
    if (a.kind !== 'up') for (const p of (c.problems?.length ? c.problems : c.observed ? [c.observed] : []).slice(0, 5)) lines.push(`  observed: ${p}`);
    if (c.hint && a.kind !== 'up') lines.push(`  likely cause: ${c.hint.line}`);
  }
  lines.push('', `target: ${a.target.name} ${a.target.url}`, `status page: ${a.statusPage}`);
  const text = lines.join('\n');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Which kind of channel a MONITOR_WEBHOOKS entry is: an explicit `slack+`/`discord+`/`ntfy+`/`json+` prefix, else its URL. */
export function channelKind(entry: string): { kind: ChannelKind; url: string } {
  const m = /^(slack|discord|ntfy|json)\+(.*)$/.exec(entry);
  if (m) return { kind: m[1] as ChannelKind, url: m[2] };
  const u = new URL(entry);
  const host = u.hostname.toLowerCase();
  if (host === 'hooks.slack.com' || /^\/services\/T\w+\/B\w+\//.test(u.pathname)) return { kind: 'slack', url: entry };
  if (/(^|\.)discord(app)?\.com$/.test(host) || /^\/api\/webhooks\/\d+\/[\w-]+/.test(u.pathname)) return { kind: 'discord', url: entry };
  if (host === 'ntfy.sh' || host.startsWith('ntfy.')) return { kind: 'ntfy', url: entry };
  return { kind: 'json', url: entry };
}

/** How a channel is named in logs: its kind and host, never the path (which holds the token). */
export function channelLabel(entry: string): string {
  const { kind, url } = channelKind(entry);
  try { return `${kind} ${new URL(url).host}`; } catch { return kind; }
}

const NTFY_PRIORITY: Record<AlertKind, string> = { down: '5', reminder: '4', degraded: '4', certificate: '3', maintenance: '3', up: '3' };
const NTFY_TAGS: Record<AlertKind, string> = { down: 'rotating_light', reminder: 'rotating_light', degraded: 'warning', certificate: 'lock', maintenance: 'wrench', up: 'white_check_mark' };

export interface Outgoing { url: string; headers: Record<string, string>; body: string }

/** The request a channel gets for an alert, redacted. */
export function formatFor(entry: string, a: Alert, secrets: readonly SecretInput[]): Outgoing {
  const { kind, url } = channelKind(entry);
  const red = (s: string) => redactText(s, secrets);
  const json = { 'content-type': 'application/json' };
  if (kind === 'slack') return { url, headers: json, body: red(JSON.stringify({ text: alertText(a, 3500) })) };
  if (kind === 'discord') return { url, headers: json, body: red(JSON.stringify({ content: alertText(a, 1900), allowed_mentions: { parse: [] } })) };
  if (kind === 'ntfy') {
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=utf-8',
      // Header values must be Latin-1: the title is the headline's ASCII part.
      title: red(a.headline).replace(/[^\x20-\x7e]/g, '?').slice(0, 250),
      priority: NTFY_PRIORITY[a.kind],
      tags: NTFY_TAGS[a.kind],
    };
    if (/^https?:\/\//.test(a.statusPage)) headers.click = red(a.statusPage);
    return { url, headers, body: red(alertText(a, 3800)) };
  }
  return { url, headers: json, body: red(JSON.stringify({ source: 'gadgetbot-verify monitor', ...a, text: alertText(a) })) };
}

export interface DeliveryAttempt { attempt: number; status?: number; error?: string; ms: number }
export interface DeliveryResult { channel: string; ok: boolean; attempts: DeliveryAttempt[] }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Delivers one alert to one channel: up to `attempts` tries, waiting base, 2×base, 4×base … between them (a
 * 429's Retry-After wins when longer). Never throws: the monitor goes on whatever the channel does.
 */
export async function deliver(entry: string, a: Alert, o: { secrets: readonly SecretInput[]; attempts: number; baseMs: number; timeoutMs?: number; log?: (l: string) => void }): Promise<DeliveryResult> {
  const channel = channelLabel(entry);
  const attempts: DeliveryAttempt[] = [];
  let req: Outgoing;
  try {
    req = formatFor(entry, a, o.secrets);
  } catch (e) {
    return { channel, ok: false, attempts: [{ attempt: 1, error: `cannot format: ${(e as Error).message}`, ms: 0 }] };
  }
  for (let i = 1; i <= o.attempts; i++) {
    const t0 = Date.now();
    let wait = o.baseMs * 2 ** (i - 1);
    try {
      const res = await request(req.url, { method: 'POST', headers: req.headers, body: req.body, headersTimeout: o.timeoutMs ?? 10_000, bodyTimeout: o.timeoutMs ?? 10_000 });
      await res.body.text().catch(() => '');
      attempts.push({ attempt: i, status: res.statusCode, ms: Date.now() - t0 });
      if (res.statusCode >= 200 && res.statusCode < 300) return { channel, ok: true, attempts };
      const ra = Number(res.headers['retry-after']);
      if (res.statusCode === 429 && ra > 0) wait = Math.max(wait, Math.min(ra * 1000, 60_000));
      // A 4xx other than 408/429 will not get better by asking again (wrong URL, revoked hook).
      if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429) break;
    } catch (e) {
      attempts.push({ attempt: i, error: redactText((e as Error).message, [...o.secrets, req.url]), ms: Date.now() - t0 });
    }
    if (i < o.attempts) {
      o.log?.(`monitor: alert ${a.kind} to ${channel}: attempt ${i} failed (${attempts[i - 1].status ?? attempts[i - 1].error}); retrying in ${wait} ms`);
      await sleep(wait);
    }
  }
  return { channel, ok: false, attempts };
}
