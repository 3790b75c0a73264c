// Sessions without a password in sight: the redirect for strangers, and a saved session that survives
// a new context and a browser restart (only a cookie with an expiry does).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { test, expect, storageStatePath } from '../../fixtures/test.ts';
import { readStorageState } from '../../fixtures/auth-state.ts';
import { AdminLayout } from '../../fixtures/pages/index.ts';
import { request } from '../../helpers/http.ts';

test.describe.configure({ mode: 'parallel' });

test.describe('without a session', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('/admin redirects to /login?redirect=%2Fadmin', { tag: '@smoke' }, async ({ page, target }) => {
    await test.step('the server answers with a redirect (no page rendered for strangers)', async () => {
      const res = await request(target, `${target.appUrl}/admin`);
      expect([302, 303, 307], `GET /admin answered ${res.status}`).toContain(res.status);
      const location = new URL(String(res.headers.location), target.appUrl);
      expect(location.pathname).toBe('/login');
      expect(location.searchParams.get('redirect')).toBe('/admin');
      test.info().annotations.push({ type: 'redirect', description: `${res.status} → ${location.pathname}${location.search}` });
    });
    await test.step('the browser lands on the sign-in card', async () => {
      await page.goto(`${target.appUrl}/admin`);
      await expect(page).toHaveURL((u) => u.pathname === '/login' && u.searchParams.get('redirect') === '/admin');
      await expect(page.getByRole('button', { name: 'Sign in with Zitadel' })).toBeVisible();
    });
  });
});

test.describe('with the saved admin session', () => {
  test.use({ role: 'admin' });

  test('a new browser context from the saved state is still signed in', { tag: '@smoke' }, async ({ browser, target }) => {
    const context = await browser.newContext({ storageState: storageStatePath('admin', target) });
    try {
      const page = await context.newPage();
      await page.goto(`${target.appUrl}/admin`);
      await expect(page).toHaveURL((u) => u.pathname === '/admin');
      await expect(new AdminLayout(page, target.appUrl).userMenuButton()).toBeVisible();
    } finally {
      await context.close();
    }
  });

  test('a browser closed and launched again keeps the session (the cookie persists)', async ({ launchOptions, target }) => {
    const state = readStorageState('admin', target);
    expect(state, 'no saved admin state: run the setup project').toBeDefined();
    const profile = mkdtempSync(join(tmpdir(), 'gbv-profile-'));
    try {
      await test.step('first browser: the session cookies arrive as the server set them, then the browser quits', async () => {
        const first = await chromium.launchPersistentContext(profile, launchOptions);
        try {
          await first.addCookies(state!.cookies);
          const page = first.pages()[0] ?? await first.newPage();
          await page.goto(`${target.appUrl}/admin`);
          await expect(page).toHaveURL((u) => u.pathname === '/admin');
        } finally {
          await first.close();
        }
      });
      await test.step('second browser on the same profile: still signed in', async () => {
        const second = await chromium.launchPersistentContext(profile, launchOptions);
        try {
          const page = second.pages()[0] ?? await second.newPage();
          await page.goto(`${target.appUrl}/admin`);
          const path = new URL(page.url()).pathname;
          expect(path, 'after a browser restart the user was sent to sign in again: the session cookie has no expiry (or the session ended)').toBe('/admin');
          await expect(new AdminLayout(page, target.appUrl).userMenuButton()).toBeVisible();
        } finally {
          await second.close();
        }
      });
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
