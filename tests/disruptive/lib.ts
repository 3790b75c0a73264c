// Shared parts of the disruptive checks (app redeploy, Zitadel upgrade) and of bin/zitadel-upgrade.ts:
// the existing session's identity, the probe's report attachments, a lock so two disruptions never overlap,
// and the operator signal files of the upgrade watch.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestInfo } from '@playwright/test';
import type { Target } from '../../helpers/config.ts';
import { getSession, type SessionIdentity } from '../../helpers/better-auth.ts';
import { describeSummary, summarize, type ProbeResult } from '../../helpers/probe.ts';
import { timelinePng, timelineSvg } from '../../helpers/timeline.ts';
import { cookieHeaderFor, isSessionTokenCookie, readStorageState, storageStatePath, type Role } from '../../fixtures/auth-state.ts';

/** Bounded polling for a condition outside the browser (servers coming back, files appearing). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs: number; pollMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not within ${Math.round(opts.timeoutMs / 1000)} s${lastError ? ` (last error: ${lastError})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 500, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * The Cookie header carrying only Better Auth's session token from a role's saved state. Only the token: the
 * signed 5-minute cookie cache (`better-auth.session_data`) would let the app answer from the cookie alone and hide
 * a session the server no longer knows.
 */
export function sessionCookieOf(t: Target, role: Role = 'admin'): string {
  const state = readStorageState(role);
  if (!state) throw new Error(`no saved sign-in for ${role} (${storageStatePath(role)}): run the "setup" project first`);
  const cookie = cookieHeaderFor(state.cookies, t.appUrl, isSessionTokenCookie);
  if (!cookie) throw new Error(`the saved sign-in for ${role} (${storageStatePath(role)}) holds no live session cookie for ${t.appUrl}: run the "setup" project again`);
  return cookie;
}

// get-session is asked through the suite's one Better Auth client (helpers/better-auth.ts).
export { GET_SESSION_PATH, identityOf, type SessionIdentity } from '../../helpers/better-auth.ts';

/**
 * The server's view of the cookie. A 429 (Better Auth's rate limiter, which the probe may have filled) is waited
 * out as its Retry-After says, up to three times: it says nothing about the session.
 */
export async function sessionIdentity(t: Target, cookie: string): Promise<SessionIdentity> {
  const v = await getSession(t, cookie, { timeoutMs: 10_000 });
  return v.session ? { status: v.status, sessionId: v.session.id, userId: v.session.userId, userName: v.user?.name } : { status: v.status };
}

/** Same session (same id, same user) as before? */
export function sameSession(before: SessionIdentity, after: SessionIdentity): boolean {
  return !!before.sessionId && after.sessionId === before.sessionId && after.userId === before.userId;
}

/** Attaches the timeline (SVG, and PNG), the raw samples (JSON) and a text summary to the test's report. */
export async function attachProbe(testInfo: TestInfo, name: string, result: ProbeResult, title: string): Promise<void> {
  await testInfo.attach(`${name}-timeline.svg`, { body: timelineSvg(result, { title }), contentType: 'image/svg+xml' });
  await testInfo.attach(`${name}-timeline.png`, { body: timelinePng(result, { title }), contentType: 'image/png' });
  await testInfo.attach(`${name}-samples.json`, { body: JSON.stringify(result, null, 1), contentType: 'application/json' });
  const lines = summarize(result).map(describeSummary);
  lines.push(...result.marks.map((m) => `mark ${(m.t / 1000).toFixed(2)} s: ${m.label}`));
  await testInfo.attach(`${name}-summary.txt`, { body: lines.join('\n') + '\n', contentType: 'text/plain' });
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * One disruption at a time per target, across Playwright workers and processes: the redeploy and the upgrade
 * measure each other's outage otherwise. A lock directory in the temp dir, keyed by the target's app URL; a lock
 * whose owner process is gone is taken over.
 */
export async function withDisruptionLock<T>(t: Target, what: string, fn: () => Promise<T>, opts: { waitMs?: number } = {}): Promise<T> {
  const key = createHash('sha256').update(`${t.appUrl}|${t.authUrl}`).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `gbv-disruption-${key}.lock`);
  const owner = join(dir, 'owner.json');
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; } };
  await waitFor(`waiting for another disruptive check on ${t.appUrl} to finish before "${what}"`, () => {
    try {
      mkdirSync(dir);
      writeFileSync(owner, JSON.stringify({ pid: process.pid, what, since: new Date().toISOString() }));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = 0;
      try { pid = (JSON.parse(readFileSync(owner, 'utf8')) as { pid: number }).pid; } catch { /* being written */ }
      if (pid && !alive(pid)) rmSync(dir, { recursive: true, force: true });
      return false;
    }
  }, { timeoutMs: opts.waitMs ?? 20 * 60_000, pollMs: 500 });
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- operator signals (upgrade watch)

/**
 * bin/zitadel-upgrade.ts and the upgrade spec talk through files in UPGRADE_SIGNAL_DIR: the spec writes
 * `watching` when its baseline is recorded and the probe runs (the operator may start the upgrade), the operator's
 * Enter writes `done` (the upgrade is over: the spec waits for auth to be ready, then checks).
 */
export const SIGNAL_WATCHING = 'watching';
export const SIGNAL_DONE = 'done';

export function signal(dir: string | undefined, name: string, body = ''): void {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), body || new Date().toISOString());
}

export function hasSignal(dir: string | undefined, name: string): boolean {
  return !!dir && existsSync(join(dir, name));
}

// ---------------------------------------------------------------- judging an app redeploy

export const APP_LANE = 'app GET /';
export const SESSION_LANE = 'app session (existing)';

export interface RedeployFacts {
  budgetMs: number;
  deployStatus: string;
  triggeredT: number;
  finishedT: number;
  result: ProbeResult;
  before: SessionIdentity;
  after: SessionIdentity;
}

/** Downtime seen by users during a redeploy: the app's outages after the trigger, and recovered session outages. */
export function redeployDowntime(f: Pick<RedeployFacts, 'result' | 'triggeredT'>) {
  const [app, session] = [APP_LANE, SESSION_LANE].map((ep) => summarize(f.result).find((s) => s.endpoint === ep)!);
  const appOutages = app.outages.filter((o) => o.end >= f.triggeredT);
  // A session outage that never ended is "sessions lost" (judged separately), not downtime.
  const sessionOutages = session.outages.filter((o) => o.end >= f.triggeredT && !o.openEnd);
  const sum = (os: typeof appOutages) => os.reduce((a, o) => a + o.durationMs, 0);
  return { app, session, appOutages, sessionOutages, downtimeMs: Math.max(sum(appOutages), sum(sessionOutages)) };
}

const STOP_START_CAUSE =
  'This is a stop-then-start redeploy: Coolify stops the old container before the new one is healthy when ports are ' +
  'mapped to the host ("Ports Mappings"), a consistent container name or a custom internal name is set, or the ' +
  'resource has no healthcheck (Coolify cannot tell when the new container is ready); Docker Compose resources ' +
  'always restart this way. Look at those settings of the app resource: remove the host port mapping and the fixed ' +
  'name, keep the healthcheck (curl -f http://localhost:3000), so Coolify can do a rolling update.';

/**
 * The broken promises of a redeploy, most fundamental first, each a message naming the promise, the evidence
 * and the likely cause. Empty when the redeploy kept every promise.
 */
export function redeployProblems(f: RedeployFacts): string[] {
  const p: string[] = [];
  if (f.deployStatus !== 'finished') {
    p.push(`redeploy: the deployment ended "${f.deployStatus}" instead of "finished": the new version did not go live ` +
      '(Coolify keeps the old container when the new one fails its healthcheck; read the deployment log in Coolify).');
  }
  const d = redeployDowntime(f);
  if (d.downtimeMs > f.budgetMs) {
    const worst = [...d.appOutages, ...d.sessionOutages].sort((a, b) => b.durationMs - a.durationMs)[0];
    const during = worst.start <= f.finishedT;
    const cause = worst.openEnd
      ? `${worst.endpoint} had not come back when the probe stopped ${seconds(f.result.durationMs - f.finishedT)} after the deployment finished.`
      : during
        ? STOP_START_CAUSE
        : 'The outage began after the deployment had finished: the new version fails or restarts after going live (check its logs and healthcheck).';
    p.push(`redeploy: downtime ${seconds(d.downtimeMs)} exceeds BUDGET_REDEPLOY_DOWNTIME_MS ${seconds(f.budgetMs)} ` +
      `(promise: a redeploy costs at most ${seconds(f.budgetMs)} of downtime, none with a rolling update). ` +
      `${worst.endpoint} failed ${worst.failedCount} times from ${seconds(worst.firstFailedT)} to ${seconds(worst.lastFailedT)} ` +
      `(first: ${worst.firstError}; last: ${worst.lastError}); deployment triggered at ${seconds(f.triggeredT)}, ` +
      `ended at ${seconds(f.finishedT)}. ${cause}`);
  }
  if (!sameSession(f.before, f.after)) {
    p.push('redeploy: sessions lost after redeploy (promise: an app redeploy keeps users signed in). ' +
      `The session taken before the deployment (same cookie, session ${f.before.sessionId}) ` +
      (f.after.sessionId ? `now resolves to another session ${f.after.sessionId}` : `is rejected: get-session answered HTTP ${f.after.status} without a session`) +
      '. Likely cause: BETTER_AUTH_SECRET changed with the deployment (cookies signed with the old secret no longer verify; ' +
      'set it once in the resource\'s environment variables), or the sessions table was emptied (database recreated).');
  }
  return p;
}
