// The Login V2 UI (/ui/v2/login/...), the classic V1 login (fault `login-v1`), the console placeholder, and
// the small request rewrites that make oidc-provider answer like Zitadel. Mounted in front of oidc-provider.
//
// The URL sequence follows Zitadel's Login V2: authorize → /login?authRequest=<id> → /loginname?requestId=oidc_<id>
// → /password?loginName=…&requestId=… → /login?requestId=…&sessionId=<sid> → oidc-provider's resume URL →
// redirect_uri. The interaction is found by its id (the interaction cookie is scoped to a single path);
// the resume step still requires oidc-provider's resume cookie, so only the browser that started the
// authorization can complete it.
import type pg from 'pg';
import type { AuthEnv } from './config.ts';
import {
  createLoginSession,
  terminateLoginSessions,
  userById,
  userByLoginName,
  validLoginSessions,
  type LoginSession,
  type SessionRef,
  type UserRow,
} from './db.ts';
import { accountsPage, consolePage, errorPage, loginNamePage, loginV1Page, passwordPage, signedInPage } from './html.ts';
import { verifyPassword } from './passwords.ts';
import { ROUTES, SESSION_TTL } from './provider.ts';
import type { Ctx, InteractionLike, ProviderLike } from './types.ts';

const V2 = '/ui/v2/login';
const V1 = '/ui/login';
const SESSIONS_COOKIE = 'sessions';
const MAX_SESSIONS = 10;
// Verifying against this keeps "unknown user" as slow as "wrong password" on the V1 page.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export interface LoginUiDeps {
  env: AuthEnv;
  pool: pg.Pool;
  log(event: Record<string, unknown>): void;
}

interface Current {
  session: LoginSession;
  user: UserRow;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function epoch(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function qs(params: Record<string, string | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}

const NO_SECURITY_HEADERS = 'auth-missing-security-headers';

/** Fault `auth-missing-security-headers`. */
function securityHeadersOff(env: AuthEnv): boolean {
  return env.faults.has(NO_SECURITY_HEADERS);
}

function writePage(ctx: Ctx, body: string, status: number, securityHeaders: boolean): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  if (securityHeaders) {
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
  }
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.body = body;
}

function redirect(ctx: Ctx, location: string, status = 302): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(location);
}

async function readForm(ctx: Ctx): Promise<URLSearchParams> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(ctx.get('content-type'))) return new URLSearchParams();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw Object.assign(new Error('form too large'), { status: 413, expose: true });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function requestIdToUid(requestId: string | undefined): string | undefined {
  const m = /^oidc_([A-Za-z0-9_-]{1,128})$/.exec(requestId ?? '');
  return m?.[1];
}

function promptsOf(i: InteractionLike): Set<string> {
  return new Set((i.params.prompt ?? '').split(' ').filter(Boolean));
}

/** True when the request demands a fresh password check (prompt=login, max_age, id_token_hint mismatch, …). */
function reauthRequired(i: InteractionLike): boolean {
  if (promptsOf(i).has('login')) return true;
  return (i.prompt?.reasons ?? []).some((r) => r !== 'login_ui' && r !== 'no_session');
}

export function createLoginUi(deps: LoginUiDeps, provider: ProviderLike) {
  const { env, pool, log } = deps;
  const securityHeaders = !securityHeadersOff(env);
  const html = (ctx: Ctx, body: string, status = 200) => writePage(ctx, body, status, securityHeaders);

  // ---- the browser's Login V2 sessions: signed cookie with (id, secret token) pairs.

  function readRefs(ctx: Ctx): SessionRef[] {
    const raw = ctx.cookies.get(SESSIONS_COOKIE, { signed: true });
    if (!raw) return [];
    try {
      const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
      if (!Array.isArray(parsed)) return [];
      return parsed
        .filter((s): s is SessionRef => typeof s?.id === 'string' && typeof s?.token === 'string')
        .slice(0, MAX_SESSIONS);
    } catch {
      return [];
    }
  }

  function writeRefs(ctx: Ctx, refs: SessionRef[]): void {
    const opts = { signed: true, httpOnly: true, sameSite: 'lax' as const, path: '/', overwrite: true };
    if (!refs.length) {
      ctx.cookies.set(SESSIONS_COOKIE, null, opts);
      return;
    }
    const value = Buffer.from(JSON.stringify(refs.slice(0, MAX_SESSIONS))).toString('base64url');
    ctx.cookies.set(SESSIONS_COOKIE, value, { ...opts, maxAge: SESSION_TTL * 1000 });
  }

  /** Valid sessions of this browser, newest first, one per user. */
  async function currentSessions(ctx: Ctx): Promise<Current[]> {
    const valid = await validLoginSessions(pool, readRefs(ctx));
    const out: Current[] = [];
    for (const session of valid) {
      if (out.some((c) => c.user.id === session.userId)) continue;
      const user = await userById(pool, session.userId);
      if (user) out.push({ session, user });
    }
    return out;
  }

  async function rememberSession(ctx: Ctx, user: UserRow): Promise<string> {
    const ref = await createLoginSession(pool, user.id, SESSION_TTL);
    const keep = (await currentSessions(ctx)).filter((c) => c.user.id !== user.id).map((c) => c.session.id);
    const refs = readRefs(ctx).filter((r) => keep.includes(r.id));
    writeRefs(ctx, [ref, ...refs]);
    return ref.id;
  }

  /** Ends this browser's Login V2 sessions (called when the OIDC session ends at end_session). */
  async function endLoginSessions(ctx: Ctx): Promise<void> {
    // The cookie goes synchronously: callers may not wait before the response is sent.
    const refs = readRefs(ctx);
    writeRefs(ctx, []);
    const valid = await validLoginSessions(pool, refs);
    await terminateLoginSessions(pool, valid.map((s) => s.id));
  }

  // ---- interactions

  async function interactionOr400(ctx: Ctx, uid: string | undefined): Promise<InteractionLike | undefined> {
    const i = uid ? await provider.Interaction.find(uid) : undefined;
    if (!i) {
      html(
        ctx,
        errorPage({
          title: 'Error',
          message: 'The authentication request could not be found or has expired.',
          detail: 'Go back to the application and sign in again.',
        }),
        400,
      );
      return undefined;
    }
    return i;
  }

  /** What interactionFinished does, without needing the path-scoped interaction cookie. */
  async function finish(ctx: Ctx, i: InteractionLike, login: { accountId: string; ts?: number; amr?: string[] }, via: string) {
    const result: Record<string, unknown> = {
      login: { accountId: login.accountId, ts: login.ts, amr: login.amr ?? ['pwd'], remember: true },
      consent: {},
    };
    if (promptsOf(i).has('select_account')) result.select_account = {};
    i.result = result;
    await i.save(Math.max(1, i.exp - Math.floor(Date.now() / 1000)));
    log({ event: 'authorization_continued', via });
    redirect(ctx, i.returnTo);
  }

  /** /ui/v2/login/login?authRequest=<id> (and the V1 equivalent): decide where the browser goes next. */
  async function startFlow(ctx: Ctx, i: InteractionLike, v1: boolean): Promise<boolean> {
    const rid = `oidc_${i.uid}`;
    const prompts = promptsOf(i);
    if (!v1 && prompts.has('select_account')) {
      redirect(ctx, `${V2}/accounts${qs({ requestId: rid })}`);
      return true;
    }
    if (!reauthRequired(i)) {
      // The SSO session at the auth host (oidc-provider's session cookie) continues without a password.
      const reasons = i.prompt?.reasons ?? [];
      if (i.session?.accountId && !reasons.includes('no_session') && (await userById(pool, i.session.accountId))) {
        const s = i.session.uid ? await provider.Session.findByUid(i.session.uid) : undefined;
        await finish(ctx, i, { accountId: i.session.accountId, ts: s?.loginTs, amr: s?.amr }, 'sso');
        return true;
      }
      // A Login V2 session without an OIDC session (signed in at the login UI directly).
      const sessions = await currentSessions(ctx);
      if (sessions.length === 1) {
        const [{ session, user }] = sessions;
        await finish(ctx, i, { accountId: user.id, ts: epoch(session.passwordCheckedAt) }, 'login-session');
        return true;
      }
      if (!v1 && sessions.length > 1) {
        redirect(ctx, `${V2}/accounts${qs({ requestId: rid })}`);
        return true;
      }
    }
    if (v1) return false;
    redirect(ctx, `${V2}/loginname${qs({ loginName: i.params.login_hint, requestId: rid })}`);
    return true;
  }

  // ---- Login V2 pages

  async function v2(ctx: Ctx): Promise<void> {
    const sub = ctx.path.slice(V2.length).replace(/\/+$/, '') || '/';
    // HEAD is answered like GET (Koa drops the body).
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
    const requestId = first(ctx.query.requestId);
    const uid = requestIdToUid(requestId);
    if (requestId !== undefined && !uid) {
      html(ctx, errorPage({ title: 'Error', message: 'Invalid requestId.' }), 400);
      return;
    }

    if (sub === '/healthy' || sub === '/ready' || sub === '/healthz') {
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = { status: 'ok' };
      return;
    }
    if (sub === '/') return redirect(ctx, `${V2}/loginname`);

    if (sub === '/login' && method === 'GET') {
      const authRequest = first(ctx.query.authRequest);
      if (authRequest !== undefined) {
        const i = await interactionOr400(ctx, authRequest);
        if (i) await startFlow(ctx, i, false);
        return;
      }
      const sessionId = first(ctx.query.sessionId);
      if (!uid || !sessionId) {
        html(ctx, errorPage({ title: 'Error', message: 'No authentication request given.' }), 400);
        return;
      }
      const i = await interactionOr400(ctx, uid);
      if (!i) return;
      const chosen = (await currentSessions(ctx)).find((c) => c.session.id === sessionId);
      if (!chosen) return redirect(ctx, `${V2}/loginname${qs({ requestId })}`);
      // A forced re-authentication accepts only a password checked for this very request.
      if (reauthRequired(i) && epoch(chosen.session.passwordCheckedAt) < i.iat)
        return redirect(ctx, `${V2}/password${qs({ loginName: chosen.user.login_name, requestId })}`);
      await finish(ctx, i, { accountId: chosen.user.id, ts: epoch(chosen.session.passwordCheckedAt) }, 'password');
      return;
    }

    if (sub === '/loginname' && (method === 'GET' || method === 'POST')) {
      if (uid && !(await interactionOr400(ctx, uid))) return;
      const action = `${V2}/loginname${qs({ requestId })}`;
      if (method === 'GET') return html(ctx, loginNamePage({ action, loginName: first(ctx.query.loginName) }));
      const form = await readForm(ctx);
      const loginName = (form.get('loginName') ?? '').trim();
      if (!loginName) return html(ctx, loginNamePage({ action, error: 'Please enter your login name.' }));
      const user = await userByLoginName(pool, loginName);
      if (!user) {
        log({ event: 'sign_in_failed', reason: 'user_not_found', ui: 'v2' });
        return html(ctx, loginNamePage({ action, loginName, error: 'User not found in the system' }));
      }
      return redirect(ctx, `${V2}/password${qs({ loginName, requestId })}`, 303);
    }

    if (sub === '/password' && (method === 'GET' || method === 'POST')) {
      if (uid && !(await interactionOr400(ctx, uid))) return;
      const loginName = (first(ctx.query.loginName) ?? '').trim();
      if (!loginName) return redirect(ctx, `${V2}/loginname${qs({ requestId })}`);
      const action = `${V2}/password${qs({ loginName, requestId })}`;
      const back = `${V2}/loginname${qs({ loginName, requestId })}`;
      if (method === 'GET') return html(ctx, passwordPage({ action, back, loginName }));
      const form = await readForm(ctx);
      const password = form.get('password') ?? '';
      const user = await userByLoginName(pool, loginName);
      // Fault `wrong-password-accepted`: the hash is checked but its answer ignored.
      const ok = (await verifyPassword(password, user?.password_hash ?? DUMMY_HASH)) || env.faults.has('wrong-password-accepted');
      if (!user || !ok) {
        log({ event: 'sign_in_failed', reason: user ? 'wrong_password' : 'user_not_found', ui: 'v2' });
        return html(ctx, passwordPage({ action, back, loginName, error: 'Failed to authenticate.' }));
      }
      const sessionId = await rememberSession(ctx, user);
      log({ event: 'signed_in', user: user.login_name, ui: 'v2', app: Boolean(uid) });
      if (uid) return redirect(ctx, `${V2}/login${qs({ requestId, sessionId })}`, 303);
      return redirect(ctx, `${V2}/signedin${qs({ loginName: user.login_name })}`, 303);
    }

    if (sub === '/accounts' && method === 'GET') {
      if (uid && !(await interactionOr400(ctx, uid))) return;
      const accounts = (await currentSessions(ctx)).map(({ session, user }) => ({
        displayName: user.display_name,
        loginName: user.login_name,
        href: uid
          ? { action: `${V2}/login`, fields: { requestId: requestId!, sessionId: session.id } as Record<string, string> }
          : { action: `${V2}/signedin`, fields: { loginName: user.login_name } as Record<string, string> },
      }));
      return html(ctx, accountsPage({ accounts, addAnother: `${V2}/loginname${qs({ requestId })}` }));
    }

    if (sub === '/signedin' && method === 'GET') {
      const loginName = (first(ctx.query.loginName) ?? '').toLowerCase();
      const current = (await currentSessions(ctx)).find(
        (c) => !loginName || c.user.login_name.toLowerCase() === loginName || c.user.email.toLowerCase() === loginName,
      );
      if (!current) return redirect(ctx, `${V2}/loginname`);
      return html(ctx, signedInPage({ displayName: current.user.display_name, loginName: current.user.login_name }));
    }

    html(ctx, errorPage({ title: 'Page not found', message: 'This page does not exist.' }), 404);
  }

  // ---- the classic V1 login (what Zitadel shows when Login V2 is not required)

  async function v1(ctx: Ctx): Promise<void> {
    const sub = ctx.path.slice(V1.length).replace(/\/+$/, '') || '/';
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
    if (sub !== '/login' || (method !== 'GET' && method !== 'POST')) {
      if (sub === '/' || sub === '/loginname') return redirect(ctx, `${V1}/login${ctx.querystring ? `?${ctx.querystring}` : ''}`);
      return html(ctx, errorPage({ title: 'Page not found', message: 'This page does not exist.' }), 404);
    }
    const authRequestID = first(ctx.query.authRequestID);
    const i = authRequestID ? await interactionOr400(ctx, authRequestID) : undefined;
    if (authRequestID && !i) return;
    const action = `${V1}/login${qs({ authRequestID })}`;
    if (method === 'GET') {
      if (i && (await startFlow(ctx, i, true))) return;
      return html(ctx, loginV1Page({ action }));
    }
    const form = await readForm(ctx);
    const loginName = (form.get('loginName') ?? '').trim();
    const user = loginName ? await userByLoginName(pool, loginName) : undefined;
    const ok = (await verifyPassword(form.get('password') ?? '', user?.password_hash ?? DUMMY_HASH)) || env.faults.has('wrong-password-accepted');
    if (!user || !ok) {
      log({ event: 'sign_in_failed', reason: user ? 'wrong_password' : 'user_not_found', ui: 'v1' });
      return html(ctx, loginV1Page({ action, loginName, error: user ? 'Password is invalid' : 'User could not be found' }));
    }
    await rememberSession(ctx, user);
    log({ event: 'signed_in', user: user.login_name, ui: 'v1', app: Boolean(i) });
    if (i) return finish(ctx, i, { accountId: user.id, ts: Math.floor(Date.now() / 1000) }, 'password-v1');
    return html(ctx, signedInPage({ displayName: user.display_name, loginName: user.login_name }));
  }

  // ---- request rewrites for oidc-provider

  /**
   * Zitadel issues a refresh token whenever offline_access is asked for; oidc-provider follows OIDC Core
   * §11 and drops offline_access unless prompt=consent. Every request already passes the login UI, which
   * settles consent for this first-party client, so asking for it costs the user nothing.
   */
  function keepOfflineAccess(ctx: Ctx): void {
    const params = new URLSearchParams(ctx.querystring);
    if (!(params.get('scope') ?? '').split(' ').includes('offline_access')) return;
    const prompts = new Set((params.get('prompt') ?? '').split(' ').filter(Boolean));
    if (prompts.has('none') || prompts.has('consent') || params.getAll('prompt').length > 1) return;
    prompts.add('consent');
    params.set('prompt', [...prompts].join(' '));
    ctx.querystring = params.toString();
  }

  async function middleware(ctx: Ctx, next: () => Promise<void>): Promise<void> {
    const path = ctx.path;
    if (path === V2 || path.startsWith(`${V2}/`)) return v2(ctx);
    if (path === V1 || path.startsWith(`${V1}/`)) return v1(ctx);
    const read = ctx.method === 'GET' || ctx.method === 'HEAD';
    if ((path === '/ui/console' || path.startsWith('/ui/console/')) && read) return html(ctx, consolePage());
    // Zitadel sends visitors of the bare host to its console.
    if (path === '/' && read) return redirect(ctx, '/ui/console/');
    if (path === ROUTES.authorization && ctx.method === 'GET') keepOfflineAccess(ctx);
    if (
      env.faults.has('issuer-mismatch') &&
      (path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server')
    ) {
      await next();
      const body = ctx.body as Record<string, unknown> | undefined;
      if (ctx.status === 200 && body && typeof body === 'object') ctx.body = { ...body, issuer: `${env.authUrl}/wrong` };
      return;
    }
    return next();
  }

  return { middleware, endLoginSessions };
}
