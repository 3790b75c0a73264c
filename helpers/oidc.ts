// OIDC-level checks of the auth host: discovery as a real relying party sees it (openid-client with the
// target's resolver and trust store), the JWKS, and whether sign-in really goes through Login V2.
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors } from 'jose';
import * as client from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import type { Target } from './config.ts';
import { authorizeUrlOf, startSignInOverHttp } from './better-auth.ts';
import { CookieJar } from './cookies.ts';
import { dispatcherFor, header, request, type Response } from './http.ts';

/** A fetch for openid-client that goes through the target's dispatcher (DNS_SERVERS, CA_FILE). */
export function fetchFor(t: Target): client.CustomFetch {
  const dispatcher = dispatcherFor(t);
  return ((url: string, options: client.CustomFetchOptions) =>
    undiciFetch(url, { ...(options as object), dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as client.CustomFetch;
}

export interface DiscoveryResult {
  url: string;
  status: number;
  ms: number;
  /** The raw document (parsed), even when openid-client refuses it. */
  document: Record<string, unknown>;
  /** openid-client's view, when it accepted the document. */
  metadata?: client.ServerMetadata;
  /** openid-client's reason for refusing it (issuer mismatch, not JSON, ...). */
  clientError?: string;
}

/** GET /.well-known/openid-configuration of AUTH_URL, raw and through openid-client `discovery()`. */
export async function discover(t: Target, clientId = 'gadgetbot-verify'): Promise<DiscoveryResult> {
  const url = `${t.authUrl}/.well-known/openid-configuration`;
  const res = await request(t, url, { headers: { accept: 'application/json' } });
  let document: Record<string, unknown> = {};
  try { document = JSON.parse(res.body) as Record<string, unknown>; } catch { /* reported via clientError below */ }
  const out: DiscoveryResult = { url, status: res.status, ms: res.ms, document };
  try {
    const config = await client.discovery(new URL(t.authUrl), clientId, undefined, client.None(), {
      [client.customFetch]: fetchFor(t),
      timeout: 15,
    });
    out.metadata = config.serverMetadata();
  } catch (e) {
    const err = e as Error & { code?: string; cause?: unknown };
    out.clientError = `${err.code ? `${err.code}: ` : ''}${err.message}`;
  }
  return out;
}

/** Problems with a discovery document against what Zitadel publishes; empty when fine. */
export function discoveryProblems(t: Target, d: DiscoveryResult): string[] {
  const host = new URL(t.authUrl).host;
  const p: string[] = [];
  if (d.status !== 200) return [`${host}: discovery ${d.url} answered ${d.status}`];
  const doc = d.document;
  if (!doc || typeof doc !== 'object' || !('issuer' in doc)) return [`${host}: discovery document is not JSON with an issuer`];
  if (doc.issuer !== t.authUrl) p.push(`${host}: discovery issuer is "${String(doc.issuer)}", expected "${t.authUrl}" (tokens would fail validation)`);
  const paths: Record<string, string> = {
    authorization_endpoint: '/oauth/v2/authorize',
    token_endpoint: '/oauth/v2/token',
    userinfo_endpoint: '/oidc/v1/userinfo',
    jwks_uri: '/oauth/v2/keys',
    end_session_endpoint: '/oidc/v1/end_session',
  };
  for (const [k, path] of Object.entries(paths)) {
    const v = doc[k];
    if (typeof v !== 'string') { p.push(`${host}: discovery has no ${k}`); continue; }
    let u: URL | undefined;
    try { u = new URL(v); } catch { /* below */ }
    if (!u || u.origin !== t.authUrl || u.pathname !== path) p.push(`${host}: ${k} is "${v}", expected ${t.authUrl}${path}`);
  }
  const pkce = doc.code_challenge_methods_supported;
  if (!Array.isArray(pkce) || !pkce.includes('S256'))
    p.push(`${host}: code_challenge_methods_supported ${JSON.stringify(pkce ?? null)} lacks S256 (PKCE would not work)`);
  if (d.clientError && !p.length) p.push(`${host}: openid-client refused the discovery document: ${d.clientError}`);
  return p;
}

export interface JwksResult { url: string; status: number; keys: { kid?: string; kty?: string; alg?: string; use?: string }[]; error?: string }

export async function fetchJwks(t: Target, jwksUri: string): Promise<JwksResult> {
  const res = await request(t, jwksUri, { headers: { accept: 'application/json' } });
  const out: JwksResult = { url: jwksUri, status: res.status, keys: [] };
  try {
    const body = JSON.parse(res.body) as { keys?: unknown };
    if (!Array.isArray(body.keys)) out.error = 'no "keys" array';
    // Only public metadata of the keys: never key material in reports.
    else out.keys = body.keys.map((k: Record<string, string>) => ({ kid: k.kid, kty: k.kty, alg: k.alg, use: k.use }));
  } catch { out.error = 'not JSON'; }
  return out;
}

export interface Hop { url: string; status: number; location?: string }
export interface LoginV2Probe {
  signInStatus: number;
  authorizeUrl?: string;
  authorizeParams: Record<string, string>;
  hops: Hop[];
  finalUrl: string;
  finalStatus: number;
  /** The path (and the query keys) the authorize request lands on at the auth host. */
  landedOn: string;
  loginV2: boolean;
  problem?: string;
}

/**
 * Asks the app for the authorize URL exactly as its login button does, then follows the auth host's
 * redirects by hand (max `maxHops`) and reports where the browser would land. Login V2 is required when
 * that is under /ui/v2/login/.
 */
export async function probeLoginV2(t: Target, opts: { maxHops?: number; callbackURL?: string } = {}): Promise<LoginV2Probe> {
  const appHost = new URL(t.appUrl).host;
  const authHost = new URL(t.authUrl).host;
  const signIn = await startSignInOverHttp(t, opts.callbackURL ?? '/admin', { what: 'Login V2 probe' });
  const base: LoginV2Probe = { signInStatus: signIn.status, authorizeParams: {}, hops: [], finalUrl: '', finalStatus: 0, landedOn: '', loginV2: false };
  const authorizeUrl = authorizeUrlOf(signIn);
  if (signIn.status === 429)
    return { ...base, problem: `${appHost}: POST /api/auth/sign-in/social stayed rate limited (429) after waiting out its Retry-After: no authorize URL to follow` };
  if (signIn.status !== 200 || !authorizeUrl)
    return { ...base, problem: `${appHost}: POST /api/auth/sign-in/social answered ${signIn.status} without an authorize URL` };
  base.authorizeUrl = authorizeUrl;
  const au = new URL(authorizeUrl);
  for (const [k, v] of au.searchParams) base.authorizeParams[k] = k === 'state' || k === 'code_challenge' ? '…' : v;
  if (au.host !== authHost)
    return { ...base, problem: `${appHost}: authorize URL points at ${au.host}, expected the auth host ${authHost}` };

  const jars = new Map<string, CookieJar>();
  let url = authorizeUrl;
  let last: Response | undefined;
  const maxHops = opts.maxHops ?? 6;
  for (let i = 0; i <= maxHops; i++) {
    const u = new URL(url);
    const jar = jars.get(u.host) ?? new CookieJar();
    jars.set(u.host, jar);
    last = await request(t, url, { headers: { accept: 'text/html' }, cookie: jar.header() || undefined });
    jar.apply(last.headers['set-cookie']);
    const location = header(last, 'location');
    base.hops.push({ url: redactQuery(url), status: last.status, location: location ? redactQuery(new URL(location, url).toString()) : undefined });
    if (last.status < 300 || last.status >= 400 || !location) break;
    const next = new URL(location, url);
    url = next.toString();
    if (next.host !== authHost) { base.hops.push({ url: redactQuery(url), status: 0 }); break; } // left the auth host: stop there
  }
  const final = new URL(url);
  const landedOn = `${final.host === authHost ? '' : final.origin}${final.pathname}${[...final.searchParams.keys()].length ? `?${[...final.searchParams.keys()].join('&')}` : ''}`;
  const passedV1 = base.hops.some((h) => { try { return new URL(h.url).pathname.startsWith('/ui/login/'); } catch { return false; } });
  const loginV2 = final.host === authHost && final.pathname.startsWith('/ui/v2/login/') && !passedV1;
  return {
    ...base,
    finalUrl: redactQuery(url),
    finalStatus: last?.status ?? 0,
    landedOn,
    loginV2,
    problem: loginV2 ? undefined
      : `${authHost}: authorize lands on ${landedOn} (status ${last?.status ?? '?'}), not on Login V2 /ui/v2/login/…`
        + (final.pathname.startsWith('/ui/login/') ? ' — the old Login V1 UI: Login V2 is not required (ZITADEL_DEFAULTINSTANCE_FEATURES_LOGINV2_REQUIRED)' : ''),
  };
}

/** Query values replaced (ids and states are one-time values, not for reports). Keys are kept. */
function redactQuery(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '…');
    return u.toString().replace(/%E2%80%A6/g, '…');
  } catch { return url; }
}

// ------------------------------------------------------------------------ Zitadel directly (no app sign-in spent)

/** What an authorize request at Zitadel needs, learnt from the app's own authorize URL (all public values). */
export interface AuthorizeTemplate { authorizationEndpoint: string; clientId: string; redirectUri: string; scope: string }

/** A fresh authorize request with the suite's own state, nonce and PKCE pair (the verifier stays in memory). */
export interface DirectAuthorize { url: string; state: string; nonce: string; codeVerifier: string }

export async function directAuthorize(tpl: AuthorizeTemplate, opts: { prompt?: string } = {}): Promise<DirectAuthorize> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const u = new URL(tpl.authorizationEndpoint);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: tpl.clientId, redirect_uri: tpl.redirectUri,
    // Not offline_access: the suite needs no refresh token and leaves none behind.
    scope: tpl.scope.split(/\s+/).filter((s) => s && s !== 'offline_access').join(' '),
    state, nonce, code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    ...(opts.prompt ? { prompt: opts.prompt } : {}),
  }).toString();
  return { url: u.toString(), state, nonce, codeVerifier };
}

/** The token endpoint's answer to a code (public client, PKCE): status and the id_token when there is one. */
export async function exchangeCode(
  t: Target, tokenEndpoint: string, tpl: AuthorizeTemplate, code: string, codeVerifier: string,
): Promise<{ status: number; idToken?: string; error?: string }> {
  const res = await request(t, tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: tpl.redirectUri, client_id: tpl.clientId, code_verifier: codeVerifier }).toString(),
  });
  let body: { id_token?: unknown; error?: unknown; error_description?: unknown } = {};
  try { body = JSON.parse(res.body); } catch { /* not JSON */ }
  return {
    status: res.status,
    ...(typeof body.id_token === 'string' ? { idToken: body.id_token } : {}),
    ...(body.error ? { error: `${String(body.error)}${body.error_description ? `: ${String(body.error_description)}` : ''}` } : {}),
  };
}

export interface IdTokenVerdict {
  problems: string[];
  /** Public facts for the report: header alg/kid, iss, aud, lifetime. Never the token or its claims about the user. */
  facts: Record<string, string>;
}

/**
 * Verifies an id_token as OIDC Core 3.1.3.7 asks a relying party to: a signature by a key the published JWKS holds,
 * with an alg discovery advertises; iss = the discovery issuer; aud names the client (and azp does, when there are
 * several audiences); exp in the future; the nonce the authorize request sent. One problem line per failed rule.
 */
export async function verifyIdToken(
  t: Target, idToken: string, expected: { discovery: Record<string, unknown>; clientId: string; nonce: string; now?: number },
): Promise<IdTokenVerdict> {
  const problems: string[] = [];
  const facts: Record<string, string> = {};
  const now = (expected.now ?? Date.now()) / 1000;
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  facts.alg = String(header.alg); facts.kid = String(header.kid ?? '(none)');
  const advertised = expected.discovery.id_token_signing_alg_values_supported;
  const algs = Array.isArray(advertised) ? advertised.map(String) : [];
  if (!algs.includes(String(header.alg)))
    problems.push(`the id_token is signed with ${String(header.alg)}, which discovery does not advertise (id_token_signing_alg_values_supported: ${JSON.stringify(advertised ?? null)})`);
  const jwksUri = String(expected.discovery.jwks_uri ?? '');
  const jwksRes = await request(t, jwksUri, { headers: { accept: 'application/json' } });
  let jwks: { keys?: { kid?: string }[] } = {};
  try { jwks = JSON.parse(jwksRes.body); } catch { /* below */ }
  if (jwksRes.status !== 200 || !Array.isArray(jwks.keys)) problems.push(`the JWKS ${jwksUri} answered ${jwksRes.status} without a key list: no id_token can be verified`);
  else {
    try {
      await compactVerify(idToken, createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]), { algorithms: [String(header.alg)] });
      facts.signature = 'verified against the published JWKS';
    } catch (e) {
      const kids = jwks.keys.map((k) => k.kid ?? '(no kid)').join(', ');
      problems.push(e instanceof errors.JWKSNoMatchingKey
        ? `the id_token's signing key (kid ${facts.kid}) is not in the published JWKS (kids: ${kids}): relying parties cannot verify it (a key rotated without publishing, or a foreign key)`
        : `the id_token's signature does not verify against the published JWKS (kid ${facts.kid}; ${(e as Error).message})`);
    }
  }
  const iss = String(expected.discovery.issuer ?? '');
  facts.iss = String(claims.iss);
  if (claims.iss !== iss) problems.push(`the id_token's iss is "${String(claims.iss)}", expected the discovery issuer "${iss}"`);
  const aud = Array.isArray(claims.aud) ? claims.aud.map(String) : claims.aud === undefined ? [] : [String(claims.aud)];
  facts.aud = aud.join(', ');
  if (!aud.includes(expected.clientId)) problems.push(`the id_token's aud is [${aud.join(', ')}], which does not name the client ${expected.clientId}: it was issued for someone else`);
  else if (aud.length > 1 && claims.azp !== expected.clientId)
    problems.push(`the id_token names ${aud.length} audiences [${aud.join(', ')}] but its azp is ${claims.azp === undefined ? 'missing' : `"${String(claims.azp)}"`} (expected the client ${expected.clientId}): the party it was issued to cannot be told`);
  if (typeof claims.exp !== 'number') problems.push('the id_token has no exp');
  else {
    facts.expiresIn = `${Math.round(claims.exp - now)} s`;
    if (claims.exp <= now - 30) problems.push(`the id_token expired ${Math.round(now - claims.exp)} s before it was received (exp in the past)`);
  }
  if (typeof claims.iat === 'number' && claims.iat > now + 60) problems.push(`the id_token's iat is ${Math.round(claims.iat - now)} s in the future`);
  if (claims.nonce !== expected.nonce)
    problems.push(claims.nonce === undefined
      ? 'the id_token carries no nonce although the authorize request sent one: the token is not bound to the sign-in that asked for it'
      : 'the id_token carries a different nonce than the authorize request sent: it was issued for another sign-in');
  return { problems, facts };
}
