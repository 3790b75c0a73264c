// Judging a database's scheduled backups from what Coolify reports (pure, so it is checked on hand-built
// schedules too): a schedule that is enabled and runs at least daily, local retention of at least N days, and a
// newest finished execution that succeeded, is recent and is not empty. A schedule whose runs fail is no backup.
import type { BackupExecution, BackupSchedule } from './coolify.ts';

const NAMED: Record<string, number> = { every_minute: 1440, hourly: 24, daily: 1, weekly: 1 / 7, monthly: 1 / 30, yearly: 1 / 365 };

/** Values of one cron field (`*`, `a-b`, `a-b/n`, `*\/n`, lists), or undefined when it is not understood. */
function field(spec: string, min: number, max: number): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const from = m[1] === '*' ? min : Number(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] ? max : from;
    const step = m[4] ? Number(m[4]) : 1;
    if (from < min || to > max || step < 1) return undefined;
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

/** Runs per day of a Coolify frequency (cron or a name); 0 when it does not run every day; undefined if unreadable. */
export function runsPerDay(frequency: string): number | undefined {
  const f = frequency.trim().toLowerCase();
  if (f in NAMED) return NAMED[f] >= 1 ? NAMED[f] : 0;
  const parts = f.split(/\s+/);
  if (parts.length !== 5) return undefined;
  const [min, hour, dom, month, dow] = [field(parts[0], 0, 59), field(parts[1], 0, 23), field(parts[2], 1, 31), field(parts[3], 1, 12), field(parts[4], 0, 7)];
  if (!min || !hour || !dom || !month || !dow) return undefined;
  // Sunday is 0 or 7.
  const allWeek = [0, 1, 2, 3, 4, 5, 6].every((d) => dow.has(d) || (d === 0 && dow.has(7)));
  return dom.size === 31 && month.size === 12 && allWeek ? min.size * hour.size : 0;
}

/** Days of backups kept locally: the tighter of "N days" and "N backups" (0 means unlimited in Coolify). */
export function retentionDays(s: BackupSchedule): number {
  const perDay = runsPerDay(s.frequency) || 1 / 7;
  const byDays = s.retentionDaysLocally > 0 ? s.retentionDaysLocally : Infinity;
  const byCount = s.retentionAmountLocally > 0 ? s.retentionAmountLocally / perDay : Infinity;
  return Math.min(byDays, byCount);
}

const hours = (ms: number) => `${(ms / 3600_000).toFixed(1)} h`;

export interface ExecutionVerdict {
  problem?: string;
  /** What was judged, for the report. */
  newest?: BackupExecution;
  /** Earlier failed runs, reported even when the newest succeeded. */
  failures: BackupExecution[];
  running: number;
}

/** The newest finished execution must be a success, younger than maxAgeHours, and not empty. */
export function judgeExecutions(executions: readonly BackupExecution[], maxAgeHours: number, redact: (s: string) => string, now = Date.now()): ExecutionVerdict {
  const byTime = [...executions].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const finished = byTime.filter((e) => e.status !== 'running');
  const failures = finished.filter((e) => e.status !== 'success');
  const running = byTime.length - finished.length;
  const newest = finished[0];
  const msg = (e: BackupExecution) => (e.message ? `"${redact(e.message).replace(/\s+/g, ' ').slice(0, 200)}"` : 'no message');
  if (!newest) return { problem: `no finished backup execution at all${running ? ` (${running} still running)` : ''}`, failures, running };
  const age = now - Date.parse(newest.createdAt);
  if (newest.status !== 'success') {
    const lastOk = finished.find((e) => e.status === 'success');
    return {
      newest, failures, running,
      problem: `the newest backup (${newest.createdAt}) ${newest.status === 'failed' ? 'failed' : `ended "${newest.status}"`}: ${msg(newest)}; ` +
        `${failures.length} of ${finished.length} executions failed; ` + (lastOk ? `the last success was ${hours(now - Date.parse(lastOk.createdAt))} ago` : 'none ever succeeded'),
    };
  }
  if (!Number.isFinite(age) || age > maxAgeHours * 3600_000) {
    return { newest, failures, running, problem: `the newest successful backup is ${Number.isFinite(age) ? hours(age) : 'of unknown age'} old (${newest.createdAt}), older than BACKUP_MAX_AGE_HOURS ${maxAgeHours} h: the schedule has stopped running` };
  }
  if (!newest.size) {
    return { newest, failures, running, problem: `the newest backup (${newest.createdAt}, ${newest.filename ?? 'no file'}) is empty (size ${newest.size ?? 'not recorded'}): a dump that wrote nothing restores nothing` };
  }
  return { newest, failures, running };
}
