// The HTTP API of the embedded Coolify: routes, bearer tokens and their abilities, request validation, and the
// answers of today's Coolify (v4.3.10): state-changing endpoints are POST only (a GET answers 405 with Coolify's
// message and Allow: POST), bodies shaped as its OpenAPI description and code say. The deploy engine (engine.ts)
// and the backups (backups.ts) do the work; this file only speaks the protocol.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { BackupStore } from './backups.ts';
import type { DeployEngine, Resource } from './engine.ts';

export const COOLIFY_VERSION = '4.3.10';
export const POST_ONLY_MESSAGE = 'This endpoint has changed to a POST request.';

export type Ability = 'read' | 'read:sensitive' | 'write' | 'deploy' | 'root';
export interface ApiToken { token: string; abilities: Ability[] }

export interface ApiOptions {
  engine: DeployEngine;
  backups?: BackupStore;
  tokens: ApiToken[];
  appHost: string;
  /** Seconds a client is told to wait (429 Retry-After). */
  retryAfter: string;
  healthFailing: boolean;
  log: (line: string) => void;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private', ...headers });
  res.end(text);
}

function text(res: ServerResponse, status: number, body: string, type = 'text/html; charset=UTF-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache, private' });
  res.end(body);
}

const LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Coolify</title></head>
<body><main><h1>Coolify</h1><form method="POST" action="/login"><label>Email <input type="email" name="email"></label>
<label>Password <input type="password" name="password"></label><button type="submit">Login</button></form></main></body></html>
`;

/** Paths whose GET Coolify v4.3.9+ answers 405 (state-changing endpoints became POST only). */
const POST_ONLY = [/^\/api\/v1\/deploy$/, /^\/api\/v1\/(applications|databases|services)\/[^/]+\/(restart|start|stop)$/];

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) return undefined;
    chunks.push(c);
  }
  const raw = Buffer.concat(chunks).toString('utf8').trim();
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  path: string;
  method: string;
  abilities: Ability[];
}

function rollbackImages(o: ApiOptions, c: Ctx, r: Resource | undefined): void {
  if (!r || r.kind !== 'application') return json(c.res, 404, { message: 'Application not found.' });
  const current = o.engine.runningTag();
  const images = [...o.engine.images].reverse().map((i) => ({ tag: i.tag, created_at: i.created_at, is_current: i.tag === current }));
  return json(c.res, 200, { current, images });
}

function application(o: ApiOptions, c: Ctx, r: Resource | undefined): void {
  if (!r || r.kind !== 'application') return json(c.res, 404, { message: 'Application not found.' });
  const tag = o.engine.runningTag();
  return json(c.res, 200, {
    uuid: r.uuid, name: r.name, fqdn: `https://${o.appHost}`, status: tag ? 'running:healthy' : 'exited:unhealthy',
    git_commit_sha: 'HEAD', build_pack: 'dockerfile', ports_exposes: '3000', health_check_enabled: true, health_check_path: '/',
  });
}

async function backups(o: ApiOptions, c: Ctx, dbUuid: string, backupUuid?: string): Promise<void> {
  const store = o.backups;
  const db = store?.database(dbUuid);
  if (!store || !db) return json(c.res, 404, { message: 'Database not found.' });
  // The start-up dumps take a second; answering before they end would show "running" to a check at start.
  await Promise.race([store.ready, new Promise((r) => setTimeout(r, 60_000))]);
  const schedule = store.schedules.get(dbUuid)!;
  if (backupUuid === undefined) return json(c.res, 200, [schedule]);
  if (backupUuid !== schedule.uuid) return json(c.res, 404, { message: 'Backup configuration not found.' });
  return json(c.res, 200, { executions: schedule.executions });
}

export function createApi(o: ApiOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const tokens = o.tokens.map((t) => ({ buf: Buffer.from(t.token), abilities: t.abilities }));

  function abilitiesOf(req: IncomingMessage): Ability[] | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const given = Buffer.from(m[1].trim());
    return tokens.find((t) => t.buf.length === given.length && timingSafeEqual(t.buf, given))?.abilities;
  }

  /** Sanctum's `api.ability:<x>` middleware: root may do anything. */
  const can = (c: Ctx, need: Ability) => c.abilities.includes(need) || c.abilities.includes('root');
  const refuse = (c: Ctx) => json(c.res, 403, { message: 'Invalid ability provided.' });
  const queueFull = (c: Ctx) => json(c.res, 429, { message: 'A deployment of this resource is already queued. Try again later.' }, { 'retry-after': o.retryAfter });

  async function deploy(c: Ctx): Promise<void> {
    if (!can(c, 'deploy')) return refuse(c);
    const body = await readJson(c.req);
    if (!body) return json(c.res, 400, { message: 'Invalid JSON body.' });
    const param = (k: string) => c.url.searchParams.get(k) ?? (body[k] === undefined ? null : String(body[k]));
    const uuids = (param('uuid') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const tag = param('tag');
    if (uuids.length && tag) return json(c.res, 400, { message: 'You can only use uuid or tag, not both.' });
    if (tag) return json(c.res, 404, { message: 'No resources found with this tag.' });
    if (!uuids.length) return json(c.res, 400, { message: 'You must provide uuid or tag.' });
    const force = ['true', '1'].includes((param('force') ?? 'false').toLowerCase());
    const found = uuids.map((u) => o.engine.byUuid(u)).filter((r): r is Resource => r !== undefined);
    if (!found.length) return json(c.res, 404, { message: 'No resources found.' });
    if (found.some((r) => o.engine.full(r))) return queueFull(c);
    const deployments = found.map((r) => {
      const d = o.engine.enqueue(r, { force, how: 'deploy' })!;
      const message = r.kind === 'application' ? `Application ${r.name} deployment queued.` : `Service ${r.name} started. It could take a while, be patient.`;
      return { message, resource_uuid: r.uuid, deployment_uuid: d.deployment_uuid };
    });
    return json(c.res, 200, { deployments });
  }

  async function rollback(c: Ctx, r: Resource | undefined): Promise<void> {
    if (!can(c, 'deploy')) return refuse(c);
    if (!r || r.kind !== 'application') return json(c.res, 404, { message: 'Application not found.' });
    const body = await readJson(c.req);
    const commit = typeof body?.commit === 'string' ? body.commit.trim() : '';
    if (!commit) return json(c.res, 422, { message: 'Validation failed.', errors: { commit: ['The commit field is required.'] } });
    if (!o.engine.images.some((i) => i.tag === commit)) {
      return json(c.res, 422, { message: 'Validation failed.', errors: { commit: [`No image with tag ${commit} found for this application.`] } });
    }
    const d = o.engine.enqueue(r, { force: false, how: 'rollback', commit });
    if (!d) return json(c.res, 400, { message: 'Deployment queue full. Please try again later.' });
    return json(c.res, 200, { message: `Rollback to ${commit} queued.`, deployment_uuid: d.deployment_uuid });
  }

  async function v1(c: Ctx): Promise<void> {
    const { path, method } = c;
    const get = method === 'GET' || method === 'HEAD';
    const post = method === 'POST';
    let m: RegExpExecArray | null;
    if (get && !can(c, 'read')) return refuse(c);
    if (path === '/api/v1/version' && get) return text(c.res, 200, COOLIFY_VERSION);
    if (path === '/api/v1/deploy' && post) return deploy(c);
    if (path === '/api/v1/deployments' && get) {
      return json(c.res, 200, o.engine.all().filter((d) => d.status === 'queued' || d.status === 'in_progress'));
    }
    if ((m = /^\/api\/v1\/deployments\/applications\/([^/]+)$/.exec(path)) && get) {
      const r = o.engine.byUuid(m[1]);
      if (!r) return json(c.res, 404, { message: 'Application not found' });
      const skip = Math.max(0, Number(c.url.searchParams.get('skip') ?? 0) || 0);
      const take = Math.max(1, Number(c.url.searchParams.get('take') ?? 10) || 10);
      const newestFirst = [...r.history].reverse();
      return json(c.res, 200, { count: newestFirst.length, deployments: newestFirst.slice(skip, skip + take) });
    }
    if ((m = /^\/api\/v1\/deployments\/([^/]+)\/cancel$/.exec(path)) && post) {
      if (!can(c, 'deploy')) return refuse(c);
      const d = o.engine.find(m[1]);
      if (!d) return json(c.res, 404, { message: 'Deployment not found.' });
      if (!o.engine.cancel(d)) return json(c.res, 400, { message: `Deployment cannot be cancelled. Current status: ${d.status}` });
      return json(c.res, 200, { message: 'Deployment cancelled successfully.', deployment_uuid: d.deployment_uuid, status: d.status });
    }
    if ((m = /^\/api\/v1\/deployments\/([^/]+)$/.exec(path)) && get) {
      const d = o.engine.find(m[1]);
      return d ? json(c.res, 200, d) : json(c.res, 404, { message: 'Deployment not found.' });
    }
    if ((m = /^\/api\/v1\/applications\/([^/]+)\/restart$/.exec(path)) && post) {
      if (!can(c, 'deploy')) return refuse(c);
      const r = o.engine.byUuid(m[1]);
      if (!r || r.kind !== 'application') return json(c.res, 404, { message: 'Application not found.' });
      const d = o.engine.enqueue(r, { force: false, how: 'restart' });
      if (!d) return queueFull(c);
      return json(c.res, 200, { message: 'Restart request queued.', deployment_uuid: d.deployment_uuid });
    }
    if ((m = /^\/api\/v1\/applications\/([^/]+)\/rollback-images$/.exec(path)) && get) return rollbackImages(o, c, o.engine.byUuid(m[1]));
    if ((m = /^\/api\/v1\/applications\/([^/]+)\/rollback$/.exec(path)) && post) return rollback(c, o.engine.byUuid(m[1]));
    if ((m = /^\/api\/v1\/applications\/([^/]+)$/.exec(path)) && get) return application(o, c, o.engine.byUuid(m[1]));
    if ((m = /^\/api\/v1\/databases\/([^/]+)\/backups$/.exec(path)) && get) return backups(o, c, m[1]);
    if ((m = /^\/api\/v1\/databases\/([^/]+)\/backups\/([^/]+)\/executions$/.exec(path)) && get) return backups(o, c, m[1], m[2]);
    return json(c.res, 404, { message: 'Not found.', docs: 'https://coolify.io/docs' });
  }

  return async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://deployer.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (path === '/api/health' || path === '/api/v1/health') {
      // Coolify's health route is a bare 'OK'; a broken instance (database or Redis down) fails it with a 503.
      return o.healthFailing ? text(res, 503, 'Service Unavailable', 'text/plain; charset=UTF-8') : text(res, 200, 'OK');
    }
    if (!path.startsWith('/api/')) {
      if (path === '/') {
        res.writeHead(302, { location: '/login', 'content-type': 'text/html; charset=UTF-8' });
        return void res.end();
      }
      if (path === '/login' && method === 'GET') return text(res, 200, LOGIN_PAGE);
      return text(res, 404, '<!DOCTYPE html><html><head><title>Not Found</title></head><body>404 | Not Found</body></html>');
    }
    if (!path.startsWith('/api/v1/')) return json(res, 404, { message: 'Not found.', docs: 'https://coolify.io/docs' });
    // Routing comes before authentication, as in Laravel: a GET on a POST-only endpoint is a 405 for anyone.
    if ((method === 'GET' || method === 'HEAD') && POST_ONLY.some((re) => re.test(path))) {
      return json(res, 405, { message: POST_ONLY_MESSAGE }, { allow: 'POST' });
    }
    const abilities = abilitiesOf(req);
    if (!abilities) return json(res, 401, { message: 'Unauthenticated.' });
    return v1({ req, res, url, path, method, abilities });
  };
}
