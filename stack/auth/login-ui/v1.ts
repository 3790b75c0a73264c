// The classic V1 login (/ui/login/login?authRequestID=…): what Zitadel shows when Login V2 is not required
// (fault `login-v1`). One page with login name and password together.
import { userByLoginName } from '../db.ts';
import { errorPage, loginV1Page, signedInPage } from '../html.ts';
import { verifyPassword } from '../passwords.ts';
import type { Ctx } from '../types.ts';
import { finish, interactionOr400, startFlow } from './flow.ts';
import { DUMMY_HASH, first, qs, readForm, redirect, V1, type Ui } from './shared.ts';

export async function v1Login(ui: Ui, ctx: Ctx): Promise<void> {
  const sub = ctx.path.slice(V1.length).replace(/\/+$/, '') || '/';
  const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
  if (sub !== '/login' || (method !== 'GET' && method !== 'POST')) {
    if (sub === '/' || sub === '/loginname') return redirect(ctx, `${V1}/login${ctx.querystring ? `?${ctx.querystring}` : ''}`);
    return ui.html(ctx, errorPage({ title: 'Page not found', message: 'This page does not exist.' }), 404);
  }
  const authRequestID = first(ctx.query.authRequestID);
  const i = authRequestID ? await interactionOr400(ui, ctx, authRequestID) : undefined;
  if (authRequestID && !i) return;
  const action = `${V1}/login${qs({ authRequestID })}`;
  if (method === 'GET') {
    if (i && (await startFlow(ui, ctx, i, true))) return;
    return ui.html(ctx, loginV1Page({ action }));
  }
  const form = await readForm(ctx);
  const loginName = (form.get('loginName') ?? '').trim();
  const user = loginName ? await userByLoginName(ui.pool, loginName) : undefined;
  const ok = (await verifyPassword(form.get('password') ?? '', user?.password_hash ?? DUMMY_HASH)) || ui.env.faults.has('wrong-password-accepted');
  if (!user || !ok) {
    ui.log({ event: 'sign_in_failed', reason: user ? 'wrong_password' : 'user_not_found', ui: 'v1' });
    return ui.html(ctx, loginV1Page({ action, loginName, error: user ? 'Password is invalid' : 'User could not be found' }));
  }
  await ui.sessions.remember(ctx, user);
  ui.log({ event: 'signed_in', user: user.login_name, ui: 'v1', app: Boolean(i) });
  if (i) return finish(ui, ctx, i, { accountId: user.id, ts: Math.floor(Date.now() / 1000) }, 'password-v1');
  return ui.html(ctx, signedInPage({ displayName: user.display_name, loginName: user.login_name }));
}
