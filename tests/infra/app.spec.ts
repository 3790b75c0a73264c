// The app is up: the container healthcheck's own request (GET /) answers 2xx in budget with the real
// page, and Better Auth's mount answers.
import { expectNone } from '../../fixtures/observed.ts';
import { test } from '../../fixtures/test.ts';
import { header, request } from '../../helpers/http.ts';
import { label } from '../../helpers/labels.ts';
import { note } from './common.ts';

test.describe('App health', () => {
  test('GET / answers 2xx in budget with the GadgetBot page', { tag: '@smoke' }, async ({ target: t }, info) => {
    const host = new URL(t.appUrl).host;
    await label({ feature: 'App', story: 'home page healthcheck', severity: 'blocker', parameters: { host } });
    const res = await test.step(`GET ${t.appUrl}/`, () => request(t, `${t.appUrl}/`, { headers: { accept: 'text/html' } }));
    note(info, 'response-ms', `${host}: GET / in ${res.ms} ms (budget ${t.budgets.responseMs} ms)`);
    const problems: string[] = [];
    if (res.status < 200 || res.status >= 300) problems.push(`${host}: GET / answered ${res.status} (the container healthcheck curl -f would fail)${res.status < 400 ? ` to ${header(res, 'location') ?? 'no Location'}` : ''}`);
    else if (!res.body.includes('<title>GadgetBot Rental Service</title>')) problems.push(`${host}: GET / answered ${res.status} with another page: no <title>GadgetBot Rental Service</title> (starts "${res.body.replace(/\s+/g, ' ').slice(0, 80)}")`);
    if (res.ms > t.budgets.responseMs) problems.push(`${host}: GET / took ${res.ms} ms, over the budget of ${t.budgets.responseMs} ms`);
    await expectNone(`${host}: GET / answers 2xx with the GadgetBot page within ${t.budgets.responseMs} ms`, problems);
  });

  test('GET /api/auth/ok answers {"ok":true}', { tag: '@smoke' }, async ({ target: t }) => {
    const host = new URL(t.appUrl).host;
    await label({ feature: 'App', story: 'Better Auth is mounted', severity: 'critical', parameters: { host } });
    const res = await request(t, `${t.appUrl}/api/auth/ok`, { headers: { accept: 'application/json' } });
    let body: unknown;
    try { body = JSON.parse(res.body); } catch { body = undefined; }
    const problems = res.status !== 200 ? [`${host}: /api/auth/ok answered ${res.status}`]
      : JSON.stringify(body) !== '{"ok":true}' ? [`${host}: /api/auth/ok answered 200 with ${JSON.stringify(res.body.slice(0, 120))} (content-type ${header(res, 'content-type') ?? 'none'}), not {"ok":true}`] : [];
    await expectNone(`${host}: /api/auth/ok answers 200 {"ok":true}`, problems);
  });
});
