// Sign-out must end the caller's session on the server (not only drop the cookie) and nobody else's; signing in
// again afterwards goes through Zitadel's remembered session or its account picker. Every session here is made
// by this test, so the verdict is the same in any order and with any number of workers: the setup's saved
// sessions, which other tests use, are never signed out.
import { expectNone } from '../../fixtures/observed.ts';
import { test, expect } from '../../fixtures/test.ts';
import { signInWithZitadel, signOutViaUserMenu } from '../../fixtures/pages/index.ts';
import { getSession, sessionCookiesOf, sessionTokenHeader, signOutOverHttp, type SessionView } from '../../helpers/better-auth.ts';
import { EPIC, label } from '../../helpers/labels.ts';

// Passwords are typed here: no traces or videos.
test.use({ trace: 'off', video: 'off', storageState: { cookies: [], origins: [] } });

const who = (v: SessionView) => (v.session ? `session ${v.session.id} of user ${v.session.userId}` : `no session (get-session HTTP ${v.status})`);

test('sign-out through the user menu ends the caller\'s session on the server, not another user\'s; signing in again works',
  async ({ browser, page, context, target, urls, adminLayout }) => {
    test.setTimeout(90_000);
    await label({ epic: EPIC.auth, feature: 'Session', story: 'sign-out ends only the caller\'s session', severity: 'critical' });
    const other = target.users.viewer ?? target.users.admin;
    const otherRole = target.users.viewer ? 'viewer' : 'admin (a second session)';
    const bystander = await browser.newContext();
    try {
      await test.step('admin signs in (this test\'s own session)', async () => {
        await signInWithZitadel(page, urls, target.users.admin);
        await expect(page, 'the admin lands on /admin').toHaveURL((u) => u.pathname === '/admin');
      });
      await test.step(`${otherRole} signs in in another browser (a session of its own)`, async () => {
        const p = await bystander.newPage();
        await signInWithZitadel(p, urls, other);
      });
      // Only the session tokens: the signed 5-minute cookie cache would answer without asking the database.
      const adminToken = sessionTokenHeader(await context.cookies(), target.appUrl);
      const otherToken = sessionTokenHeader(await bystander.cookies(), target.appUrl);
      const before = { admin: await getSession(target, adminToken), other: await getSession(target, otherToken) };
      await expectNone('before sign-out both fresh session tokens name live sessions', [
        ...(before.admin.session ? [] : [`before sign-out the admin's fresh token names ${who(before.admin)}: nothing to sign out`]),
        ...(before.other.session ? [] : [`before sign-out the ${otherRole}'s fresh token names ${who(before.other)}: nothing to compare with`]),
      ]);

      await test.step('Sign Out from the user menu lands on /', async () => {
        await signOutViaUserMenu(page, urls);
        await expect(page, 'sign-out lands on /').toHaveURL((u) => u.pathname === '/');
      });
      const after = { admin: await getSession(target, adminToken), other: await getSession(target, otherToken) };
      const problems: string[] = [];
      if (after.admin.session)
        problems.push(`after the admin signed out, the old admin token still names ${who(after.admin)} on the server: sign-out left the server session valid (only the cookie was cleared)`);
      if (!after.other.session || after.other.session.id !== before.other.session!.id)
        problems.push(`after the admin signed out, the ${otherRole}'s separate session ${before.other.session!.id} is gone (now: ${who(after.other)}): sign-out ended other sessions than the caller's`);
      await expectNone(`sign-out ends the admin's session on the server and leaves the ${otherRole}'s session alone`, problems);

      await test.step('/admin asks for sign-in again', async () => {
        // What the browser still holds after sign-out, read before /admin can set anything: the facts a failure states.
        const kept = sessionCookiesOf(await context.cookies(), target.appUrl).map((c) => c.name);
        await page.goto(`${target.appUrl}/admin`);
        // The app may redirect after hydration: wait for /login as toHaveURL would, then judge where it ended.
        await page.waitForURL((u) => u.pathname === '/login', { timeout: 10_000 }).catch(() => {});
        const landed = new URL(page.url());
        const where = `${landed.pathname}${landed.search}`;
        // The server session is known to be gone here (the check above passed): what is left is the browser's side.
        const facts = `the server had ended the old admin session; ${kept.length ? `the browser still held ${kept.join(', ')}` : 'the browser held no session cookie'} after the sign-out response`;
        const problems = landed.pathname !== '/login'
          ? [`after sign-out, /admin let the browser in (it landed on ${where}) instead of sending it to /login?redirect=/admin; ${facts}`]
          : landed.searchParams.get('redirect') !== '/admin' ? [`after sign-out, /admin sent the browser to ${where}, not /login?redirect=/admin`] : [];
        await expectNone('/admin sends a signed-out browser to /login?redirect=/admin', problems);
      });
      await test.step('sign in again: remembered Zitadel session or account picker', async () => {
        const again = await signInWithZitadel(page, urls, target.users.admin);
        test.info().annotations.push({ type: 'sign-in again', description: again.path });
        await expect(page, 'signing in again lands on /admin').toHaveURL((u) => u.pathname === '/admin');
        await expect(adminLayout.header, 'the admin shell shows after signing in again').toBeVisible();
      });
    } finally {
      // Leave no session of this test behind (over HTTP: the pages may be anywhere by now).
      for (const c of [context, bystander]) {
        const cookie = sessionTokenHeader(await c.cookies().catch(() => []), target.appUrl);
        if (cookie) await signOutOverHttp(target, cookie).catch(() => undefined);
      }
      await bystander.close();
    }
  });
