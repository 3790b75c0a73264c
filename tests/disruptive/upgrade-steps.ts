// The named steps of the Zitadel-upgrade check (tests/disruptive/zitadel-upgrade.spec.ts): the baseline before,
// the probe's lanes, the two ways the upgrade happens (triggered through Coolify, or watched while the operator
// does it), the proof that the auth service restarted, and the judgments after. Each returns what it saw;
// the spec composes them and judges.
import type { Browser, TestInfo } from '@playwright/test';
import { expect } from '../../fixtures/test.ts';
import { AdminLayout, signInWithZitadel } from '../../fixtures/pages/index.ts';
import { secretsOf, type Target } from '../../helpers/config.ts';
import { coolifyFor } from '../../helpers/coolify.ts';
import { dispatcherFor, request } from '../../helpers/http.ts';
import { discover, fetchJwks, probeLoginV2 } from '../../helpers/oidc.ts';
import { startProbe, summarizeEndpoint, type Probe, type ProbeResult } from '../../helpers/probe.ts';
import {
  APP_LANE, GET_SESSION_PATH, SESSION_LANE, SIGNAL_DONE, SIGNAL_WATCHING, hasSignal, identityOf, sameSession, seconds,
  sessionIdentity, signal, waitFor, type SessionIdentity,
} from './lib.ts';

export const AUTH_READY_LANE = 'auth /debug/ready';
export const AUTH_DISCOVERY_LANE = 'auth discovery';

export interface Baseline {
  issuer: string;
  jwksUri: string;
  kids: string[];
  session: SessionIdentity;
  /** process_start_time_seconds of /debug/metrics (Zitadel's Prometheus endpoint), when it answers. */
  startedAt?: number;
}

/** Zitadel's process start time from its Prometheus metrics; undefined when the endpoint does not tell. */
export async function authProcessStart(t: Target): Promise<number | undefined> {
  const r = await request(t, `${t.authUrl}/debug/metrics`, { timeoutMs: 10_000 }).catch(() => undefined);
  const m = r?.status === 200 ? /^process_start_time_seconds\s+([\d.e+]+)\s*$/m.exec(r.body) : null;
  return m ? Number(m[1]) : undefined;
}

/** Before: auth healthy with Login V2 required; issuer, JWKS, the app session and the auth process recorded. */
export async function recordBaseline(t: Target, cookie: string, info: TestInfo): Promise<Baseline> {
  for (const path of ['/debug/healthz', '/debug/ready']) {
    const r = await request(t, `${t.authUrl}${path}`, { timeoutMs: 10_000 });
    expect(r.status, `auth ${path} answers 200 before the upgrade (a healthy starting point to measure from)`).toBe(200);
  }
  const login = await probeLoginV2(t);
  expect({ loginV2: login.loginV2, landedOn: login.landedOn, problem: login.problem }, 'authorize leads to Login V2 before the upgrade')
    .toMatchObject({ loginV2: true });
  const disco = await discover(t);
  expect(disco.status, 'OIDC discovery answers 200 before the upgrade').toBe(200);
  const issuer = String(disco.document.issuer ?? '');
  const jwks = await fetchJwks(t, String(disco.document.jwks_uri ?? `${t.authUrl}/oauth/v2/keys`));
  expect(jwks.keys.length, `the JWKS ${jwks.url} lists at least one key before the upgrade (HTTP ${jwks.status})`).toBeGreaterThan(0);
  const session = await sessionIdentity(t, cookie);
  expect(session.sessionId ? 'valid' : `rejected (get-session HTTP ${session.status})`,
    'the saved admin session is valid before the upgrade (else run the "setup" project again)').toBe('valid');
  const kids = jwks.keys.map((k) => k.kid ?? '?');
  info.annotations.push({ type: 'before', description: `issuer ${issuer}; JWKS kids ${kids.join(', ')}` });
  return { issuer, jwksUri: jwks.url, kids, session, startedAt: await authProcessStart(t) };
}

export function upgradeProbe(t: Target, cookie: string, before: Baseline, maxDurationMs: number): Probe {
  return startProbe({
    endpoints: [
      { name: AUTH_READY_LANE, url: `${t.authUrl}/debug/ready`, ok: (s) => s === 200 },
      { name: AUTH_DISCOVERY_LANE, url: `${t.authUrl}/.well-known/openid-configuration`, headers: { accept: 'application/json' },
        ok: (s, b) => s === 200 && (JSON.parse(b) as { issuer?: string }).issuer === before.issuer },
      { name: APP_LANE, url: `${t.appUrl}/`, ok: (s, b) => s === 200 && b.includes('GadgetBot') },
      { name: SESSION_LANE, url: `${t.appUrl}${GET_SESSION_PATH}`, cookie, headers: { accept: 'application/json' },
        ok: (s, b) => s === 200 && sameSession(before.session, identityOf(s, b)) },
    ],
    intervalMs: 200,
    dispatcher: dispatcherFor(t),
    timeoutMs: t.budgets.responseMs, // an answer slower than the response budget counts as unavailable
    maxDurationMs,
    secrets: secretsOf(t),
  });
}

export interface Upgrade { startT: number; endT: number; deploymentId?: string; deployStatus?: string }

/** Trigger mode: deploy the auth resource through Coolify and wait for its deployment (if Coolify gives one). */
export async function triggerAuthDeploy(t: Target, probe: Probe, timeoutMs: number, info: TestInfo): Promise<Upgrade> {
  const coolify = coolifyFor(t);
  const startT = probe.mark('auth deploy triggered');
  const [dep] = await coolify.deploy(t.coolify!.authUuid!, { force: false });
  info.annotations.push({ type: 'deployment', description: `${dep.deploymentUuid ?? '(no deployment id: a compose service)'}: ${dep.message}` });
  if (!dep.deploymentUuid) {
    // Coolify queues compose services without a deployment to follow: the probe tells when auth is back.
    await waitFor('auth down and back after the service deploy', () => {
      const s = probe.snapshot().filter((x) => x.endpoint === AUTH_READY_LANE && x.t > startT);
      const down = s.findIndex((x) => !x.ok);
      return down >= 0 && s.slice(down).slice(-3).length === 3 && s.slice(-3).every((x) => x.ok);
    }, { timeoutMs, pollMs: 500 }).catch(() => undefined);
    return { startT, endT: probe.mark('auth deploy over'), deployStatus: 'no deployment id' };
  }
  const status = await coolify.waitForDeployment(dep.deploymentUuid, { timeoutMs, pollMs: 1000 });
  return { startT, endT: probe.mark(`auth deploy ${status}`), deploymentId: dep.deploymentUuid, deployStatus: status };
}

/** Watch mode: over when the operator says so, or when auth was down and has been ready again for settleMs. */
export async function watchOperator(t: Target, probe: Probe, o: { watchMs: number; settleMs: number; signalDir?: string }): Promise<Upgrade> {
  const startT = probe.mark('watching');
  signal(o.signalDir, SIGNAL_WATCHING);
  console.log(`[zitadel-upgrade] baseline recorded; watching ${t.authUrl} for up to ${seconds(o.watchMs)}: upgrade Zitadel now`);
  const over = () => {
    if (hasSignal(o.signalDir, SIGNAL_DONE)) return 'operator';
    const s = probe.snapshot().filter((x) => x.endpoint === AUTH_READY_LANE);
    let lastBad = s.length - 1;
    while (lastBad >= 0 && s[lastBad].ok) lastBad--;
    if (lastBad < 0) return false;
    const after = s.slice(lastBad + 1);
    return after.length > 0 && after.at(-1)!.t - s[lastBad].t >= o.settleMs ? 'auth back' : false;
  };
  const how = await waitFor('the end of the upgrade', over, { timeoutMs: o.watchMs, pollMs: 250 }).catch(() => 'watch window over');
  return { startT, endT: probe.mark(`upgrade over (${how})`) };
}

/** Auth answers /debug/ready three times in a row after the upgrade ended. */
export function readyAgain(probe: Probe, endT: number, timeoutMs: number): Promise<boolean> {
  return waitFor('auth /debug/ready answering 200 again', () => {
    const s = probe.snapshot().filter((x) => x.endpoint === AUTH_READY_LANE && x.t > endT).slice(-3);
    return s.length === 3 && s.every((x) => x.ok);
  }, { timeoutMs, pollMs: 200 }).then(() => true, () => false);
}

/**
 * Did the auth service restart? Zitadel's process start time changed, or (a Docker Compose resource stops before it
 * starts) the probe saw /debug/ready fail after the upgrade began. Neither: nothing was upgraded, nothing to judge.
 */
export async function restartEvidence(t: Target, before: Baseline, result: ProbeResult, startT: number): Promise<{ restarted: boolean; evidence: string }> {
  const after = await authProcessStart(t);
  const outage = summarizeEndpoint(result.samples, AUTH_READY_LANE).outages.some((o) => o.end >= startT);
  const started = before.startedAt !== undefined && after !== undefined
    ? (after !== before.startedAt ? `process started anew (start time ${before.startedAt} → ${after})` : `same process (start time ${after})`)
    : 'process start time not published (/debug/metrics)';
  return { restarted: outage || (before.startedAt !== undefined && after !== undefined && after !== before.startedAt), evidence: `${started}; ${outage ? 'an auth outage was seen' : 'no auth outage was seen'}` };
}

/** After: the issuer, Login V2 and the JWKS. Problems are appended; the JWKS fate is returned for the figures. */
export async function judgeOidcAfter(t: Target, before: Baseline, problems: string[]): Promise<string> {
  const disco = await discover(t).catch((e: Error) => ({ status: 0, document: {} as Record<string, unknown>, error: e.message }));
  const issuer = String(disco.document.issuer ?? '');
  if (disco.status !== 200) problems.push(`zitadel-upgrade: discovery answered ${disco.status} after the upgrade`);
  else if (issuer !== before.issuer) {
    problems.push(`zitadel-upgrade: the issuer changed from "${before.issuer}" to "${issuer}": the app's token validation fails for every sign-in ` +
      '(check ZITADEL_EXTERNALDOMAIN, ZITADEL_EXTERNALSECURE and ZITADEL_EXTERNALPORT of the new version).');
  }
  const login = await probeLoginV2(t);
  if (!login.loginV2 && !login.landedOn) problems.push(`zitadel-upgrade: the Login V2 check after the upgrade could not start: ${login.problem}`);
  else if (!login.loginV2) {
    problems.push(`zitadel-upgrade: Login V2 is no longer required after the upgrade (authorize lands on ${login.landedOn}${login.problem ? `; ${login.problem}` : ''}): ` +
      'enable the Login V2 instance feature again.');
  }
  const jwks = await fetchJwks(t, String(disco.document.jwks_uri ?? before.jwksUri));
  const kids = jwks.keys.map((k) => k.kid ?? '?');
  const kept = before.kids.filter((k) => kids.includes(k));
  if (kids.length === 0) problems.push(`zitadel-upgrade: the JWKS ${jwks.url} has no keys after the upgrade (${jwks.error ?? `HTTP ${jwks.status}`}): no token can be verified`);
  return kids.length === 0 ? 'unavailable'
    : kept.length === before.kids.length && kids.length === before.kids.length ? 'kept'
      : kept.length === 0 ? 'rotated (tokens signed before no longer verify)' : `changed (kept ${kept.length} of ${before.kids.length})`;
}

/** After: a fresh sign-in in a new context reaches /admin. The context closes only after every wait has ended. */
export async function freshSignIn(t: Target, browser: Browser, problems: string[]): Promise<void> {
  const context = await browser.newContext({ baseURL: t.appUrl });
  try {
    const page = await context.newPage();
    await signInWithZitadel(page, { appUrl: t.appUrl, authUrl: t.authUrl }, t.users.admin, { timeoutMs: 45_000 });
    const landed = new URL(page.url());
    if (landed.pathname !== '/admin') return void problems.push(`zitadel-upgrade: the fresh sign-in ended on ${landed.pathname}, not /admin`);
    const visible = await new AdminLayout(page, t.appUrl).header.isVisible() ||
      await new AdminLayout(page, t.appUrl).header.waitFor({ state: 'visible', timeout: 15_000 }).then(() => true, () => false);
    if (!visible) problems.push('zitadel-upgrade: the fresh sign-in reached /admin but the "GadgetBot Admin" header did not appear');
  } catch (e) {
    problems.push(`zitadel-upgrade: a fresh sign-in failed after the upgrade: ${String((e as Error).message).split('\n')[0]}`);
  } finally {
    await context.close();
  }
}

/** The app answered throughout (a 429 is Better Auth throttling this probe: the app did answer). */
export function judgeAppThroughout(result: ProbeResult, problems: string[]): void {
  const app = summarizeEndpoint(result.samples, APP_LANE);
  const unanswered = result.samples.filter((s) => s.endpoint === SESSION_LANE && s.status !== 200 && !s.throttled);
  if (app.failed === 0 && unanswered.length === 0) return;
  const o = app.outages[0];
  problems.push('zitadel-upgrade: the app did not answer throughout the auth upgrade (promise: app and auth are separate resources, ' +
    'so a Zitadel update leaves the app up): ' +
    (o ? `GET / failed ${o.failedCount} times from ${seconds(o.firstFailedT)} (first: ${o.firstError}); ` : '') +
    (unanswered.length ? `get-session failed to answer ${unanswered.length} times (first: ${unanswered[0].error ?? `HTTP ${unanswered[0].status}`})` : '').replace(/; $/, ''));
}

