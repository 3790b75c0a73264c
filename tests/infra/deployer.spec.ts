// Coolify is up (its unauthenticated health endpoint); skipped when no DEPLOYER_URL is configured.
import { expect, test } from '@playwright/test';
import { getConfig } from '../../helpers/config.ts';
import { request } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';

test.describe('Deployer health', () => {
  test('GET /api/health answers 200', { tag: '@smoke' }, async () => {
    const t = getConfig();
    await label({ epic: EPIC.infra, feature: 'Deployer', story: 'Coolify health', severity: 'normal' });
    test.skip(!t.deployerUrl, 'DEPLOYER_URL not set: the deployer (Coolify) is not checked');
    const host = new URL(t.deployerUrl).host;
    const res = await request(t, `${t.deployerUrl}/api/health`);
    expect(res.status, `${host}: /api/health answered ${res.status}${res.body ? ` "${res.body.trim().slice(0, 120)}"` : ''}`).toBe(200);
  });
});
