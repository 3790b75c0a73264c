// A callback only completes the sign-in its own browser started (OAuth state, RFC 6749 §10.12): a forged or tampered
// callback creates no session. Browser B types the admin's password at Login V2, so this file keeps traces and videos off.
import { test, expect } from '../../fixtures/test.ts';
import { cookieHeaderFor } from '../../fixtures/auth-state.ts';
import { expectNone } from '../../fixtures/observed.ts';
import { LoginV2Error, walkLoginV2 } from '../../fixtures/pages/index.ts';
import { authorizeUrlOf, CALLBACK_PATH, getSession, isSessionTokenCookie, sessionFromAnswer, signOutOverHttp, startSignInOverHttp } from '../../helpers/better-auth.ts';
import { header, request, type Response } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';

test.use({ trace: 'off', video: 'off', storageState: { cookies: [], origins: [] } });

const where = (res: Response) => `${res.status}${header(res, 'location') ? ` → ${String(header(res, 'location')).replace(/([?&](code|state)=)[^&]*/g, '$1…')}` : ''}`;

test.describe('sign-in hardening', () => {
  test('a forged or tampered callback creates no session (state is checked)', async ({ page, target, urls }) => {
    test.setTimeout(90_000);
    await label({ epic: EPIC.auth, feature: 'Security', story: 'callback checks state', severity: 'critical' });

    // A: a genuine sign-in started over HTTP; its state cookie stays in A's jar (A's browser).
    const start = await test.step('browser A starts a sign-in (its state cookie stays with A)', () => startSignInOverHttp(target, '/admin', { what: 'security: forged callback' }));
    const authorizeUrl = authorizeUrlOf(start);
    expect(start.status === 200 && !!authorizeUrl, `POST /api/auth/sign-in/social answers 200 with an authorize URL (answered ${start.status})`).toBe(true);
    const jarA = start.jar;
    // Browser B: a browser that never started a sign-in completes Zitadel's login for A's authorize URL, so
    // A's code/state pair reaches the app in a browser without A's state cookie: what a victim's browser does
    // when an attacker lures it to a callback URL (login CSRF), or whoever opens a leaked callback URL.
    // The callback is B's own navigation (a redirect from Login V2): seen on the wire, then judged by B's cookies.
    let seen: URL | undefined;
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!seen && u.origin === new URL(target.appUrl).origin && u.pathname === CALLBACK_PATH) seen = u;
    });
    await test.step('browser B signs in at Zitadel Login V2 for A\'s authorize URL and opens the callback', async () => {
      await page.goto(authorizeUrl!);
      // A refused callback may end on the app's /api/auth/error page (the real app does): the walker calls that a
      // failed sign-in, which is the point here once the callback went out.
      await walkLoginV2(page, { urls, user: target.users.admin, stopAt: 'app' }).catch((e: Error) => {
        if (!(e instanceof LoginV2Error && seen)) throw e;
      });
    });
    const callback = { code: seen?.searchParams.get('code') ?? '', state: seen?.searchParams.get('state') ?? '' };
    await expectNone('the callback carried a code/state pair', callback.code && callback.state ? [] : [
      `Login V2 sent browser B back without a code/state pair (${seen ? 'callback without them' : 'no callback request seen'}): the forged-callback check could not run`,
    ]);
    const cb = (state: string) => `${target.appUrl}${CALLBACK_PATH}?code=${encodeURIComponent(callback.code)}&state=${encodeURIComponent(state)}`;

    await test.step('browser B has no session after opening A\'s callback', async () => {
      const cookieB = cookieHeaderFor(await page.context().cookies(target.appUrl), target.appUrl, isSessionTokenCookie);
      const created = cookieB ? !!(await getSession(target, cookieB)).session : false;
      if (created) await signOutOverHttp(target, cookieB);
      await expectNone('the callback is refused in a browser that did not start the sign-in', created ? [
        `forged callback: A's code/state opened in another browser created a session there (landed on ${new URL(page.url()).pathname}) — state not checked against the browser that started the sign-in: `
          + 'an attacker who lures a victim to a callback URL with the attacker\'s own code signs the victim into the attacker\'s account (login CSRF), and a leaked or replayed callback URL signs in whoever opens it',
      ] : []);
    });

    await test.step('browser A with a tampered state: no session', async () => {
      const tampered = `${callback.state.slice(0, -1)}${callback.state.endsWith('A') ? 'B' : 'A'}`;
      const res = await request(target, cb(tampered), { cookie: jarA.header() });
      const s = await sessionFromAnswer(target, res);
      if (s.created) await signOutOverHttp(target, s.jar.header());
      await expectNone('a tampered state is refused', s.created ? [
        `forged callback: a tampered state created a session (${where(res)}) — state mismatch ignored: an attacker can replay or splice callbacks into a victim's sign-in (login CSRF)`,
      ] : []);
    });

    await test.step('control: browser A\'s genuine callback signs in (so the refusals above were about the state)', async () => {
      const res = await request(target, cb(callback.state), { cookie: jarA.header() });
      const s = await sessionFromAnswer(target, res, jarA);
      if (s.created) await signOutOverHttp(target, s.jar.header());
      await expectNone('the genuine callback signs in', s.created ? [] : [
        `the genuine callback did not sign in either (${where(res)}): the refusals above prove nothing; sign-in itself is broken`,
      ]);
    });
  });
});
