// Faults of the id_token the token endpoint hands out, applied after oidc-provider has built it: the payload is
// changed and signed again with the same published key, so the token still verifies and the app (which binds no
// nonce and accepts any audience list naming it) still signs in; only a relying party that checks the whole
// id_token (OIDC Core 3.1.3.7) notices.
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
import type { AuthFault } from './config.ts';

type Next = () => Promise<unknown>;
interface TokenCtx { path: string; method: string; status: number; body: unknown }

export function idTokenFaults(faults: ReadonlySet<AuthFault>, signingJwk: Record<string, unknown>, tokenPath: string) {
  const on = faults.has('id-token-nonce-dropped') || faults.has('id-token-extra-audience');
  return async (ctx: TokenCtx, next: Next): Promise<void> => {
    await next();
    if (!on || ctx.method !== 'POST' || ctx.path !== tokenPath || ctx.status !== 200) return;
    const body = ctx.body as { id_token?: unknown } | undefined;
    if (!body || typeof body.id_token !== 'string') return;
    const header = decodeProtectedHeader(body.id_token);
    const claims: Record<string, unknown> = { ...decodeJwt(body.id_token) };
    if (faults.has('id-token-nonce-dropped')) delete claims.nonce;
    if (faults.has('id-token-extra-audience')) {
      claims.aud = [...(Array.isArray(claims.aud) ? claims.aud : [claims.aud]), 'gbv-other-client'];
      delete claims.azp;
    }
    const key = await importJWK(signingJwk as JWK, String(header.alg));
    ctx.body = { ...body, id_token: await new SignJWT(claims).setProtectedHeader({ alg: String(header.alg), ...(header.kid ? { kid: header.kid } : {}), ...(header.typ ? { typ: header.typ } : {}) }).sign(key) };
  };
}
