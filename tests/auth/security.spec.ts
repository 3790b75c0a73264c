// The sign-in and session as an attacker would probe them: external callback URLs, the OAuth state and PKCE,
// forged or tampered callbacks, cross-site API calls carrying the session cookie, and the session cookies'
// hardening. Everything but the Zitadel login itself is plain HTTP; each failure says what an attacker gains.
import { test, expect } from '../../fixtures/test.ts';
import { cookieHeaderFor, isSessionTokenCookie, readStorageState, storageStatePath, type StoredCookie } from '../../fixtures/auth-state.ts';
import { attackerSite, crossSiteWrites, sessionSameSite, type CrossSiteAttempt } from '../../fixtures/cross-site.ts';
import { warn } from '../../helpers/findings.ts';
import { AccountsPage, LoginNamePage, PasswordPage } from '../../fixtures/pages/index.ts';
import type { Target } from '../../helpers/config.ts';
import { header, headerList, request, type Response } from '../../helpers/http.ts';
import { startSocialSignIn } from '../../helpers/oidc.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { noteSignInRequest } from '../../helpers/signin-ledger.ts';
import { openRedirectPayloads, originLookalikes, SAFE_CALLBACK, SOURCES, type Payload } from '../../fixtures/attacks.ts';
import { expectNone } from '../../fixtures/observed.ts';

// Passwords are typed in one test: no traces or videos here.
test.use({ trace: 'off', video: 'off', storageState: { cookies: [], origins: [] } });

const EVIL = 'https://evil.example';

interface OriginResults { accepted: Payload[]; refused: Payload[]; seen: string[] }

/** oRPC `list` (a read) with the admin cookie from each look-alike origin; which ones it answered (2xx). */
async function originCheck(t: Target, cookies: StoredCookie[]): Promise<OriginResults> {
  const url = `${t.appUrl}/api/rpc/gadgetbots/list`;
  const cookie = cookieHeaderFor(cookies, url);
  const call = (headers: Record<string, string>) => request(t, url, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify({ json: {} }), cookie,
  });
  const same = await call({ origin: new URL(t.appUrl).origin, 'sec-fetch-site': 'same-origin' });
  await expectNone('the admin cookie works for a same-origin call (the control)', same.status === 200 ? [] : [
    `the saved admin session does not work for the API (a same-origin list answered ${same.status}): the cross-site check cannot be judged`,
  ]);
  const out: OriginResults = { accepted: [], refused: [], seen: [] };
  const fetchMetadata: Payload = { id: 'sec-fetch-site', value: `${EVIL} with Sec-Fetch-Site: cross-site`, why: 'what a browser adds to a cross-site request', source: 'fetchMetadata', attackerOwned: true };
  for (const p of [...originLookalikes(t.appUrl), fetchMetadata]) {
    const res = await call(p === fetchMetadata ? { origin: EVIL, 'sec-fetch-site': 'cross-site' } : { origin: p.value });
    out.seen.push(`${p.id} ${res.status}`);
    (res.status >= 200 && res.status < 300 ? out.accepted : out.refused).push(p);
  }
  return out;
}

/**
 * Fail or warn from what was observed: a cross-site write that happened, or the two halves of one (Chromium sends
 * the cookie cross-site AND oRPC accepts an origin an attacker can serve pages from), fail; one line of defence
 * missing while the other holds is a warning.
 */
function crossSiteVerdict(o: OriginResults, attempts: CrossSiteAttempt[], sameSite: string | undefined, site: string): { fail: string[]; warning?: string } {
  const cookieWent = attempts.some((a) => a.cookieSent);
  const open = o.accepted.filter((p) => p.attackerOwned);
  const list = (ps: Payload[]) => `${ps[0]!.value}${ps.length > 1 ? ` (and ${ps.length - 1} more: ${ps.slice(1).map((p) => p.value).join(', ')})` : ''}`;
  const how = o.refused.some((p) => p.id === 'other-site') ? 'the Origin check accepts look-alikes' : 'no Origin check';
  if (cookieWent && open.length) {
    return { fail: [`cross-site request forgery: Chromium sends the admin's session cookie (SameSite=${sameSite ?? '?'}) with requests from other sites, and oRPC accepts Origin ${list(open)} (${how}): `
      + `a page on such an origin can change products in the admin's name (the page on ${site} was refused only because of its own origin)`] };
  }
  if (o.accepted.length) {
    return { fail: [], warning: `oRPC accepts cross-site Origin ${list(o.accepted)} (${how}); `
      + (cookieWent ? `Chromium does send the SameSite=${sameSite} session cookie cross-site, but none of these origins is one an attacker can serve pages from`
        : `browsers do not send the SameSite=${sameSite ?? 'Lax'} session cookie cross-site, so this is a missing second line of defence`) };
  }
  if (cookieWent) {
    return { fail: [], warning: `Chromium sent the admin's session cookie (SameSite=${sameSite ?? '?'}) with a cross-site request from ${site}; only oRPC's Origin check stopped the write (a missing first line of defence)` };
  }
  return { fail: [] };
}

const jsonField = (body: string, key: string): unknown => {
  try { return (JSON.parse(body) as Record<string, unknown>)[key]; } catch { return undefined; }
};

/**
 * Better Auth's callbackURL check without a sign-in: its origin-check middleware runs on every POST under
 * /api/auth (better-auth 1.4 and 1.7 alike) and validates `callbackURL` before the endpoint runs. Sign-out without
 * a cookie ends no session and is not in the sign-in rate-limit bucket (3 per 10 s); 403 = refused.
 */
function callbackCheck(t: Target, callbackURL: string): Promise<Response> {
  return request(t, `${t.appUrl}/api/auth/sign-out`, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ callbackURL }),
  });
}
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
  test('sign-in refuses an external callbackURL, and Better Auth\'s callbackURL check refuses the whole open-redirect family', async ({ target }) => {
    await label({ epic: EPIC.auth, feature: 'Security', story: 'no open redirect after sign-in', severity: 'critical' });
    const [canonical] = openRedirectPayloads(target.appUrl);
    await test.step(`sign-in with callbackURL ${canonical!.value} is refused (403 INVALID_CALLBACKURL)`, async () => {
      noteSignInRequest('security: external callbackURL');
      const res = await startSocialSignIn(target, canonical!.value);
      const code = jsonField(res.body, 'code');
      await expectNone('sign-in refuses the external callbackURL', res.status === 403 && /^INVALID_CALLBACK_?URL$/.test(String(code)) ? [] : [
        res.status === 429
          ? 'sign-in stayed rate-limited (429): the external callbackURL check could not run'
          : res.status === 403
            ? `sign-in refused the external callbackURL with 403 but code ${JSON.stringify(code)} (expected INVALID_CALLBACKURL)`
            : `open redirect: sign-in accepted the external callbackURL ${canonical!.value} (answered ${res.status}${res.status === 200 ? ' with an authorize URL' : ''}, expected 403 INVALID_CALLBACKURL): `
              + 'an attacker can send a link that signs the victim in through the real Zitadel and then lands them on the attacker\'s site '
              + '(a trusted-looking phishing link, e.g. a fake "session expired" page that asks for the password again)',
      ]);
    });
    // The family goes through the same check without paying a sign-in each (see docs/CHECKS.md).
    await test.step(`${SAFE_CALLBACK} passes Better Auth's callbackURL check at POST /api/auth/sign-out (the control)`, async () => {
      const res = await callbackCheck(target, SAFE_CALLBACK);
      await expectNone('the check lets a same-origin path through', res.status >= 200 && res.status < 300 ? [] : [
        `POST /api/auth/sign-out with callbackURL ${SAFE_CALLBACK} and no session answered ${res.status} ${res.body.slice(0, 120)}: the callbackURL family could not be judged there`,
      ]);
      const again = await callbackCheck(target, canonical!.value);
      await expectNone('the check refuses the URL sign-in refused', again.status === 403 ? [] : [
        `POST /api/auth/sign-out accepted callbackURL ${canonical!.value} (answered ${again.status}), which sign-in refused: sign-out is not checked like sign-in, so the open-redirect family could not be judged without a sign-in request per payload`,
      ]);
    });
    await test.step('every payload of the open-redirect family is refused', async () => {
      const accepted: string[] = [];
      const seen: string[] = [];
      for (const p of openRedirectPayloads(target.appUrl).slice(1)) {
        const res = await callbackCheck(target, p.value);
        seen.push(`${p.id} ${res.status}`);
        if (res.status >= 200 && res.status < 300) accepted.push(`${p.id} ${JSON.stringify(p.value)} (${p.why}; ${SOURCES[p.source]})`);
      }
      test.info().annotations.push({ type: 'open-redirect family', description: seen.join(', ') });
      await expectNone(`Better Auth's callbackURL check refuses all ${seen.length} payloads`, accepted.length ? [
        `open redirect: Better Auth's callbackURL check (the one sign-in uses) accepted ${accepted.length} of ${seen.length} external callbackURLs: ${accepted.map((a) => a.split(' (')[0]).join(', ')}; `
          + 'a sign-in link with such a callbackURL lands the signed-in victim on the attacker\'s site',
        ...accepted.map((a) => `  accepted: ${a}`),
      ] : []);
    });
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

  test('a cross-site page cannot use the admin\'s session on the oRPC API (real Chromium; the Origin check reported)', { tag: '@smoke' },
    async ({ browser, target, adminApi, bots }) => {
      await label({ epic: EPIC.auth, feature: 'Security', story: 'no cross-site API calls (CSRF)', severity: 'critical' });
      const state = readStorageState('admin', target);
      await expectNone('the setup project saved an admin session', state ? [] : ['no saved admin session: run the setup project']);
      const origins = await test.step('the Origin check: oRPC with the admin cookie from each look-alike origin', () => originCheck(target, state!.cookies));
      test.info().annotations.push({ type: 'origin check', description: origins.seen.join(', ') });

      const rpcUrl = `${target.appUrl}/api/rpc/gadgetbots/create`;
      const names = { fetch: bots.name(), form: bots.name() };
      bots.remember({ name: names.fetch });
      bots.remember({ name: names.form });
      const site = await attackerSite(rpcUrl);
      const context = await browser.newContext({ storageState: storageStatePath('admin', target) });
      let attempts: CrossSiteAttempt[];
      let sameSite: string | undefined;
      try {
        sameSite = await sessionSameSite(context, target.appUrl);
        attempts = await test.step(`a page on ${site.origin} POSTs create (no-cors fetch and a form) in Chromium with the admin's cookies`,
          () => crossSiteWrites(context, site, rpcUrl, names));
      } finally {
        await context.close();
        await site.close();
      }
      const listed = new Set((await adminApi.list()).map((b) => b.name));
      const created = attempts.filter((a) => listed.has(a.name));
      test.info().annotations.push({ type: 'cross-site attempts', description: attempts.map((a) => `${a.via}: cookie ${a.cookieSent ? 'sent' : 'not sent'}, answered ${a.status}, ${listed.has(a.name) ? 'CREATED' : 'nothing created'}`).join('; ') });
      await expectNone('nothing is created by a cross-site page', created.map((a) => `cross-site request forgery: a page on ${site.origin} created "${a.name}" through the admin's session in Chromium `
        + `(${a.via}; the browser ${a.cookieSent ? 'sent' : 'did not send'} the session cookie, SameSite=${sameSite ?? '?'}; oRPC answered ${a.status} to Origin ${a.origin ?? '(none)'}): `
        + 'any site the admin visits can change products in the admin\'s name'));
      // Nothing was written: judge both lines of defence; a missing one is a warning, not a failure.
      const verdict = crossSiteVerdict(origins, attempts, sameSite, site.origin);
      await expectNone('no origin an attacker controls gets the admin\'s session through', verdict.fail);
      if (verdict.warning) warn(verdict.warning);
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
