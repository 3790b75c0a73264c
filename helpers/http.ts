// HTTP client for API-level checks: undici with the target's resolver and trust store, never following
// redirects (a redirect is something we check, not something to hide).
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext, type SecureContextOptions } from 'node:tls';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import type { Target } from './config.ts';
import { lookupFor } from './dns.ts';
import { retryAfterMs } from './retry-after.ts';

export const CONNECT_TIMEOUT_MS = 10_000;
export const HEADERS_TIMEOUT_MS = 15_000;
export const BODY_TIMEOUT_MS = 15_000;

const trustStores = new Map<string, string[]>();

/**
 * System roots plus CA_FILE (when given): a private CA adds trust, it never replaces the public roots. One array
 * per CA file content, so the TLS context built from it (secureContextOf) is built once, not per connection.
 */
export function caFor(t: Target): string[] {
  const own = t.caFile ? readFileSync(t.caFile, 'utf8') : '';
  let ca = trustStores.get(own);
  if (!ca) {
    ca = Object.freeze([...rootCertificates, ...(own ? [own] : [])]) as string[];
    trustStores.set(own, ca);
  }
  return ca;
}

const contexts = new WeakMap<string[], Map<string, SecureContext>>();

/**
 * The TLS context trusting `ca` (plus context options such as a probe's protocol versions), built once per trust
 * store: building one parses every root certificate, about 5 ms of CPU, which a context per connection paid again
 * on every handshake and request (most of what the API-level checks cost).
 */
export function secureContextOf(ca: string[], options: Omit<SecureContextOptions, 'ca'> = {}): SecureContext {
  let byOptions = contexts.get(ca);
  if (!byOptions) contexts.set(ca, (byOptions = new Map()));
  const key = JSON.stringify(options);
  let ctx = byOptions.get(key);
  if (!ctx) byOptions.set(key, (ctx = createSecureContext({ ...options, ca })));
  return ctx;
}

const dispatchers = new WeakMap<Target, Dispatcher>();

export function dispatcherFor(t: Target): Dispatcher {
  let d = dispatchers.get(t);
  if (!d) {
    const lookup = lookupFor(t);
    d = new Agent({
      connect: { secureContext: secureContextOf(caFor(t)), timeout: CONNECT_TIMEOUT_MS, ...(lookup ? { lookup } : {}) },
      headersTimeout: HEADERS_TIMEOUT_MS,
      bodyTimeout: BODY_TIMEOUT_MS,
    });
    dispatchers.set(t, d);
  }
  return d;
}

/** Closes the cached dispatcher of `t` (tests and short-lived scripts: lets the process exit at once). */
export async function closeDispatcher(t: Target): Promise<void> {
  const d = dispatchers.get(t);
  dispatchers.delete(t);
  if (d) await d.close().catch(() => undefined);
}

const tlsReasons: Record<string, string> = {
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not name this host',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate chain ends in an untrusted self-signed root',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate chain incomplete or issuer not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate issuer not trusted',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate issuer not found',
};

/** One human line for a network error: what failed, in words an operator can act on. No secrets inside. */
export function describeNetError(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { reason?: string; host?: string; hostname?: string; address?: string; port?: number };
  const code = err?.code ?? '';
  if (err?.name === 'DnsError') return err.message;
  if (code in tlsReasons) return `${tlsReasons[code]} (${code}${code === 'ERR_TLS_CERT_ALTNAME_INVALID' && err.reason ? `: ${err.reason}` : ''})`;
  const where = err?.address ? `${err.address}${err.port ? `:${err.port}` : ''}` : '';
  switch (code) {
    case 'ECONNREFUSED': return `connection refused${where ? ` to ${where}` : ''}`;
    case 'ECONNRESET': return `connection reset${where ? ` by ${where}` : ''}`;
    case 'EHOSTUNREACH': case 'ENETUNREACH': return `host unreachable${where ? ` (${where})` : ''}`;
    case 'ETIMEDOUT': case 'UND_ERR_CONNECT_TIMEOUT': return `connect timed out${where ? ` to ${where}` : ''}`;
    case 'UND_ERR_HEADERS_TIMEOUT': return 'no response headers in time';
    case 'UND_ERR_BODY_TIMEOUT': return 'response body stalled';
    case 'UND_ERR_SOCKET': return `socket closed by the server (${err.message})`;
    case 'ENOTFOUND': return `cannot resolve ${err.hostname ?? err.host ?? 'host'}: NXDOMAIN`;
  }
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'request timed out';
  if (err?.cause && err.cause !== e) return describeNetError(err.cause);
  return `${code ? `${code}: ` : ''}${err?.message ?? String(e)}`;
}

export class HttpError extends Error {
  code?: string;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'HttpError';
    this.code = (cause as NodeJS.ErrnoException)?.code;
  }
}

export interface RequestInit {
  method?: string; headers?: Record<string, string>; body?: string; cookie?: string; timeoutMs?: number; redirect?: 'manual';
}
export interface Response {
  status: number; headers: Record<string, string | string[]>; body: string; ms: number;
}

export async function request(t: Target, url: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = { 'user-agent': 'gadgetbot-verify', ...init.headers };
  if (init.cookie) headers.cookie = init.cookie;
  const started = performance.now();
  const timeoutMs = init.timeoutMs ?? 20_000;
  try {
    const res = await undiciRequest(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body: init.body,
      dispatcher: dispatcherFor(t),
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: Math.min(timeoutMs, HEADERS_TIMEOUT_MS),
      bodyTimeout: Math.min(timeoutMs, BODY_TIMEOUT_MS),
    });
    const body = await res.body.text();
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k.toLowerCase()] = v;
    return { status: res.statusCode, headers: out, body, ms: Math.round(performance.now() - started) };
  } catch (e) {
    const shown = safeUrl(url);
    const why = (e as Error)?.name === 'TimeoutError' || (e as Error)?.name === 'AbortError'
      ? `no complete answer within ${timeoutMs} ms` : describeNetError(e);
    throw new HttpError(`${method} ${shown}: ${why}`, e);
  }
}

/** The URL without query values that may be one-time secrets (code, state, tokens). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (/code|state|token|secret|password/i.test(k)) u.searchParams.set(k, '…');
    return u.toString();
  } catch { return url; }
}

/**
 * `request`, waiting out a 429 as the server asks (helpers/retry-after.ts: Better Auth's X-Retry-After, else Retry-After; each
 * wait at most `maxWaitMs`, 1 s when neither says) at most `waits` times. Better Auth rate-limits per client IP,
 * so a 429 is the suite's own pace, not a finding. Returns the last answer: still 429 if the limit outlasted it.
 */
export async function requestPastRateLimit(
  t: Target, url: string, init: RequestInit = {}, opts: { waits?: number; maxWaitMs?: number } = {},
): Promise<Response> {
  for (let waited = 0; ; waited++) {
    const res = await request(t, url, init);
    if (res.status !== 429 || waited >= (opts.waits ?? 3)) return res;
    const ra = retryAfterMs(res.headers);
    await new Promise((r) => setTimeout(r, Math.min(opts.maxWaitMs ?? 15_000, ra && ra > 0 ? ra : 1000)));
  }
}

/** First value of a header (undici gives arrays for repeated headers such as set-cookie). */
export function header(res: Pick<Response, 'headers'>, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** All values of a header as a list. */
export function headerList(res: Pick<Response, 'headers'>, name: string): string[] {
  const v = res.headers[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
