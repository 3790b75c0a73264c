// The deployment plan: "Create new GadgetBot (admin only)". No signed-in user without the admin role may create,
// update or delete — through any write procedure, nor through the form. Today's real app lets any signed-in user
// do all three; this test then FAILS and says so: a finding to report, never something to skip.
// Blame only what was observed: every verdict compares our own admin reads of the record just before and just
// after the refused attempt; a record that was already wrong before the attempt is reported as such, not as a breach.
import { test } from '../../fixtures/test.ts';
import { apiAs } from '../../fixtures/test.ts';
import { storageStatePath, type Role } from '../../fixtures/auth-state.ts';
import type { AppApi, Bot, RpcAnswer } from '../../fixtures/api.ts';
import { botProblems, changedBy, type Bots } from '../../fixtures/data.ts';
import { expectNone } from '../../fixtures/observed.ts';
import { NewBotPage } from '../../fixtures/pages/index.ts';
import type { Target } from '../../helpers/config.ts';
import { label } from '../../helpers/labels.ts';

/** Every configured user without the admin role, by the role its saved session is stored under. */
function nonAdminRoles(t: Target): Role[] {
  return (['viewer'] as const).filter((r) => t.users[r]);
}

/** The text of a breach: who could do what, what was observed, and the rule it breaks. */
const breach = (user: string, what: string, observed: string) =>
  `a non-admin user could ${what} as ${user} (${observed}): the plan requires admin only`;

const answerOf = (a: RpcAnswer<unknown>) => `${a.status}${a.ok ? '' : ' ' + a.body.slice(0, 80)}`;

/** One write procedure tried by a non-admin user; returns the breaches observed (empty: refused, nothing changed). */
async function tryWrite(procedure: 'create' | 'update' | 'deleteById', user: string, as: AppApi, admin: AppApi, bots: Bots): Promise<string[]> {
  if (procedure === 'create') {
    const name = bots.name();
    bots.remember({ name });
    const a = await as.rpc<Bot>('create', { name, type: 'cleaning' });
    if (a.ok && a.data?.id) bots.remember({ id: a.data.id });
    const made = (await admin.list()).find((b) => b.name === name);
    if (made) return [breach(user, 'create', `create answered ${answerOf(a)} and the bot "${name}" exists`)];
    return a.ok ? [breach(user, 'create', `create answered ${a.status}, though no bot "${name}" appeared`)] : [];
  }
  const victim = await bots.create('security');
  const before = await admin.find(victim.id);
  const stored = botProblems(before, { name: victim.name, type: 'security' }, 'getById before the attempt');
  if (stored.length) test.info().annotations.push({ type: 'observed', description: `not an authorization finding: ${stored.join('; ')}` });
  const input = procedure === 'update' ? { id: victim.id, data: { batteryLife: 2 } } : { id: victim.id };
  const a = await as.rpc(procedure, input);
  const changes = changedBy(`${procedure} as ${user}`, before, await admin.find(victim.id));
  const what = procedure === 'update' ? 'update' : 'delete';
  if (changes.length) return [breach(user, what, `${procedure} answered ${answerOf(a)}; ${changes.join('; ')}`)];
  return a.ok ? [breach(user, what, `${procedure} answered ${a.status}, though our reads show no change`)] : [];
}

test('a non-admin user cannot create, update or delete GadgetBots', { tag: '@smoke' },
  async ({ browser, adminApi, bots, target }) => {
    await label({ feature: 'Authorization', story: 'writes are admin only, for every non-admin user and every write', severity: 'critical' });
    const roles = nonAdminRoles(target);
    test.skip(roles.length === 0, 'no non-admin user configured (VIEWER_USER / VIEWER_PASSWORD unset): the admin-only rule is not checked');

    for (const role of roles) {
      const user = target.users[role]!.username;
      const as = apiAs(target, role);
      await test.step(`${user} is signed in (so a refusal below means "not allowed", not "not signed in")`, async () => {
        const s = await as.session({ disableCookieCache: true });
        await expectNone(`${user}'s saved session is valid`, s.value ? [] : [`the saved session of ${user} is not valid (get-session answered ${s.status} with no session): re-run the setup project`]);
      });

      const problems: string[] = [];
      for (const procedure of ['create', 'update', 'deleteById'] as const) {
        await test.step(`${procedure} through the API as ${user}`, async () => {
          problems.push(...await tryWrite(procedure, user, as, adminApi, bots));
        });
      }

      await test.step(`create through the form as ${user}`, async () => {
        const context = await browser.newContext({ storageState: storageStatePath(role, target) });
        try {
          const form = new NewBotPage(await context.newPage(), target.appUrl);
          const name = bots.name();
          bots.remember({ name });
          await form.goto();
          const outcome = await form.create(name, 'security');
          if ((await adminApi.list()).some((b) => b.name === name)) {
            problems.push(breach(user, 'create', `through the form${outcome.ok ? '' : `, despite the alert "${outcome.alert}"`}; the bot "${name}" exists`));
          }
        } finally {
          await context.close();
        }
      });
      await expectNone(`${user}'s create, update and deleteById are refused and change nothing`, problems);
    }
  });
