// The plan's "Test rollback procedure" (CI/CD: "Rollback available"): roll the app back to the previous image
// through Coolify (POST /applications/<uuid>/rollback), prove the earlier image serves, measure the downtime on the
// probe timeline, check that sessions are kept and the app's data is intact; then roll forward to the image that
// was current and prove it serves again. A rollback is a deploy of an earlier image: the redeploy's promises apply.
// Whatever fails, the app is left on the image it was found on (the test says so if it could not).
import { existsSync } from 'node:fs';
import { test, expect, apiAs, storageStatePath } from '../../fixtures/test.ts';
import { secretsOf, type Target } from '../../helpers/config.ts';
import { coolifyFor, type CoolifyClient, type Deployment, type RollbackImages } from '../../helpers/coolify.ts';
import { dispatcherFor } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { startProbe, summarizeEndpoint, type Probe, type ProbeResult } from '../../helpers/probe.ts';
import {
  APP_LANE, GET_SESSION_PATH, SESSION_LANE, against, attachProbe, identityOf, reportFigures, sameSession, seconds,
  sessionCookieOf, sessionIdentity, waitFor, withDisruptionLock, type SessionIdentity,
} from './lib.ts';

const DEPLOY_TIMEOUT_MS = Number(process.env.ROLLBACK_TIMEOUT_MS ?? 10 * 60_000);

/** The newest image other than the current one: what "roll back to the previous image" means. */
export function previousImage(images: RollbackImages): string | undefined {
  return images.images.filter((i) => i.tag !== images.current)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0]?.tag;
}

interface Switch { record: Deployment; triggeredT: number; finishedT: number; runningAfter: string | null }

/** Rolls to `tag`, waits for the deployment, then for the app to answer steadily; returns what Coolify then runs. */
async function rollTo(coolify: CoolifyClient, appUuid: string, tag: string, probe: Probe, what: string): Promise<Switch> {
  const triggeredT = probe.mark(`${what} to ${tag.slice(0, 12)} triggered`);
  const queued = await coolify.rollback(appUuid, tag);
  const record = await coolify.waitForDeploymentRecord(queued.deploymentUuid, { timeoutMs: DEPLOY_TIMEOUT_MS, pollMs: 1000 });
  const finishedT = probe.mark(`${what} ${record.status}`);
  await waitFor(`the app answering steadily after the ${what}`, () => {
    const app = probe.snapshot().filter((x) => x.t > finishedT && x.endpoint === APP_LANE).slice(-5);
    return app.length === 5 && app.every((x) => x.ok);
  }, { timeoutMs: 30_000, pollMs: 100 }).catch(() => undefined); // judged from the samples
  return { record, triggeredT, finishedT, runningAfter: (await coolify.rollbackImages(appUuid)).current };
}

/** Downtime of a lane within one switch: outages that touch [triggered, finished + settle]. */
function downtimeIn(result: ProbeResult, lane: string, from: number, to: number): number {
  return summarizeEndpoint(result.samples, lane).outages.filter((o) => o.end >= from && o.start <= to && !o.openEnd)
    .reduce((a, o) => a + o.durationMs, 0);
}

function sessionProbe(target: Target, cookie: string, before: SessionIdentity): Probe {
  return startProbe({
    endpoints: [
      { name: APP_LANE, url: `${target.appUrl}/`, ok: (s, b) => s === 200 && b.includes('GadgetBot') },
      { name: SESSION_LANE, url: `${target.appUrl}${GET_SESSION_PATH}`, cookie, headers: { accept: 'application/json' },
        ok: (s, b) => s === 200 && sameSession(before, identityOf(s, b)) },
    ],
    intervalMs: 200,
    dispatcher: dispatcherFor(target),
    timeoutMs: target.budgets.responseMs,
    maxDurationMs: 2 * DEPLOY_TIMEOUT_MS + 3 * 60_000,
    secrets: secretsOf(target),
  });
}

test.describe('app rollback', { tag: ['@disruptive', '@rollback'] }, () => {
  test('a rollback to the previous image serves it, keeps sessions and data, and rolls forward again', async ({ target, bots }, testInfo) => {
    test.skip(!target.coolify?.appUuid, 'COOLIFY_TOKEN and COOLIFY_APP_UUID are not configured: a rollback needs the deployer API');
    test.skip(!existsSync(storageStatePath('admin')), `no saved admin sign-in (${storageStatePath('admin')}): run the "setup" project first`);
    test.setTimeout(2 * DEPLOY_TIMEOUT_MS + 4 * 60_000);
    await label({ epic: EPIC.disruptive, feature: 'Rollback', story: 'roll back and forward', severity: 'critical' });
    const coolify = coolifyFor(target);
    const appUuid = target.coolify!.appUuid!;
    const budgetMs = target.budgets.redeployDowntimeMs;
    const cookie = sessionCookieOf(target, 'admin');
    const version = await coolify.version();
    const found = await coolify.rollbackImages(appUuid);
    const original = found.current;
    const earlier = previousImage(found);
    test.skip(!original, `Coolify ${version} cannot tell which image the app runs (rollback-images "current" is null): nothing to roll back from`);
    test.skip(!earlier, `Coolify ${version} keeps no earlier image of the app (only ${original}): there is nothing to roll back to`);

    await withDisruptionLock(target, 'app rollback', async () => {
      const before = await test.step('before: the saved admin session is valid and a record of ours exists', async () => {
        const id = await sessionIdentity(target, cookie);
        expect(id.sessionId, `the saved admin session is valid before the rollback (get-session answered HTTP ${id.status})`).toBeTruthy();
        return { id, bot: await bots.create('gardening') };
      });
      const probe = sessionProbe(target, cookie, before.id);
      const problems: string[] = [];
      let back: Switch | undefined;
      let forward: Switch | undefined;
      let result: ProbeResult | undefined;
      let afterBack: SessionIdentity | undefined;
      try {
        await waitFor('5 good samples on each lane before the rollback', () => {
          const s = probe.snapshot();
          return [APP_LANE, SESSION_LANE].every((ep) => s.filter((x) => x.endpoint === ep).slice(-5).filter((x) => x.ok).length === 5);
        }, { timeoutMs: 15_000, pollMs: 100 });
        back = await test.step(`roll back to the previous image ${earlier}`, () => rollTo(coolify, appUuid, earlier!, probe, 'rollback'));
        afterBack = await sessionIdentity(target, cookie);
        await test.step('after the rollback: the earlier image serves, the session and our record are intact', async () => {
          if (back!.record.status !== 'finished') problems.push(`rollback: the rollback deployment ${back!.record.deploymentUuid} ended "${back!.record.status}" instead of "finished" (read its log in Coolify)`);
          else if (back!.runningAfter !== earlier) {
            problems.push(`rollback: the rollback reported "finished" but the app still runs image ${back!.runningAfter ?? 'unknown'}, not ${earlier} ` +
              `(deployment ${back!.record.deploymentUuid}; Coolify's rollback-images inspects the running container)`);
          }
          if (!sameSession(before.id, afterBack!)) {
            problems.push(`rollback: sessions lost after the rollback (promise: a rollback, like any deploy, keeps users signed in): the session from before ` +
              (afterBack!.sessionId ? `now resolves to another session` : `is rejected (get-session HTTP ${afterBack!.status})`) +
              ' — likely the earlier image runs with another BETTER_AUTH_SECRET (set it in the resource\'s environment, not in the image).');
          } else {
            const bot = await apiAs(target, 'admin').getById(before.bot.id).catch((e: Error) => e);
            if (bot instanceof Error || bot.name !== before.bot.name || bot.type !== before.bot.type) {
              problems.push(`rollback: the app's data is not intact after the rollback: record ${before.bot.id} (${before.bot.name}) ${bot instanceof Error ? `could not be read: ${bot.message.split('\n')[0]}` : `reads back as ${bot.name} (${bot.type})`}`);
            }
          }
        });
      } finally {
        forward = await test.step(`roll forward to the image it was found on, ${original}`, async () => {
          const now = (await coolify.rollbackImages(appUuid).catch(() => undefined))?.current;
          if (now === original && !back) return undefined;
          return rollTo(coolify, appUuid, original!, probe, 'roll forward').catch((e: Error) => {
            problems.push(`rollback: could not roll forward to ${original}: ${e.message.split('\n')[0]}. THE APP MAY STILL RUN ${now ?? 'an unknown image'}: roll forward in Coolify.`);
            return undefined;
          });
        });
        result = await probe.stop();
        await attachProbe(testInfo, 'rollback', result, `App rollback on ${target.name}: ${target.appUrl}`);
      }
      const left = (await coolify.rollbackImages(appUuid)).current;
      if (left !== original) problems.push(`rollback: teardown could not leave the app on the image it was found on: it runs ${left ?? 'an unknown image'}, not ${original}: roll forward in Coolify`);
      else testInfo.annotations.push({ type: 'teardown', description: `the app runs the image it was found on, ${original}` });
      if (forward && forward.record.status !== 'finished') problems.push(`rollback: the roll forward ${forward.record.deploymentUuid} ended "${forward.record.status}"`);

      const down = (s?: Switch) => (s ? Math.max(downtimeIn(result!, APP_LANE, s.triggeredT, s.finishedT + 5000), downtimeIn(result!, SESSION_LANE, s.triggeredT, s.finishedT + 5000)) : 0);
      const backMs = down(back);
      const forwardMs = down(forward);
      if (back && backMs > budgetMs) problems.push(`rollback: downtime ${seconds(backMs)} during the rollback exceeds BUDGET_REDEPLOY_DOWNTIME_MS ${seconds(budgetMs)}`);
      if (forward && forwardMs > budgetMs) problems.push(`rollback: downtime ${seconds(forwardMs)} during the roll forward exceeds BUDGET_REDEPLOY_DOWNTIME_MS ${seconds(budgetMs)}`);
      const kept = !!afterBack && sameSession(before.id, afterBack);
      await reportFigures([
        ['downtime rollback', against(backMs, budgetMs)],
        ['downtime roll forward', against(forwardMs, budgetMs)],
        ['sessions', kept ? 'kept' : 'lost'],
        ['image before → rollback → after', `${original} → ${back?.runningAfter ?? '?'} → ${left ?? '?'}`],
        ['deployments', [back, forward].filter(Boolean).map((s) => `${s!.record.deploymentUuid} ${s!.record.status}`).join(', ')],
        ['Coolify version', version],
      ], `rollback: ${seconds(backMs)} downtime of ${seconds(budgetMs)}, sessions ${kept ? 'kept' : 'lost'}, ${left === original ? 'rolled forward' : 'NOT rolled forward'}`);
      expect(problems, problems.join('\n')).toEqual([]);
    });
  });
});
