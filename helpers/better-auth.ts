// The one Better Auth session client of the suite: get-session, sign-out over HTTP, starting a sign-in over
// HTTP, which cookies are Better Auth's, and the cookie-flag rules every check of a session or state cookie
// applies. Apart from this module only the stack's own app asks /api/auth/get-session.
//
// What it relies on about Better Auth's sign-in rate limit (read in better-auth 1.4 and 1.7, the versions of the
// real app and of the stack): the limit is per client IP AND per path (key = ip + path without the query),
// 3 requests, then refused with 429 and `X-Retry-After: <seconds>` until 10 s after the last allowed request;
// every path under /sign-in shares the rule but each path has its own count. Refused requests do not move the
// window. The suite still budgets all of /api/auth/sign-in/* as one: a deployment may add a stricter rule.
import type { Page } from '@playwright/test';
import type { Target } from './config.ts';
import { cookieHeaderFor, CookieJar, type SetCookie, type StoredCookie, toStored } from './cookies.ts';
import { headerList, request, requestPastRateLimit, type Response } from './http.ts';
import { retryAfterMs } from './retry-after.ts';
import { noteRateLimitWait, noteSignInRequest } from './signin-ledger.ts';

/** Bypasses the signed 5-minute cookie cache (`better-auth.session_data`): the database decides. */
export const GET_SESSION_PATH = '/api/auth/get-session?disableCookieCache=true';
export const SIGN_IN_SOCIAL_PATH = '/api/auth/sign-in/social';
export const SIGN_OUT_PATH = '/api/auth/sign-out';
export const CALLBACK_PATH = '/api/auth/callback/zitadel';

/** Better Auth's session token cookie (`__Secure-` prefixed over https). */
export const isSessionTokenCookie = (name: string) => /^(__Secure-)?better-auth\.session_token$/.test(name);
/** The token or the signed cookie cache: both carry the session. */
export const isSessionCookie = (name: string) => /^(__Secure-)?better-auth\.session_(token|data)$/.test(name);
/** The OAuth state cookie of a started sign-in. */
export const isStateCookie = (name: string) => /^(__Secure-)?better-auth\.state$/.test(name);

// ---------------------------------------------------------------------------------------------- get-session

export interface SessionView {
  status: number;
  /** Present when the server named a live session. Ids and expiry only: the token it also returns is dropped. */
  session?: { id: string; userId: string; expiresAt?: number };
  user?: { id: string; name: string; email: string };
}

/** A get-session answer as ids and expiry (never the token Better Auth also sends). */
export function parseSession(status: number, body: string): SessionView {
  let v: { session?: { id?: unknown; userId?: unknown; expiresAt?: unknown }; user?: { id?: unknown; name?: unknown; email?: unknown } } | null;
  try { v = JSON.parse(body); } catch { return { status }; }
  if (!v || typeof v !== 'object' || !v.session || typeof v.session.id !== 'string') return { status };
  const at = v.session.expiresAt;
  const ms = typeof at === 'string' || typeof at === 'number' ? new Date(at).getTime() : NaN;
  const user = v.user && typeof v.user === 'object'
    ? { id: String(v.user.id ?? ''), name: String(v.user.name ?? ''), email: String(v.user.email ?? '') } : undefined;
  return {
    status,
    session: { id: v.session.id, userId: String(v.session.userId ?? user?.id ?? ''), ...(Number.isFinite(ms) ? { expiresAt: ms } : {}) },
    ...(user ? { user } : {}),
  };
}

/** The server's view of a Cookie header. A 429 is waited out (it says nothing about the session). */
export async function getSession(t: Target, cookie: string, opts: { timeoutMs?: number } = {}): Promise<SessionView> {
  const res = await requestPastRateLimit(t, `${t.appUrl}${GET_SESSION_PATH}`, {
    headers: { accept: 'application/json' }, ...(cookie ? { cookie } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  return parseSession(res.status, res.body);
}

/** The session as the app's own pages see it, asked from inside `page` (on the app's origin). No token leaves it. */
export async function getSessionInPage(page: Page, appUrl: string): Promise<SessionView> {
  if (new URL(page.url()).origin !== new URL(appUrl).origin) throw new Error('getSessionInPage: the page is not on the app');
  // The answer carries the session token: only call this where traces are off (the sign-in specs).
  const { status, body } = await page.evaluate(async (path) => {
    const r = await fetch(path, { credentials: 'include', cache: 'no-store' });
    return { status: r.status, body: await r.text() };
  }, GET_SESSION_PATH);
  return parseSession(status, body);
}

/** The identity a disruptive check compares before and after (ids only). */
export interface SessionIdentity { status: number; sessionId?: string; userId?: string; userName?: string }

export function identityOf(status: number, body: string): SessionIdentity {
  const v = parseSession(status, body);
  return v.session ? { status, sessionId: v.session.id, userId: v.session.userId, userName: v.user?.name } : { status };
}

// ------------------------------------------------------------------------------------------ cookies of a session

/** The session token's Cookie header for the app from stored cookies: the token only, so the database decides. */
export function sessionTokenHeader(cookies: StoredCookie[], appUrl: string): string {
  return cookieHeaderFor(cookies, `${appUrl}${GET_SESSION_PATH}`, isSessionTokenCookie);
}

/** Better Auth's session cookies (token and cache) a browser holds for the app host. */
export function sessionCookiesOf(cookies: StoredCookie[], appUrl: string): StoredCookie[] {
  const host = new URL(appUrl).hostname;
  return cookies.filter((c) => isSessionCookie(c.name) && c.domain.replace(/^\./, '') === host);
}

export interface CookieRules {
  appUrl: string;
  /** A lifetime the cookie must have at least (session token: SESSION_MIN_HOURS); undefined: no persistence rule. */
  minLifetimeMs?: number;
  now?: number;
}

const span = (ms: number) => (ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 3_600_000)} h`);

/**
 * THE flag rules for Better Auth's cookies, one line per problem (observed fact, then what it lets happen).
 * Secure and the `__Secure-` prefix over https, HttpOnly, SameSite Lax or Strict, host-only, and (with
 * `minLifetimeMs`) a Max-Age/Expires at least that far out.
 */
export function cookieFlagProblems(c: StoredCookie, rules: CookieRules): string[] {
  const https = new URL(rules.appUrl).protocol === 'https:';
  const now = rules.now ?? Date.now();
  const out: string[] = [];
  if (https && !c.name.startsWith('__Secure-')) out.push(`${c.name} lacks the __Secure- prefix: a plain-HTTP response (or a sibling host) can overwrite it (session fixation)`);
  if (https && !c.secure) out.push(`${c.name} is not Secure: it would travel over plain HTTP where anyone on the path reads it`);
  if (!c.httpOnly) out.push(`${c.name} is not HttpOnly: an injected script can read it`);
  if (c.sameSite !== 'Lax' && c.sameSite !== 'Strict') out.push(`${c.name} has SameSite=${c.sameSite} (expected Lax or Strict): other sites' requests carry it (cross-site request forgery)`);
  if (c.domain.startsWith('.')) out.push(`${c.name} is set for the whole domain ${c.domain}: every sibling host (e.g. the auth or deployer host) receives it`);
  if (rules.minLifetimeMs !== undefined) {
    if (c.expires === -1) out.push(`${c.name} has no Max-Age/Expires (not persistent): it dies with the browser, users sign in again after every restart`);
    else if (c.expires * 1000 - now < rules.minLifetimeMs) out.push(`${c.name} expires in ${span(c.expires * 1000 - now)} (expected at least ${span(rules.minLifetimeMs)})`);
  }
  return out;
}

/** The same rules for a Set-Cookie as the server sent it (stored the way a browser would for `requestUrl`). */
export function setCookieFlagProblems(c: SetCookie, requestUrl: string, rules: CookieRules): string[] {
  return cookieFlagProblems(toStored(c, requestUrl, rules.now), rules);
}

// ------------------------------------------------------------------------------------------- sign-in, sign-out

/**
 * The suite's only timed wait on the sign-in path: the time Better Auth's 429 asked for (no event announces the
 * end of a rate-limit window). Noted in the sign-in ledger.
 */
export async function waitOutRateLimit(what: string, ms: number): Promise<void> {
  noteRateLimitWait(what, ms);
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * POST /api/auth/sign-in/social as the app's login button does. Better Auth's sign-in limit is waited out as its
 * X-Retry-After says (each wait at most `maxWaitMs`, at most `waits` times); every request and every wait goes to
 * the sign-in ledger. A response that is still 429 is returned as such.
 */
export async function startSignInOverHttp(
  t: Target, callbackURL: string, opts: { what?: string; waits?: number; maxWaitMs?: number } = {},
): Promise<Response & { jar: CookieJar }> {
  const what = opts.what ?? `POST ${SIGN_IN_SOCIAL_PATH}`;
  for (let waited = 0; ; waited++) {
    noteSignInRequest(what);
    const res = await request(t, `${t.appUrl}${SIGN_IN_SOCIAL_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', origin: t.appUrl },
      body: JSON.stringify({ provider: 'zitadel', callbackURL }),
    });
    if (res.status !== 429 || waited >= (opts.waits ?? 3)) {
      const jar = new CookieJar();
      jar.apply(res.headers['set-cookie']);
      return { ...res, jar };
    }
    await waitOutRateLimit(what, Math.min(opts.maxWaitMs ?? 12_000, retryAfterMs(res.headers) ?? 1000));
  }
}

/** The authorize URL of a sign-in/social answer (undefined when it carried none). */
export function authorizeUrlOf(res: Pick<Response, 'body'>): string | undefined {
  try {
    const url = (JSON.parse(res.body) as { url?: unknown }).url;
    return typeof url === 'string' ? url : undefined;
  } catch { return undefined; }
}

/** The Set-Cookie lines of an answer that name the OAuth state cookie. */
export function stateSetCookies(res: Pick<Response, 'headers'>): string[] {
  return headerList(res, 'set-cookie').filter((c) => isStateCookie(c.split('=', 1)[0].trim()));
}

/**
 * POST /api/auth/sign-out with a Cookie header, from Node (the HTTP twin of the user menu's "Sign Out" in
 * fixtures/pages/flows.ts, `signOutViaUserMenu`). Returns the status and the cookies the answer cleared.
 */
export async function signOutOverHttp(t: Target, cookie: string): Promise<{ status: number; cleared: string[] }> {
  const res = await request(t, `${t.appUrl}${SIGN_OUT_PATH}`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: t.appUrl }, body: '{}', cookie,
  });
  const jar = new CookieJar(cookie.split(/;\s*/).filter(Boolean).map((kv) => [kv.split('=', 1)[0], kv.slice(kv.indexOf('=') + 1)] as [string, string]));
  const before = jar.names();
  jar.apply(res.headers['set-cookie']);
  return { status: res.status, cleared: before.filter((n) => !jar.has(n)) };
}

/** Did this answer (e.g. a callback) sign someone in? Looks at the cookies it set and asks the server about them. */
export async function sessionFromAnswer(t: Target, res: Pick<Response, 'headers'>, jar = new CookieJar()): Promise<{ created: boolean; jar: CookieJar }> {
  const next = jar.pick();
  next.apply(res.headers['set-cookie']);
  if (!next.names().some(isSessionTokenCookie)) return { created: false, jar: next };
  const s = await getSession(t, next.pick(isSessionTokenCookie).header());
  return { created: !!s.session, jar: next };
}
