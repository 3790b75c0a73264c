// The monitor's one line per round: the state of each area (worst of its checks), then the root cause of what
// failed this round (the first failing check's observation and its diagnosis hint), then the alerts it raised.
import { redactText, type SecretInput } from '../redact.ts';
import type { Alert } from './alerts.ts';
import type { MonitorState } from './history.ts';
import type { RoundRun } from './rounds.ts';
import type { CheckState } from './state.ts';

const RANK: Record<string, number> = { down: 5, failing: 4, degraded: 3, warning: 2, up: 1, unknown: 0 };

function label(s: CheckState, downAfter: number | undefined): string {
  if (s.status !== 'down' && s.lastObservation === 'fail') return downAfter ? `failing ${s.failStreak}/${downAfter}` : 'failing';
  return s.status === 'warning' ? 'cert-warning' : s.status;
}

export function areaStates(state: MonitorState, round: number, downAfter?: number): { area: string; label: string }[] {
  const areas = new Map<string, { label: string; rank: number }>();
  for (const s of Object.values(state.checks)) {
    if (s.lastRound !== round) continue;
    const area = s.project === 'infra' ? s.area : `${s.project}/${s.area}`;
    const l = label(s, downAfter);
    const rank = RANK[l.split(' ')[0]] ?? RANK[s.status] ?? 0;
    const cur = areas.get(area);
    if (!cur || rank > cur.rank) areas.set(area, { label: l, rank });
  }
  return [...areas.entries()].map(([area, v]) => ({ area, label: v.label }));
}

export function roundLine(round: number, at: Date, run: RoundRun, state: MonitorState, alerts: readonly Alert[], maintenance: boolean, secrets: readonly SecretInput[], downAfter?: number): string {
  const time = at.toISOString().slice(11, 19);
  const areas = areaStates(state, round, downAfter).map((a) => `${a.area} ${a.label}`).join(', ');
  const failed = run.checks.find((c) => c.outcome === 'fail') ?? (run.errors.length ? { title: 'suite run', area: 'preflight', message: run.errors[0], hint: undefined } : undefined);
  const cause = failed ? ` — ${failed.area}: ${failed.message ?? failed.title}${failed.hint ? ` [hint: ${failed.hint.id}]` : ''}` : '';
  const extra = [maintenance ? 'MAINTENANCE (alerts held)' : '', run.browser ? 'with browser sign-in' : ''].filter(Boolean).join(', ');
  const sent = alerts.length ? ` — alerts: ${alerts.map((a) => a.kind).join(', ')}` : '';
  return redactText(`monitor: round ${round} ${time} (${(run.ms / 1000).toFixed(1)} s${extra ? `, ${extra}` : ''}) ${areas}${cause}${sent}`.replace(/[\r\n]+/g, ' '), secrets);
}
