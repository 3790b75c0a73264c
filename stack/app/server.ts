// The GadgetBot reference app: a plain Node HTTP server presenting the real app's outside interface
// (pages, Better Auth under /api/auth, oRPC under /api/rpc). Env per docs/CONTRACT.md.
// It listens before the heavy modules (Better Auth, oRPC, pg, undici) load, so the health check is
// answered well under a second after spawn; everything else waits for them on first use.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { FAULT_CONTROL_TOKEN_ENV, handleFaultControl } from '../fault-control.ts';
import {
  dashboardPage,
  detailPage,
  editPage,
  errorPage,
  homePage,
  loginPage,
  newPage,
  notFoundPage,
  productsPage,
  type Page,
  type PageUser,
} from './pages.ts';

// ------------------------------------------------------------------------------------------- config

function log(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), service: 'app', ...event })}\n`);
}

function fail(message: string): never {
  log({ event: 'config-error', message });
  process.exit(1);
}

const env = process.env;
const required = (name: string): string => env[name]?.trim() || fail(`missing environment variable ${name}`);

const HOST = required('HOST');
const PORT = Number(required('PORT'));
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) fail('PORT must be an integer 0..65535');
const DATABASE_URL = required('DATABASE_URL');
// As the real app: Coolify hands out postgres://, the app insists on postgresql://.
if (!DATABASE_URL.startsWith('postgresql://')) fail('DATABASE_URL must start with postgresql://');
const APP_URL = required('APP_URL').replace(/\/+$/, '');
const BETTER_AUTH_URL = (env.BETTER_AUTH_URL?.trim() || APP_URL).replace(/\/+$/, '');
const BETTER_AUTH_SECRET = required('BETTER_AUTH_SECRET');
const ZITADEL_ISSUER_URL = required('ZITADEL_ISSUER_URL').replace(/\/+$/, '');
const ZITADEL_CLIENT_ID = required('ZITADEL_CLIENT_ID');
const STACK_CA_FILE = env.STACK_CA_FILE?.trim() || undefined;
const STACK_DNS_SERVER = env.STACK_DNS_SERVER?.trim() || undefined;
// Live: the stack's control route (stack/fault-control.ts) replaces its contents while the app runs.
const FAULTS = new Set<string>(
  (env.STACK_FAULTS ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean),
);
let APP_ORIGIN: string;
let APP_SCHEME_HOST: string;
try {
  APP_ORIGIN = new URL(APP_URL).origin;
  APP_SCHEME_HOST = `${new URL(APP_URL).protocol}//${new URL(APP_URL).hostname}`;
  new URL(ZITADEL_ISSUER_URL);
} catch {
  fail('APP_URL and ZITADEL_ISSUER_URL must be absolute URLs');
}

// ----------------------------------------------------------------------------------------- services

type Services = Awaited<ReturnType<typeof loadServices>>;

/** Start-up marks (ms since process start), logged with the `ready` event. */
const startup: Record<string, number> = {};
const uptimeMs = () => Math.round(process.uptime() * 1000);

async function loadServices() {
  const { installOutbound } = await import('./net.ts');
  installOutbound({ dnsServer: STACK_DNS_SERVER, caFile: STACK_CA_FILE });
  startup.netMs = uptimeMs();
  const [{ default: pg }, authMod, apiMod] = await Promise.all([import('pg'), import('./auth.ts'), import('./api.ts')]);
  startup.modulesMs = uptimeMs();
  const pool = new pg.Pool({
    connectionString: DATABASE_URL,
    max: 5,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 10_000,
  });
  pool.on('error', (err) => log({ event: 'db-pool-error', message: err.message }));
  const auth = authMod.createAuth({
    pool,
    appUrl: APP_URL,
    baseUrl: BETTER_AUTH_URL,
    secret: BETTER_AUTH_SECRET,
    issuerUrl: ZITADEL_ISSUER_URL,
    clientId: ZITADEL_CLIENT_ID,
    faults: FAULTS,
    rateLimit: env.SIGN_IN_RATE_LIMIT !== 'off',
    log,
  });
  const bots = new apiMod.GadgetBots(pool, FAULTS);
  const rpc = apiMod.createRpcHandler(apiMod.createRouter(bots, FAULTS), log);
  startup.servicesMs = uptimeMs();
  return { pool, auth, bots, rpc, isAdmin: (userId: string) => authMod.isAdmin(pool, userId) };
}

let servicesPromise: Promise<Services> | undefined;
let loaded: Services | undefined;
function services(): Promise<Services> {
  servicesPromise ??= loadServices().then((s) => (loaded = s));
  return servicesPromise;
}

// ------------------------------------------------------------------------------------------ helpers

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 1_000_000;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        // Keep draining so the 413 can still be written; the connection closes after it.
        reject(new HttpError(413, 'Payload Too Large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headersOf(req: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) h.append(k, x);
    else h.set(k, v);
  }
  return h;
}

async function toRequest(req: IncomingMessage, pathAndQuery: string, body?: Buffer): Promise<Request> {
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const payload = hasBody ? (body ?? (await readBody(req))) : undefined;
  const headers = headersOf(req);
  headers.delete('transfer-encoding'); // the body is buffered: its length is known
  if (payload) headers.set('content-length', String(payload.length));
  // Always the public URL: the app only ever runs behind the edge, as the real one behind Traefik.
  return new Request(`${APP_ORIGIN}${pathAndQuery}`, { method, headers, body: payload ? new Uint8Array(payload) : undefined });
}

function securityHeaders(nonce: string): Record<string, string> {
  if (FAULTS.has('missing-security-headers')) return {};
  return {
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'content-security-policy': [
      "default-src 'self'",
      `script-src 'self' 'nonce-${nonce}'`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
}

/** Fault `session-cookie-not-persistent`: the session cookie loses Max-Age/Expires (a browser-session cookie). */
function withoutPersistence(setCookie: string): string {
  const [pair = ''] = setCookie.split(';', 1);
  const [name = '', value = ''] = pair.split('=', 2);
  if (!name.trim().endsWith('better-auth.session_token') || value.trim() === '' || /;\s*max-age=0\b/i.test(setCookie)) {
    return setCookie;
  }
  return setCookie.replace(/;\s*max-age=[^;]*/gi, '').replace(/;\s*expires=[^;]*/gi, '');
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  nonce: string;
  /** Cookies Better Auth refreshed while a page looked the session up (session expiry, cookie cache). */
  cookies?: string[];
  /** CORS headers of the answer (only the CORS faults set any: the app, as the real one, sends none). */
  cors?: Record<string, string>;
}

function finish(ctx: Ctx, status: number, headers: Record<string, string | string[]>, body: Buffer | string): void {
  const { res, req } = ctx;
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  const all: Record<string, string | string[]> = { ...securityHeaders(ctx.nonce), ...headers, ...ctx.cors };
  if (ctx.cookies?.length && !all['set-cookie']) all['set-cookie'] = ctx.cookies;
  all['content-length'] = String(buf.length);
  if (stopping || status === 413) all.connection = 'close';
  res.writeHead(status, all);
  res.end(req.method === 'HEAD' ? undefined : buf);
}

function sendPage(ctx: Ctx, page: Page, cache = 'no-store'): void {
  finish(ctx, page.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': cache }, page.html);
}

function redirect(ctx: Ctx, status: 302 | 307, location: string): void {
  finish(ctx, status, { location, 'cache-control': 'no-store' }, '');
}

async function sendResponse(ctx: Ctx, response: Response, mapCookie?: (c: string) => string): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== 'set-cookie' && k !== 'content-length' && k !== 'content-encoding' && k !== 'transfer-encoding') headers[k] = v;
  });
  let cookies = response.headers.getSetCookie();
  if (mapCookie) cookies = cookies.map(mapCookie);
  if (cookies.length) headers['set-cookie'] = cookies;
  finish(ctx, response.status, headers, Buffer.from(await response.arrayBuffer()));
}

function json(ctx: Ctx, status: number, body: unknown): void {
  finish(ctx, status, { 'content-type': 'application/json' }, JSON.stringify(body));
}

// ------------------------------------------------------------------------------------------- routes

async function sessionOf(svc: Services, req: IncomingMessage) {
  return svc.auth.api.getSession({ headers: headersOf(req) });
}

async function authRoute(ctx: Ctx): Promise<void> {
  const svc = await services();
  const { req, url } = ctx;
  let path = url.pathname;
  let body: Buffer | undefined;
  // better-auth 1.4's generic-OAuth entry point; 1.7 signs in through /sign-in/social with the same result.
  if (path === '/api/auth/sign-in/oauth2' && req.method === 'POST') {
    const raw = await readBody(req);
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('not an object');
    } catch {
      return json(ctx, 400, { code: 'INVALID_REQUEST_BODY', message: 'Invalid JSON body' });
    }
    const { providerId, ...rest } = input;
    path = '/api/auth/sign-in/social';
    body = Buffer.from(JSON.stringify({ ...rest, provider: providerId }));
  }
  const search = FAULTS.has('callback-replay') ? stateFromCookie(req, path, url) : url.search;
  const request = await toRequest(req, `${path}${search}`, body);
  const response = await svc.auth.handler(request);
  await sendResponse(
    ctx,
    await withLegacyErrorCodes(response),
    FAULTS.has('session-cookie-not-persistent') ? withoutPersistence : undefined,
  );
}

/** better-auth 1.7 renamed error codes the real app's 1.4 answers with; clients see the 1.4 spelling. */
const LEGACY_CODES: Record<string, string> = { INVALID_CALLBACK_URL: 'INVALID_CALLBACKURL' };

async function withLegacyErrorCodes(response: Response): Promise<Response> {
  if (response.status < 400 || !response.headers.get('content-type')?.includes('application/json')) return response;
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const code = (body as { code?: unknown } | undefined)?.code;
  const mapped = typeof code === 'string' ? LEGACY_CODES[code] : undefined;
  const out = mapped ? JSON.stringify({ ...(body as object), code: mapped }) : text;
  return new Response(out, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * Fault `callback-replay`, second half (Better Auth's skipStateCookieCheck is the first): a callback whose
 * `state` does not match the browser's state cookie is answered with the cookie's state, so a state
 * mismatch no longer stops the sign-in.
 */
function stateFromCookie(req: IncomingMessage, path: string, url: URL): string {
  if (req.method !== 'GET' || !path.startsWith('/api/auth/callback/')) return url.search;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    const name = part.slice(0, i).trim();
    if (name !== 'better-auth.state' && name !== '__Secure-better-auth.state') continue;
    let signed: string;
    try {
      signed = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      break;
    }
    const state = signed.slice(0, signed.lastIndexOf('.'));
    if (!state) break;
    const params = new URLSearchParams(url.search);
    params.set('state', state);
    return `?${params.toString()}`;
  }
  return url.search;
}

/**
 * A browser request from another site that carries our cookies must not reach the API.
 * Fault `no-csrf-check`: the check is gone, so any site the user visits can call the API in their name.
 */
function crossSiteWithCookies(req: IncomingMessage): boolean {
  if (FAULTS.has('no-csrf-check') || !req.headers.cookie) return false;
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  // Fault `origin-check-prefix`: scheme and host compared by prefix, so https://<host>.evil.example passes.
  if (FAULTS.has('origin-check-prefix')) return typeof origin === 'string' && !origin.startsWith(APP_SCHEME_HOST);
  return typeof origin === 'string' && origin !== APP_ORIGIN;
}

/**
 * Faults `cors-reflects-origin` (any Origin echoed) and `cors-allows-null` (an allow-list of the app and "null"):
 * CORS with credentials, so a page on an allowed origin may read the answers the user's cookie gets.
 */
function corsHeaders(req: IncomingMessage): Record<string, string> | undefined {
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return undefined;
  const allowed = FAULTS.has('cors-reflects-origin') || (FAULTS.has('cors-allows-null') && (origin === 'null' || origin === APP_ORIGIN));
  return allowed ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' } : undefined;
}

async function rpcRoute(ctx: Ctx): Promise<void> {
  const { req, url } = ctx;
  ctx.cors = corsHeaders(req);
  if (req.method === 'OPTIONS' && ctx.cors) {
    return finish(ctx, 204, { 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' }, '');
  }
  if (crossSiteWithCookies(req)) {
    return json(ctx, 403, {
      json: { defined: false, code: 'FORBIDDEN', status: 403, message: 'Cross-site request refused' },
    });
  }
  const svc = await services();
  const session = await sessionOf(svc, req);
  const user = session?.user ? { id: session.user.id, name: session.user.name, email: session.user.email } : null;
  let admin: Promise<boolean> | undefined;
  const request = await toRequest(req, `${url.pathname}${url.search}`);
  const { matched, response } = await svc.rpc.handle(request, {
    prefix: '/api/rpc',
    context: { user, isAdmin: () => (admin ??= user ? svc.isAdmin(user.id) : Promise.resolve(false)) },
  });
  if (!matched) return finish(ctx, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'Not Found');
  await sendResponse(ctx, response);
}

const BOT_PATH = /^\/admin\/products\/gadgetbots\/([^/]+)(\/edit)?\/?$/;

async function adminRoute(ctx: Ctx): Promise<void> {
  const { req, url, nonce } = ctx;
  const svc = await services();
  const { headers, response: session } = await svc.auth.api.getSession({ headers: headersOf(req), returnHeaders: true });
  const refreshed = headers.getSetCookie();
  ctx.cookies = FAULTS.has('session-cookie-not-persistent') ? refreshed.map(withoutPersistence) : refreshed;
  // Fault `no-session-check`: an anonymous visitor gets the admin pages as a guest.
  if (!session?.user && !FAULTS.has('no-session-check')) {
    return redirect(ctx, 307, `/login?redirect=${encodeURIComponent(url.pathname + url.search)}`);
  }
  const user: PageUser = session?.user
    ? { name: session.user.name, email: session.user.email, image: session.user.image }
    : { name: 'Guest', email: 'guest@invalid', image: null };
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (path === '/admin') return sendPage(ctx, dashboardPage(nonce, user));
  if (path === '/admin/products') {
    return sendPage(ctx, productsPage(nonce, user, await svc.bots.listForPage()));
  }
  if (path === '/admin/products/gadgetbots/new') return sendPage(ctx, newPage(nonce, user));
  const m = BOT_PATH.exec(path);
  if (m) {
    let id: string;
    try {
      id = decodeURIComponent(m[1]!);
    } catch {
      return sendPage(ctx, notFoundPage(nonce));
    }
    const bot = await svc.bots.findById(id);
    return sendPage(ctx, m[2] ? editPage(nonce, user, bot) : detailPage(nonce, user, bot));
  }
  return sendPage(ctx, notFoundPage(nonce));
}

async function route(ctx: Ctx): Promise<void> {
  const { req, url, nonce } = ctx;
  const path = url.pathname;
  if (path === '/api/auth' || path.startsWith('/api/auth/')) return authRoute(ctx);
  if (path === '/api/rpc' || path.startsWith('/api/rpc/')) return rpcRoute(ctx);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return finish(ctx, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }, 'Method Not Allowed');
  }
  if (path === '/') {
    // Fault `app-health-failing`: the container health check (GET /) fails.
    if (FAULTS.has('app-health-failing')) return sendPage(ctx, errorPage(nonce, 500));
    // The healthcheck must not pass before the app can serve sessions: a rolling update switches traffic on it.
    await services();
    return sendPage(ctx, homePage(nonce), 'no-cache');
  }
  if (path === '/login' || path === '/login/') {
    const target = url.searchParams.get('redirect');
    if (target === null) return redirect(ctx, 307, `/login?redirect=${encodeURIComponent('/admin')}`);
    return sendPage(ctx, loginPage(nonce, target || '/admin'));
  }
  if (path === '/admin' || path.startsWith('/admin/')) return adminRoute(ctx);
  return sendPage(ctx, notFoundPage(nonce));
}

// ------------------------------------------------------------------------------------------- server

let stopping = false;

const CONTROL_TOKEN = env[FAULT_CONTROL_TOKEN_ENV] || undefined;
/** The control route's switch: FAULTS is read per request, so the new set applies from the next one. */
function switchFaults(ids: string[]): string[] {
  FAULTS.clear();
  for (const id of ids) FAULTS.add(id);
  log({ event: 'faults_switched', faults: [...FAULTS] });
  return [...FAULTS];
}
const server = http.createServer((req, res) => {
  if (handleFaultControl(req, res, CONTROL_TOKEN, switchFaults)) return;
  const ctx: Ctx = { req, res, url: new URL(req.url ?? '/', 'http://app.invalid'), nonce: randomBytes(16).toString('base64') };
  route(ctx).catch((err: unknown) => {
    const status = err instanceof HttpError ? err.status : 500;
    if (status >= 500) {
      log({ event: 'request-error', method: req.method, path: ctx.url.pathname, message: err instanceof Error ? err.message.slice(0, 300) : String(err) });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (ctx.url.pathname.startsWith('/api/')) {
      json(ctx, status, { code: status === 500 ? 'INTERNAL_SERVER_ERROR' : 'REQUEST_ERROR', message: status === 500 ? 'Internal Server Error' : (err as Error).message });
    } else {
      sendPage(ctx, errorPage(ctx.nonce, status));
    }
  });
});
server.keepAliveTimeout = 5000;
server.headersTimeout = 15_000;
server.requestTimeout = 30_000;

server.on('error', (err: NodeJS.ErrnoException) => {
  log({ event: 'listen-error', code: err.code, message: err.message });
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  const addr = server.address();
  log({ event: 'listening', host: HOST, port: typeof addr === 'object' && addr ? addr.port : PORT, faults: [...FAULTS], uptimeMs: uptimeMs() });
  // Warm up after listening: loading Better Auth and the rest takes about a second.
  services().then(
    () => log({ event: 'ready', uptimeMs: uptimeMs(), ...startup }),
    (err: unknown) => log({ event: 'startup-error', message: err instanceof Error ? err.message.slice(0, 300) : String(err) }),
  );
});

function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  log({ event: 'stopping', signal });
  const hardStop = setTimeout(() => server.closeAllConnections(), 8000);
  hardStop.unref();
  server.close(() => {
    // Still loading: no connection was ever opened, nothing to close.
    const pool = loaded ? loaded.pool.end().catch(() => {}) : Promise.resolve();
    void pool.then(() => {
      log({ event: 'stopped' });
      process.exit(0);
    });
  });
  server.closeIdleConnections();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
