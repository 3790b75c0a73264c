// Signs in once per role through the real journey (home → "Admin Login" → "Sign in with Zitadel" →
// Login V2 → back to /admin) and saves the browser state to .auth/<role>.json for the other projects.
// Sign-ins per run = number of configured roles (the release gate's whole sign-in budget with the Login V2 probe:
// Better Auth's free burst is 3). Each journey is recorded once (fixtures/journey.ts) and saved beside the state:
// the URL-sequence, authorize-parameter, state-cookie and session-cookie checks judge the recording.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { test as setup, expect, storageStatePath } from '../../fixtures/test.ts';
import { authDirFor, pruneStaleAuthDirs } from '../../fixtures/auth-state.ts';
import { journeyPath, recordJourney, saveJourney } from '../../fixtures/journey.ts';
import { sessionUser, signInWithZitadel } from '../../fixtures/pages/index.ts';
import { EPIC, label } from '../../helpers/labels.ts';

// These tests type passwords. Traces record typed values and request bodies, videos show the screen:
// both stay off here, whatever the config says.
setup.use({ trace: 'off', video: 'off' });

setup.beforeAll(({ target }) => {
  pruneStaleAuthDirs(target);
});

for (const role of ['admin', 'viewer'] as const) {
  setup(`sign in as ${role}`, { tag: '@smoke' }, async ({ page, target, urls, home, appLogin, adminLayout }) => {
    await label({ epic: EPIC.auth, feature: 'Sign-in', story: `one real sign-in as ${role}`, severity: 'blocker' });
    const user = target.users[role];
    if (!user) {
      // A stale viewer state from an earlier configuration must not stand in for a missing viewer.
      if (existsSync(storageStatePath(role, target))) rmSync(storageStatePath(role, target));
      setup.skip(true, `no ${role} configured (VIEWER_USER / VIEWER_PASSWORD unset): ${role} checks skip`);
      return;
    }

    // A journey of an earlier run must never be judged as this run's.
    rmSync(journeyPath(role, target), { force: true });
    const recording = recordJourney(page, role, urls);
    let result: Awaited<ReturnType<typeof signInWithZitadel>> | undefined;
    try {
      await setup.step('home → Admin Login → /login?redirect=/admin', async () => {
        await home.goto();
        await expect(home.heading).toBeVisible();
        await home.adminLogin.click();
        await page.waitForURL((u) => u.pathname === '/login');
        expect(appLogin.redirectParam(), '"Admin Login" leads to /login?redirect=/admin').toBe('/admin');
        await expect(appLogin.signInWithZitadel).toBeVisible();
      });

      result = await setup.step(`Login V2 as ${user.username}`, () => signInWithZitadel(page, urls, user));
      setup.info().annotations.push({ type: 'sign-in', description: `${role}: ${result.path}` });

      await setup.step('back on /admin, the user menu names the user', async () => {
        // A failed callback lands at once on a page carrying `?error=` (Better Auth's error page, or the app's): stop there.
        await page.waitForURL((u) => u.pathname === '/admin' || u.searchParams.has('error'), { timeout: 10_000 }).catch(() => {});
        const landed = new URL(page.url());
        const error = landed.searchParams.has('error') ? `?error=${landed.searchParams.get('error')}` : '';
        expect(landed.pathname, `the callback returns to /admin (the sign-in ended on ${landed.host}${landed.pathname}${error})`).toBe('/admin');
        await expect(adminLayout.header).toBeVisible();
        const me = await sessionUser(page, target.appUrl);
        expect(me, 'the app reports a session right after sign-in (get-session)').not.toBeNull();
        expect(me!.name || me!.email, 'the session names the user (a name or an email)').toBeTruthy();
        await expect(adminLayout.userMenuButton(me!.name || me!.email)).toBeVisible();
      });
    } finally {
      // A journey that stopped on the way is still what was observed: the checks judging it say where it stopped,
      // and the id_token check still finds the app's authorize URL in it.
      saveJourney({ ...(await recording.stop()), path: result?.path }, target);
    }
    const file = storageStatePath(role, target);
    mkdirSync(authDirFor(target), { recursive: true, mode: 0o700 });
    await page.context().storageState({ path: file });
    chmodSync(file, 0o600);
  });
}
