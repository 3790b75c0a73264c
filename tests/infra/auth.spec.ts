// Zitadel from outside: alive and ready, publishes a discovery document a relying party accepts (issuer =
// AUTH_URL, the Zitadel endpoint paths, PKCE S256, signing keys), and sends sign-ins to Login V2.
import { expect, test } from '@playwright/test';
import { getConfig } from '../../helpers/config.ts';
import { request } from '../../helpers/http.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { discover, discoveryProblems, fetchJwks, probeLoginV2 } from '../../helpers/oidc.ts';
import { attachJson, expectNoProblems, note } from './common.ts';

const ctx = () => { const t = getConfig(); return { t, host: new URL(t.authUrl).host }; };

test.describe('Auth health', () => {
  for (const [path, story, sev] of [['/debug/healthz', 'liveness', 'blocker'], ['/debug/ready', 'readiness', 'critical']] as const) {
    test(`GET ${path} answers 200`, { tag: '@smoke' }, async ({}, info) => {
    const { t, host } = ctx();
      await label({ epic: EPIC.infra, feature: 'Auth', story: `Zitadel ${story}`, severity: sev, parameters: { host } });
      const res = await request(t, `${t.authUrl}${path}`);
      note(info, 'response-ms', `${host}: ${path} in ${res.ms} ms`);
      expect(res.status, `${host}: ${path} answered ${res.status}${res.body ? ` "${res.body.trim().slice(0, 120)}"` : ''} (Zitadel ${story} fails)`).toBe(200);
    });
  }

  test('OIDC discovery: issuer, endpoints, PKCE S256, JWKS', { tag: '@smoke' }, async ({}, info) => {
    const { t, host } = ctx();
    await label({ epic: EPIC.infra, feature: 'Auth', story: 'OIDC discovery', severity: 'blocker', parameters: { host } });
    const d = await test.step('discovery (openid-client)', () => discover(t));
    await attachJson(info, 'openid-configuration.json', d.document);
    const problems = discoveryProblems(t, d);
    if (!problems.length) {
      const jwksUri = String(d.document.jwks_uri);
      const jwks = await test.step(`JWKS ${jwksUri}`, () => fetchJwks(t, jwksUri));
      await attachJson(info, 'jwks-keys.json', jwks.keys);
      if (jwks.status !== 200) problems.push(`${host}: JWKS ${jwksUri} answered ${jwks.status}`);
      else if (jwks.error) problems.push(`${host}: JWKS ${jwksUri}: ${jwks.error}`);
      else if (jwks.keys.length < 1) problems.push(`${host}: JWKS has no keys (id tokens cannot be verified)`);
    }
    expectNoProblems(problems);
  });

  test('sign-in requires Login V2', { tag: '@smoke' }, async ({}, info) => {
    const { t, host } = ctx();
    await label({ epic: EPIC.infra, feature: 'Auth', story: 'Login V2 required', severity: 'critical', parameters: { host } });
    const p = await test.step('app sign-in → authorize → follow redirects', () => probeLoginV2(t));
    await attachJson(info, 'login-v2-probe.json', { signInStatus: p.signInStatus, authorizeParams: p.authorizeParams, hops: p.hops, landedOn: p.landedOn, loginV2: p.loginV2 });
    note(info, 'landed-on', `${host}: ${p.landedOn || '(no authorize URL)'}`);
    expectNoProblems(p.problem ? [p.problem] : []);
  });
});
