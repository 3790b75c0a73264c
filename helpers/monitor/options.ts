// The monitor's options: command line first, then MONITOR_* variables, then defaults. Every bad value is
// named in one MonitorOptionsError (exit 2 before anything starts), never half-applied.
import { resolve } from 'node:path';
import { ROOT } from '../config.ts';
import { parseWindow, type Window } from './maintenance.ts';

export interface MonitorOptions {
  everyMs: number;
  /** Stop after this many rounds (undefined: run until stopped). */
  rounds?: number;
  /** Browser sign-in every k-th round (round 1, 1+k, …); 0 never. */
  browserEvery: number;
  /** A check is "down" after this many consecutive failing rounds. */
  downAfter: number;
  remindHours: number;
  webhooks: string[];
  maintenance?: Window;
  /** Loopback port to serve the status page on; undefined: no server. */
  servePort?: number;
  serveHost: string;
  /** Folder of history, state and status page. */
  dir: string;
  /** Link put into alerts (MONITOR_STATUS_URL), else the page's path. */
  statusUrl?: string;
  /** Base of the delivery back-off (MONITOR_RETRY_BASE_MS, default 2000 ms: 2, 4, 8 s). */
  retryBaseMs: number;
  retryAttempts: number;
  /** Playwright workers per round. */
  workers: number;
}

export class MonitorOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`bad monitor options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'MonitorOptionsError';
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "5m", "30s", "1h", "250ms", or a bare number of seconds. */
export function parseDuration(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']);
}

export const USAGE = `npm run monitor -- [options]
  --every <dur>          time between round starts (default 5m; 30s, 1h, …)
  --rounds <n>           stop after n rounds (default: run until Ctrl-C)
  --browser-every <k>    browser sign-in every k-th round (default 6; 0 = never)
  --down-after <n>       consecutive failing rounds before "down" (default 2)
  --maintenance <dur>    a maintenance window starting now (or MONITOR_MAINTENANCE=<iso start>/<iso end>)
  --serve <port>         serve the status page on 127.0.0.1:<port> (--host to change)
  --dir <path>           history, state and status page (default reports/monitor)
env: MONITOR_WEBHOOKS (comma list), MONITOR_REMIND_HOURS (24), MONITOR_STATUS_URL, MONITOR_MAINTENANCE,
     MONITOR_RETRY_BASE_MS (2000), MONITOR_RETRY_ATTEMPTS (4)`;

type Flag = 'every' | 'rounds' | 'browser-every' | 'down-after' | 'maintenance' | 'serve' | 'host' | 'dir' | 'workers';
const FLAGS = new Set<Flag>(['every', 'rounds', 'browser-every', 'down-after', 'maintenance', 'serve', 'host', 'dir', 'workers']);

function readArgs(argv: string[], problems: string[]): Map<Flag, string> {
  const out = new Map<Flag, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !FLAGS.has(m[1] as Flag)) {
      problems.push(`unknown argument "${a}"`);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) problems.push(`--${m[1]} needs a value`);
    else out.set(m[1] as Flag, value);
  }
  return out;
}

function int(raw: string | undefined, name: string, min: number, problems: string[]): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) {
    problems.push(`${name}="${raw}" is not a whole number ≥ ${min}`);
    return undefined;
  }
  return Number(raw);
}

export function parseWebhooks(raw: string | undefined, problems: string[]): string[] {
  const out: string[] = [];
  for (const [i, part] of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean).entries()) {
    const bare = part.replace(/^(slack|discord|ntfy|json)\+/, '');
    let u: URL | undefined;
    try { u = new URL(bare); } catch { u = undefined; }
    // The URL itself is a credential (Slack's and Discord's carry their token): name its position, never its text.
    if (!u || !/^https?:$/.test(u.protocol)) problems.push(`MONITOR_WEBHOOKS entry #${i + 1} is not an http(s) URL`);
    else out.push(part);
  }
  return out;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env, now = new Date()): MonitorOptions {
  const problems: string[] = [];
  const args = readArgs(argv, problems);
  const dur = (flag: Flag, fallback: number): number => {
    const raw = args.get(flag);
    if (raw === undefined) return fallback;
    const ms = parseDuration(raw);
    if (ms === undefined || ms <= 0) problems.push(`--${flag} "${raw}" is not a duration (e.g. 30s, 5m, 1h)`);
    return ms ?? fallback;
  };
  const everyMs = dur('every', 5 * 60_000);
  let maintenance: Window | undefined;
  if (args.has('maintenance')) {
    const ms = dur('maintenance', 0);
    if (ms > 0) maintenance = { start: now, end: new Date(now.getTime() + ms) };
  } else if (env.MONITOR_MAINTENANCE?.trim()) {
    maintenance = parseWindow(env.MONITOR_MAINTENANCE);
    if (!maintenance) problems.push(`MONITOR_MAINTENANCE="${env.MONITOR_MAINTENANCE}" is not <iso start>/<iso end> with start before end`);
  }
  const remindRaw = env.MONITOR_REMIND_HOURS?.trim();
  const remindHours = remindRaw ? Number(remindRaw) : 24;
  if (!(remindHours > 0)) problems.push(`MONITOR_REMIND_HOURS="${remindRaw}" is not a positive number of hours`);
  const servePort = int(args.get('serve'), '--serve', 1, problems);
  if (servePort !== undefined && servePort > 65535) problems.push(`--serve ${servePort} is not a port (1..65535)`);
  const statusUrl = env.MONITOR_STATUS_URL?.trim() || undefined;
  const opts: MonitorOptions = {
    everyMs,
    rounds: int(args.get('rounds'), '--rounds', 1, problems),
    browserEvery: int(args.get('browser-every'), '--browser-every', 0, problems) ?? 6,
    downAfter: int(args.get('down-after'), '--down-after', 1, problems) ?? 2,
    remindHours,
    webhooks: parseWebhooks(env.MONITOR_WEBHOOKS, problems),
    maintenance,
    servePort,
    serveHost: args.get('host') ?? '127.0.0.1',
    dir: resolve(ROOT, args.get('dir') ?? env.MONITOR_DIR ?? 'reports/monitor'),
    statusUrl,
    retryBaseMs: int(env.MONITOR_RETRY_BASE_MS, 'MONITOR_RETRY_BASE_MS', 1, problems) ?? 2000,
    retryAttempts: int(env.MONITOR_RETRY_ATTEMPTS, 'MONITOR_RETRY_ATTEMPTS', 1, problems) ?? 4,
    workers: int(args.get('workers'), '--workers', 1, problems) ?? 2,
  };
  if (problems.length) throw new MonitorOptionsError(problems);
  return opts;
}
