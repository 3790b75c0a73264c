// The Login V2 UI (/ui/v2/login/...), the classic V1 login (fault `login-v1`), the console placeholder, and
// the small request rewrites that make oidc-provider answer like Zitadel. Mounted in front of oidc-provider.
// This module routes; each screen is a module of its own (loginname.ts, password.ts, accounts.ts, …).
//
// The URL sequence follows Zitadel's Login V2: authorize → /login?authRequest=<id> → /loginname?requestId=oidc_<id>
// → /password?loginName=…&requestId=… → /login?requestId=…&sessionId=<sid> → oidc-provider's resume URL →
// redirect_uri. The interaction is found by its id (the interaction cookie is scoped to a single path);
// the resume step still requires oidc-provider's resume cookie, so only the browser that started the
// authorization can complete it.
import { consolePage, errorPage } from '../html.ts';
import { ROUTES } from '../provider.ts';
import type { Ctx, ProviderLike } from '../types.ts';
import { accountsScreen } from './accounts.ts';
import { loginScreen } from './login.ts';
import { loginNameScreen } from './loginname.ts';
import { passwordScreen } from './password.ts';
import { keepOfflineAccess, withIssuerMismatch } from './rewrites.ts';
import { browserSessions } from './sessions.ts';
import { first, pageWriter, redirect, requestIdToUid, V1, V2, type LoginUiDeps, type Ui, type V2Request } from './shared.ts';
import { signedInScreen } from './signedin.ts';
import { v1Login } from './v1.ts';

export type { LoginUiDeps } from './shared.ts';

/** The Login V2 screens, by path below /ui/v2/login and the methods each answers. */
const SCREENS: Record<string, { methods: string[]; screen: (ui: Ui, ctx: Ctx, r: V2Request) => Promise<void> }> = {
  '/login': { methods: ['GET'], screen: loginScreen },
  '/loginname': { methods: ['GET', 'POST'], screen: loginNameScreen },
  '/password': { methods: ['GET', 'POST'], screen: passwordScreen },
  '/accounts': { methods: ['GET'], screen: accountsScreen },
  '/signedin': { methods: ['GET'], screen: signedInScreen },
};

async function v2(ui: Ui, ctx: Ctx): Promise<void> {
  const sub = ctx.path.slice(V2.length).replace(/\/+$/, '') || '/';
  // HEAD is answered like GET (Koa drops the body).
  const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
  const requestId = first(ctx.query.requestId);
  const uid = requestIdToUid(requestId);
  if (requestId !== undefined && !uid) {
    ui.html(ctx, errorPage({ title: 'Error', message: 'Invalid requestId.' }), 400);
    return;
  }
  if (sub === '/healthy' || sub === '/ready' || sub === '/healthz') {
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = { status: 'ok' };
    return;
  }
  if (sub === '/') return redirect(ctx, `${V2}/loginname`);
  const s = Object.hasOwn(SCREENS, sub) ? SCREENS[sub] : undefined;
  if (s && s.methods.includes(method)) return s.screen(ui, ctx, { method, requestId, uid });
  ui.html(ctx, errorPage({ title: 'Page not found', message: 'This page does not exist.' }), 404);
}

export function createLoginUi(deps: LoginUiDeps, provider: ProviderLike) {
  const { env } = deps;
  const ui: Ui = { ...deps, provider, sessions: browserSessions(deps.pool), html: pageWriter(env) };

  async function middleware(ctx: Ctx, next: () => Promise<void>): Promise<void> {
    const path = ctx.path;
    if (path === V2 || path.startsWith(`${V2}/`)) return v2(ui, ctx);
    if (path === V1 || path.startsWith(`${V1}/`)) return v1Login(ui, ctx);
    const read = ctx.method === 'GET' || ctx.method === 'HEAD';
    if ((path === '/ui/console' || path.startsWith('/ui/console/')) && read) return ui.html(ctx, consolePage());
    // Zitadel sends visitors of the bare host to its console.
    if (path === '/' && read) return redirect(ctx, '/ui/console/');
    if (path === ROUTES.authorization && ctx.method === 'GET') keepOfflineAccess(ctx);
    if (env.faults.has('issuer-mismatch') && (path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server'))
      return withIssuerMismatch(ctx, next, env.authUrl);
    return next();
  }

  return { middleware, endLoginSessions: (ctx: Ctx) => ui.sessions.end(ctx) };
}
