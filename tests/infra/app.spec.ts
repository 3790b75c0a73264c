// The app is up: the container healthcheck's own request (GET /) answers 2xx in budget with the real
// page, and Better Auth's mount answers.
import { expect, test } from '@playwright/test';
import { getConfig } from '../../helpers/config.ts';
import { header, request } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { note } from './common.ts';

const ctx = () => { const t = getConfig(); return { t, host: new URL(t.appUrl).host }; };

test.describe('App health', () => {
  test('GET / answers 2xx in budget with the GadgetBot page', { tag: '@smoke' }, async ({}, info) => {
    const { t, host } = ctx();
    await label({ epic: EPIC.infra, feature: 'App', story: 'home page healthcheck', severity: 'blocker', parameters: { host } });
    const res = await test.step(`GET ${t.appUrl}/`, () => request(t, `${t.appUrl}/`, { headers: { accept: 'text/html' } }));
    note(info, 'response-ms', `${host}: GET / in ${res.ms} ms (budget ${t.budgets.responseMs} ms)`);
    expect(res.status >= 200 && res.status < 300, `${host}: GET / answered ${res.status} (the container healthcheck curl -f would fail)`).toBe(true);
    expect(res.body, `${host}: GET / is not the GadgetBot page (no <title>GadgetBot Rental Service</title>)`).toContain('<title>GadgetBot Rental Service</title>');
    expect(res.ms, `${host}: GET / took ${res.ms} ms, budget ${t.budgets.responseMs} ms`).toBeLessThanOrEqual(t.budgets.responseMs);
  });

  test('GET /api/auth/ok answers {"ok":true}', { tag: '@smoke' }, async () => {
    const { t, host } = ctx();
    await label({ epic: EPIC.infra, feature: 'App', story: 'Better Auth is mounted', severity: 'critical', parameters: { host } });
    const res = await request(t, `${t.appUrl}/api/auth/ok`, { headers: { accept: 'application/json' } });
    expect(res.status, `${host}: /api/auth/ok answered ${res.status}`).toBe(200);
    let body: unknown;
    try { body = JSON.parse(res.body); } catch { body = res.body.slice(0, 200); }
    expect(body, `${host}: /api/auth/ok body is not {"ok":true} (content-type ${header(res, 'content-type') ?? 'none'})`).toEqual({ ok: true });
  });
});
