// The hooks oidc-provider calls into (its "adapters" to the stand-in's users and Zitadel's behaviour): the
// account and its claims, implicit consent, the interaction policy (every request through Login V2), error
// pages and sign-out. provider.ts holds the configuration itself.
import { interactionPolicy } from 'oidc-provider';
import { userById, type UserRow } from './db.ts';
import { errorPage, logoutConfirmPage } from './html.ts';
import type { ProviderDeps } from './provider.ts';
import type { Ctx, GrantLike } from './types.ts';

export const ROLES_CLAIM = 'urn:zitadel:iam:org:project:roles';
export const projectRolesClaim = (projectId: string) => `urn:zitadel:iam:org:project:${projectId}:roles`;

function epoch(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function claimsOf(u: UserRow, deps: ProviderDeps): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    sub: u.id,
    name: u.display_name,
    given_name: u.given_name,
    family_name: u.family_name,
    preferred_username: u.login_name,
    locale: 'en',
    updated_at: epoch(u.updated_at),
    email: u.email,
    email_verified: u.email_verified,
  };
  if (u.roles.length) {
    // Zitadel's shape: {"<role>": {"<orgId>": "<orgDomain>"}}; absent altogether for a user without roles.
    const roles = Object.fromEntries(u.roles.map((r) => [r, { [deps.instance.orgId]: deps.orgDomain }]));
    claims[ROLES_CLAIM] = roles;
    claims[projectRolesClaim(deps.instance.projectId)] = roles;
  }
  return claims;
}

/**
 * Login V2 is required: even with a live SSO session the browser visits the login UI, which then carries
 * on without asking anything. prompt=none never interacts, so a silent request still works.
 */
export function loginV2Policy(): unknown {
  const policy = interactionPolicy.base();
  policy.get('login').checks.add(
    new interactionPolicy.Check('login_ui', 'authorization requests pass through the Login V2 UI', (ctx: Ctx) =>
      !ctx.oidc!.result && !ctx.oidc!.prompts.has('none'),
    ),
  );
  policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }));
  return policy;
}

export function findAccountIn(deps: ProviderDeps) {
  return async (_ctx: Ctx, sub: string) => {
    const u = await userById(deps.pool, sub);
    if (!u) return undefined;
    return { accountId: u.id, claims: async () => claimsOf(u, deps) };
  };
}

/** Consent is implicit for this first-party client, as Zitadel does for its own projects' apps. */
export async function loadExistingGrant(ctx: Ctx): Promise<GrantLike> {
  const oidc = ctx.oidc!;
  const clientId = oidc.client!.clientId;
  const accountId = oidc.session.accountId!;
  const grantId = (oidc.result as { consent?: { grantId?: string } } | undefined)?.consent?.grantId
    ?? oidc.session.grantIdFor(clientId);
  let grant: GrantLike | undefined = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (grant && (grant.accountId !== accountId || grant.clientId !== clientId)) grant = undefined;
  grant ??= new oidc.provider.Grant({ accountId, clientId });
  if (oidc.params.scope) grant.addOIDCScope(oidc.params.scope);
  await grant.save();
  return grant;
}

/** Zitadel's error page; a redirect URI that is not registered gets Zitadel's own wording. */
export function renderErrorWith(log: ProviderDeps['log']) {
  return async (ctx: Ctx, out: Record<string, string>, error: Error) => {
    ctx.type = 'html';
    const description = out.error_description ?? '';
    if (out.error === 'invalid_redirect_uri' || /redirect_uri did not match/.test(description)) {
      ctx.body = errorPage({
        title: 'Error',
        message: 'redirect_uri does not match any of the redirect URIs registered for this client',
        detail:
          'The requested redirect_uri is missing in the client configuration. If you have any questions, you may contact the administrator of the application.',
      });
      return;
    }
    if (!(error as { expose?: boolean }).expose) log({ event: 'render_error', error: out.error, status: ctx.status });
    ctx.body = errorPage({ title: 'Error', message: description || out.error || 'Something went wrong', detail: out.error });
  };
}

/**
 * Zitadel signs out without a question when the RP proves who it is (valid id_token_hint) and names a
 * registered post-logout URI; everyone else gets a small confirmation page.
 */
export async function logoutSource(ctx: Ctx, form: string, deps: ProviderDeps): Promise<void> {
  const oidc = ctx.oidc!;
  const target = oidc.params.post_logout_redirect_uri;
  if (oidc.entities.IdTokenHint && oidc.client && target) {
    const { session, provider } = oidc;
    for (const { grantId, persistsLogout } of Object.values(session.authorizations ?? {})) {
      if (!grantId || persistsLogout) continue;
      await Promise.all([
        provider.AccessToken.revokeByGrantId(grantId),
        provider.RefreshToken.revokeByGrantId(grantId),
        provider.AuthorizationCode.revokeByGrantId(grantId),
        provider.Grant.adapter.destroy(grantId),
      ]);
    }
    await session.destroy();
    ctx.cookies.set(provider.cookieName('session'), null, { httpOnly: true, sameSite: 'lax' });
    await deps.endLoginSessions(ctx);
    const to = new URL(target);
    if (oidc.params.state !== undefined) to.searchParams.set('state', oidc.params.state);
    deps.log({ event: 'end_session', confirmation: false });
    ctx.status = 302;
    ctx.redirect(to.href);
    return;
  }
  ctx.type = 'html';
  ctx.body = logoutConfirmPage({ form, host: ctx.host });
}
