// The same operations through the app's oRPC API, with the signed-in browser's cookie, and the API's
// answer to callers without a session.
import { test, expect } from '../../fixtures/test.ts';
import { BOT_TYPES } from '../../fixtures/pages/index.ts';

test.use({ role: 'admin' });
test.describe.configure({ mode: 'parallel' });

test('oRPC with the signed-in cookie: create, list, get, update, delete', { tag: '@smoke' }, async ({ api, bots }) => {
  const name = bots.name();
  bots.remember({ name });
  const bot = await test.step('create', async () => {
    const b = await api.create({ name, type: 'cleaning' });
    bots.remember({ id: b.id });
    expect(b).toMatchObject({ name, type: 'cleaning', batteryLife: BOT_TYPES.cleaning.batteryLife, maxLoadCapacity: BOT_TYPES.cleaning.maxLoadCapacity });
    return b;
  });
  await test.step('list and getById find it', async () => {
    expect((await api.list()).map((b) => b.id)).toContain(bot.id);
    expect(await api.getById(bot.id)).toMatchObject({ id: bot.id, name });
  });
  await test.step('update battery life', async () => {
    const u = await api.update(bot.id, 7.5);
    expect(u.batteryLife).toBe(7.5);
    expect((await api.getById(bot.id)).batteryLife).toBe(7.5);
  });
  await test.step('deleteById: gone from getById and list', async () => {
    await api.deleteById(bot.id);
    const g = await api.rpc('getById', { id: bot.id });
    expect(g.ok, `getById still finds the deleted bot (HTTP ${g.status}): delete answered success but kept the row`).toBe(false);
    expect((await api.list()).map((b) => b.id), 'list still shows the deleted bot').not.toContain(bot.id);
  });
});

test('oRPC without a session is rejected and leaks no data', { tag: '@smoke' }, async ({ api, adminApi, bots }) => {
  const existing = await bots.create('security');
  const anon = api.withCookie('');
  const attempted = bots.name();
  bots.remember({ name: attempted });
  const calls: Array<[string, unknown]> = [
    ['list', {}],
    ['getById', { id: existing.id }],
    ['create', { name: attempted, type: 'cleaning' }],
    ['update', { id: existing.id, data: { batteryLife: 1 } }],
    ['deleteById', { id: existing.id }],
  ];
  const seen: string[] = [];
  for (const [procedure, input] of calls) {
    await test.step(`${procedure} without a cookie`, async () => {
      const a = await anon.rpc(procedure, input);
      seen.push(`${procedure} ${a.status}`);
      expect.soft(a.ok, `${procedure} without a session answered ${a.status}`).toBe(false);
      expect.soft(a.body, `${procedure} without a session returned bot data`).not.toContain(existing.name);
      expect.soft(a.body).not.toContain(existing.id);
    });
  }
  // The real app throws a plain error (500), the embedded stack answers 401: both refuse, say which.
  test.info().annotations.push({ type: 'unauthenticated status', description: seen.join(', ') });

  await test.step('nothing changed behind the refusals', async () => {
    const now = await adminApi.getById(existing.id);
    expect(now.batteryLife, 'an anonymous update changed the bot').toBe(BOT_TYPES.security.batteryLife);
    expect((await adminApi.list()).map((b) => b.name), 'an anonymous create made a bot').not.toContain(attempted);
  });
});
