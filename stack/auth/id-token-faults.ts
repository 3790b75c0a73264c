// Faults of the id_token the token endpoint hands out, applied after oidc-provider has built it: the payload is
// changed and signed again, with the same published key (nonce, audience, expiry: only a relying party that checks
// the whole id_token, OIDC Core 3.1.3.7, notices) or with a fresh key under the published kid (the signature fails
// for every relying party that verifies it against the JWKS).
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { AuthFault } from './config.ts';

type Next = () => Promise<unknown>;
interface TokenCtx { path: string; method: string; status: number; body: unknown }

export function idTokenFaults(faults: ReadonlySet<AuthFault>, signingJwk: Record<string, unknown>, tokenPath: string) {
  const on = (['id-token-nonce-dropped', 'id-token-extra-audience', 'id-token-foreign-key', 'id-token-expired'] as const).some((f) => faults.has(f));
  let foreign: Promise<CryptoKey> | undefined;
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
    if (faults.has('id-token-expired')) {
      const now = Math.floor(Date.now() / 1000);
      const life = Number(claims.exp) - Number(claims.iat) || 3600;
      Object.assign(claims, { iat: now - 3600 - life, exp: now - 3600 });
    }
    const alg = String(header.alg);
    const key = faults.has('id-token-foreign-key')
      ? await (foreign ??= generateKeyPair(alg).then((k) => k.privateKey as CryptoKey))
      : await importJWK(signingJwk as JWK, alg);
    ctx.body = { ...body, id_token: await new SignJWT(claims).setProtectedHeader({ alg, ...(header.kid ? { kid: header.kid } : {}), ...(header.typ ? { typ: header.typ } : {}) }).sign(key) };
  };
}
