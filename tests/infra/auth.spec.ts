// Zitadel from outside: alive and ready (status and Zitadel's "ok" body), publishes a discovery document a relying
// party accepts (issuer = AUTH_URL, the Zitadel endpoint paths on the issuer's host, PKCE S256) whose JWKS keys
// are each usable for the algorithms it announces, and sends sign-ins to Login V2.
import { expectNone } from '../../fixtures/observed.ts';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { test } from '../../fixtures/test.ts';
import type { Target } from '../../helpers/config.ts';
import { request } from '../../helpers/http.ts';
import { label } from '../../helpers/labels.ts';
import { discover, discoveryProblems, probeLoginV2 } from '../../helpers/oidc.ts';
import { attachJson, note } from './common.ts';

const KTY_OF: Record<string, string> = { RS: 'RSA', PS: 'RSA', ES: 'EC', Ed: 'OKP' };

/** Every problem with the JWKS as a verifier sees it: keys that do not import, clash, or fit no announced alg. */
export function jwksProblems(host: string, keys: JsonWebKey[], algs: string[]): string[] {
  const p: string[] = [];
  if (!keys.length) return [`${host}: JWKS has no keys (id tokens cannot be verified)`];
  const kids = new Map<string, number>();
  keys.forEach((k, i) => {
    const name = `key ${k.kid ? `"${String(k.kid)}"` : `#${i + 1}`}`;
    if (!k.kid) p.push(`${host}: JWKS ${name} has no kid (a verifier cannot pick it by the token's header)`);
    else kids.set(String(k.kid), (kids.get(String(k.kid)) ?? 0) + 1);
    if (k.use && k.use !== 'sig') p.push(`${host}: JWKS ${name} has use "${String(k.use)}", not sig`);
    try {
      const pub = createPublicKey({ key: k, format: 'jwk' });
      const bits = pub.asymmetricKeyDetails?.modulusLength;
      if (pub.asymmetricKeyType === 'rsa' && bits !== undefined && bits < 2048) p.push(`${host}: JWKS ${name} is RSA-${bits}, below 2048 bits`);
    } catch (e) {
      p.push(`${host}: JWKS ${name} (kty ${String(k.kty)}) does not import as a public key: ${(e as Error).message}`);
    }
    const alg = typeof k.alg === 'string' ? k.alg : undefined;
    if (alg && KTY_OF[alg.slice(0, 2)] && KTY_OF[alg.slice(0, 2)] !== k.kty) p.push(`${host}: JWKS ${name} says alg ${alg} but is kty ${String(k.kty)}`);
  });
  for (const [kid, n] of kids) if (n > 1) p.push(`${host}: JWKS has ${n} keys with kid "${kid}" (a verifier may pick the wrong one)`);
  // "Supported" algorithms are what the OP may use (Zitadel lists several); a verifier needs a key for the one it signs
  // with, so at least one announced algorithm must have a fitting key, and "none" must not be announced.
  if (algs.includes('none')) p.push(`${host}: discovery announces id_token signing alg "none" (unsigned tokens)`);
  const signing = algs.filter((a) => a !== 'none');
  const fits = (alg: string) => keys.some((k) => (k.alg ? k.alg === alg : KTY_OF[alg.slice(0, 2)] === k.kty));
  if (signing.length && !signing.some(fits))
    p.push(`${host}: no JWKS key fits any announced id_token signing alg (${signing.join(', ')}; keys kid/alg: ${keys.map((k) => `${String(k.kid)}/${String(k.alg ?? k.kty)}`).join(', ')})`);
  return p;
}

async function jwksOf(t: Target, host: string, uri: string): Promise<{ keys: JsonWebKey[]; problems: string[] }> {
  const res = await request(t, uri, { headers: { accept: 'application/json' } });
  if (res.status !== 200) return { keys: [], problems: [`${host}: JWKS ${uri} answered ${res.status}`] };
  try {
    const body = JSON.parse(res.body) as { keys?: unknown };
    if (!Array.isArray(body.keys)) return { keys: [], problems: [`${host}: JWKS ${uri}: no "keys" array`] };
    return { keys: body.keys as JsonWebKey[], problems: [] };
  } catch { return { keys: [], problems: [`${host}: JWKS ${uri}: not JSON`] }; }
}

test.describe('Auth health', () => {
  for (const [path, story, sev] of [['/debug/healthz', 'liveness', 'blocker'], ['/debug/ready', 'readiness', 'critical']] as const) {
    test(`GET ${path} answers 200`, { tag: '@smoke' }, async ({ target: t }, info) => {
      const host = new URL(t.authUrl).host;
      await label({ feature: 'Auth', story: `Zitadel ${story}`, severity: sev, parameters: { host } });
      const res = await request(t, `${t.authUrl}${path}`);
      note(info, 'response-ms', `${host}: ${path} in ${res.ms} ms`);
      const body = res.body.trim();
      const problems = res.status !== 200 ? [`${host}: ${path} answered ${res.status}${body ? ` "${body.slice(0, 120)}"` : ''} (Zitadel ${story} fails)`]
        : body.toLowerCase() !== 'ok' ? [`${host}: ${path} answered 200 with "${body.replace(/\s+/g, ' ').slice(0, 80)}", not Zitadel's "ok" (another service answers this path)`] : [];
      await expectNone(`${host}: ${path} answers 200 "ok"`, problems);
    });
  }

  test('OIDC discovery: issuer, endpoints, PKCE S256, JWKS', { tag: '@smoke' }, async ({ target: t }, info) => {
    const host = new URL(t.authUrl).host;
    await label({ feature: 'Auth', story: 'OIDC discovery', severity: 'blocker', parameters: { host } });
    const d = await test.step('discovery (openid-client)', () => discover(t));
    await attachJson(info, 'openid-configuration.json', d.document);
    const problems = discoveryProblems(t, d);
    if (!problems.length) {
      const jwksUri = String(d.document.jwks_uri);
      const jwks = await test.step(`JWKS ${jwksUri}`, () => jwksOf(t, host, jwksUri));
      // Only public metadata of the keys in the report: never key material.
      await attachJson(info, 'jwks-keys.json', jwks.keys.map((k) => ({ kid: k.kid, kty: k.kty, alg: k.alg, use: k.use, crv: k.crv })));
      const algs = d.document.id_token_signing_alg_values_supported;
      problems.push(...jwks.problems, ...(jwks.problems.length ? [] : jwksProblems(host, jwks.keys, Array.isArray(algs) ? algs.map(String) : ['RS256'])));
    }
    await expectNone(`${host}: discovery names the auth URL as issuer, Zitadel's endpoints on it, PKCE S256, and usable signing keys`, problems);
  });

  test('sign-in requires Login V2', { tag: '@smoke' }, async ({ target: t }, info) => {
    const host = new URL(t.authUrl).host;
    await label({ feature: 'Auth', story: 'Login V2 required', severity: 'critical', parameters: { host } });
    const p = await test.step('app sign-in → authorize → follow redirects', () => probeLoginV2(t));
    await attachJson(info, 'login-v2-probe.json', { signInStatus: p.signInStatus, authorizeParams: p.authorizeParams, hops: p.hops, landedOn: p.landedOn, loginV2: p.loginV2 });
    note(info, 'landed-on', `${host}: ${p.landedOn || '(no authorize URL)'}`);
    await expectNone(`${host}: the app's sign-in lands on the Login V2 pages (/ui/v2/login/)`, p.problem ? [p.problem] : []);
  });
});
