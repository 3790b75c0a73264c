// Screen /ui/v2/login/login: where authorize sends the browser (?authRequest=<id>), and where a chosen or
// fresh session comes back to finish the request (?requestId=…&sessionId=…).
import { errorPage } from '../html.ts';
import type { Ctx } from '../types.ts';
import { finish, interactionOr400, startFlow } from './flow.ts';
import { epoch, first, qs, reauthRequired, redirect, V2, type Ui, type V2Request } from './shared.ts';

export async function loginScreen(ui: Ui, ctx: Ctx, r: V2Request): Promise<void> {
  const authRequest = first(ctx.query.authRequest);
  if (authRequest !== undefined) {
    const i = await interactionOr400(ui, ctx, authRequest);
    if (i) await startFlow(ui, ctx, i, false);
    return;
  }
  const { uid, requestId } = r;
  const sessionId = first(ctx.query.sessionId);
  if (!uid || !sessionId) {
    ui.html(ctx, errorPage({ title: 'Error', message: 'No authentication request given.' }), 400);
    return;
  }
  const i = await interactionOr400(ui, ctx, uid);
  if (!i) return;
  const chosen = (await ui.sessions.current(ctx)).find((c) => c.session.id === sessionId);
  if (!chosen) return redirect(ctx, `${V2}/loginname${qs({ requestId })}`);
  // A forced re-authentication accepts only a password checked for this very request.
  if (reauthRequired(i) && epoch(chosen.session.passwordCheckedAt) < i.iat)
    return redirect(ctx, `${V2}/password${qs({ loginName: chosen.user.login_name, requestId })}`);
  await finish(ui, ctx, i, { accountId: chosen.user.id, ts: epoch(chosen.session.passwordCheckedAt) }, 'password');
}
