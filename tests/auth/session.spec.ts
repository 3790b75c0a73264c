// Sessions without a password in sight: the redirect for strangers, and a saved session that survives
// a new context (for days, not minutes) and a browser restart (only a cookie with an expiry does).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { test, expect, storageStatePath } from '../../fixtures/test.ts';
import { cookieHeaderFor, readStorageState, storageStateAgeMs } from '../../fixtures/auth-state.ts';
import { AdminLayout } from '../../fixtures/pages/index.ts';
import type { Target } from '../../helpers/config.ts';
import { request, requestPastRateLimit } from '../../helpers/http.ts';

test.describe.configure({ mode: 'parallel' });

/** "40 s", "2 min", "167 h". Hours, never days: "expires in N days" reads as a certificate's (helpers/diagnosis.ts). */
function span(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const min = Math.round(ms / 60_000);
  return min < 120 ? `${min} min` : `${Math.round(ms / 3_600_000)} h`;
}

/**
 * The server's expiry of the session a cookie names (Better Auth's get-session, bypassing its cookie cache),
 * asked from Node: the answer carries the session token too, which must not land in a browser trace. Only
 * `expiresAt` is kept. A 429 from Better Auth's rate limiter is waited out as its Retry-After says.
 */
async function sessionExpiry(t: Target, cookie: string): Promise<{ status: number; expiresAt?: number }> {
  const res = await requestPastRateLimit(t, `${t.appUrl}/api/auth/get-session?disableCookieCache=true`, { headers: { accept: 'application/json' }, cookie });
  let at: unknown;
  try { at = (JSON.parse(res.body) as { session?: { expiresAt?: unknown } } | null)?.session?.expiresAt; } catch { at = undefined; }
  const ms = typeof at === 'string' || typeof at === 'number' ? new Date(at).getTime() : NaN;
  return { status: res.status, ...(Number.isFinite(ms) ? { expiresAt: ms } : {}) };
}

test.describe('without a session', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('/admin redirects to /login?redirect=%2Fadmin', { tag: '@smoke' }, async ({ page, target }) => {
    await test.step('the server answers with a redirect (no page rendered for strangers)', async () => {
      const res = await request(target, `${target.appUrl}/admin`);
      expect([302, 303, 307], `GET /admin answered ${res.status} without a session (expected a redirect to /login)`).toContain(res.status);
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
    const savedAgo = span(storageStateAgeMs('admin', target));
    const context = await browser.newContext({ storageState: storageStatePath('admin', target) });
    try {
      const page = await context.newPage();
      await page.goto(`${target.appUrl}/admin`);
      await expect(page, `a new context from the admin state saved ${savedAgo} ago was sent to sign in again: `
        + `the saved session ended within ${savedAgo} (expired, or revoked on the server)`).toHaveURL((u) => u.pathname === '/admin');
      await expect(new AdminLayout(page, target.appUrl).userMenuButton()).toBeVisible();

      await test.step(`the session has at least SESSION_MIN_HOURS (${target.sessionMinHours} h) left`, async () => {
        const cookie = cookieHeaderFor(await context.cookies(target.appUrl), `${target.appUrl}/api/auth/get-session`);
        const s = await sessionExpiry(target, cookie);
        expect(s.status, `GET /api/auth/get-session from the new context answered ${s.status}`).toBe(200);
        expect(s.expiresAt, 'get-session from the new context names no session (or no session.expiresAt) although /admin rendered signed in').toBeDefined();
        const left = s.expiresAt! - Date.now();
        test.info().annotations.push({ type: 'session expires in', description: span(left) });
        expect(left >= target.sessionMinHours * 3_600_000, `the saved session expires in ${span(left)} (< ${target.sessionMinHours} h): `
          + `users are signed out after ${left < 3_600_000 ? 'minutes' : 'hours'} (Better Auth's session.expiresIn is too short; its default is 7 days)`).toBe(true);
      });
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
