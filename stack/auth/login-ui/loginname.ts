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
  return redirect(ctx, `${V2}/password${qs({ loginName, requestId })}`, 303);
}
