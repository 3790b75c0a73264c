// Screen /ui/v2/login/loginname: asks for the login name; an unknown one stays here with Zitadel's message.
import { userByLoginName } from '../db.ts';
import { loginNamePage } from '../html.ts';
import type { Ctx } from '../types.ts';
import { interactionOr400 } from './flow.ts';
import { first, qs, readForm, redirect, V2, type Ui, type V2Request } from './shared.ts';

export async function loginNameScreen(ui: Ui, ctx: Ctx, { method, requestId, uid }: V2Request): Promise<void> {
  if (uid && !(await interactionOr400(ui, ctx, uid))) return;
  const action = `${V2}/loginname${qs({ requestId })}`;
  if (method === 'GET') return ui.html(ctx, loginNamePage({ action, loginName: first(ctx.query.loginName) }));
  const form = await readForm(ctx);
  const loginName = (form.get('loginName') ?? '').trim();
  if (!loginName) return ui.html(ctx, loginNamePage({ action, error: 'Please enter your login name.' }));
  const user = await userByLoginName(ui.pool, loginName);
  if (!user) {
    ui.log({ event: 'sign_in_failed', reason: 'user_not_found', ui: 'v2' });
    return ui.html(ctx, loginNamePage({ action, loginName, error: 'User not found in the system' }));
  }
  // Fault `login-skips-password`: a known login name alone starts the session (as a passwordless policy
  // switched on by mistake would), and the authorization request finishes without the password screen.
  if (ui.env.faults.has('login-skips-password') && uid) {
    const sessionId = await ui.sessions.remember(ctx, user);
    ui.log({ event: 'signed_in', user: user.login_name, ui: 'v2', app: true, password: false });
    return redirect(ctx, `${V2}/login${qs({ requestId, sessionId })}`, 303);
  }
  return redirect(ctx, `${V2}/password${qs({ loginName, requestId })}`, 303);
}
