// Sessions without a password in sight: the redirect for strangers, and a saved session that survives
// a new context (for days, not minutes) and a browser restart (only a cookie with an expiry does).
import { expectNone } from '../../fixtures/observed.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect, storageStatePath } from '../../fixtures/test.ts';
import { readStorageState, storageStateAgeMs } from '../../fixtures/auth-state.ts';
import { AdminLayout } from '../../fixtures/pages/index.ts';
import { getSession, sessionTokenHeader } from '../../helpers/better-auth.ts';
import { request } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';

test.describe.configure({ mode: 'parallel' });

/** "40 s", "2 min", "167 h". Hours, never days: "expires in N days" reads as a certificate's (helpers/diagnosis.ts). */
function span(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const min = Math.round(ms / 60_000);
  return min < 120 ? `${min} min` : `${Math.round(ms / 3_600_000)} h`;
}

test.describe('without a session', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('/admin redirects to /login?redirect=%2Fadmin', { tag: '@smoke' }, async ({ page, target }) => {
    await label({ epic: EPIC.auth, feature: 'Session', story: 'no admin pages without a session', severity: 'critical' });
    await test.step('the server answers with a redirect (no page rendered for strangers)', async () => {
      const res = await request(target, `${target.appUrl}/admin`);
      expect([302, 303, 307], `GET /admin answered ${res.status} without a session (expected a redirect to /login)`).toContain(res.status);
      const location = new URL(String(res.headers.location), target.appUrl);
      expect(location.pathname, 'the redirect goes to /login').toBe('/login');
      expect(location.searchParams.get('redirect'), 'the redirect carries redirect=/admin').toBe('/admin');
      test.info().annotations.push({ type: 'redirect', description: `${res.status} → ${location.pathname}${location.search}` });
    });
    await test.step('the browser lands on the sign-in card', async () => {
      await page.goto(`${target.appUrl}/admin`);
      await expect(page, 'the browser lands on /login?redirect=/admin').toHaveURL((u) => u.pathname === '/login' && u.searchParams.get('redirect') === '/admin');
      await expect(page.getByRole('button', { name: 'Sign in with Zitadel' }), 'the sign-in card shows "Sign in with Zitadel"').toBeVisible();
    });
  });
});

test.describe('with the saved admin session', () => {
  test.use({ role: 'admin' });

  test('a new browser context from the saved state is still signed in', { tag: '@smoke' }, async ({ browser, target }) => {
    await label({ epic: EPIC.auth, feature: 'Session', story: 'session survives a new context', severity: 'blocker' });
    const savedAgo = span(storageStateAgeMs('admin', target));
    const context = await browser.newContext({ storageState: storageStatePath('admin', target) });
    try {
      const page = await context.newPage();
      await page.goto(`${target.appUrl}/admin`);
      await expect(page, `a new context from the admin state saved ${savedAgo} ago stays on /admin (signed in)`).toHaveURL((u) => u.pathname === '/admin');
      await expect(new AdminLayout(page, target.appUrl).userMenuButton(), 'the user menu shows in the new context').toBeVisible();

      await test.step(`the session has at least SESSION_MIN_HOURS (${target.sessionMinHours} h) left`, async () => {
        const s = await getSession(target, sessionTokenHeader(await context.cookies(), target.appUrl));
        expect(s.status, 'get-session answers 200 for the new context').toBe(200);
        expect(s.session?.expiresAt, 'get-session names the session and its expiry (session.expiresAt) for the new context').toBeDefined();
        const left = s.session!.expiresAt! - Date.now();
        test.info().annotations.push({ type: 'session expires in', description: span(left) });
        await expectNone(`the server keeps the saved session at least SESSION_MIN_HOURS (${target.sessionMinHours} h)`, left >= target.sessionMinHours * 3_600_000 ? [] : [`the saved session expires in ${span(left)} (< ${target.sessionMinHours} h): `
          + `users are signed out after ${left < 3_600_000 ? 'minutes' : 'hours'} (Better Auth's session.expiresIn is too short; its default is 7 days)`]);
      });
    } finally {
      await context.close();
    }
  });

  test('a browser closed and launched again keeps the session (the cookie persists)', async ({ launchOptions, playwright, target }) => {
    await label({ epic: EPIC.auth, feature: 'Session', story: 'session survives a browser restart', severity: 'normal' });
    const state = readStorageState('admin', target);
    expect(state, 'the setup project saved an admin state').toBeDefined();
    const profile = mkdtempSync(join(tmpdir(), 'gbv-profile-'));
    try {
      await test.step('first browser: the session cookies arrive as the server set them, then the browser quits', async () => {
        const first = await playwright.chromium.launchPersistentContext(profile, launchOptions);
        try {
          await first.addCookies(state!.cookies);
          const page = first.pages()[0] ?? await first.newPage();
          await page.goto(`${target.appUrl}/admin`);
          await expect(page, 'the first browser is signed in (/admin)').toHaveURL((u) => u.pathname === '/admin');
        } finally {
          await first.close();
        }
      });
      await test.step('second browser on the same profile: still signed in', async () => {
        const second = await playwright.chromium.launchPersistentContext(profile, launchOptions);
        try {
          const page = second.pages()[0] ?? await second.newPage();
          await page.goto(`${target.appUrl}/admin`);
          const path = new URL(page.url()).pathname;
          const kept = (await second.cookies(target.appUrl)).some((c) => /session_token$/.test(c.name));
          await expectNone('after a browser restart the user is still signed in (/admin)', path === '/admin' ? [] : [`after a browser restart the user was sent to ${path} to sign in again: `
            + (kept ? 'the session cookie survived the restart but the server no longer accepts the session' : 'the browser dropped the session cookie on restart: it has no expiry (Max-Age/Expires)')]);
          await expect(new AdminLayout(page, target.appUrl).userMenuButton(), 'the user menu shows after the restart').toBeVisible();
        } finally {
          await second.close();
        }
      });
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
