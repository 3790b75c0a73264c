// Measures a Zitadel upgrade (the auth stack, a Docker Compose resource in Coolify): before it, auth must be
// healthy with Login V2 required, and discovery, JWKS, a signed-in app session and the auth process are recorded;
// during it, auth and app are probed every 200 ms while the operator upgrades (watch mode, see
// bin/zitadel-upgrade.ts) or while the auth resource's deployment runs (trigger mode, when COOLIFY_AUTH_UUID and
// COOLIFY_TOKEN are set); then the auth service must be shown to have restarted (else nothing was upgraded and
// nothing is judged); after it, auth must be ready with the same issuer, a fresh sign-in must work end to end, the
// app must have answered throughout, and the auth downtime must fit AUTH_MAINTENANCE_WINDOW_MS. The JWKS change
// and the existing app session's fate (the plan claims "logs all users out") are measured and reported.
import { existsSync } from 'node:fs';
import { test, expect, storageStatePath } from '../../fixtures/test.ts';
import { summarizeEndpoint, describeSummary, type ProbeResult } from '../../helpers/probe.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { coolifyFor } from '../../helpers/coolify.ts';
import {
  APP_LANE, SESSION_LANE, against, attachProbe, reportFigures, sameSession, seconds, sessionCookieOf, sessionIdentity, waitFor,
  withDisruptionLock,
} from './lib.ts';
import {
  AUTH_DISCOVERY_LANE, AUTH_READY_LANE, freshSignIn, judgeAppThroughout, judgeOidcAfter, readyAgain, recordBaseline, restartEvidence,
  triggerAuthDeploy, upgradeProbe, watchOperator, type Upgrade,
} from './upgrade-steps.ts';

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
    await label({ epic: EPIC.disruptive, feature: 'Zitadel upgrade', story: 'maintenance window', severity: 'critical' });
    const windowMs = target.budgets.authMaintenanceWindowMs;
    const spanMs = mode === 'trigger' ? DEPLOY_TIMEOUT_MS : WATCH_MS!;
    test.setTimeout(spanMs + windowMs + 4 * 60_000);
    testInfo.annotations.push({ type: 'mode', description: mode === 'trigger' ? `trigger: deploy of auth resource ${target.coolify!.authUuid}` : `watch: up to ${seconds(WATCH_MS!)} for the operator's upgrade` });
    const cookie = sessionCookieOf(target, 'admin');
    const version = mode === 'trigger' ? await coolifyFor(target).version() : 'not asked (watch mode)';

    await withDisruptionLock(target, 'Zitadel upgrade', async () => {
      const before = await test.step('before: auth healthy, Login V2 required, discovery, JWKS and the app session recorded',
        () => recordBaseline(target, cookie, testInfo));
      const probe = upgradeProbe(target, cookie, before, spanMs + windowMs + 2 * 60_000);
      let result: ProbeResult | undefined;
      let upgrade: Upgrade = { startT: 0, endT: 0 };
      let ready = true;
      try {
        await test.step('baseline: every lane answers well', () => waitFor('3 good samples on every lane', () => {
          const s = probe.snapshot();
          return [AUTH_READY_LANE, AUTH_DISCOVERY_LANE, APP_LANE, SESSION_LANE]
            .every((ep) => s.filter((x) => x.endpoint === ep).slice(-3).filter((x) => x.ok).length === 3);
        }, { timeoutMs: 15_000, pollMs: 100 }));
        upgrade = mode === 'trigger'
          ? await test.step('deploy the auth resource through Coolify', () => triggerAuthDeploy(target, probe, DEPLOY_TIMEOUT_MS, testInfo))
          : await test.step('watch while the operator upgrades Zitadel', () => watchOperator(target, probe, { watchMs: WATCH_MS!, settleMs: SETTLE_MS, signalDir: SIGNAL_DIR }));
        ready = await test.step('after: auth ready again', () => readyAgain(probe, upgrade.endT, windowMs + 60_000));
      } finally {
        result = await probe.stop();
        await attachProbe(testInfo, 'zitadel-upgrade', result, `Zitadel upgrade on ${target.name}: ${target.authUrl}`);
      }

      const problems: string[] = [];
      const restart = await test.step('the auth service restarted (proof the upgrade happened)', () => restartEvidence(target, before, result!, upgrade.startT));
      testInfo.annotations.push({ type: 'auth restart', description: restart.evidence });
      const authSummary = summarizeEndpoint(result.samples, AUTH_READY_LANE);
      const authDowntime = authSummary.outages.filter((o) => o.end >= upgrade.startT).reduce((a, o) => a + o.durationMs, 0);
      testInfo.annotations.push({ type: 'auth downtime', description: `${seconds(authDowntime)} (window ${seconds(windowMs)}); ${describeSummary(authSummary)}` });
      let jwksFate = 'not checked';
      let kept: boolean | undefined;
      if (upgrade.deployStatus && !['finished', 'no deployment id'].includes(upgrade.deployStatus)) {
        problems.push(`zitadel-upgrade: the auth deployment ${upgrade.deploymentId} ended "${upgrade.deployStatus}" instead of "finished" (read the deployment log in Coolify).`);
      } else if (!restart.restarted) {
        problems.push(`zitadel-upgrade: the auth service did not restart (${restart.evidence}): nothing was upgraded, so nothing is judged` +
          (mode === 'trigger' ? ` (the auth deployment ${upgrade.deploymentId ?? ''} reported "${upgrade.deployStatus}"; read its log in Coolify)` : ' (upgrade Zitadel while the watch runs)'));
      } else {
        if (!ready) problems.push(`zitadel-upgrade: auth is not ready again: ${target.authUrl}/debug/ready did not answer 200 three times in a row within ${seconds(windowMs + 60_000)} after the upgrade ended.`);
        if (authDowntime > windowMs) {
          const worst = [...authSummary.outages].sort((a, b) => b.durationMs - a.durationMs)[0];
          problems.push(`zitadel-upgrade: auth downtime ${seconds(authDowntime)} exceeds AUTH_MAINTENANCE_WINDOW_MS ${seconds(windowMs)} ` +
            `(promise: a Zitadel update fits the maintenance window; the plan expects 30–60 s). /debug/ready failed ${worst.failedCount} times ` +
            `from ${seconds(worst.firstFailedT)} to ${seconds(worst.lastFailedT)} (first: ${worst.firstError}; last: ${worst.lastError}).`);
        }
        // With auth down every later check would fail for that one reason: it is reported once, above.
        if (ready) jwksFate = await test.step('after: issuer unchanged, Login V2 still required, JWKS compared', () => judgeOidcAfter(target, before, problems));
        kept = await test.step('after: the existing app session (the plan claims an update logs everyone out)',
          async () => sameSession(before.session, await sessionIdentity(target, cookie)));
        testInfo.annotations.push({ type: 'app session', description: kept
          ? 'kept: the session from before the upgrade is still valid (the plan claims "logs all users out"; app sessions live in the app\'s database)'
          : 'lost: the earlier session is no longer valid (the plan\'s claim holds)' });
        if (ready) await test.step('after: a fresh sign-in works end to end', () => freshSignIn(target, browser, problems));
        judgeAppThroughout(result, problems);
      }
      const appDown = summarizeEndpoint(result.samples, APP_LANE).totalDowntimeMs;
      await reportFigures([
        ['auth downtime', against(authDowntime, windowMs)],
        ['app downtime', `${seconds(appDown)} (promise: none)`],
        ['auth restarted', restart.restarted ? 'yes' : 'no'],
        ['issuer', problems.some((p) => /issuer changed/.test(p)) ? 'changed' : jwksFate === 'not checked' ? 'not checked' : 'kept'],
        ['JWKS', jwksFate],
        ['app session', kept === undefined ? 'not checked' : kept ? 'kept (the plan claims "all users logged out")' : 'lost'],
        ['deployment', upgrade.deploymentId ? `${upgrade.deploymentId} ${upgrade.deployStatus}` : upgrade.deployStatus ?? 'none (watch mode)'],
        ['Coolify version', version],
      ], restart.restarted
        ? `zitadel-upgrade: ${seconds(authDowntime)} auth downtime of ${seconds(windowMs)}, app session ${kept === undefined ? 'not checked' : kept ? 'kept' : 'lost'}`
        : 'zitadel-upgrade: the auth service did not restart');
      expect(problems, problems.join('\n')).toEqual([]);
    });
  });
});
