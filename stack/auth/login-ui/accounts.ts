// Screen /ui/v2/login/accounts: this browser's signed-in users to pick from (prompt=select_account, or more
// than one session), plus "add another account".
import { accountsPage } from '../html.ts';
import type { Ctx } from '../types.ts';
import { interactionOr400 } from './flow.ts';
import { qs, V2, type Ui, type V2Request } from './shared.ts';

export async function accountsScreen(ui: Ui, ctx: Ctx, { requestId, uid }: V2Request): Promise<void> {
  if (uid && !(await interactionOr400(ui, ctx, uid))) return;
  const accounts = (await ui.sessions.current(ctx)).map(({ session, user }) => ({
    displayName: user.display_name,
    loginName: user.login_name,
    href: uid
      ? { action: `${V2}/login`, fields: { requestId: requestId!, sessionId: session.id } as Record<string, string> }
      : { action: `${V2}/signedin`, fields: { loginName: user.login_name } as Record<string, string> },
  }));
  return ui.html(ctx, accountsPage({ accounts, addAnother: `${V2}/loginname${qs({ requestId })}` }));
}
