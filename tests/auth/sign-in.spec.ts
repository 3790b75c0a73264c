// The sign-in journey from a browser with no history: app → Zitadel Login V2 → app, and a wrong password.
import { randomBytes } from 'node:crypto';
import { test, expect } from '../../fixtures/test.ts';
import { isSessionTokenCookie } from '../../fixtures/auth-state.ts';
import { loginV2Hops, missingHop, sessionCookieFacts, sessionCookieProblems } from '../../fixtures/journey.ts';
import { sessionUser, signInWithZitadel, startSignIn } from '../../fixtures/pages/index.ts';

// These tests type passwords. Traces record typed values and request bodies, videos show the screen:
// both stay off here, whatever the config says.
test.use({ trace: 'off', video: 'off', storageState: { cookies: [], origins: [] } });
test.describe.configure({ mode: 'parallel' });

test('sign-in through Login V2 follows the real URL sequence and sets a persistent, protected session cookie',
  { tag: '@smoke' }, async ({ page, target, urls, adminLayout }) => {
    const admin = target.users.admin;
    const result = await test.step('sign in from /admin as a stranger would', async () => {
      await page.goto(`${target.appUrl}/admin`);
      await expect(page).toHaveURL((u) => u.pathname === '/login' && u.searchParams.get('redirect') === '/admin');
      return signInWithZitadel(page, urls, admin);
    });

    await test.step('URL sequence: /login → authorize → Login V2 login, loginname, password → callback → /admin', async () => {
      const gap = missingHop(result.urls, loginV2Hops(target.appUrl, target.authUrl));
      expect(gap, gap ?? '').toBeNull();
      expect(result.path, 'a browser with no auth session must be asked for the password').toBe('password');
      await expect(page).toHaveURL((u) => u.pathname === '/admin');
      await expect(adminLayout.header).toBeVisible();
    });

    await test.step('the user menu shows who signed in', async () => {
      const me = await sessionUser(page, target.appUrl);
      expect(me, 'the app reports no session after a completed sign-in').not.toBeNull();
      await expect(adminLayout.userMenuButton(me!.name || me!.email)).toBeVisible();
    });

    await test.step('session cookie: HttpOnly, Secure on https, SameSite Lax/Strict, expires in more than a day', async () => {
      const facts = await sessionCookieFacts(page.context(), target.appUrl);
      expect(facts, 'no better-auth.session_token cookie after sign-in').toBeDefined();
      const problems = sessionCookieProblems(facts!, target.appUrl);
      expect(problems, problems.join('; ')).toEqual([]);
    });
  });

test('a wrong password shows "Failed to authenticate." and creates no session', async ({ page, context, target, urls, appLogin, loginName, passwordPage, api }) => {
  await test.step('username page accepts the admin login name', async () => {
    await appLogin.goto('/admin');
    await startSignIn(page, urls);
    await page.waitForURL((u) => u.origin === new URL(urls.authUrl).origin && u.pathname === '/ui/v2/login/loginname');
    await loginName.enter(target.users.admin.username);
    await page.waitForURL((u) => u.pathname === '/ui/v2/login/password');
  });

  await test.step('a wrong password is refused on the password page', async () => {
    const wrong = `wrong-${randomBytes(9).toString('base64url')}`;
    await passwordPage.enter(wrong);
    await expect(passwordPage.error, 'a wrong password was accepted: the password page moved on instead of showing "Failed to authenticate."').toBeVisible();
    await expect(passwordPage.error).toHaveText(/Failed to authenticate\./);
    await expect(page).toHaveURL((u) => u.pathname === '/ui/v2/login/password');
  });

  await test.step('no session: no session cookie, get-session is null, /admin sends back to /login', async () => {
    const cookies = await context.cookies(target.appUrl);
    expect(cookies.filter((c) => isSessionTokenCookie(c.name)).map((c) => c.name), 'a session cookie exists after a refused sign-in').toEqual([]);
    const s = await api.session({ disableCookieCache: true });
    expect(s.status).toBe(200);
    expect(s.value, 'the app has a session for a refused sign-in').toBeNull();
    await page.goto(`${target.appUrl}/admin`);
    await expect(page).toHaveURL((u) => u.pathname === '/login');
  });
});
