// The sign-in and session as an attacker would probe them: external callback URLs, the OAuth state and PKCE,
// forged or tampered callbacks, cross-site API calls carrying the session cookie, and the session cookies'
// hardening. Everything but the Zitadel login itself is plain HTTP; each failure says what an attacker gains.
import { test, expect } from '../../fixtures/test.ts';
import { cookieHeaderFor, isSessionTokenCookie, readStorageState } from '../../fixtures/auth-state.ts';
import { AccountsPage, LoginNamePage, PasswordPage } from '../../fixtures/pages/index.ts';
import type { Target } from '../../helpers/config.ts';
import { header, headerList, request, type Response } from '../../helpers/http.ts';
import { startSocialSignIn } from '../../helpers/oidc.ts';
import { EPIC, label } from '../../helpers/labels.ts';

// Passwords are typed in one test: no traces or videos here.
test.use({ trace: 'off', video: 'off', storageState: { cookies: [], origins: [] } });

const EVIL = 'https://evil.example';
/** name → value of the cookies a response sets (deleted ones dropped). */
function setCookies(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of headerList(res, 'set-cookie')) {
    const [pair = ''] = c.split(';', 1);
    const i = pair.indexOf('=');
    const name = pair.slice(0, i).trim();
    const value = pair.slice(i + 1).trim();
    if (!name) continue;
    if (!value || /;\s*max-age=0\b/i.test(c)) out.delete(name);
    else out.set(name, value);
  }
  return out;
}

const cookieHeader = (jar: Map<string, string>) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

function stateCookie(res: Response): string | undefined {
  return headerList(res, 'set-cookie').find((c) => /^(__Secure-)?better-auth\.state=/.test(c));
}

/** Did this callback answer sign someone in? Looks at the cookies it set and asks the app about them. */
async function sessionFrom(t: Target, res: Response): Promise<{ created: boolean; jar: Map<string, string> }> {
  const jar = setCookies(res);
  if (![...jar.keys()].some(isSessionTokenCookie)) return { created: false, jar };
  const s = await request(t, `${t.appUrl}/api/auth/get-session?disableCookieCache=true`, { headers: { accept: 'application/json' }, cookie: cookieHeader(jar) });
  let v: unknown = null;
  try { v = JSON.parse(s.body); } catch { v = null; }
  return { created: !!(v && typeof v === 'object' && 'session' in v), jar };
}

async function signOut(t: Target, jar: Map<string, string>): Promise<void> {
  await request(t, `${t.appUrl}/api/auth/sign-out`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: t.appUrl }, body: '{}', cookie: cookieHeader(jar),
  }).catch(() => undefined);
}

const where = (res: Response) => `${res.status}${header(res, 'location') ? ` → ${String(header(res, 'location')).replace(/([?&](code|state)=)[^&]*/g, '$1…')}` : ''}`;

test.describe('sign-in hardening', () => {
  test('sign-in refuses an external callbackURL (403 INVALID_CALLBACKURL)', { tag: '@smoke' }, async ({ target }) => {
    await label({ epic: EPIC.auth, feature: 'Security', story: 'no open redirect after sign-in', severity: 'critical' });
    const res = await startSocialSignIn(target, `${EVIL}/gbv-steal`);
    let code: unknown;
    try { code = (JSON.parse(res.body) as { code?: unknown }).code; } catch { code = undefined; }
    expect(res.status, res.status === 429
      ? 'sign-in stayed rate-limited (429): the external callbackURL check could not run'
      : `open redirect: sign-in accepted the external callbackURL ${EVIL}/… (answered ${res.status}${res.status === 200 ? ' with an authorize URL' : ''}, expected 403 INVALID_CALLBACKURL): `
        + 'an attacker can send a link that signs the victim in through the real Zitadel and then lands them on the attacker\'s site '
        + '(a trusted-looking phishing link, e.g. a fake "session expired" page that asks for the password again)').toBe(403);
    expect(code, `sign-in refused the external callbackURL with 403 but code ${JSON.stringify(code)} (expected INVALID_CALLBACKURL)`).toBe('INVALID_CALLBACKURL');
  });

  test('the authorize URL carries state and a PKCE S256 challenge; the state cookie is HttpOnly, SameSite=Lax', { tag: '@smoke' }, async ({ target }, info) => {
    await label({ epic: EPIC.auth, feature: 'Security', story: 'state and PKCE', severity: 'critical' });
    const res = await startSocialSignIn(target, '/admin');
    expect(res.status, `POST /api/auth/sign-in/social answered ${res.status} (expected 200 with an authorize URL)`).toBe(200);
    const url = new URL((JSON.parse(res.body) as { url: string }).url);
    const p = url.searchParams;
    const problems: string[] = [];
    const state = p.get('state') ?? '';
    if (!state) problems.push('authorize URL has no state: an attacker can make a victim\'s browser complete the attacker\'s sign-in (login CSRF)');
    else if (state.length < 16) problems.push(`authorize state is only ${state.length} characters: guessable, so it no longer ties the callback to this browser (login CSRF)`);
    const challenge = p.get('code_challenge');
    const method = p.get('code_challenge_method');
    const stolenCode = 'an intercepted authorization code could be exchanged for tokens by whoever holds it';
    if (!challenge) {
      // One line for PKCE switched off altogether: the missing code_challenge is the finding, not its method.
      problems.push(`authorize URL has no PKCE code_challenge${method ? '' : ' (nor code_challenge_method)'}: sign-in runs without PKCE, so ${stolenCode}`);
    } else {
      if (!/^[A-Za-z0-9_-]{43,128}$/.test(challenge)) problems.push(`authorize URL has a malformed PKCE code_challenge (${challenge.length} characters): ${stolenCode}`);
      if (method !== 'S256') problems.push(`authorize URL has code_challenge_method=${method ?? '(none, i.e. plain)'} (expected S256): ${stolenCode}`);
    }
    if (p.get('response_type') !== 'code') problems.push(`authorize URL asks for response_type=${p.get('response_type')} (expected code): tokens would travel in the URL`);
    const cb = `${target.appUrl}/api/auth/callback/zitadel`;
    if (p.get('redirect_uri') !== cb) problems.push(`authorize redirect_uri is ${p.get('redirect_uri')} (expected ${cb})`);
    const sc = stateCookie(res);
    if (!sc) problems.push('sign-in set no better-auth.state cookie: the callback cannot tell the browser that started the sign-in (login CSRF)');
    else {
      const name = sc.split('=', 1)[0];
      if (!/;\s*HttpOnly/i.test(sc)) problems.push(`${name} is not HttpOnly: an injected script could read the sign-in state`);
      if (!/;\s*SameSite=(Lax|Strict)/i.test(sc)) problems.push(`${name} is not SameSite=Lax/Strict: other sites' requests carry it`);
      if (target.appUrl.startsWith('https:') && !/;\s*Secure/i.test(sc)) problems.push(`${name} is not Secure: it would travel over plain HTTP`);
    }
    info.annotations.push({ type: 'authorize', description: `${url.origin}${url.pathname} with ${[...p.keys()].sort().join(', ')}` });
    expect(problems, problems.join('\n')).toEqual([]);
  });

  test('a forged or tampered callback creates no session (state is checked)', { tag: '@smoke' }, async ({ page, target }) => {
    test.setTimeout(90_000);
    await label({ epic: EPIC.auth, feature: 'Security', story: 'callback checks state', severity: 'critical' });
    const app = new URL(target.appUrl).origin;
    const auth = new URL(target.authUrl).origin;

    // A: a genuine sign-in started over HTTP; its state cookie stays in jarA (A's browser).
    const start = await test.step('browser A starts a sign-in (its state cookie stays with A)', () => startSocialSignIn(target, '/admin'));
    expect(start.status, `POST /api/auth/sign-in/social answered ${start.status}`).toBe(200);
    const jarA = setCookies(start);
    const authorizeUrl = (JSON.parse(start.body) as { url: string }).url;
    // Browser B: a browser that never started a sign-in completes Zitadel's login for A's authorize URL, so
    // A's code/state pair arrives at the app in a browser without A's state cookie: exactly what a victim's
    // browser does when an attacker lures it to a callback URL (login CSRF) or a leaked callback is replayed.
    let cbUrl: URL | undefined;
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!cbUrl && u.origin === app && u.pathname.startsWith('/api/auth/callback/')) cbUrl = u;
    });
    await test.step('browser B signs in at Zitadel Login V2 for A\'s authorize URL and opens the callback', async () => {
      await page.goto(authorizeUrl);
      const deadline = Date.now() + 45_000;
      const offCallback = (u: URL) => u.origin === app && !u.pathname.startsWith('/api/auth/callback/');
      for (let step = 0; step < 10; step++) {
        const here = new URL(page.url());
        if (offCallback(here)) break;
        if (here.origin === auth && LoginNamePage.matches(here)) await new LoginNamePage(page).enter(target.users.admin.username);
        else if (here.origin === auth && PasswordPage.matches(here)) await new PasswordPage(page).enter(target.users.admin.password);
        else if (here.origin === auth && AccountsPage.matches(here)) await new AccountsPage(page).choose(target.users.admin.username);
        await page.waitForURL((u) => u.href !== here.href, { timeout: Math.max(1000, deadline - Date.now()) }).catch(() => undefined);
        if (Date.now() > deadline) break;
      }
      if (!cbUrl) throw new Error(`the sign-in never reached the app's callback (stopped at ${new URL(page.url()).pathname}): the forged-callback check could not run`);
      await page.waitForURL(offCallback, { timeout: Math.max(1000, deadline - Date.now()) });
    });
    await test.step('browser B has no session after opening A\'s callback', async () => {
      const cookies = await page.context().cookies(target.appUrl);
      const jarB = new Map(cookies.map((c) => [c.name, c.value] as [string, string]));
      const s = await sessionFrom(target, { status: 0, headers: { 'set-cookie': cookies.map((c) => `${c.name}=${c.value}`) }, body: '', ms: 0 });
      if (s.created) await signOut(target, jarB);
      expect(s.created, `forged callback: A's code/state opened in another browser created a session there (landed on ${new URL(page.url()).pathname}) — state not checked against the browser that started the sign-in: `
        + 'an attacker who lures a victim to a callback URL with the attacker\'s own code signs the victim into the attacker\'s account (login CSRF), and a leaked or replayed callback URL signs in whoever opens it').toBe(false);
    });
    const code = cbUrl!.searchParams.get('code');
    const state = cbUrl!.searchParams.get('state');
    expect(code && state, 'the callback carried no code/state pair').toBeTruthy();
    const cb = (s: string) => `${target.appUrl}${cbUrl!.pathname}?code=${encodeURIComponent(code!)}&state=${encodeURIComponent(s)}`;

    await test.step('browser A with a tampered state: no session', async () => {
      const tampered = `${state!.slice(0, -1)}${state!.endsWith('A') ? 'B' : 'A'}`;
      const res = await request(target, cb(tampered), { cookie: cookieHeader(jarA) });
      const s = await sessionFrom(target, res);
      if (s.created) await signOut(target, s.jar);
      expect(s.created, `forged callback: a tampered state created a session (${where(res)}) — state mismatch ignored: an attacker can replay or splice callbacks into a victim's sign-in (login CSRF)`).toBe(false);
    });

    await test.step('control: browser A\'s genuine callback signs in (so the refusals above were about the state)', async () => {
      const res = await request(target, cb(state!), { cookie: cookieHeader(jarA) });
      const s = await sessionFrom(target, res);
      if (s.created) await signOut(target, new Map([...jarA, ...s.jar]));
      expect(s.created, `the genuine callback did not sign in either (${where(res)}): the refusals above prove nothing; sign-in itself is broken`).toBe(true);
    });
  });

  test('the oRPC API refuses a cross-site request carrying the session cookie', { tag: '@smoke' }, async ({ target, adminApi }) => {
    await label({ epic: EPIC.auth, feature: 'Security', story: 'no cross-site API calls (CSRF)', severity: 'critical' });
    const state = readStorageState('admin', target);
    expect(state, 'no saved admin session: run the setup project').toBeDefined();
    const url = `${target.appUrl}/api/rpc/gadgetbots/list`;
    const cookie = cookieHeaderFor(state!.cookies, url);
    const call = (headers: Record<string, string>) => request(target, url, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify({ json: {} }), cookie,
    });
    const same = await test.step('control: same-origin call with the admin cookie', () => call({ origin: target.appUrl, 'sec-fetch-site': 'same-origin' }));
    expect(same.status, `the saved admin session does not work for the API (list answered ${same.status}): the cross-site check cannot be judged`).toBe(200);
    for (const [what, headers] of [
      [`Origin ${EVIL}`, { origin: EVIL }],
      ['Sec-Fetch-Site: cross-site', { origin: EVIL, 'sec-fetch-site': 'cross-site' }],
    ] as const) {
      const res = await test.step(`cross-site call (${what}) with the admin cookie`, () => call(headers));
      expect(res.status >= 400 && res.status < 500, `the oRPC API answered a cross-site request (${what}) carrying the admin's session cookie with ${res.status}: `
        + 'any web page the admin visits could read and change products in the admin\'s name (cross-site request forgery)').toBe(true);
    }
    // The same cookie still works afterwards: the refusal was about the origin, not a dead session.
    expect((await adminApi.rpc('list', {})).status).toBe(200);
  });

  test('session cookies are __Secure- prefixed, HttpOnly and host-only', async ({ target }) => {
    await label({ epic: EPIC.auth, feature: 'Security', story: 'session cookie hardening', severity: 'normal' });
    const state = readStorageState('admin', target);
    expect(state, 'no saved admin session: run the setup project').toBeDefined();
    const host = new URL(target.appUrl).hostname;
    const mine = state!.cookies.filter((c) => /better-auth\.session_(token|data)$/.test(c.name) && (c.domain.replace(/^\./, '') === host));
    expect(mine.some((c) => isSessionTokenCookie(c.name)), 'the saved admin state holds no session token cookie').toBe(true);
    const problems: string[] = [];
    for (const c of mine) {
      if (target.appUrl.startsWith('https:') && !c.name.startsWith('__Secure-'))
        problems.push(`${c.name} lacks the __Secure- prefix: a plain-HTTP response (or a sibling host) could overwrite it (session fixation)`);
      if (!c.httpOnly) problems.push(`${c.name} is not HttpOnly: an injected script could steal the session`);
      if (!c.secure && target.appUrl.startsWith('https:')) problems.push(`${c.name} is not Secure: it would travel over plain HTTP where anyone on the path reads it`);
      if (c.domain.startsWith('.')) problems.push(`${c.name} is set for the whole domain ${c.domain}: every sibling host (e.g. the auth or deployer host) receives the session`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
