// Measures what an app redeploy through Coolify costs users: a signed-in session is taken before, the deploy is
// triggered through the deployer API, GET / and get-session (with that session's cookie) are probed every 200 ms,
// and afterwards the same session must still be valid, /admin must open without a redirect, a CRUD read must work,
// and the downtime must stay within BUDGET_REDEPLOY_DOWNTIME_MS. The plan claims 5–10 s (zero with a rolling update)
// and that users stay signed in: this check measures both instead of assuming them.
import { existsSync } from 'node:fs';
import { test, expect, apiAs, storageStatePath } from '../../fixtures/test.ts';
import { AdminLayout } from '../../fixtures/pages/index.ts';
import { secretsOf } from '../../helpers/config.ts';
import { coolifyFor, type Deployment, type RollbackImages } from '../../helpers/coolify.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { dispatcherFor } from '../../helpers/http.ts';
import { startProbe, summarizeEndpoint, describeSummary, type ProbeResult } from '../../helpers/probe.ts';
import {
  APP_LANE, GET_SESSION_PATH, SESSION_LANE, against, attachProbe, identityOf, imagesOrUndefined, newInstanceEvidence, redeployDowntime,
  redeployProblems, reportFigures, seconds, sameSession, sessionCookieOf, sessionIdentity, waitFor, withDisruptionLock, type SessionIdentity,
} from './lib.ts';

const DEPLOY_TIMEOUT_MS = Number(process.env.REDEPLOY_TIMEOUT_MS ?? 10 * 60_000); // a real build takes 5–7 min
const PROBE_INTERVAL_MS = 200;

test.describe('app redeploy', { tag: ['@disruptive', '@redeploy'] }, () => {
  test('a redeploy keeps users signed in and stays within the downtime budget', async ({ target, browser }, testInfo) => {
    test.skip(!target.coolify?.appUuid, 'COOLIFY_TOKEN and COOLIFY_APP_UUID are not configured: triggering a redeploy needs the deployer API');
    test.skip(!existsSync(storageStatePath('admin')), `no saved admin sign-in (${storageStatePath('admin')}): run the "setup" project first`);
    test.setTimeout(DEPLOY_TIMEOUT_MS + 3 * 60_000);
    await label({ epic: EPIC.disruptive, feature: 'Redeploy', story: 'app redeploy without logout', severity: 'critical' });
    const coolify = coolifyFor(target);
    const appUuid = target.coolify!.appUuid!;
    const budgetMs = target.budgets.redeployDowntimeMs;
    const cookie = sessionCookieOf(target, 'admin');

    let version = '?';
    let imagesBefore: RollbackImages | undefined;
    await withDisruptionLock(target, 'app redeploy', async () => {
      const before = await test.step('before: the saved admin session is valid', async () => {
        const id = await sessionIdentity(target, cookie);
        expect(id.sessionId, `the saved admin session is valid before the redeploy (get-session answered HTTP ${id.status}; else run the "setup" project again)`).toBeTruthy();
        const health = await coolify.health();
        testInfo.annotations.push({ type: 'deployer', description: `${target.deployerUrl} health ${health.status} ${health.body}` });
        version = await coolify.version();
        imagesBefore = await imagesOrUndefined(coolify, appUuid);
        return id;
      });

      const probe = startProbe({
        endpoints: [
          { name: APP_LANE, url: `${target.appUrl}/`, ok: (s, b) => s === 200 && b.includes('GadgetBot') },
          { name: SESSION_LANE, url: `${target.appUrl}${GET_SESSION_PATH}`, cookie, headers: { accept: 'application/json' },
            ok: (s, b) => s === 200 && sameSession(before, identityOf(s, b)) },
        ],
        intervalMs: PROBE_INTERVAL_MS,
        dispatcher: dispatcherFor(target),
        timeoutMs: target.budgets.responseMs, // an answer slower than the response budget counts as unavailable
        maxDurationMs: DEPLOY_TIMEOUT_MS + 2 * 60_000,
        secrets: secretsOf(target),
      });
      let result: ProbeResult | undefined;
      let deployStatus = 'not triggered';
      let record: Deployment | undefined;
      let deploymentId = 'none';
      let triggeredT = 0;
      let finishedT = 0;
      try {
        await test.step('baseline: both lanes answer well before the deploy', async () => {
          await waitFor('5 good samples on each lane before the deploy', () => {
            const s = probe.snapshot();
            return [APP_LANE, SESSION_LANE].every((ep) => s.filter((x) => x.endpoint === ep).slice(-5).filter((x) => x.ok).length === 5);
          }, { timeoutMs: 15_000, pollMs: 100 });
        });

        await test.step('deploy through Coolify and wait for it to end', async () => {
          triggeredT = probe.mark('deploy triggered');
          const [dep] = await coolify.deploy(appUuid, { force: false });
          testInfo.annotations.push({ type: 'deployment', description: `${dep.deploymentUuid}: ${dep.message}` });
          expect(dep.deploymentUuid, `Coolify queues a deployment of the application with an id to follow ("${dep.message}")`).toBeTruthy();
          deploymentId = dep.deploymentUuid!;
          let progressMarked = false;
          record = await coolify.waitForDeploymentRecord(deploymentId, {
            timeoutMs: DEPLOY_TIMEOUT_MS, pollMs: 1000,
            onStatus: (s) => { if (s === 'in_progress' && !progressMarked) { progressMarked = true; probe.mark('in progress'); } },
          });
          deployStatus = record.status;
          finishedT = probe.mark(`deploy ${deployStatus}`);
        });

        await test.step('after: watch until the app has settled', async () => {
          // Settled = GET / ok five times in a row after the end, and the session lane answering (valid or not:
          // a rejected session is judged below, waiting longer would not bring it back; 429 = our probe throttled).
          await waitFor('the app answering steadily after the deployment', () => {
            const s = probe.snapshot().filter((x) => x.t > finishedT);
            const app = s.filter((x) => x.endpoint === APP_LANE).slice(-5);
            const sess = s.filter((x) => x.endpoint === SESSION_LANE).slice(-5);
            return app.length === 5 && app.every((x) => x.ok) && sess.length === 5 && sess.every((x) => x.status === 200 || x.throttled);
          }, { timeoutMs: Math.max(budgetMs, 10_000) + 15_000, pollMs: 100 }).catch(() => undefined); // judged from the samples below
        });
      } finally {
        result = await probe.stop();
        await attachProbe(testInfo, 'redeploy', result, `App redeploy on ${target.name}: ${target.appUrl}`);
      }

      const after: SessionIdentity = await test.step('after: the same session is still valid', () => sessionIdentity(target, cookie));
      // Proof first: "no downtime, same session" is also what a redeploy that redeployed nothing looks like.
      const imagesAfter = await imagesOrUndefined(coolify, appUuid);
      const proof = newInstanceEvidence(record!, imagesBefore, imagesAfter);
      testInfo.annotations.push({ type: 'new instance', description: proof.evidence });
      const problems = deployStatus === 'finished' && !proof.proven
        ? [`redeploy: nothing was redeployed: ${proof.problem ?? proof.evidence}. Downtime and sessions are not judged (nothing happened to them); ` +
          'look at the deployment in Coolify (a deployment that skips its build and start is no redeploy).']
        : redeployProblems({ budgetMs, deployStatus, triggeredT, finishedT, result, before, after });

      await test.step('after: /admin opens without a redirect', async () => {
        const context = await browser.newContext({ storageState: storageStatePath('admin'), baseURL: target.appUrl });
        try {
          const page = await context.newPage();
          const res = await page.goto('/admin');
          const landed = new URL(page.url());
          if (landed.pathname !== '/admin' || res?.request().redirectedFrom()) {
            problems.push(`redeploy: /admin redirected to ${landed.pathname}${landed.search} after the redeploy: the signed-in user was sent back to sign in`);
          } else {
            const admin = new AdminLayout(page, target.appUrl);
            await expect(admin.header, '/admin shows the admin shell after the redeploy').toBeVisible({ timeout: 15_000 })
              .catch(() => problems.push('redeploy: /admin opened but the "GadgetBot Admin" header did not appear within 15 s'));
          }
        } finally {
          await context.close();
        }
      });

      await test.step('after: a CRUD read works with the saved session', async () => {
        const list = await apiAs(target, 'admin').rpc<unknown[]>('list', {});
        if (!list.ok || !Array.isArray(list.data)) {
          problems.push(`redeploy: the CRUD read (oRPC gadgetbots/list) answered HTTP ${list.status} without a list after the redeploy`);
        }
      });

      const d = redeployDowntime({ result, triggeredT });
      const kept = sameSession(before, after);
      await reportFigures([
        ['downtime app GET /', against(d.appOutages.reduce((a, o) => a + o.durationMs, 0), budgetMs)],
        ['downtime app session', against(d.sessionOutages.reduce((a, o) => a + o.durationMs, 0), budgetMs)],
        ['sessions', kept ? 'kept' : 'lost'],
        ['deployment', `${deploymentId} ${deployStatus}`],
        ['new instance', proof.proven ? 'proven' : 'not shown'],
        ['image before → after', `${imagesBefore?.current ?? '?'} → ${imagesAfter?.current ?? '?'}`],
        ['Coolify version', version],
      ], proof.proven || deployStatus !== 'finished'
        ? `redeploy: ${seconds(d.downtimeMs)} downtime of ${seconds(budgetMs)}, sessions ${kept ? 'kept' : 'lost'}`
        : 'redeploy: nothing was redeployed');
      testInfo.annotations.push(
        { type: 'downtime', description: `${seconds(d.downtimeMs)} (budget ${seconds(budgetMs)}); ${describeSummary(summarizeEndpoint(result.samples, APP_LANE))}` },
        { type: 'session', description: sameSession(before, after) ? 'kept: the same session is valid after the redeploy' : 'lost after the redeploy' },
      );
      if (d.downtimeMs > 0 && d.downtimeMs <= budgetMs) {
        testInfo.annotations.push({ type: 'note', description: `downtime ${seconds(d.downtimeMs)} is within the budget, but a rolling update would show none` });
      }
      expect(problems, problems.join('\n')).toEqual([]);
    });
  });
});
