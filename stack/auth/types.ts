// The slices of Koa's context and oidc-provider's models that the stand-in uses (neither ships types here).
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CookieOptions {
  signed?: boolean;
  httpOnly?: boolean;
  sameSite?: 'lax' | 'strict' | 'none';
  path?: string;
  maxAge?: number;
  overwrite?: boolean;
  secure?: boolean;
}

export interface Ctx {
  method: string;
  path: string;
  url: string;
  querystring: string;
  query: Record<string, string | string[] | undefined>;
  href: string;
  host: string;
  secure: boolean;
  status: number;
  body: unknown;
  type: string;
  req: IncomingMessage;
  res: ServerResponse;
  set(field: string, value: string): void;
  get(field: string): string;
  redirect(url: string): void;
  cookies: {
    get(name: string, opts?: CookieOptions): string | undefined;
    set(name: string, value: string | null, opts?: CookieOptions): void;
  };
  // oidc-provider's per-request context on its own routes.
  oidc?: OidcCtx;
}

export interface OidcCtx {
  route: string;
  params: Record<string, string | undefined>;
  client?: { clientId: string; grantTypeAllowed(t: string): boolean; clientAuthMethod: string; applicationType: string };
  session: OidcSession;
  entities: Record<string, unknown> & { IdTokenHint?: { payload: Record<string, unknown> } };
  result?: Record<string, unknown>;
  prompts: Set<string>;
  requestParamScopes: Set<string>;
  provider: ProviderLike;
}

export interface OidcSession {
  uid: string;
  accountId?: string;
  loginTs?: number;
  amr?: string[];
  authorizations?: Record<string, { grantId?: string; persistsLogout?: boolean }>;
  grantIdFor(clientId: string): string | undefined;
  destroy(): Promise<void>;
}

export interface InteractionLike {
  uid: string;
  iat: number;
  exp: number;
  returnTo: string;
  params: Record<string, string | undefined>;
  prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
  session?: { accountId: string; uid?: string };
  result?: Record<string, unknown>;
  save(ttl: number): Promise<unknown>;
}

export interface GrantLike {
  jti?: string;
  accountId: string;
  clientId: string;
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}

export interface ProviderLike {
  issuer: string;
  proxy: boolean;
  keys?: string[];
  Interaction: { find(id: string): Promise<InteractionLike | undefined> };
  Session: { findByUid(uid: string): Promise<OidcSession | undefined> };
  Grant: (new (init: { accountId: string; clientId: string }) => GrantLike) & {
    find(id: string): Promise<GrantLike | undefined>;
    adapter: { destroy(id: string): Promise<void> };
  };
  AccessToken: { revokeByGrantId(id: string): Promise<void> };
  RefreshToken: { revokeByGrantId(id: string): Promise<void> };
  AuthorizationCode: { revokeByGrantId(id: string): Promise<void> };
  cookieName(type: 'session' | 'interaction' | 'resume'): string;
  use(fn: (ctx: Ctx, next: () => Promise<void>) => Promise<void>): void;
  on(event: string, fn: (...args: unknown[]) => void): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
