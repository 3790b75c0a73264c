// Better Auth as the real app configures it (sessions in PostgreSQL, Zitadel through generic OAuth with
// PKCE, 5-minute cookie cache), mapped onto the real schema's plural, snake_case tables.
// Faults here are misconfigurations of Better Auth itself, each one option away from the healthy setup.
import { betterAuth } from 'better-auth';
import { genericOAuth } from 'better-auth/plugins/generic-oauth';
import type pg from 'pg';

export interface AuthConfig {
  pool: pg.Pool;
  appUrl: string;
  baseUrl: string; // BETTER_AUTH_URL
  secret: string;
  issuerUrl: string;
  clientId: string;
  faults: ReadonlySet<string>;
  /** false: no sign-in rate limit (the stack's fault-matrix runs); otherwise Better Auth's production default. */
  rateLimit?: boolean;
  log: (event: Record<string, unknown>) => void;
}

const ts = { createdAt: 'created_at', updatedAt: 'updated_at' } as const;

/** Fault `session-short-lived`: a session (and its cookie) lasts this long instead of Better Auth's 7 days. */
// Ten minutes: long enough that a fault-matrix run finishes inside it, short enough to be unmistakable.
export const SHORT_SESSION_SECONDS = 600;

export function createAuth(cfg: AuthConfig) {
  const { faults } = cfg;
  return betterAuth({
    appName: 'GadgetBot',
    baseURL: cfg.baseUrl,
    basePath: '/api/auth',
    secret: cfg.secret,
    database: cfg.pool,
    // Fault `trusted-origin-wildcard`: a trailing wildcard meant for "any port" also matches https://<host>.evil.example.
    trustedOrigins: [new URL(cfg.appUrl).origin, ...(faults.has('trusted-origin-wildcard') ? [`https://${new URL(cfg.appUrl).hostname}*`] : [])],
    telemetry: { enabled: false },
    ...(cfg.rateLimit === false ? { rateLimit: { enabled: false } } : {}),
    user: { modelName: 'users', fields: { emailVerified: 'email_verified', ...ts } },
    session: {
      modelName: 'sessions',
      fields: { expiresAt: 'expires_at', ipAddress: 'ip_address', userAgent: 'user_agent', userId: 'user_id', ...ts },
      cookieCache: { enabled: true, maxAge: 5 * 60 },
      // Fault `session-short-lived`: `expiresIn` set in seconds where minutes or days were meant. Without
      // it Better Auth's default applies (7 days, refreshed daily while used).
      ...(faults.has('session-short-lived') ? { expiresIn: SHORT_SESSION_SECONDS } : {}),
    },
    account: {
      modelName: 'accounts',
      fields: {
        accountId: 'account_id',
        providerId: 'provider_id',
        userId: 'user_id',
        accessToken: 'access_token',
        refreshToken: 'refresh_token',
        idToken: 'id_token',
        accessTokenExpiresAt: 'access_token_expires_at',
        refreshTokenExpiresAt: 'refresh_token_expires_at',
        ...ts,
      },
      // Fault `callback-replay`: the callback no longer ties `state` to the browser that started the
      // sign-in, so a callback URL opened elsewhere (forged or replayed) yields a session there.
      skipStateCookieCheck: faults.has('callback-replay'),
    },
    verification: { modelName: 'verifications', fields: { expiresAt: 'expires_at', ...ts } },
    advanced: {
      // Explicit, because Better Auth turns the origin check off by itself when NODE_ENV=test.
      // Fault `open-redirect` turns only the URL validation off, CSRF checks stay.
      disableOriginCheck: faults.has('open-redirect'),
      disableCSRFCheck: false,
      cookies: {},
      // Fault `cookie-no-secure-prefix`: no `__Secure-` prefix on any cookie. Better Auth would also drop the
      // Secure attribute with it; it is kept, so the prefix is the only thing missing (and over HTTPS the
      // cookies keep working).
      ...(faults.has('cookie-no-secure-prefix') ? { useSecureCookies: false, defaultCookieAttributes: { secure: true } } : {}),
      // Fault `cookie-samesite-none`: cookies for a cross-domain front end; browsers then send them cross-site.
      ...(faults.has('cookie-samesite-none') ? { defaultCookieAttributes: { sameSite: 'none', secure: true } } : {}),
    },
    databaseHooks: faults.has('signout-keeps-session')
      ? {
          session: {
            delete: {
              // Fault: sign-out still clears the cookies, but the server-side session stays valid.
              before: async (_session, ctx) => (ctx?.path === '/sign-out' ? false : undefined),
            },
          },
        }
      : faults.has('signout-ends-all-sessions')
        ? {
            session: {
              delete: {
                // Fault: sign-out ends the caller's session and then every other session of every user.
                after: async (_session, ctx) => { if (ctx?.path === '/sign-out') await cfg.pool.query('DELETE FROM sessions'); },
              },
            },
          }
        : undefined,
    logger: {
      level: 'warn',
      // Only the message: Better Auth's extra arguments can carry tokens or cookies.
      log: (level, message) => cfg.log({ event: 'auth', level, message: String(message).slice(0, 300) }),
    },
    plugins: [
      genericOAuth({
        config: [
          {
            providerId: 'zitadel',
            discoveryUrl: `${cfg.issuerUrl}/.well-known/openid-configuration`,
            clientId: cfg.clientId,
            scopes: ['openid', 'profile', 'email', 'offline_access'],
            // Fault `no-pkce`: no code_challenge in the authorize URL, no code_verifier at the token exchange
            // (the auth server stops requiring PKCE under the same fault, so sign-in still works).
            pkce: !faults.has('no-pkce'),
            redirectURI: `${cfg.appUrl}/api/auth/callback/zitadel`,
            // The real app (better-auth 1.4) sends no nonce and signs out locally only.
            disableIdTokenNonceBinding: true,
            disableProviderLogout: true,
          },
        ],
      }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;

const ROLES_CLAIM = 'urn:zitadel:iam:org:project:roles';

/** Claims of a stored id_token; it was verified against the issuer's JWKS when Better Auth stored it. */
export function idTokenClaims(idToken: string | null | undefined): Record<string, unknown> | null {
  if (!idToken) return null;
  const part = idToken.split('.')[1];
  if (!part) return null;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function hasAdminRole(idToken: string | null | undefined): boolean {
  const roles = idTokenClaims(idToken)?.[ROLES_CLAIM];
  return !!roles && typeof roles === 'object' && !Array.isArray(roles) && Object.hasOwn(roles, 'admin');
}

/** Admin = the newest stored Zitadel id_token of this user carries the project role `admin`. */
export async function isAdmin(pool: pg.Pool, userId: string): Promise<boolean> {
  const r = await pool.query<{ id_token: string | null }>(
    `SELECT id_token FROM accounts WHERE user_id = $1 AND provider_id = 'zitadel' ORDER BY updated_at DESC LIMIT 1`,
    [userId],
  );
  return hasAdminRole(r.rows[0]?.id_token);
}
