// oidc-provider configured to look like Zitadel from outside: Zitadel's endpoint paths, one public PKCE
// client (the GadgetBot app), Zitadel's role claims, implicit consent for the first-party client, and every
// authorization passing through the Login V2 UI (login-ui.ts), as with ZITADEL_..._LOGINV2_REQUIRED=true.
import { randomBytes } from 'node:crypto';
import { Provider, interactionPolicy } from 'oidc-provider';
import type pg from 'pg';
import { pgAdapterFactory } from './adapter.ts';
import type { AuthEnv } from './config.ts';
import { userById, type Instance, type UserRow } from './db.ts';
import { errorPage, loggedOutPage, logoutConfirmPage } from './html.ts';
import type { Ctx, GrantLike, ProviderLike } from './types.ts';

export const ROLES_SCOPE = 'urn:zitadel:iam:org:projects:roles';
export const METADATA_SCOPE = 'urn:zitadel:iam:user:metadata';
export const ROLES_CLAIM = 'urn:zitadel:iam:org:project:roles';
export const projectRolesClaim = (projectId: string) => `urn:zitadel:iam:org:project:${projectId}:roles`;

export const SESSION_TTL = 12 * 60 * 60;
export const INTERACTION_TTL = 60 * 60;

export const ROUTES = {
  authorization: '/oauth/v2/authorize',
  token: '/oauth/v2/token',
  userinfo: '/oidc/v1/userinfo',
  jwks: '/oauth/v2/keys',
  end_session: '/oidc/v1/end_session',
  revocation: '/oauth/v2/revoke',
  introspection: '/oauth/v2/introspect',
  pushed_authorization_request: '/oauth/v2/par',
  device_authorization: '/oauth/v2/device_authorization',
  code_verification: '/oauth/v2/device',
  backchannel_authentication: '/oauth/v2/backchannel',
  registration: '/oauth/v2/register',
  challenge: '/oauth/v2/challenge',
  credential: '/oauth/v2/credential',
};

export interface ProviderDeps {
  env: AuthEnv;
  pool: pg.Pool;
  instance: Instance;
  /** Org domain shown in the role claims (Zitadel: the organisation's primary domain). */
  orgDomain: string;
  /** Ends the browser's Login V2 sessions (cookie + database) when the OIDC session ends. */
  endLoginSessions(ctx: Ctx): Promise<void>;
  log(event: Record<string, unknown>): void;
}

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

export function createProvider(deps: ProviderDeps): ProviderLike {
  const { env, pool, instance, log } = deps;
  const basic = env.faults.has('auth-method-basic');
  const redirectUri = env.faults.has('redirect-uri-unregistered')
    ? `${env.appUrl}/api/auth/callback/other`
    : `${env.appUrl}/api/auth/callback/zitadel`;
  const rolesClaims = [ROLES_CLAIM, projectRolesClaim(instance.projectId)];
  // Fault `no-pkce` (app and auth together): the public client no longer has to send a code_challenge. A
  // request that does send one is still checked.
  const pkceOptional = env.faults.has('no-pkce');

  // Login V2 is required: even with a live SSO session the browser visits the login UI, which then carries
  // on without asking anything. prompt=none never interacts, so a silent request still works.
  const policy = interactionPolicy.base();
  policy.get('login').checks.add(
    new interactionPolicy.Check('login_ui', 'authorization requests pass through the Login V2 UI', (ctx: Ctx) =>
      !ctx.oidc!.result && !ctx.oidc!.prompts.has('none'),
    ),
  );
  policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }));

  const client: Record<string, unknown> = {
    client_id: env.clientId,
    client_name: 'GadgetBot',
    application_type: 'web',
    token_endpoint_auth_method: basic ? 'client_secret_basic' : 'none',
    redirect_uris: [redirectUri],
    // Zitadel compares post-logout URIs exactly; the app may send its origin with or without the slash.
    post_logout_redirect_uris: [env.appUrl, `${env.appUrl}/`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
    // Zitadel puts auth_time into every id_token.
    require_auth_time: true,
  };
  // A secret nobody knows: with the fault on, the app's secret-less token exchange must fail.
  if (basic) client.client_secret = randomBytes(32).toString('base64url');

  const configuration = {
    adapter: pgAdapterFactory(pool),
    clients: [client],
    jwks: { keys: [instance.signingJwk] },
    cookies: {
      keys: instance.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    routes: ROUTES,
    scopes: ['openid', 'profile', 'email', 'offline_access', 'phone', 'address', ROLES_SCOPE, METADATA_SCOPE],
    claims: {
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
      // "Assert roles on authentication": the roles come with every sign-in of this client.
      openid: ['sub', ...rolesClaims],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'updated_at'],
      email: ['email', 'email_verified'],
      [ROLES_SCOPE]: rolesClaims,
      [METADATA_SCOPE]: [],
    },
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: (_ctx: Ctx, c: { clientAuthMethod: string }) => !pkceOptional && c.clientAuthMethod === 'none' },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    features: {
      devInteractions: { enabled: false },
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx: Ctx, c: { clientAuthMethod: string; clientId: string }, token: { clientId: string }) =>
          !(c.clientAuthMethod === 'none' && token.clientId !== ctx.oidc!.client!.clientId),
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: Ctx, c: { clientId: string }, token: { clientId: string }) => token.clientId === c.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: Ctx, form: string) => logoutSource(ctx, form, deps),
        postLogoutSuccessSource: async (ctx: Ctx) => {
          ctx.type = 'html';
          ctx.body = loggedOutPage();
        },
      },
    },
    interactions: {
      policy,
      url: async (_ctx: Ctx, interaction: { uid: string }) =>
        env.faults.has('login-v1')
          ? `/ui/login/login?authRequestID=${encodeURIComponent(interaction.uid)}`
          : `/ui/v2/login/login?authRequest=${encodeURIComponent(interaction.uid)}`,
    },
    async findAccount(_ctx: Ctx, sub: string) {
      const u = await userById(pool, sub);
      if (!u) return undefined;
      return { accountId: u.id, claims: async () => claimsOf(u, deps) };
    },
    // Consent is implicit for this first-party client, as Zitadel does for its own projects' apps.
    async loadExistingGrant(ctx: Ctx) {
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
    },
    clientBasedCORS: (_ctx: Ctx, origin: string, c: { redirectUris: string[] }) =>
      c.redirectUris.some((u) => URL.parse(u)?.origin === origin),
    renderError: async (ctx: Ctx, out: Record<string, string>, error: Error) => {
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
    },
    ttl: {
      AccessToken: 12 * 60 * 60,
      AuthorizationCode: 60,
      IdToken: 12 * 60 * 60,
      Interaction: INTERACTION_TTL,
      Session: SESSION_TTL,
      Grant: 90 * 24 * 60 * 60,
      ClientCredentials: 10 * 60,
      DeviceCode: 10 * 60,
      BackchannelAuthenticationRequest: 10 * 60,
      PreAuthorizedCode: 10 * 60,
      RefreshToken: (
        ctx: Ctx | undefined,
        token: { isSenderConstrained(): boolean },
        c: { applicationType: string; clientAuthMethod: string },
      ) => {
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken as { remainingTTL: number } | undefined;
        // A rotated public-client refresh token keeps the original expiry (no endless extension by rotation).
        if (rotated && c.applicationType === 'web' && c.clientAuthMethod === 'none' && !token.isSenderConstrained())
          return rotated.remainingTTL;
        return 30 * 24 * 60 * 60;
      },
    },
  };

  const provider = new Provider(env.authUrl, configuration) as ProviderLike;
  // Behind the edge: the public scheme and host come from X-Forwarded-Proto / X-Forwarded-Host.
  provider.proxy = true;

  provider.on('server_error', (_ctx, err) => log({ event: 'server_error', message: (err as Error)?.message }));
  provider.on('end_session.success', (ctx) => {
    const c = ctx as Ctx;
    const state = (c.oidc?.session as { state?: { postLogoutRedirectUri?: string } } | undefined)?.state;
    // Signing in as someone else mid-authorization logs the old account out of the OIDC session and resumes
    // the authorization: the Login V2 sessions (the new one included) stay, as Zitadel keeps several.
    const accountSwitch = state?.postLogoutRedirectUri?.includes(`${ROUTES.authorization}/`) ?? false;
    if (c.oidc?.params.logout && !accountSwitch)
      void deps.endLoginSessions(c).catch((e: Error) => log({ event: 'end_login_sessions_failed', message: e.message }));
  });
  return provider;
}

/**
 * Zitadel signs out without a question when the RP proves who it is (valid id_token_hint) and names a
 * registered post-logout URI; everyone else gets a small confirmation page.
 */
async function logoutSource(ctx: Ctx, form: string, deps: ProviderDeps): Promise<void> {
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
