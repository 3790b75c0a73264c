// Coolify is up: its unauthenticated health endpoint answers 200 "OK" (its real body); skipped without DEPLOYER_URL.
import { expectNone } from '../../fixtures/observed.ts';
import { test } from '../../fixtures/test.ts';
import { request } from '../../helpers/http.ts';
import { label } from '../../helpers/labels.ts';

test.describe('Deployer health', () => {
  test('GET /api/health answers 200', { tag: '@smoke' }, async ({ target: t }) => {
    await label({ feature: 'Deployer', story: 'Coolify health', severity: 'normal' });
    test.skip(!t.deployerUrl, 'DEPLOYER_URL not set: the deployer (Coolify) is not checked');
    const host = new URL(t.deployerUrl).host;
    const res = await request(t, `${t.deployerUrl}/api/health`);
    const body = res.body.trim();
    const problems = res.status !== 200 ? [`${host}: /api/health answered ${res.status}${body ? ` "${body.slice(0, 120)}"` : ''}`]
      : body.toUpperCase() !== 'OK' ? [`${host}: /api/health answered 200 with "${body.replace(/\s+/g, ' ').slice(0, 80)}", not Coolify's "OK" (another service answers this route)`] : [];
    await expectNone(`${host}: /api/health answers 200 "OK"`, problems);
  });
});
