// Sign-out must end the session on the server, not only drop the cookie; signing in again afterwards
// goes through Zitadel's remembered session or its account picker.
import { test, expect } from '../../fixtures/test.ts';
import { cookieHeaderFor, isSessionTokenCookie } from '../../fixtures/auth-state.ts';
import { sessionUser, signInWithZitadel, signOutViaUserMenu } from '../../fixtures/pages/index.ts';

// These tests type passwords. Traces record typed values and request bodies, videos show the screen:
// both stay off here, whatever the config says. The session is this test's own: signing out the shared
// saved session would pull the rug from under the tests running beside it.
test.use({ trace: 'off', video: 'off', storageState: { cookies: [], origins: [] } });

test('sign-out through the user menu ends the session on the server; signing in again works', { tag: '@smoke' },
  async ({ page, context, target, urls, api, appLogin, adminLayout }) => {
    await test.step('sign in', async () => {
      await signInWithZitadel(page, urls, target.users.admin);
      await expect(page).toHaveURL((u) => u.pathname === '/admin');
    });

    // Only the session token: the signed 5-minute cookie cache (better-auth.session_data) would answer
    // for a while without asking the database, which is exactly what this check must not rely on.
    const oldToken = api.withCookie(cookieHeaderFor((await context.storageState()).cookies, target.appUrl, isSessionTokenCookie));
    const me = await sessionUser(page, target.appUrl);

    await test.step('before sign-out the token is a live session', async () => {
      const before = await oldToken.session({ disableCookieCache: true });
      expect(before.value, 'the fresh session token is not accepted by get-session').not.toBeNull();
    });

    await test.step('Sign Out from the user menu lands on /', async () => {
      await signOutViaUserMenu(page, urls, me?.name || undefined);
      await expect(page).toHaveURL((u) => u.pathname === '/');
    });

    await test.step('/admin asks for sign-in again', async () => {
      await page.goto(`${target.appUrl}/admin`);
      await expect(page).toHaveURL((u) => u.pathname === '/login' && u.searchParams.get('redirect') === '/admin');
    });

    await test.step('the OLD session token is rejected by get-session (a server-side end)', async () => {
      const after = await oldToken.session({ disableCookieCache: true });
      expect(after.status).toBe(200);
      expect(after.value, 'sign-out left the server session valid: the old session token still works').toBeNull();
    });

    await test.step('sign in again: remembered Zitadel session or account picker', async () => {
      const again = await signInWithZitadel(page, urls, target.users.admin);
      test.info().annotations.push({ type: 'sign-in again', description: again.path });
      await expect(page).toHaveURL((u) => u.pathname === '/admin');
      await expect(adminLayout.header).toBeVisible();
      await signOutViaUserMenu(page, urls);
    });
  });
