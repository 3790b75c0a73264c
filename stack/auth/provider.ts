// oidc-provider configured to look like Zitadel from outside: Zitadel's endpoint paths, one public PKCE
// client (the GadgetBot app), Zitadel's role claims, implicit consent for the first-party client, and every
// authorization passing through the Login V2 UI (login-ui/), as with ZITADEL_..._LOGINV2_REQUIRED=true. The hooks it
// calls into (accounts, consent, policy, errors, sign-out) are in provider-hooks.ts.
import { randomBytes } from 'node:crypto';
import { Provider } from 'oidc-provider';
import type pg from 'pg';
import { pgAdapterFactory } from './adapter.ts';
import type { AuthEnv } from './config.ts';
import type { Instance } from './db.ts';
import { loggedOutPage } from './html.ts';
import { findAccountIn, loadExistingGrant, loginV2Policy, logoutSource, projectRolesClaim, renderErrorWith, ROLES_CLAIM } from './provider-hooks.ts';
import type { Ctx, ProviderLike } from './types.ts';

export const ROLES_SCOPE = 'urn:zitadel:iam:org:projects:roles';
export const METADATA_SCOPE = 'urn:zitadel:iam:user:metadata';
export { projectRolesClaim, ROLES_CLAIM } from './provider-hooks.ts';

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

/** The GadgetBot app's registration: a public web client with PKCE, as the app is registered in Zitadel. */
function appClient(env: AuthEnv): Record<string, unknown> {
  const basic = env.faults.has('auth-method-basic');
  const redirectUri = env.faults.has('redirect-uri-unregistered')
    ? `${env.appUrl}/api/auth/callback/other`
    : `${env.appUrl}/api/auth/callback/zitadel`;
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
  return client;
}

function features(deps: ProviderDeps): Record<string, unknown> {
  return {
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
  };
}

function ttl(): Record<string, unknown> {
  return {
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
  };
}

function configuration(deps: ProviderDeps): Record<string, unknown> {
  const { env, pool, instance } = deps;
  const rolesClaims = [ROLES_CLAIM, projectRolesClaim(instance.projectId)];
  // Fault `no-pkce` (app and auth together): the public client no longer has to send a code_challenge. A
  // request that does send one is still checked.
  const pkceOptional = env.faults.has('no-pkce');
  return {
    adapter: pgAdapterFactory(pool),
    clients: [appClient(env)],
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
    features: features(deps),
    interactions: {
      policy: loginV2Policy(),
      url: async (_ctx: Ctx, interaction: { uid: string }) =>
        env.faults.has('login-v1')
          ? `/ui/login/login?authRequestID=${encodeURIComponent(interaction.uid)}`
          : `/ui/v2/login/login?authRequest=${encodeURIComponent(interaction.uid)}`,
    },
    findAccount: findAccountIn(deps),
    loadExistingGrant,
    clientBasedCORS: (_ctx: Ctx, origin: string, c: { redirectUris: string[] }) =>
      c.redirectUris.some((u) => URL.parse(u)?.origin === origin),
    renderError: renderErrorWith(deps.log),
    ttl: ttl(),
  };
}

export function createProvider(deps: ProviderDeps): ProviderLike {
  const { env, log } = deps;
  const provider = new Provider(env.authUrl, configuration(deps)) as ProviderLike;
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
