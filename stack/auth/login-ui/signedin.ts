// Screen /ui/v2/login/signedin: the page a sign-in at the login UI itself (no application) ends on.
import { signedInPage } from '../html.ts';
import type { Ctx } from '../types.ts';
import { first, redirect, V2, type Ui } from './shared.ts';

export async function signedInScreen(ui: Ui, ctx: Ctx): Promise<void> {
  const loginName = (first(ctx.query.loginName) ?? '').toLowerCase();
  const current = (await ui.sessions.current(ctx)).find(
    (c) => !loginName || c.user.login_name.toLowerCase() === loginName || c.user.email.toLowerCase() === loginName,
  );
  if (!current) return redirect(ctx, `${V2}/loginname`);
  return ui.html(ctx, signedInPage({ displayName: current.user.display_name, loginName: current.user.login_name }));
}
