// Zitadel Login V2 itself, walked from Zitadel's own authorize endpoint with the app's public client_id and
// registered redirect_uri (learnt from the setup's recorded journey), the suite's own state, nonce and PKCE pair,
// and the redirect to the app's callback held in the browser: the app never sees these sign-ins, so none of them
// spends an app sign-in (Better Auth's 3 per 10 s). Safe against production: one wrong password per user per run.
import { expectNone } from '../../fixtures/observed.ts';
import { randomBytes } from 'node:crypto';
import type { Browser } from '@playwright/test';
import { test, expect } from '../../fixtures/test.ts';
import { authorizeTemplateOf, readJourney } from '../../fixtures/journey.ts';
import { holdCallback, PasswordPage, type HeldCallback, loginNameScreen, loginNameScreenExpect, passwordScreen, passwordScreenExpect, walkLoginV2, walkToCallback } from '../../fixtures/pages/index.ts';
import type { Target, User } from '../../helpers/config.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { directAuthorize, discover, exchangeCode, verifyIdToken, type AuthorizeTemplate } from '../../helpers/oidc.ts';

// Passwords are typed here: no traces or videos.
test.use({ trace: 'off', video: 'off', storageState: { cookies: [], origins: [] } });
test.describe.configure({ mode: 'parallel' });

function template(t: Target): AuthorizeTemplate {
  const tpl = authorizeTemplateOf(readJourney('admin', t)) ?? authorizeTemplateOf(readJourney('viewer', t));
  expect(tpl, 'the setup project recorded the app\'s authorize URL (client_id, redirect_uri) in its sign-in journey').toBeDefined();
  return tpl!;
}

/** One user's wrong-password attempt in a browser context of its own (no Zitadel session to skip the password). */
async function wrongPasswordOutcome(browser: Browser, t: Target, tpl: AuthorizeTemplate, role: string, user: User): Promise<string | undefined> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const hold = await holdCallback(page, { appUrl: t.appUrl, authUrl: t.authUrl });
    const req = await directAuthorize(tpl, { prompt: 'login' });
    await page.goto(req.url);
    await walkLoginV2(page, { urls: { appUrl: t.appUrl, authUrl: t.authUrl }, user: { username: user.username }, stopAt: 'loginname' });
    await loginNameScreenExpect(page);
    await loginNameScreen(page, user.username);
    // The password screen, or (a broken login policy) straight to the callback with a code.
    let early: HeldCallback | undefined;
    void hold.held.then((h) => { early = h; });
    await expect.poll(() => (early ? 'callback' : PasswordPage.matches(new URL(page.url())) ? 'password' : 'pending'),
      { message: `Login V2 answers ${role}'s login name`, timeout: 15_000 }).not.toBe('pending');
    if (early) return `${role} ${user.username}: Login V2 issued an authorization code after the login name alone, without asking for the password`;
    await passwordScreenExpect(page);
    const outcome = await passwordScreen(page, `wrong-${randomBytes(9).toString('base64url')}`);
    if (outcome === 'refused') {
      const text = (await page.getByTestId('error').textContent())?.trim() ?? '';
      return /Failed to authenticate\./.test(text) ? undefined : `${role} ${user.username}: the wrong password was refused, but with "${text}" instead of "Failed to authenticate."`;
    }
    // Moved on: where to? A held callback with a code is a sign-in granted on a wrong password.
    const held = await Promise.race([hold.held, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
    return held?.code
      ? `${role} ${user.username}: a wrong password was accepted: Login V2 sent the browser to the app's callback with an authorization code (the password check is off for this user)`
      : `${role} ${user.username}: after a wrong password Login V2 left the password screen for ${new URL(page.url()).pathname} instead of showing "Failed to authenticate."`;
  } finally {
    await context.close();
  }
}

test('Login V2 refuses a wrong password for every configured user ("Failed to authenticate.", no code issued)', async ({ browser, target }) => {
  await label({ epic: EPIC.auth, feature: 'Login V2', story: 'wrong password refused for every user', severity: 'critical' });
  const tpl = template(target);
  const users = Object.entries(target.users).filter((e): e is [string, User] => !!e[1]);
  const problems: string[] = [];
  for (const [role, user] of users) {
    const p = await test.step(`${role}: a wrong password at Zitadel's own authorize`, () => wrongPasswordOutcome(browser, target, tpl, role, user));
    if (p) problems.push(p);
  }
  await expectNone(`Login V2 refuses a wrong password for each of ${users.map(([r]) => r).join(', ')}`, problems);
});

test('an id_token from a real sign-in verifies against the published JWKS (alg advertised, iss, aud, exp, nonce)', async ({ page, target }, info) => {
  await label({ epic: EPIC.auth, feature: 'OIDC', story: 'id_token verifies', severity: 'critical' });
  const tpl = template(target);
  const d = await test.step('discovery', () => discover(target));
  expect(d.status, 'the discovery document answers 200').toBe(200);
  const req = await directAuthorize(tpl, { prompt: 'login' });
  const walked = await test.step('admin signs in at Zitadel\'s own authorize; the callback is held (the app never sees it)', () =>
    walkToCallback(page, req.url, { urls: { appUrl: target.appUrl, authUrl: target.authUrl }, user: target.users.admin }));
  expect(walked.callback.error, 'Zitadel answers the authorize request with a code, not an error').toBeUndefined();
  expect(walked.callback.state === req.state, 'the callback carries the state the authorize request sent').toBe(true);
  const tokens = await test.step('the code is exchanged at the token endpoint (public client, PKCE)', () =>
    exchangeCode(target, String(d.document.token_endpoint), tpl, walked.callback.code, req.codeVerifier));
  expect(tokens.status, `the token endpoint exchanges the code (answer: ${tokens.error ?? 'no error text'})`).toBe(200);
  expect(tokens.idToken, 'the token answer carries an id_token (scope openid)').toBeDefined();
  const v = await test.step('verify the id_token (jose)', () => verifyIdToken(target, tokens.idToken!, { discovery: d.document, clientId: tpl.clientId, nonce: req.nonce }));
  info.annotations.push({ type: 'id_token', description: Object.entries(v.facts).map(([k, x]) => `${k}: ${x}`).join('; ') });
  await expectNone('the id_token is signed by a key in the published JWKS with an advertised alg, names the issuer and this client, is unexpired and carries the nonce', v.problems);
});
