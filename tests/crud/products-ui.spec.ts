// GadgetBot CRUD the way an admin does it: the list, the form, the detail page, the edit page and the
// delete dialog — with the API as the witness of what really changed.
import { test, expect } from '../../fixtures/test.ts';
import { BOT_TYPES, PRODUCT_COLUMNS } from '../../fixtures/pages/index.ts';

test.use({ role: 'admin' });
test.describe.configure({ mode: 'parallel' });

test('the products list shows the reference columns and a bot with its specs', { tag: '@smoke' }, async ({ products, bots }) => {
  const bot = await test.step('a bot exists (made through the API)', () => bots.create('security'));
  await test.step('columns: Name, Type, Status, Battery Life, Load Capacity, Actions', async () => {
    await products.goto();
    await expect(products.columnHeaders).toHaveText([...PRODUCT_COLUMNS]);
  });
  await test.step('its row: type, status, 24hrs, 10kg, View and Edit', async () => {
    await expect(products.row(bot.name)).toHaveCount(1);
    const v = await products.rowValues(bot.name);
    expect(v.Type.toLowerCase()).toBe('security');
    expect(v.Status.toLowerCase()).toBe('available');
    expect(v['Battery Life']).toBe(`${BOT_TYPES.security.batteryLife}hrs`);
    expect(v['Load Capacity']).toBe(`${BOT_TYPES.security.maxLoadCapacity}kg`);
    await expect(products.action(bot.name, 'View')).toBeVisible();
    await expect(products.action(bot.name, 'Edit')).toBeVisible();
  });
});

test('create, view, update and delete a GadgetBot through the UI', { tag: '@smoke' },
  async ({ page, products, newBot, botDetail, botEdit, bots, api, target }) => {
    const name = bots.name();
    const spec = BOT_TYPES.gardening;
    let id = '';

    await test.step('create through the form: it appears in the list with 12hrs / 25kg', async () => {
      await products.goto();
      await products.addNew.click();
      await expect(newBot.heading).toBeVisible();
      bots.remember({ name });
      const outcome = await newBot.create(name, 'gardening');
      expect(outcome, `the app refused to create "${name}"`).toEqual({ ok: true });
      await expect(products.row(name)).toHaveCount(1);
      const v = await products.rowValues(name);
      expect(v['Battery Life']).toBe(`${spec.batteryLife}hrs`);
      expect(v['Load Capacity']).toBe(`${spec.maxLoadCapacity}kg`);
      id = await products.idOf(name);
      bots.remember({ id });
    });

    await test.step('detail page: name, type and the type\'s specs in hours / kg', async () => {
      await products.action(name, 'View').click();
      await expect(botDetail.heading(name)).toBeVisible();
      await expect(botDetail.subtitle).toBeVisible();
      await expect(botDetail.spec(spec.batteryLife, 'hours')).toBeVisible();
      await expect(botDetail.spec(spec.maxLoadCapacity, 'kg')).toBeVisible();
    });

    const newLife = 10.5;
    await test.step(`edit battery life to ${newLife} h: detail page and API agree`, async () => {
      await botDetail.edit.click();
      await expect(botEdit.heading(name)).toBeVisible();
      await expect(botEdit.batteryLife).toHaveValue(String(spec.batteryLife));
      await botEdit.updateBatteryLife(id, newLife);
      await expect(botDetail.heading(name)).toBeVisible();
      await expect(botDetail.spec(newLife, 'hours')).toBeVisible();
      expect((await api.getById(id)).batteryLife).toBe(newLife);
    });

    await test.step('delete through the dialog: gone from the list and from the API', async () => {
      await botDetail.deleteConfirmed(name);
      await expect(products.heading).toBeVisible();
      await expect(products.row(name), 'the list still shows the bot right after the delete dialog').toHaveCount(0);
      const gone = await api.rpc('getById', { id });
      expect(gone.ok, `getById still finds the deleted bot (HTTP ${gone.status})`).toBe(false);
      expect((await api.list()).map((b) => b.id)).not.toContain(id);
      await page.goto(`${target.appUrl}/admin/products`);
      await expect(products.row(name), 'the bot is back in the list after a reload: the delete did not stick').toHaveCount(0);
    });
  });
