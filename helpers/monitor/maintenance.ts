// Maintenance windows: rounds inside one are recorded as maintenance and their alerts are held; when the window
// closes, the monitor reports how long the target was down inside it (the operator's Zitadel upgrade).
export interface Window { start: Date; end: Date }

/** "<iso start>/<iso end>" (ISO 8601 interval), start before end. */
export function parseWindow(raw: string): Window | undefined {
  const [a, b, ...rest] = raw.trim().split('/');
  if (!a || !b || rest.length) return undefined;
  const start = new Date(a);
  const end = new Date(b);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start >= end) return undefined;
  return { start, end };
}

export function inWindow(w: Window | undefined, at: Date): boolean {
  return !!w && at >= w.start && at < w.end;
}

/** What a round inside the window contributes: when it started, and which checks failed in it. */
export interface WindowRound { at: string; failing: string[] }

export interface WindowReport {
  start: string;
  end: string;
  rounds: number;
  /** ms the target was down inside the window, measured between round starts (a round's resolution). */
  downMs: number;
  /** Each outage: from the first failing round to the first passing one (or the window's end). */
  outages: { from: string; to: string; ms: number; checks: string[] }[];
}

export function windowReport(w: Window, rounds: readonly WindowRound[]): WindowReport {
  const sorted = [...rounds].filter((r) => inWindow(w, new Date(r.at))).sort((a, b) => a.at.localeCompare(b.at));
  const outages: WindowReport['outages'] = [];
  let open: { from: string; checks: Set<string> } | undefined;
  for (const r of sorted) {
    if (r.failing.length) {
      open ??= { from: r.at, checks: new Set() };
      for (const c of r.failing) open.checks.add(c);
    } else if (open) {
      outages.push({ from: open.from, to: r.at, ms: Date.parse(r.at) - Date.parse(open.from), checks: [...open.checks] });
      open = undefined;
    }
  }
  if (open) {
    const to = w.end.toISOString();
    outages.push({ from: open.from, to, ms: w.end.getTime() - Date.parse(open.from), checks: [...open.checks] });
  }
  return {
    start: w.start.toISOString(),
    end: w.end.toISOString(),
    rounds: sorted.length,
    downMs: outages.reduce((s, o) => s + o.ms, 0),
    outages,
  };
}

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 120 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** One line for the terminal and the alert. */
export function describeWindow(r: WindowReport): string {
  const span = `${r.start} → ${r.end}`;
  if (!r.outages.length) return `maintenance window ${span} closed: no downtime in ${r.rounds} round(s)`;
  const parts = r.outages.map((o) => `${o.from} → ${o.to} (${fmtMs(o.ms)}: ${o.checks.slice(0, 3).join('; ')}${o.checks.length > 3 ? ` +${o.checks.length - 3}` : ''})`);
  return `maintenance window ${span} closed: down ${fmtMs(r.downMs)} in ${r.rounds} round(s): ${parts.join(', ')}`;
}
