// The monitor: rounds on a schedule, each folded into the state machine, the history, the status page and the
// alert outbox. Deliveries run beside the rounds (a slow or failing channel never delays a round); the state is
// saved after every round, so a killed monitor resumes where it was and re-sends only what it never delivered.
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { loadConfig, secretsOf, type Target } from '../config.ts';
import { buildAlert, deliver, toAlertCheck, type Alert } from './alerts.ts';
import {
  ALERTS_MAX, appendJsonl, channelKey, HISTORY_KEEP_DAYS, historyLine, pruneHistory, loadState, logDelivery, OUTBOX_MAX, pathsIn, recordRound, saveState, writeAtomic,
  type MonitorState, type Paths,
} from './history.ts';
import { describeWindow, inWindow, windowReport } from './maintenance.ts';
import type { MonitorOptions } from './options.ts';
import { interruptRounds, runRound, type CheckResult, type RoundRun } from './rounds.ts';
import { applyRound, decide, forgetStale, type Rules } from './state.ts';
import { renderPage, serveStatusPage } from './status-page.ts';
import { roundLine } from './terminal.ts';

export const SUITE_CHECK = { project: 'monitor', area: 'preflight', title: 'the suite reached the target (global setup, preflight)' };
export const SUITE_CHECK_ID = `monitor › suite › ${SUITE_CHECK.title}`;

/** Rounds of a closed window kept in the state (the report is computed when it closes). */
const RECENT_WINDOW_ROUNDS = 500;
const SECRET_NAME = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|MASTERKEY)$/;

/** Everything an outgoing byte must not carry: the target's secrets, any *_PASSWORD/_TOKEN… value, the webhook URLs. */
export function monitorSecrets(target: Target, env: Record<string, string | undefined>, webhooks: readonly string[]): string[] {
  const out = [...secretsOf(target)];
  for (const [k, v] of Object.entries(env)) if (v && SECRET_NAME.test(k)) out.push(v);
  for (const w of webhooks) {
    out.push(w, w.replace(/^(slack|discord|ntfy|json)\+/, ''));
    try {
      const u = new URL(w.replace(/^(slack|discord|ntfy|json)\+/, ''));
      // The path alone is the credential of a Slack or Discord hook (a receiver may echo it back in an error).
      if (u.pathname.length > 8) out.push(u.pathname);
      if (u.password) out.push(u.password);
    } catch { /* rejected by parseOptions */ }
  }
  return [...new Set(out.filter((s) => s.length >= 4))];
}

/** The rounds' errors (global setup, preflight, a runner that wrote no report) as a check of their own. */
export function suiteCheck(run: Pick<RoundRun, 'errors' | 'ms'>): CheckResult {
  const failed = run.errors.length > 0;
  return {
    id: SUITE_CHECK_ID, ...SUITE_CHECK, outcome: failed ? 'fail' : 'pass', ms: run.ms, notes: [],
    ...(failed ? { message: run.errors[0].split('\n')[0].slice(0, 300), problems: run.errors.map((e) => e.split('\n')[0].slice(0, 300)) } : {}),
  };
}

export interface MonitorDeps {
  /** Runs one round (default: the suite through Playwright). */
  runRound?: typeof runRound;
  log?: (line: string) => void;
  now?: () => Date;
}

export class Monitor {
  readonly paths: Paths;
  state: MonitorState;
  readonly target: Target;
  private readonly secrets: string[];
  private readonly rules: Rules;
  private readonly deliveries = new Set<Promise<void>>();
  private server?: Server;
  private stopping = false;
  private interrupted = false;
  private wake?: () => void;
  private readonly log: (l: string) => void;
  private readonly now: () => Date;
  private readonly run: typeof runRound;

  constructor(readonly opts: MonitorOptions, readonly targetEnv: Record<string, string>, deps: MonitorDeps = {}) {
    this.log = deps.log ?? ((l) => console.log(l));
    this.now = deps.now ?? (() => new Date());
    this.run = deps.runRound ?? runRound;
    this.target = loadConfig(targetEnv);
    this.secrets = monitorSecrets(this.target, { ...process.env, ...targetEnv }, opts.webhooks);
    this.rules = { downAfter: opts.downAfter, remindHours: opts.remindHours, budgetMs: this.target.budgets.responseMs };
    this.paths = pathsIn(opts.dir);
    mkdirSync(this.paths.dir, { recursive: true });
    // By host, not port: the embedded deployment gets new ports on every start and is still the same target.
    this.state = loadState(this.paths, `${this.target.name} ${new URL(this.target.appUrl).hostname}`, this.log);
  }

  private say(line: string): void {
    this.log(line);
  }

  get statusPage(): string {
    return this.opts.statusUrl ?? this.paths.page;
  }

  async start(): Promise<void> {
    const dropped = pruneHistory(this.paths.history, this.now());
    if (dropped) this.say(`monitor: dropped ${dropped} history line(s) older than ${HISTORY_KEEP_DAYS} days`);
    if (this.opts.servePort !== undefined) {
      this.server = await serveStatusPage(this.paths.page, this.opts.servePort, this.opts.serveHost);
      const a = this.server.address();
      this.say(`monitor: status page on http://${this.opts.serveHost}:${typeof a === 'object' && a ? a.port : this.opts.servePort}/`);
    }
    if (this.state.round > 0) this.say(`monitor: resuming after round ${this.state.round} (${Object.keys(this.state.checks).length} checks, ${this.state.outbox.length} undelivered alert(s))`);
    // Alerts a killed monitor decided but never delivered go out now; the delivered ones are not in the outbox.
    this.flushOutbox();
  }

  /** Runs rounds until --rounds is reached or stop() is called. */
  async loop(): Promise<void> {
    const first = this.state.round + 1;
    const last = this.opts.rounds !== undefined ? first + this.opts.rounds - 1 : Infinity;
    let next = Date.now();
    for (let round = first; round <= last && !this.stopping; round++) {
      await this.round(round);
      if (round === last || this.stopping) break;
      next = Math.max(next + this.opts.everyMs, Date.now());
      await new Promise<void>((res) => {
        const t = setTimeout(res, next - Date.now());
        this.wake = () => { clearTimeout(t); res(); };
      });
      this.wake = undefined;
    }
  }

  async round(round: number): Promise<Alert[]> {
    const at = this.now();
    const maintenance = inWindow(this.opts.maintenance, at);
    const browser = this.opts.browserEvery > 0 && (round - 1) % this.opts.browserEvery === 0 && await this.browserReady();
    const run = await this.run({ env: this.targetEnv, browser, workDir: `${this.paths.dir}/.work`, workers: this.opts.workers });
    // Stopped mid-round (Ctrl-C kills the round's Playwright): what it saw is an interruption, not the target's state.
    if (this.interrupted) return [];
    const checks = [...run.checks, suiteCheck(run)];
    const s = this.state;
    applyRound(s.checks, checks, round, at.toISOString(), this.rules);
    for (const id of forgetStale(s.checks, at)) this.say(`monitor: forgot ${id} (not seen for a week: no longer in the @smoke set?)`);
    recordRound(s, { round, at, ms: run.ms, maintenance, checks });
    const alerts = this.decideAlerts(round, at, maintenance, checks);
    s.round = round;
    s.updatedAt = this.now().toISOString();
    for (const a of alerts) {
      s.outbox.push({ alert: a, channels: this.opts.webhooks.map(channelKey) });
      appendJsonl(this.paths.alerts, { type: 'alert', ...a }, this.secrets);
      s.alertsSent++;
      s.lastAlerts.push({ id: a.id, kind: a.kind, at: a.at, headline: a.headline });
    }
    if (s.lastAlerts.length > ALERTS_MAX) s.lastAlerts.splice(0, s.lastAlerts.length - ALERTS_MAX);
    if (s.outbox.length > OUTBOX_MAX) s.outbox.splice(0, s.outbox.length - OUTBOX_MAX);
    // State first: once it is saved, a killed monitor knows these alerts were decided (and re-sends them if undelivered).
    saveState(this.paths, s, this.secrets);
    appendJsonl(this.paths.history, historyLine({ round, at, ms: run.ms, maintenance, browser, checks, errors: run.errors }, s, alerts), this.secrets);
    this.writePage();
    this.say(roundLine(round, at, run, s, alerts, maintenance, this.secrets, this.opts.downAfter));
    this.flushOutbox();
    return alerts;
  }

  private browserNote?: string;
  /** A missing Chromium is a set-up problem of this machine, never a failed sign-in of the target: said once, skipped. */
  private async browserReady(): Promise<boolean> {
    try {
      // Loaded only for browser rounds: Playwright's library is not needed in the monitor's own process otherwise.
      const { pickChromium } = await import('../browser.ts');
      pickChromium(this.target);
      this.browserNote = undefined;
      return true;
    } catch (e) {
      const why = (e as Error).message;
      if (this.browserNote !== why) this.say(`monitor: browser sign-in skipped this round: ${why} (a set-up problem here, not the target's)`);
      this.browserNote = why;
      return false;
    }
  }

  private decideAlerts(round: number, at: Date, maintenance: boolean, checks: readonly CheckResult[]): Alert[] {
    const s = this.state;
    const ctx = { round, at, target: { name: this.target.name, url: this.target.appUrl }, statusPage: this.statusPage };
    const w = this.opts.maintenance;
    if (w && (!s.maintenance || s.maintenance.start !== w.start.toISOString() || s.maintenance.end !== w.end.toISOString())) {
      s.maintenance = { start: w.start.toISOString(), end: w.end.toISOString(), rounds: [], reported: false };
    }
    if (maintenance) {
      s.maintenance!.rounds.push({ at: at.toISOString(), failing: checks.filter((c) => s.checks[c.id]?.lastObservation === 'fail').map((c) => c.id) });
      return []; // held: decided when the window closes
    }
    const alerts: Alert[] = [];
    let afterMaintenance = false;
    if (s.maintenance && !s.maintenance.reported && at >= new Date(s.maintenance.end)) {
      const rep = windowReport({ start: new Date(s.maintenance.start), end: new Date(s.maintenance.end) }, s.maintenance.rounds);
      s.maintenance.reported = true;
      s.maintenance.rounds = s.maintenance.rounds.slice(-RECENT_WINDOW_ROUNDS);
      alerts.push(buildAlert({ kind: 'maintenance', checks: [] }, { ...ctx, window: rep }));
      this.say(`monitor: ${describeWindow(rep)}`);
      afterMaintenance = true;
    }
    for (const d of decide(s.checks, at, this.rules)) {
      const a = buildAlert({ kind: d.kind, checks: d.checks.map(toAlertCheck) }, ctx);
      if (afterMaintenance) a.afterMaintenance = true;
      alerts.push(a);
    }
    return alerts;
  }

  private writePage(): void {
    const html = renderPage(this.state, {
      targetName: this.target.name, targetUrl: this.target.appUrl, everyMs: this.opts.everyMs, now: this.now(),
      inMaintenance: inWindow(this.opts.maintenance, this.now()),
    }, this.secrets);
    writeAtomic(this.paths.page, html);
  }

  /** Starts delivering every undelivered (alert, channel) pair not already on its way. */
  private readonly inFlight = new Set<string>();
  private flushOutbox(): void {
    for (const pending of this.state.outbox) {
      for (const entry of this.opts.webhooks) {
        const key = channelKey(entry);
        const flight = `${pending.alert.id} ${key}`;
        if (!pending.channels.includes(key) || this.inFlight.has(flight)) continue;
        this.inFlight.add(flight);
        const p = deliver(entry, pending.alert, { secrets: this.secrets, attempts: this.opts.retryAttempts, baseMs: this.opts.retryBaseMs, log: this.log })
          .then((d) => {
            logDelivery(this.paths, pending.alert, d, this.secrets);
            // Done with this channel either way: delivered, or retried to the end (logged, never blocks the monitor).
            pending.channels = pending.channels.filter((c) => c !== key);
            if (!pending.channels.length) this.state.outbox = this.state.outbox.filter((x) => x !== pending);
            saveState(this.paths, this.state, this.secrets);
            if (!d.ok) this.say(`monitor: alert ${pending.alert.kind} to ${d.channel} FAILED after ${d.attempts.length} attempt(s): ${d.attempts.map((x) => x.status ?? x.error).join(', ')}`);
          })
          .catch((e) => this.say(`monitor: delivery error: ${(e as Error).message}`))
          .finally(() => { this.inFlight.delete(flight); this.deliveries.delete(p); });
        this.deliveries.add(p);
      }
    }
  }

  /** Ctrl-C: no new round, and the one under way is interrupted and not recorded. */
  interrupt(): void {
    this.stopping = true;
    this.interrupted = true;
    interruptRounds();
    this.wake?.();
  }

  /** Waits for the deliveries under way (each bounded by its own retries), then closes the status page server. */
  async close(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await Promise.allSettled([...this.deliveries]);
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }
}

