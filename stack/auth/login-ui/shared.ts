// What every Login V2 screen shares: the paths, the query helpers, how a page and a redirect are written, how a
// form is read, and the `Ui` the screens are handed (dependencies plus the browser's login sessions).
import type pg from 'pg';
import type { AuthEnv } from '../config.ts';
import type { Ctx, InteractionLike, ProviderLike } from '../types.ts';
import type { BrowserSessions } from './sessions.ts';

export const V2 = '/ui/v2/login';
export const V1 = '/ui/login';
// Verifying against this keeps "unknown user" as slow as "wrong password".
export const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export interface LoginUiDeps {
  env: AuthEnv;
  pool: pg.Pool;
  log(event: Record<string, unknown>): void;
}

/** What a screen is handed. */
export interface Ui extends LoginUiDeps {
  provider: ProviderLike;
  sessions: BrowserSessions;
  /** Writes an HTML page with the Login V2 headers. */
  html(ctx: Ctx, body: string, status?: number): void;
}

/** A Login V2 request as the screens see it: the method (HEAD as GET) and the request id, checked. */
export interface V2Request {
  method: string;
  /** `oidc_<interaction uid>` as given, or undefined (the login UI used on its own). */
  requestId: string | undefined;
  uid: string | undefined;
}

export function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function epoch(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

export function qs(params: Record<string, string | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** Fault `auth-missing-security-headers`; read per page, so that the fault can be switched while auth runs. */
function securityHeadersOff(env: AuthEnv): boolean {
  return env.faults.has('auth-missing-security-headers');
}

export function pageWriter(env: AuthEnv): Ui['html'] {
  return (ctx, body, status = 200) => {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    if (!securityHeadersOff(env)) {
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('X-Content-Type-Options', 'nosniff');
    }
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.body = body;
  };
}

export function redirect(ctx: Ctx, location: string, status = 302): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(location);
}

export async function readForm(ctx: Ctx): Promise<URLSearchParams> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(ctx.get('content-type'))) return new URLSearchParams();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw Object.assign(new Error('form too large'), { status: 413, expose: true });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function requestIdToUid(requestId: string | undefined): string | undefined {
  const m = /^oidc_([A-Za-z0-9_-]{1,128})$/.exec(requestId ?? '');
  return m?.[1];
}

export function promptsOf(i: InteractionLike): Set<string> {
  return new Set((i.params.prompt ?? '').split(' ').filter(Boolean));
}

/** True when the request demands a fresh password check (prompt=login, max_age, id_token_hint mismatch, …). */
export function reauthRequired(i: InteractionLike): boolean {
  if (promptsOf(i).has('login')) return true;
  return (i.prompt?.reasons ?? []).some((r) => r !== 'login_ui' && r !== 'no_session');
}
