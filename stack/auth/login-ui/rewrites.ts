// Request and response rewrites around oidc-provider, so that it answers the way Zitadel does.
import type { Ctx } from '../types.ts';

/**
 * Zitadel issues a refresh token whenever offline_access is asked for; oidc-provider follows OIDC Core
 * §11 and drops offline_access unless prompt=consent. Every request already passes the login UI, which
 * settles consent for this first-party client, so asking for it costs the user nothing.
 */
export function keepOfflineAccess(ctx: Ctx): void {
  const params = new URLSearchParams(ctx.querystring);
  if (!(params.get('scope') ?? '').split(' ').includes('offline_access')) return;
  const prompts = new Set((params.get('prompt') ?? '').split(' ').filter(Boolean));
  if (prompts.has('none') || prompts.has('consent') || params.getAll('prompt').length > 1) return;
  prompts.add('consent');
  params.set('prompt', [...prompts].join(' '));
  ctx.querystring = params.toString();
}

/** Fault `issuer-mismatch`: discovery names an issuer other than the auth URL. */
export async function withIssuerMismatch(ctx: Ctx, next: () => Promise<void>, authUrl: string): Promise<void> {
  await next();
  const body = ctx.body as Record<string, unknown> | undefined;
  if (ctx.status === 200 && body && typeof body === 'object') ctx.body = { ...body, issuer: `${authUrl}/wrong` };
}
