// The per-check state machine. A round's result for a check is an observation (ok, fail, slow, cert-warning);
// the state moves on observations, and alerts are decided by comparing the state with what the channels were
// last told — so alerts go out on change only, a killed monitor that resumes its state never repeats one, and a
// maintenance window can hold alerts simply by not deciding until it closes.
import type { CheckResult } from './rounds.ts';

export type CheckStatus = 'unknown' | 'up' | 'down' | 'degraded' | 'warning';
export type Observation = 'ok' | 'fail' | 'slow' | 'cert-warning';
export type AlertKind = 'down' | 'up' | 'degraded' | 'certificate' | 'reminder' | 'maintenance';

export interface CheckState {
  id: string;
  project: string;
  area: string;
  title: string;
  status: CheckStatus;
  /** When the status last changed (ISO). */
  since: string;
  failStreak: number;
  slowStreak: number;
  /** The last status the channels were told about ('unknown': none yet). */
  alerted: CheckStatus;
  /** When the last alert or reminder about this check went out (ISO). */
  alertedAt?: string;
  lastObservation?: Observation;
  lastRound: number;
  /** When it was last observed (ISO): a check that left the @smoke set is forgotten after a week. */
  lastAt?: string;
  message?: string;
  problems?: string[];
  hint?: { id: string; line: string };
}

export interface Rules {
  downAfter: number;
  remindHours: number;
  /** Answer-time budget (BUDGET_RESPONSE_MS): a passing check that measured more is degraded. */
  budgetMs: number;
}

const CERT_REPEAT_MS = 24 * 3_600_000;

/** What one round says about a check; undefined when it did not run (skipped: its state stays). */
export function observe(c: CheckResult, budgetMs: number): Observation | undefined {
  if (c.outcome === 'skipped') return undefined;
  if (c.outcome === 'pass') {
    const slow = c.notes.some((n) => n.type === 'response-ms' && Number(/\bin (\d+) ms\b/.exec(n.description)?.[1] ?? 0) > budgetMs);
    return slow ? 'slow' : 'ok';
  }
  const problems = c.problems?.length ? c.problems : [c.message ?? ''];
  // A check that listed only over-budget answers is up but slow; only certificates inside their warning window,
  // a renewal that is not happening yet (not an outage).
  if (problems.every((p) => /\btook \d+ ms, budget \d+ ms\b|\bover (its|the) budget\b/i.test(p))) return 'slow';
  if (problems.every((p) => /inside the \d+-day warning window/.test(p))) return 'cert-warning';
  return 'fail';
}

/** Moves a check's state on one observation. Returns true when its status changed. */
export function step(s: CheckState, obs: Observation, round: number, at: string, rules: Rules): boolean {
  const before = s.status;
  s.lastObservation = obs;
  s.lastRound = round;
  s.lastAt = at;
  if (obs === 'fail') {
    s.failStreak++;
    s.slowStreak = 0;
    if (s.failStreak >= rules.downAfter) s.status = 'down';
  } else if (obs === 'slow') {
    s.failStreak = 0;
    s.slowStreak++;
    // Out of "down" at once (it answers again); into "degraded" from "up" only after the same streak as down.
    if (s.status === 'down' || s.slowStreak >= rules.downAfter) s.status = 'degraded';
  } else if (obs === 'cert-warning') {
    s.failStreak = 0;
    s.slowStreak = 0;
    s.status = 'warning';
  } else {
    s.failStreak = 0;
    s.slowStreak = 0;
    s.status = 'up';
  }
  if (s.status !== before) s.since = at;
  return s.status !== before;
}

export function newCheckState(c: Pick<CheckResult, 'id' | 'project' | 'area' | 'title'>, at: string): CheckState {
  return { id: c.id, project: c.project, area: c.area, title: c.title, status: 'unknown', since: at, failStreak: 0, slowStreak: 0, alerted: 'unknown', lastRound: 0 };
}

/** Folds a round's checks into the states (creating states for checks seen for the first time). */
export function applyRound(states: Record<string, CheckState>, checks: readonly CheckResult[], round: number, at: string, rules: Rules): string[] {
  const changed: string[] = [];
  for (const c of checks) {
    const obs = observe(c, rules.budgetMs);
    if (!obs) continue;
    const s = (states[c.id] ??= newCheckState(c, at));
    // The title and area follow the suite (a renamed describe block keeps a check's key only if its id is equal).
    Object.assign(s, { project: c.project, area: c.area, title: c.title });
    if (obs === 'ok') {
      delete s.message;
      delete s.problems;
      delete s.hint;
    } else {
      s.message = c.message;
      s.problems = c.problems;
      s.hint = c.hint;
    }
    if (step(s, obs, round, at, rules)) changed.push(c.id);
  }
  return changed;
}

const FORGET_MS = 7 * 24 * 3_600_000;

/** Drops the states of checks not observed for a week (renamed or removed from the suite). Returns their ids. */
export function forgetStale(states: Record<string, CheckState>, now: Date): string[] {
  const gone = Object.values(states).filter((s) => now.getTime() - Date.parse(s.lastAt ?? s.since) > FORGET_MS).map((s) => s.id);
  for (const id of gone) delete states[id];
  return gone;
}

export interface Decision { kind: AlertKind; checks: CheckState[] }

const KIND_OF: Partial<Record<CheckStatus, AlertKind>> = { down: 'down', degraded: 'degraded', warning: 'certificate', up: 'up' };

/**
 * Which alerts the current states call for: one per kind per round (a root cause that takes down three checks
 * is one "down" alert listing them), a reminder while a check stays down or degraded, a certificate warning once a
 * day. Marks what it decides as told.
 */
export function decide(states: Record<string, CheckState>, now: Date, rules: Rules): Decision[] {
  const byKind = new Map<AlertKind, CheckState[]>();
  const add = (k: AlertKind, s: CheckState) => byKind.set(k, [...(byKind.get(k) ?? []), s]);
  const iso = now.toISOString();
  const remindMs = rules.remindHours * 3_600_000;
  for (const s of Object.values(states)) {
    if (s.status === 'unknown') continue;
    if (s.status !== s.alerted) {
      // A check first seen healthy is no news; one that recovers from something we told about is.
      const silent = s.status === 'up' && (s.alerted === 'unknown' || s.alerted === 'up');
      if (!silent) add(KIND_OF[s.status]!, s);
      s.alerted = s.status;
      s.alertedAt = iso;
      continue;
    }
    const since = s.alertedAt ? now.getTime() - Date.parse(s.alertedAt) : Infinity;
    if ((s.status === 'down' || s.status === 'degraded') && since >= remindMs) {
      add('reminder', s);
      s.alertedAt = iso;
    } else if (s.status === 'warning' && since >= CERT_REPEAT_MS) {
      add('certificate', s);
      s.alertedAt = iso;
    }
  }
  const order: AlertKind[] = ['down', 'degraded', 'certificate', 'reminder', 'up'];
  return order.filter((k) => byKind.has(k)).map((k) => ({ kind: k, checks: byKind.get(k)! }));
}
