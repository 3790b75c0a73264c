// The authorization request's steps shared by the screens: find it, finish it, and decide at its start where
// the browser goes (straight back with an SSO or login session, the accounts list, or the login-name screen).
import { userById } from '../db.ts';
import { errorPage } from '../html.ts';
import type { Ctx, InteractionLike } from '../types.ts';
import { epoch, promptsOf, qs, reauthRequired, redirect, V2, type Ui } from './shared.ts';

/** The interaction with id `uid`, or undefined after answering Zitadel's "could not be found" page. */
export async function interactionOr400(ui: Ui, ctx: Ctx, uid: string | undefined): Promise<InteractionLike | undefined> {
  const i = uid ? await ui.provider.Interaction.find(uid) : undefined;
  if (!i) {
    ui.html(
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
export async function finish(ui: Ui, ctx: Ctx, i: InteractionLike, login: { accountId: string; ts?: number; amr?: string[] }, via: string) {
  const result: Record<string, unknown> = {
    login: { accountId: login.accountId, ts: login.ts, amr: login.amr ?? ['pwd'], remember: true },
    consent: {},
  };
  if (promptsOf(i).has('select_account')) result.select_account = {};
  i.result = result;
  await i.save(Math.max(1, i.exp - Math.floor(Date.now() / 1000)));
  ui.log({ event: 'authorization_continued', via });
  redirect(ctx, i.returnTo);
}

/** /ui/v2/login/login?authRequest=<id> (and the V1 equivalent): decide where the browser goes next. */
export async function startFlow(ui: Ui, ctx: Ctx, i: InteractionLike, v1: boolean): Promise<boolean> {
  const rid = `oidc_${i.uid}`;
  const prompts = promptsOf(i);
  if (!v1 && prompts.has('select_account')) {
    redirect(ctx, `${V2}/accounts${qs({ requestId: rid })}`);
    return true;
  }
  if (!reauthRequired(i)) {
    // The SSO session at the auth host (oidc-provider's session cookie) continues without a password.
    const reasons = i.prompt?.reasons ?? [];
    if (i.session?.accountId && !reasons.includes('no_session') && (await userById(ui.pool, i.session.accountId))) {
      const s = i.session.uid ? await ui.provider.Session.findByUid(i.session.uid) : undefined;
      await finish(ui, ctx, i, { accountId: i.session.accountId, ts: s?.loginTs, amr: s?.amr }, 'sso');
      return true;
    }
    // A Login V2 session without an OIDC session (signed in at the login UI directly).
    const sessions = await ui.sessions.current(ctx);
    if (sessions.length === 1) {
      const [{ session, user }] = sessions;
      await finish(ui, ctx, i, { accountId: user.id, ts: epoch(session.passwordCheckedAt) }, 'login-session');
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
