// Screen /ui/v2/login/password: checks the password, starts a Login V2 session, and goes on to finish the
// authorization request (or to the signed-in page when there is none).
import { userByLoginName } from '../db.ts';
import { passwordPage } from '../html.ts';
import { verifyPassword } from '../passwords.ts';
import type { Ctx } from '../types.ts';
import { interactionOr400 } from './flow.ts';
import { DUMMY_HASH, first, qs, readForm, redirect, V2, type Ui, type V2Request } from './shared.ts';

export async function passwordScreen(ui: Ui, ctx: Ctx, { method, requestId, uid }: V2Request): Promise<void> {
  if (uid && !(await interactionOr400(ui, ctx, uid))) return;
  const loginName = (first(ctx.query.loginName) ?? '').trim();
  if (!loginName) return redirect(ctx, `${V2}/loginname${qs({ requestId })}`);
  const action = `${V2}/password${qs({ loginName, requestId })}`;
  const back = `${V2}/loginname${qs({ loginName, requestId })}`;
  if (method === 'GET') return ui.html(ctx, passwordPage({ action, back, loginName }));
  const form = await readForm(ctx);
  const password = form.get('password') ?? '';
  const user = await userByLoginName(ui.pool, loginName);
  // Fault `wrong-password-accepted`: the hash is checked but its answer ignored. Fault
  // `wrong-password-accepted-viewer`: the same for users without the admin role only.
  const lax = ui.env.faults.has('wrong-password-accepted')
    || (ui.env.faults.has('wrong-password-accepted-viewer') && !!user && !user.roles.includes('admin'));
  const ok = (await verifyPassword(password, user?.password_hash ?? DUMMY_HASH)) || lax;
  if (!user || !ok) {
    ui.log({ event: 'sign_in_failed', reason: user ? 'wrong_password' : 'user_not_found', ui: 'v2' });
    return ui.html(ctx, passwordPage({ action, back, loginName, error: 'Failed to authenticate.' }));
  }
  const sessionId = await ui.sessions.remember(ctx, user);
  ui.log({ event: 'signed_in', user: user.login_name, ui: 'v2', app: Boolean(uid) });
  if (uid) return redirect(ctx, `${V2}/login${qs({ requestId, sessionId })}`, 303);
  return redirect(ctx, `${V2}/signedin${qs({ loginName: user.login_name })}`, 303);
}
