// GadgetBot CRUD the way an admin does it: the list, the form, the detail page, the edit page and the delete
// dialog, for every bot type (the gate walks one, the full smoke the others) — with our own fresh reads (the list again, the API) as the witness of what changed.
import type { Page } from '@playwright/test';
import { test, expect, type TestFixtures } from '../../fixtures/test.ts';
import { botProblems, type Expected } from '../../fixtures/data.ts';
import { expectNone } from '../../fixtures/observed.ts';
import { BOT_TYPE_IDS, BOT_TYPE_SPECS, PRODUCT_COLUMNS, rowAsBot, type BotType, type ListRow, type ProductsListPage } from '../../fixtures/pages/index.ts';
import { label } from '../../helpers/labels.ts';

test.use({ role: 'admin' });
test.describe.configure({ mode: 'parallel' });

/** Every expected bot as the products table shows it (all pages), one line per difference. */
function listProblems(rows: ListRow[], wanted: Expected[], where = 'the products list'): string[] {
  return wanted.flatMap((w) => {
    const row = rows.find((r) => r.Name === w.name);
    const problems = botProblems(row && rowAsBot(row), w, where);
    if (row && (row.Status ?? '').trim().toLowerCase() !== 'available') problems.push(`${where} shows "${w.name}" with status ${row.Status}, expected available`);
    return problems;
  });
}

async function expectListed(products: ProductsListPage, wanted: Expected[], expectation: string): Promise<void> {
  const rows = await products.rowsOnceSettled(wanted.map((w) => w.name), true);
  await expectNone(expectation, listProblems(rows, wanted));
}

test('the products list shows the reference columns and every bot this test created, each with its specs', { tag: '@smoke' }, async ({ products, bots }) => {
  await label({ feature: 'Products UI', story: 'the list shows every bot, every type, with its specs', severity: 'critical' });
  const wanted: Expected[] = await test.step('one bot of each type exists (made through the API)', async () => {
    const out: Expected[] = [];
    for (const type of BOT_TYPE_IDS) out.push({ name: (await bots.create(type)).name, type });
    return out;
  });
  await test.step('columns: Name, Type, Status, Battery Life, Load Capacity, Actions', async () => {
    await products.goto();
    await expect(products.columnHeaders, 'the table has the reference columns').toHaveText([...PRODUCT_COLUMNS]);
  });
  await expectListed(products, wanted, 'each bot has a row with its type, available, and its type\'s hours and kg');
  await test.step('each row has View and Edit', async () => {
    for (const w of wanted) {
      await expect(products.action(w.name, 'View'), `"${w.name}" has a View action`).toBeVisible();
      await expect(products.action(w.name, 'Edit'), `"${w.name}" has an Edit action`).toBeVisible();
    }
  });
});

type Made = Expected & { id: string };
type Screens = Pick<TestFixtures, 'products' | 'newBot' | 'botDetail' | 'botEdit' | 'bots' | 'api'>;

async function createThroughForm({ products, newBot, bots, api }: Screens, type: BotType): Promise<Made> {
  return test.step(`create a ${type} bot through the form`, async () => {
    const name = bots.name();
    bots.remember({ name, type });
    await products.goto();
    await products.addNew.click();
    await expect(newBot.heading, 'the Add New GadgetBot link opens the form').toBeVisible();
    const outcome = await newBot.create(name, type);
    await expectNone(`the app accepts "${name}"`, outcome.ok ? [] : [`the form's create of "${name}" (${type}) was refused with the alert "${outcome.alert}"`]);
    const rows = await products.rowsOnceSettled([name], true);
    await expectNone(`"${name}" is listed as ${type} with ${BOT_TYPE_SPECS[type].batteryLife}hrs / ${BOT_TYPE_SPECS[type].maxLoadCapacity}kg`, listProblems(rows, [{ name, type }]));
    const id = await products.idOf(name);
    bots.remember({ id });
    await expectNone(`getById agrees: "${name}" is stored as ${type} with its specs`, botProblems(await api.find(id), { name, type }, 'getById after the form\'s create'));
    return { name, type, id };
  });
}

async function viewAndEdit({ botDetail, botEdit, api }: Screens, bot: Made): Promise<void> {
  const spec = BOT_TYPE_SPECS[bot.type];
  const newLife = spec.batteryLife + 2.5;
  await test.step(`view and edit "${bot.name}" (${bot.type}): battery life ${spec.batteryLife} → ${newLife} h`, async () => {
    await botDetail.goto(bot.id, bot.name);
    await expect(botDetail.subtitle, 'the detail page says "GadgetBot Details"').toBeVisible();
    await expect(botDetail.spec(spec.batteryLife, 'hours'), `the detail page shows ${spec.batteryLife} hours`).toBeVisible();
    await expect(botDetail.spec(spec.maxLoadCapacity, 'kg'), `the detail page shows ${spec.maxLoadCapacity} kg`).toBeVisible();
    await botDetail.edit.click();
    await expect(botEdit.heading(bot.name), `the edit page is "Edit ${bot.name}"`).toBeVisible();
    await expect(botEdit.batteryLife, 'the edit form starts from the stored battery life').toHaveValue(String(spec.batteryLife));
    await botEdit.updateBatteryLife(bot.id, newLife);
    await expect(botDetail.spec(newLife, 'hours'), `the detail page shows ${newLife} hours after the update`).toBeVisible();
    bot.batteryLife = newLife;
    await expectNone('getById shows the new battery life and nothing else changed', botProblems(await api.find(bot.id), bot, 'getById after the edit'));
  });
}

async function deleteThroughDialog({ products, botDetail, api }: Screens, bot: Made): Promise<void> {
  await test.step(`delete "${bot.name}" through the dialog: gone from the list (after its refetch) and from the API`, async () => {
    await botDetail.goto(bot.id, bot.name);
    await botDetail.deleteConfirmed(bot.name);
    await expect(products.heading, 'the delete returns to the products list').toBeVisible();
    const rows = await products.rowsOnceSettled([bot.name], false);
    const problems: string[] = [];
    const found = await api.find(bot.id);
    if (found) problems.push(`getById still finds "${bot.name}" after the delete dialog: the delete answered success but kept the row`);
    if (rows.some((r) => r.Name === bot.name)) {
      problems.push(found ? `the products list shows "${bot.name}" as well`
        : `the products list keeps showing "${bot.name}" after the delete dialog, a refetch and a reload, though getById no longer finds it: the list serves a stale copy (a cache not invalidated on delete)`);
    }
    await expectNone(`"${bot.name}" is gone from the list and the API`, problems);
  });
}

/** Every screen for each type: create through the form, view and edit, delete through the dialog; the list between. */
async function crudThroughTheUi(s: Screens & { page: Page; target: { appUrl: string } }, types: readonly BotType[]): Promise<void> {
  const made: Made[] = [];
  for (const type of types) made.push(await createThroughForm(s, type));
  await expectListed(s.products, made, 'the list shows every bot made through the form');
  for (const bot of made) await viewAndEdit(s, bot);
  await test.step('the list shows every edited value', async () => {
    await s.products.goto();
    await expectListed(s.products, made, 'each row shows its new battery life and its type\'s load capacity');
  });
  for (const bot of made) await deleteThroughDialog(s, bot);
  await s.page.goto(`${s.target.appUrl}/admin/products`);
  const rows = await s.products.rows();
  await expectNone('no deleted bot is back after a reload', made.filter((b) => rows.some((r) => r.Name === b.name)).map((b) => `the products list shows "${b.name}" again after a reload, after it was gone`));
}

// The gate walks one bot through every screen; the full smoke adds the other types. The gate's bot is the type
// furthest down the type select, so its keyboard walk is exercised whole.
const GATE_TYPE = BOT_TYPE_IDS[BOT_TYPE_IDS.length - 1]!;
const OTHER_TYPES = BOT_TYPE_IDS.filter((t) => t !== GATE_TYPE);

test(`create, view, update and delete a ${GATE_TYPE} GadgetBot through the UI`, { tag: '@smoke' }, async ({ page, products, newBot, botDetail, botEdit, bots, api, target }) => {
  await label({ feature: 'Products UI', story: 'create, view, update, delete through the screens', severity: 'critical' });
  // Five screens; a busy machine needs more than the default minute.
  test.setTimeout(120_000);
  await crudThroughTheUi({ page, products, newBot, botDetail, botEdit, bots, api, target }, [GATE_TYPE]);
});

test(`create, view, update and delete GadgetBots of the other types (${OTHER_TYPES.join(', ')}) through the UI`, async ({ page, products, newBot, botDetail, botEdit, bots, api, target }) => {
  await label({ feature: 'Products UI', story: 'create, view, update, delete through the screens, every type', severity: 'critical' });
  // Five screens per bot type: more than the default minute on a busy machine.
  test.setTimeout(180_000);
  await crudThroughTheUi({ page, products, newBot, botDetail, botEdit, bots, api, target }, OTHER_TYPES);
});
