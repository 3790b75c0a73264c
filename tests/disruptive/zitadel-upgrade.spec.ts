// Measures a Zitadel upgrade (the auth stack, a Docker Compose resource in Coolify): before it, auth must be
// healthy with Login V2 required, and discovery, JWKS and a signed-in app session are recorded; during it, auth and
// app are probed every 200 ms while the operator upgrades (watch mode, see bin/zitadel-upgrade.ts) or while the auth
// resource's deployment runs (trigger mode, when COOLIFY_AUTH_UUID and COOLIFY_TOKEN are set); after it, auth must be
// ready with the same issuer, a fresh sign-in must work end to end, the app must have answered throughout, and the
// auth downtime must fit AUTH_MAINTENANCE_WINDOW_MS. The JWKS change and the existing app session's fate (the plan
// claims "logs all users out") are measured and reported.
import { existsSync } from 'node:fs';
import { test, expect, storageStatePath } from '../../fixtures/test.ts';
import { AdminLayout, signInWithZitadel } from '../../fixtures/pages/index.ts';
import { secretsOf } from '../../helpers/config.ts';
import { coolifyFor } from '../../helpers/coolify.ts';
import { dispatcherFor, request } from '../../helpers/http.ts';
import { discover, fetchJwks, probeLoginV2 } from '../../helpers/oidc.ts';
import { startProbe, summarizeEndpoint, describeSummary, type ProbeResult } from '../../helpers/probe.ts';
import {
  APP_LANE, GET_SESSION_PATH, SESSION_LANE, SIGNAL_DONE, SIGNAL_WATCHING, attachProbe, hasSignal, identityOf,
  sameSession, seconds, sessionCookieOf, sessionIdentity, signal, waitFor, withDisruptionLock,
} from './lib.ts';

const AUTH_READY_LANE = 'auth /debug/ready';
const AUTH_DISCOVERY_LANE = 'auth discovery';
const DEPLOY_TIMEOUT_MS = Number(process.env.ZITADEL_DEPLOY_TIMEOUT_MS ?? 10 * 60_000);
const WATCH_MS = process.env.UPGRADE_WATCH_MS ? Number(process.env.UPGRADE_WATCH_MS) : undefined;
const SETTLE_MS = Number(process.env.UPGRADE_SETTLE_MS ?? 15_000);
const SIGNAL_DIR = process.env.UPGRADE_SIGNAL_DIR || undefined;

// The fresh sign-in types the admin password: traces record typed values and videos show the screen.
test.use({ trace: 'off', video: 'off' });

test.describe('Zitadel upgrade', { tag: ['@disruptive', '@zitadel-upgrade'] }, () => {
  test('auth comes back within the maintenance window with the same issuer, sign-in works, the app stays up', async ({ target, browser }, testInfo) => {
    const requested = process.env.UPGRADE_MODE;
    const mode = requested === 'watch' || requested === 'trigger' ? requested : target.coolify?.authUuid ? 'trigger' : 'watch';
    test.skip(mode === 'trigger' && !target.coolify?.authUuid, 'UPGRADE_MODE=trigger needs COOLIFY_TOKEN and COOLIFY_AUTH_UUID');
    test.skip(mode === 'watch' && !WATCH_MS,
      'no COOLIFY_AUTH_UUID to trigger the auth deployment and no watch window: run `npx tsx bin/zitadel-upgrade.ts` while upgrading Zitadel (or set UPGRADE_WATCH_MS)');
    test.skip(!existsSync(storageStatePath('admin')), `no saved admin sign-in (${storageStatePath('admin')}): run the "setup" project first`);
    const windowMs = target.budgets.authMaintenanceWindowMs;
    test.setTimeout((mode === 'trigger' ? DEPLOY_TIMEOUT_MS : WATCH_MS!) + windowMs + 4 * 60_000);
    testInfo.annotations.push({ type: 'mode', description: mode === 'trigger' ? `trigger: deploy of auth resource ${target.coolify!.authUuid}` : `watch: up to ${seconds(WATCH_MS!)} for the operator's upgrade` });
    const cookie = sessionCookieOf(target, 'admin');

    await withDisruptionLock(target, 'Zitadel upgrade', async () => {
      const before = await test.step('before: auth healthy, Login V2 required, discovery and JWKS recorded, app session valid', async () => {
        for (const path of ['/debug/healthz', '/debug/ready']) {
          const r = await request(target, `${target.authUrl}${path}`, { timeoutMs: 10_000 });
          expect(r.status, `before the upgrade: ${target.authUrl}${path} answered ${r.status}: auth is not healthy, nothing to measure`).toBe(200);
        }
        const login = await probeLoginV2(target);
        expect(login.loginV2, login.landedOn
          ? `before the upgrade: Login V2 is not required (authorize lands on ${login.landedOn}${login.problem ? `; ${login.problem}` : ''})`
          : `before the upgrade: the Login V2 check could not start: ${login.problem}`).toBe(true);
        const disco = await discover(target);
        const issuer = String(disco.document.issuer ?? '');
        expect(disco.status, `before the upgrade: discovery answered ${disco.status}`).toBe(200);
        const jwks = await fetchJwks(target, String(disco.document.jwks_uri ?? `${target.authUrl}/oauth/v2/keys`));
        expect(jwks.keys.length, `before the upgrade: JWKS ${jwks.url} has no keys (${jwks.error ?? `HTTP ${jwks.status}`})`).toBeGreaterThan(0);
        const session = await sessionIdentity(target, cookie);
        expect(session.sessionId, `before the upgrade: the saved admin session is not valid (get-session HTTP ${session.status}): run the "setup" project again`).toBeTruthy();
        testInfo.annotations.push({ type: 'before', description: `issuer ${issuer}; JWKS kids ${jwks.keys.map((k) => k.kid).join(', ')}` });
        return { issuer, jwksUri: jwks.url, kids: jwks.keys.map((k) => k.kid ?? '?'), session };
      });

      const probe = startProbe({
        endpoints: [
          { name: AUTH_READY_LANE, url: `${target.authUrl}/debug/ready`, ok: (s) => s === 200 },
          { name: AUTH_DISCOVERY_LANE, url: `${target.authUrl}/.well-known/openid-configuration`, headers: { accept: 'application/json' },
            ok: (s, b) => s === 200 && (JSON.parse(b) as { issuer?: string }).issuer === before.issuer },
          { name: APP_LANE, url: `${target.appUrl}/`, ok: (s, b) => s === 200 && b.includes('GadgetBot') },
          { name: SESSION_LANE, url: `${target.appUrl}${GET_SESSION_PATH}`, cookie, headers: { accept: 'application/json' },
            ok: (s, b) => s === 200 && sameSession(before.session, identityOf(s, b)) },
        ],
        intervalMs: 200,
        dispatcher: dispatcherFor(target),
        timeoutMs: target.budgets.responseMs, // an answer slower than the response budget counts as unavailable
        maxDurationMs: (mode === 'trigger' ? DEPLOY_TIMEOUT_MS : WATCH_MS!) + windowMs + 2 * 60_000,
        secrets: secretsOf(target),
      });
      const authDown = () => probe.snapshot().some((s) => s.endpoint === AUTH_READY_LANE && !s.ok);
      let result: ProbeResult | undefined;
      let deployStatus: string | undefined;
      let startT = 0;
      let endT = 0;
      let readyAgain = true;
      try {
        await test.step('baseline: every lane answers well', async () => {
          await waitFor('3 good samples on every lane', () => {
            const s = probe.snapshot();
            return [AUTH_READY_LANE, AUTH_DISCOVERY_LANE, APP_LANE, SESSION_LANE]
              .every((ep) => s.filter((x) => x.endpoint === ep).slice(-3).filter((x) => x.ok).length === 3);
          }, { timeoutMs: 15_000, pollMs: 100 });
        });

        if (mode === 'trigger') {
          await test.step('deploy the auth resource through Coolify', async () => {
            const coolify = coolifyFor(target);
            startT = probe.mark('auth deploy triggered');
            const [dep] = await coolify.deploy(target.coolify!.authUuid!, { force: false });
            testInfo.annotations.push({ type: 'deployment', description: `${dep.deploymentUuid}: ${dep.message}` });
            deployStatus = await coolify.waitForDeployment(dep.deploymentUuid, { timeoutMs: DEPLOY_TIMEOUT_MS, pollMs: 1000 });
            endT = probe.mark(`auth deploy ${deployStatus}`);
          });
        } else {
          await test.step('watch while the operator upgrades Zitadel', async () => {
            startT = probe.mark('watching');
            signal(SIGNAL_DIR, SIGNAL_WATCHING);
            console.log(`[zitadel-upgrade] baseline recorded; watching ${target.authUrl} for up to ${seconds(WATCH_MS!)}: upgrade Zitadel now`);
            // Over when the operator says so, or when auth was down and has been ready again for SETTLE_MS.
            const over = () => {
              if (hasSignal(SIGNAL_DIR, SIGNAL_DONE)) return 'operator';
              const s = probe.snapshot().filter((x) => x.endpoint === AUTH_READY_LANE);
              let lastBad = s.length - 1;
              while (lastBad >= 0 && s[lastBad].ok) lastBad--;
              if (lastBad < 0) return false;
              const after = s.slice(lastBad + 1);
              return after.length > 0 && after.at(-1)!.t - s[lastBad].t >= SETTLE_MS ? 'auth back' : false;
            };
            const how = await waitFor('the end of the upgrade', over, { timeoutMs: WATCH_MS!, pollMs: 250 }).catch(() => 'watch window over');
            endT = probe.mark(`upgrade over (${how})`);
            if (!authDown()) testInfo.annotations.push({ type: 'note', description: `no auth outage was seen while watching (${how}): the upgrade either cost no downtime or did not happen in the window` });
          });
        }

        await test.step('after: auth ready again', async () => {
          readyAgain = await waitFor('auth /debug/ready answering 200 again', () => {
            const s = probe.snapshot().filter((x) => x.endpoint === AUTH_READY_LANE && x.t > endT).slice(-3);
            return s.length === 3 && s.every((x) => x.ok);
          }, { timeoutMs: windowMs + 60_000, pollMs: 200 }).then(() => true, () => false);
        });
      } finally {
        result = await probe.stop();
        await attachProbe(testInfo, 'zitadel-upgrade', result, `Zitadel upgrade on ${target.name}: ${target.authUrl}`);
      }

      const problems: string[] = [];
      if (deployStatus && deployStatus !== 'finished') {
        problems.push(`zitadel-upgrade: the auth deployment ended "${deployStatus}" instead of "finished" (read the deployment log in Coolify).`);
      }
      if (!readyAgain) {
        problems.push(`zitadel-upgrade: auth is not ready again: ${target.authUrl}/debug/ready did not answer 200 three times in a row within ${seconds(windowMs + 60_000)} after the upgrade ended.`);
      }

      const authSummary = summarizeEndpoint(result.samples, AUTH_READY_LANE);
      const authDowntime = authSummary.outages.filter((o) => o.end >= startT).reduce((a, o) => a + o.durationMs, 0);
      testInfo.annotations.push({ type: 'auth downtime', description: `${seconds(authDowntime)} (window ${seconds(windowMs)}); ${describeSummary(authSummary)}` });
      if (authDowntime > windowMs) {
        const worst = [...authSummary.outages].sort((a, b) => b.durationMs - a.durationMs)[0];
        problems.push(`zitadel-upgrade: auth downtime ${seconds(authDowntime)} exceeds AUTH_MAINTENANCE_WINDOW_MS ${seconds(windowMs)} ` +
          `(promise: a Zitadel update fits the maintenance window; the plan expects 30–60 s). /debug/ready failed ${worst.failedCount} times ` +
          `from ${seconds(worst.firstFailedT)} to ${seconds(worst.lastFailedT)} (first: ${worst.firstError}; last: ${worst.lastError}).`);
      }

      await test.step('after: issuer unchanged, Login V2 still required, JWKS compared', async () => {
        // With auth down every one of these would fail for that one reason: it is reported once, above.
        if (!readyAgain) return void testInfo.annotations.push({ type: 'not checked', description: `issuer, Login V2 and JWKS: auth is not ready` });
        const disco = await discover(target).catch((e: Error) => ({ status: 0, document: {} as Record<string, unknown>, error: e.message }));
        const issuer = String(disco.document.issuer ?? '');
        if (disco.status !== 200) problems.push(`zitadel-upgrade: discovery answered ${disco.status} after the upgrade`);
        else if (issuer !== before.issuer) {
          problems.push(`zitadel-upgrade: the issuer changed from "${before.issuer}" to "${issuer}": the app's token validation fails for every sign-in ` +
            '(check ZITADEL_EXTERNALDOMAIN, ZITADEL_EXTERNALSECURE and ZITADEL_EXTERNALPORT of the new version).');
        }
        const login = await probeLoginV2(target);
        if (!login.loginV2 && !login.landedOn) problems.push(`zitadel-upgrade: the Login V2 check after the upgrade could not start: ${login.problem}`);
        else if (!login.loginV2) {
          problems.push(`zitadel-upgrade: Login V2 is no longer required after the upgrade (authorize lands on ${login.landedOn}${login.problem ? `; ${login.problem}` : ''}): ` +
            'enable the Login V2 instance feature again.');
        }
        const jwks = await fetchJwks(target, String(disco.document.jwks_uri ?? before.jwksUri));
        const kids = jwks.keys.map((k) => k.kid ?? '?');
        const kept = before.kids.filter((k) => kids.includes(k));
        const fate = kids.length === 0 ? `unavailable (${jwks.error ?? `HTTP ${jwks.status}`})`
          : kept.length === before.kids.length && kids.length === before.kids.length ? 'kept (same keys)'
            : kept.length === 0 ? 'rotated (none of the earlier keys remain: tokens signed before the upgrade no longer verify)'
              : `changed (kept ${kept.length} of ${before.kids.length}, now ${kids.length})`;
        testInfo.annotations.push({ type: 'JWKS', description: `${fate}; before ${before.kids.join(', ')}; after ${kids.join(', ')}` });
        if (kids.length === 0) problems.push(`zitadel-upgrade: the JWKS ${jwks.url} has no keys after the upgrade (${jwks.error ?? `HTTP ${jwks.status}`}): no token can be verified`);
      });

      await test.step('after: the existing app session (the plan claims an update logs everyone out)', async () => {
        const now = await sessionIdentity(target, cookie);
        const kept = sameSession(before.session, now);
        testInfo.annotations.push({
          type: 'app session',
          description: kept
            ? 'kept: the session from before the upgrade is still valid (the plan claims "logs all users out"; app sessions live in the app\'s database)'
            : `lost: get-session answered HTTP ${now.status} without the earlier session (the plan's claim holds)`,
        });
      });

      await test.step('after: a fresh sign-in works end to end', async () => {
        // With auth down every one of these would fail for that one reason: it is reported once, above.
        if (!readyAgain) return void testInfo.annotations.push({ type: 'not checked', description: `the fresh sign-in: auth is not ready` });
        const context = await browser.newContext({ baseURL: target.appUrl });
        try {
          const page = await context.newPage();
          const r = await signInWithZitadel(page, { appUrl: target.appUrl, authUrl: target.authUrl }, target.users.admin, { timeoutMs: 45_000 });
          const landed = new URL(page.url());
          if (landed.pathname !== '/admin') problems.push(`zitadel-upgrade: the fresh sign-in ended on ${landed.pathname}, not /admin`);
          else {
            await expect(new AdminLayout(page, target.appUrl).header).toBeVisible({ timeout: 15_000 })
              .catch(() => problems.push('zitadel-upgrade: the fresh sign-in reached /admin but the "GadgetBot Admin" header did not appear'));
          }
          testInfo.annotations.push({ type: 'fresh sign-in', description: `${r.path}: ${r.urls.length} navigations` });
        } catch (e) {
          problems.push(`zitadel-upgrade: a fresh sign-in failed after the upgrade: ${String((e as Error).message).split('\n')[0]}`);
        } finally {
          await context.close();
        }
      });

      const app = summarizeEndpoint(result.samples, APP_LANE);
      const sessionLane = result.samples.filter((s) => s.endpoint === SESSION_LANE);
      // 429 is Better Auth throttling this probe (its counter only resets after a pause): the app did answer.
      const unanswered = sessionLane.filter((s) => s.status !== 200 && !s.throttled);
      if (app.failed > 0 || unanswered.length > 0) {
        const o = app.outages[0];
        problems.push('zitadel-upgrade: the app did not answer throughout the auth upgrade (promise: app and auth are separate resources, ' +
          'so a Zitadel update leaves the app up): ' +
          (o ? `GET / failed ${o.failedCount} times from ${seconds(o.firstFailedT)} (first: ${o.firstError}); ` : '') +
          (unanswered.length ? `get-session failed to answer ${unanswered.length} times (first: ${unanswered[0].error ?? `HTTP ${unanswered[0].status}`})` : '').replace(/; $/, ''));
      }

      expect(problems, problems.join('\n')).toEqual([]);
    });
  });
});
