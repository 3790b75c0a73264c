// The sign-in and session as an attacker would probe them: external callback URLs, the OAuth state and PKCE
// (forged or tampered callbacks: forged-callback.spec.ts), cross-site API calls carrying the session cookie, and the session cookies'
// hardening. Everything but the Zitadel login itself is plain HTTP; each failure says what an attacker gains.
import { test } from '../../fixtures/test.ts';
import { configuredRoles, readStorageState, storageStatePath } from '../../fixtures/auth-state.ts';
import { openRedirectPayloads, SAFE_CALLBACK, SOURCES } from '../../fixtures/attacks.ts';
import { corsProbe, corsVerdict, crossSiteRead, type CrossSiteRead } from '../../fixtures/cors.ts';
import { attackerSite, crossSiteVerdict, crossSiteWrites, originCheck, sessionSameSite, type CrossSiteAttempt } from '../../fixtures/cross-site.ts';
import { recordedJourneys, type CookieFacts, type RecordedAuthorize } from '../../fixtures/journey.ts';
import { expectNone } from '../../fixtures/observed.ts';
import {
  CALLBACK_PATH, cookieFlagProblems, isSessionTokenCookie, sessionCookiesOf, SIGN_OUT_PATH, startSignInOverHttp,
} from '../../helpers/better-auth.ts';
import type { Target } from '../../helpers/config.ts';
import { warn } from '../../helpers/findings.ts';
import { request, type Response } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';

// No password is typed here (the forged callback, which types one, has its own file without traces):
// the gate's checks of this file share their worker with the other auth specs.
test.use({ storageState: { cookies: [], origins: [] } });

const jsonField = (body: string, key: string): unknown => {
  try { return (JSON.parse(body) as Record<string, unknown>)[key]; } catch { return undefined; }
};

/**
 * Better Auth's callbackURL check without a sign-in: its origin-check middleware runs on every POST under
 * /api/auth (better-auth 1.4 and 1.7 alike) and validates `callbackURL` before the endpoint runs. Sign-out without
 * a cookie ends no session and is not in the sign-in rate-limit bucket (3 per 10 s); 403 = refused.
 */
function callbackCheck(t: Target, callbackURL: string): Promise<Response> {
  return request(t, `${t.appUrl}${SIGN_OUT_PATH}`, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ callbackURL }),
  });
}


const STOLEN_CODE = 'an intercepted authorization code could be exchanged for tokens by whoever holds it';

/** What an authorize request must carry (RFC 6749 §10.12 state, RFC 7636 PKCE S256), judged on its recording. */
function authorizeProblems(a: RecordedAuthorize, t: Target): string[] {
  const problems: string[] = [];
  const p = a.params;
  if (!a.state) problems.push('authorize URL has no state: an attacker can make a victim\'s browser complete the attacker\'s sign-in (login CSRF)');
  else if (a.state.length < 16) problems.push(`authorize state is only ${a.state.length} characters: guessable, so it no longer ties the callback to this browser (login CSRF)`);
  const method = p.code_challenge_method;
  if (!a.codeChallenge) {
    // One line for PKCE switched off altogether: the missing code_challenge is the finding, not its method.
    problems.push(`authorize URL has no PKCE code_challenge${method ? '' : ' (nor code_challenge_method)'}: sign-in runs without PKCE, so ${STOLEN_CODE}`);
  } else {
    const c = a.codeChallenge;
    if (c.charset !== 'base64url' || c.length < 43 || c.length > 128) problems.push(`authorize URL has a malformed PKCE code_challenge (${c.length} characters): ${STOLEN_CODE}`);
    if (method !== 'S256') problems.push(`authorize URL has code_challenge_method=${method ?? '(none, i.e. plain)'} (expected S256): ${STOLEN_CODE}`);
  }
  if (p.response_type !== 'code') problems.push(`authorize URL asks for response_type=${p.response_type} (expected code): tokens would travel in the URL`);
  const cb = `${t.appUrl}${CALLBACK_PATH}`;
  if (p.redirect_uri !== cb) problems.push(`authorize redirect_uri is ${p.redirect_uri} (expected ${cb})`);
  return problems;
}

/** The state cookie the sign-in answer set, as recorded. */
function stateCookieProblems(sc: CookieFacts | undefined, t: Target): string[] {
  if (!sc) return ['sign-in set no better-auth.state cookie: the callback cannot tell the browser that started the sign-in (login CSRF)'];
  const problems: string[] = [];
  if (!sc.httpOnly) problems.push(`${sc.name} is not HttpOnly: an injected script could read the sign-in state`);
  if (!/^(lax|strict)$/i.test(sc.sameSite ?? '')) problems.push(`${sc.name} is not SameSite=Lax/Strict: other sites' requests carry it`);
  if (t.appUrl.startsWith('https:') && !sc.secure) problems.push(`${sc.name} is not Secure: it would travel over plain HTTP`);
  return problems;
}

test.describe('sign-in hardening', () => {
  test('sign-in refuses an external callbackURL, and Better Auth\'s callbackURL check refuses the whole open-redirect family', async ({ target }) => {
    await label({ epic: EPIC.auth, feature: 'Security', story: 'no open redirect after sign-in', severity: 'critical' });
    const [canonical] = openRedirectPayloads(target.appUrl);
    await test.step(`sign-in with callbackURL ${canonical!.value} is refused (403 INVALID_CALLBACKURL)`, async () => {
      const res = await startSignInOverHttp(target, canonical!.value, { what: 'security: external callbackURL' });
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

  // Judged from every role's sign-in as the setup project recorded it (fixtures/journey.ts): no sign-in is spent.
  test('the authorize URL carries state and a PKCE S256 challenge; the state cookie is HttpOnly, SameSite=Lax', { tag: '@smoke' }, async ({ target }, info) => {
    await label({ epic: EPIC.auth, feature: 'Security', story: 'state and PKCE', severity: 'critical' });
    const { found, missing } = recordedJourneys(target);
    const problems = [...missing];
    for (const j of found) {
      if (!j.authorize) { problems.push(`${j.role}: the recorded sign-in reached no authorize URL of ${target.authUrl}`); continue; }
      problems.push(...authorizeProblems(j.authorize, target).map((p) => `${j.role}: ${p}`));
      problems.push(...stateCookieProblems(j.stateCookie, target).map((p) => `${j.role}: ${p}`));
      info.annotations.push({ type: `${j.role} authorize`, description: `${j.authorize.origin}${j.authorize.pathname} with ${Object.keys(j.authorize.params).sort().join(', ')}` });
    }
    await expectNone('every role\'s sign-in sent state, PKCE S256, response_type=code and the registered redirect_uri, with a protected state cookie', problems);
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
      // Host and port only in failure texts: "http://… 200" reads as the plain-HTTP-served signature to the hints.
      const pageHost = new URL(site.origin).host;
      const created = attempts.filter((a) => listed.has(a.name));
      test.info().annotations.push({ type: 'cross-site attempts', description: attempts.map((a) => `${a.via}: cookie ${a.cookieSent ? 'sent' : `not sent${a.blocked.length ? ` (blocked: ${a.blocked.join(', ')})` : ''}`}, answered ${a.status}, ${listed.has(a.name) ? 'CREATED' : 'nothing created'}`).join('; ') });
      await expectNone('nothing is created by a cross-site page', created.map((a) => a.cookieSent
        ? `cross-site request forgery: a page on another site (${pageHost}) created "${a.name}" through the admin's session in Chromium `
          + `(${a.via}; the browser sent the session cookie, SameSite=${sameSite ?? '?'}; oRPC answered ${a.status} to that Origin): `
          + 'any site the admin visits can change products in the admin\'s name'
        : `a page on another site (${pageHost}) created "${a.name}" in Chromium WITHOUT the admin's session cookie (${a.via}; the browser held it back${a.blocked.length ? `: ${a.blocked.join(', ')}` : ''}; oRPC answered ${a.status}): `
          + 'the API accepts anonymous writes, from any site'));
      // Nothing was written: judge both lines of defence; a missing one is a warning, not a failure.
      const verdict = crossSiteVerdict(origins, attempts, sameSite, pageHost);
      await expectNone('no origin an attacker controls gets the admin\'s session through', verdict.fail);
      if (verdict.warning) warn(verdict.warning);
    });

  test('a cross-site page cannot read the admin\'s data from the oRPC API (CORS; real Chromium; the CORS headers reported)',
    async ({ browser, target, bots }) => {
      await label({ epic: EPIC.auth, feature: 'Security', story: 'no cross-site reads (CORS)', severity: 'critical' });
      const state = readStorageState('admin', target);
      await expectNone('the setup project saved an admin session', state ? [] : ['no saved admin session: run the setup project']);
      // A bot of the admin's in the list: a page that reads it has read the admin's data, not an empty answer.
      const bot = await test.step('the admin has a bot for the page to find', () => bots.create('cleaning'));
      const probe = await test.step('the CORS headers of oRPC\'s answers to each look-alike origin, with the admin cookie', () => corsProbe(target, state!.cookies));
      test.info().annotations.push({ type: 'CORS per origin', description: probe.seen.join(', ') });
      if (probe.wildcard.length) test.info().annotations.push({ type: 'CORS', description: `Access-Control-Allow-Origin: * (to ${probe.wildcard.join(', ')}): readable only without cookies` });

      const listUrl = `${target.appUrl}/api/rpc/gadgetbots/list`;
      const site = await attackerSite(`${target.appUrl}/api/rpc/gadgetbots/create`, listUrl);
      const context = await browser.newContext({ storageState: storageStatePath('admin', target) });
      let read: CrossSiteRead;
      let sameSite: string | undefined;
      try {
        sameSite = await sessionSameSite(context, target.appUrl);
        read = await test.step(`a page on ${site.origin} reads oRPC list with credentials in Chromium`, () => crossSiteRead(context, site, listUrl, bot.name));
      } finally {
        await context.close();
        await site.close();
      }
      const pageHost = new URL(site.origin).host;
      test.info().annotations.push({ type: 'cross-site read', description: `cookie ${read.cookieSent ? 'sent' : `not sent${read.blocked.length ? ` (blocked: ${read.blocked.join(', ')})` : ''}`}; the page: ${read.outcome}` });
      const verdict = corsVerdict(probe, read, sameSite, pageHost);
      await expectNone('no other site can read the admin\'s data', verdict.fail);
      if (verdict.warning) warn(verdict.warning);
    });

  // The browser's jar after the whole sign-in, not the callback's Set-Cookie (sign-in.spec judges that): a cookie the
  // app sets again later (get-session refreshing its cache) with weaker flags shows only here.
  test('session cookies are __Secure- prefixed, Secure, HttpOnly, SameSite Lax/Strict and host-only, in every role\'s browser after sign-in', async ({ target }) => {
    await label({ epic: EPIC.auth, feature: 'Security', story: 'session cookie hardening', severity: 'normal' });
    const roles = configuredRoles(target);
    const problems: string[] = [];
    for (const role of roles) {
      const state = readStorageState(role, target);
      if (!state) { problems.push(`${role}: no saved session (${storageStatePath(role, target)}): the setup sign-in did not finish`); continue; }
      const mine = sessionCookiesOf(state.cookies, target.appUrl);
      if (!mine.some((c) => isSessionTokenCookie(c.name))) problems.push(`${role}: the browser holds no session token cookie after sign-in (cookies: ${mine.map((c) => c.name).join(', ') || 'none'})`);
      // Persistence is the sign-in checks' business (SESSION_MIN_HOURS); these are the flags an attacker exploits.
      problems.push(...mine.flatMap((c) => cookieFlagProblems(c, { appUrl: target.appUrl })).map((p) => `${role}: ${p}`));
    }
    await expectNone(`every session cookie in the browser of ${roles.join(' and ')} has the flags`, problems);
  });
});
