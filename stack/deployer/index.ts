// A Coolify-compatible deployer (the part of Coolify's API the suite uses), serving behind the edge on
// the deployer host. Deploys are real: an app deploy is a rolling update of real processes (new process on
// a new port, healthcheck, route switch at the edge, drain, SIGTERM the old one); the auth stack is a
// Docker Compose resource, which Coolify stops before it starts again.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { EdgeHandle } from '../edge/index.ts';
import type { Instance, Supervisor } from './supervisor.ts';

export const COOLIFY_VERSION = '4.0.0-beta.stack';

export type DeploymentStatus = 'queued' | 'in_progress' | 'finished' | 'failed' | 'cancelled-by-user';

/** Lower-case alphanumerics starting with a letter, like Coolify's cuid2 ids. */
export function cuid(length = 24): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = alphabet[bytes[0] % 26];
  for (let i = 1; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
  return out;
}

interface LogEntry {
  command: null;
  output: string;
  type: 'stdout' | 'stderr';
  timestamp: string;
  hidden: boolean;
  batch: number;
  order: number;
}

export interface Deployment {
  id: number;
  application_id: number;
  deployment_uuid: string;
  pull_request_id: number;
  force_rebuild: boolean;
  commit: string;
  status: DeploymentStatus;
  is_webhook: boolean;
  is_api: boolean;
  restart_only: boolean;
  /** JSON text of LogEntry[], as Coolify stores it. */
  logs: string;
  current_process_id: null;
  application_name: string;
  server_id: number;
  server_name: string;
  deployment_url: string;
  destination_id: number;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface AppResourceOptions {
  uuid: string;
  name: string;
  /** Edge route host. */
  host: string;
  supervisor: Supervisor;
  /** Fault redeploy-loses-sessions: each deploy gets a new BETTER_AUTH_SECRET. */
  rotateSecret: boolean;
  /** Fault redeploy-stop-start: stop the old process, wait `redeployGapMs`, then start. */
  stopStart: boolean;
  redeployGapMs: number;
  /** Called with a new secret when a deploy rotates it, so later starts keep it. */
  onSecretRotated?: (secret: string) => void;
}

export interface AuthResourceOptions {
  uuid: string;
  name: string;
  host: string;
  supervisor: Supervisor;
  pauseMs: number;
}

export interface DeployerOptions {
  host: string;
  port?: number;
  token: string;
  edge: EdgeHandle;
  app: AppResourceOptions;
  auth: AuthResourceOptions;
  healthTimeoutMs?: number;
  /** How long a new process may answer non-2xx before it counts as unhealthy (Docker's start period); default 20 s:
   *  the auth server answers 503 on /debug/ready until its DB set-up is done, which takes seconds under load. */
  unhealthyGraceMs?: number;
  drainTimeoutMs?: number;
  /** Seconds a client is told to wait (429 Retry-After). */
  retryAfterSeconds?: number;
  /** Fault deployer-health-failing: `GET /api/health` answers 503; the rest of the API keeps working. */
  healthFailing?: boolean;
  log?: (line: string) => void;
}

export interface DeployerHandle {
  host: string;
  port: number;
  deployments(): Deployment[];
  /** Resolves once no deployment is queued or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

type Kind = 'application' | 'service';

interface Resource {
  id: number;
  uuid: string;
  name: string;
  kind: Kind;
  queue: Deployment[];
  running?: Deployment;
  history: Deployment[];
  run: (d: Deployment, log: (line: string, type?: 'stdout' | 'stderr') => void) => Promise<void>;
}

function laravelTime(d = new Date()): string {
  // Laravel serialises timestamps with microseconds: 2025-11-03T10:00:00.000000Z
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
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

export async function startDeployer(o: DeployerOptions): Promise<DeployerHandle> {
  const log = o.log ?? (() => undefined);
  const healthTimeoutMs = o.healthTimeoutMs ?? 30_000;
  const drainTimeoutMs = o.drainTimeoutMs ?? 10_000;
  const health = { timeoutMs: healthTimeoutMs, require2xx: true, unhealthyGraceMs: o.unhealthyGraceMs ?? 20_000 };
  const retryAfter = String(o.retryAfterSeconds ?? 5);
  const tokenBuf = Buffer.from(o.token);
  let closing = false;
  let nextId = 1;
  const idleWaiters = new Set<() => void>();

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  type Step = (l: string, t?: 'stdout' | 'stderr') => void;

  /** Starts a new instance and waits for its healthcheck; an unhealthy one is stopped again and the error rethrown. */
  async function launchHealthy(sup: Supervisor, step: Step, started: (port: number) => string, unhealthy: string,
    override: Record<string, string> = {}): Promise<Instance> {
    const inst = await sup.launch(override);
    step(started(inst.port));
    try {
      await sup.waitUp(inst, health);
    } catch (e) {
      await sup.stopInstance(inst);
      step(`${unhealthy} ${(e as Error).message.split('\n')[0]}`, 'stderr');
      throw e;
    }
    return inst;
  }

  function serve(sup: Supervisor, host: string, inst: Instance): void {
    sup.current = inst;
    o.edge.routes.setUpstream(host, inst.upstream);
  }

  // --- deploy strategies -------------------------------------------------------------------------------

  async function rollingAppDeploy(d: Deployment, step: (l: string, t?: 'stdout' | 'stderr') => void): Promise<void> {
    const sup = o.app.supervisor;
    const old = sup.current;
    const override: Record<string, string> = {};
    if (o.app.rotateSecret) {
      override.BETTER_AUTH_SECRET = randomBytes(32).toString('base64url');
      o.app.onSecretRotated?.(override.BETTER_AUTH_SECRET);
      step('Environment changed: BETTER_AUTH_SECRET regenerated.');
    }
    if (o.app.stopStart) {
      step('Rolling update is not possible for this resource; stopping the running container first.');
      if (old) {
        // The router loses its server as the container goes down: new requests get 503 from now on.
        o.edge.routes.setUpstream(o.app.host, null);
        await sup.stopInstance(old);
        step(`Old container (port ${old.port}) stopped.`);
      }
      step(`Waiting ${o.app.redeployGapMs} ms (image pull and container creation).`);
      await sleep(o.app.redeployGapMs);
      if (closing) throw new Error('deployer closing');
      const inst = await launchHealthy(sup, step, (port) => `New container started on port ${port}; waiting for the healthcheck.`,
        'Healthcheck failed:', override);
      serve(sup, o.app.host, inst);
      step('Healthcheck passed; new container is serving.');
      return;
    }

    const inst = await launchHealthy(sup, step, (port) => `Rolling update started: new container on port ${port}; waiting for the healthcheck.`,
      'New container is unhealthy, rolling update aborted; the old container keeps serving.', override);
    if (closing) {
      await sup.stopInstance(inst);
      throw new Error('deployer closing');
    }
    serve(sup, o.app.host, inst);
    step('Healthcheck passed; traffic switched to the new container.');
    if (old) {
      const drained = await o.edge.drain(old.upstream, drainTimeoutMs);
      step(drained ? 'Old container drained.' : `Old container still had requests in flight after ${drainTimeoutMs} ms.`, drained ? 'stdout' : 'stderr');
      await sup.stopInstance(old);
      step(`Old container (port ${old.port}) stopped.`);
    }
  }

  async function composeAuthDeploy(_d: Deployment, step: (l: string, t?: 'stdout' | 'stderr') => void): Promise<void> {
    const sup = o.auth.supervisor;
    const old = sup.current;
    step('Docker Compose resource: stopping the running stack.');
    if (old) {
      o.edge.routes.setUpstream(o.auth.host, null);
      await sup.stopInstance(old);
      step(`Old stack (port ${old.port}) stopped.`);
    }
    await sleep(o.auth.pauseMs);
    if (closing) throw new Error('deployer closing');
    const inst = await launchHealthy(sup, step, (port) => `Stack started on port ${port}; waiting for the healthcheck.`, 'Healthcheck failed:');
    serve(sup, o.auth.host, inst);
    step('Stack is healthy and serving.');
  }

  const resources: Resource[] = [
    { id: 1, uuid: o.app.uuid, name: o.app.name, kind: 'application', queue: [], history: [], run: rollingAppDeploy },
    { id: 2, uuid: o.auth.uuid, name: o.auth.name, kind: 'service', queue: [], history: [], run: composeAuthDeploy },
  ];
  const byUuid = (u: string) => resources.find((r) => r.uuid === u);
  const allDeployments = () => resources.flatMap((r) => r.history);
  const findDeployment = (u: string) => allDeployments().find((d) => d.deployment_uuid === u);

  function checkIdle(): void {
    if (resources.every((r) => !r.running && r.queue.length === 0)) {
      for (const w of idleWaiters) w();
      idleWaiters.clear();
    }
  }

  function setStatus(d: Deployment, status: DeploymentStatus): void {
    d.status = status;
    d.updated_at = laravelTime();
    if (status === 'finished' || status === 'failed' || status === 'cancelled-by-user') d.finished_at = d.updated_at;
  }

  function pump(r: Resource): void {
    if (r.running || closing) return;
    const d = r.queue.shift();
    if (!d) return checkIdle();
    r.running = d;
    setStatus(d, 'in_progress');
    const entries: LogEntry[] = [];
    const step = (output: string, type: 'stdout' | 'stderr' = 'stdout') => {
      entries.push({ command: null, output, type, timestamp: laravelTime(), hidden: false, batch: 1, order: entries.length + 1 });
      d.logs = JSON.stringify(entries);
      d.updated_at = laravelTime();
      log(`deployer: ${r.name} ${d.deployment_uuid}: ${output}`);
    };
    step(`Starting deployment of ${r.name}.`);
    const t0 = Date.now();
    r.run(d, step)
      .then(
        () => {
          step(`Deployment finished in ${Date.now() - t0} ms.`);
          setStatus(d, 'finished');
        },
        (e: Error) => {
          step(`Deployment failed: ${e.message.split('\n')[0]}`, 'stderr');
          setStatus(d, 'failed');
        },
      )
      .finally(() => {
        r.running = undefined;
        pump(r);
        checkIdle();
      });
  }

  /** One deployment may run and one wait behind it; a third is refused (429). */
  const full = (r: Resource) => (r.running ? 1 : 0) + r.queue.length >= 2;

  /** Queues a deployment; undefined when the queue is full. */
  function enqueue(r: Resource, opts: { force: boolean; restartOnly: boolean }): Deployment | undefined {
    if (full(r)) return undefined;
    const now = laravelTime();
    const uuid = cuid(24);
    const d: Deployment = {
      id: nextId++,
      application_id: r.id,
      deployment_uuid: uuid,
      pull_request_id: 0,
      force_rebuild: opts.force,
      commit: 'HEAD',
      status: 'queued',
      is_webhook: false,
      is_api: true,
      restart_only: opts.restartOnly,
      logs: '[]',
      current_process_id: null,
      application_name: r.name,
      server_id: 0,
      server_name: 'localhost',
      deployment_url: `/project/stack/environment/production/${r.kind}/${r.uuid}/deployment/${uuid}`,
      destination_id: 0,
      created_at: now,
      updated_at: now,
      finished_at: null,
    };
    r.queue.push(d);
    r.history.push(d);
    // Like Coolify's queue worker: the job starts right after the request that queued it.
    setImmediate(() => pump(r));
    return d;
  }

  // --- HTTP ----------------------------------------------------------------------------------------------

  function authorized(req: IncomingMessage): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1].trim());
    return given.length === tokenBuf.length && timingSafeEqual(given, tokenBuf);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
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
    if (!authorized(req)) return json(res, 401, { message: 'Unauthenticated.' });

    const get = method === 'GET' || method === 'HEAD';
    const getOrPost = get || method === 'POST';
    let m: RegExpExecArray | null;

    if (path === '/api/v1/version' && get) return text(res, 200, COOLIFY_VERSION);

    if (path === '/api/v1/deploy' && getOrPost) {
      const uuids = (url.searchParams.get('uuid') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const tag = url.searchParams.get('tag');
      if (uuids.length && tag) return json(res, 400, { message: 'You can only use uuid or tag, not both.' });
      if (tag) return json(res, 404, { message: 'No resources found with this tag.' });
      if (!uuids.length) return json(res, 400, { message: 'You must provide uuid or tag.' });
      const force = ['true', '1'].includes((url.searchParams.get('force') ?? 'false').toLowerCase());
      const found = uuids.map(byUuid).filter((r): r is Resource => r !== undefined);
      if (!found.length) return json(res, 404, { message: 'No resources found.' });
      if (found.some(full)) {
        return json(res, 429, { message: 'A deployment of this resource is already queued. Try again later.' }, { 'retry-after': retryAfter });
      }
      const deployments = found.map((r) => {
        const d = enqueue(r, { force, restartOnly: false })!;
        const message =
          r.kind === 'application' ? `Application ${r.name} deployment queued.` : `Service ${r.name} started. It could take a while, be patient.`;
        return { message, resource_uuid: r.uuid, deployment_uuid: d.deployment_uuid };
      });
      return json(res, 200, { deployments });
    }

    if (path === '/api/v1/deployments' && get) {
      return json(res, 200, allDeployments().filter((d) => d.status === 'queued' || d.status === 'in_progress'));
    }

    if ((m = /^\/api\/v1\/deployments\/applications\/([^/]+)$/.exec(path)) && get) {
      const r = byUuid(m[1]);
      if (!r) return json(res, 404, { message: 'Application not found' });
      const skip = Math.max(0, Number(url.searchParams.get('skip') ?? 0) || 0);
      const take = Math.max(1, Number(url.searchParams.get('take') ?? 10) || 10);
      const newestFirst = [...r.history].reverse();
      return json(res, 200, { count: newestFirst.length, deployments: newestFirst.slice(skip, skip + take) });
    }

    if ((m = /^\/api\/v1\/deployments\/([^/]+)\/cancel$/.exec(path)) && method === 'POST') {
      const d = findDeployment(m[1]);
      if (!d) return json(res, 404, { message: 'Deployment not found.' });
      if (d.status !== 'queued') return json(res, 400, { message: `Deployment cannot be cancelled. Current status: ${d.status}` });
      const r = resources.find((x) => x.id === d.application_id)!;
      r.queue = r.queue.filter((x) => x !== d);
      setStatus(d, 'cancelled-by-user');
      checkIdle();
      return json(res, 200, { message: 'Deployment cancelled successfully.', deployment_uuid: d.deployment_uuid, status: d.status });
    }

    if ((m = /^\/api\/v1\/deployments\/([^/]+)$/.exec(path)) && get) {
      const d = findDeployment(m[1]);
      if (!d) return json(res, 404, { message: 'Deployment not found.' });
      return json(res, 200, d);
    }

    if ((m = /^\/api\/v1\/applications\/([^/]+)\/restart$/.exec(path)) && getOrPost) {
      const r = byUuid(m[1]);
      if (!r || r.kind !== 'application') return json(res, 404, { message: 'Application not found.' });
      const d = enqueue(r, { force: false, restartOnly: true });
      if (!d) return json(res, 429, { message: 'A deployment of this resource is already queued. Try again later.' }, { 'retry-after': retryAfter });
      return json(res, 200, { message: 'Restart request queued.', deployment_uuid: d.deployment_uuid });
    }

    if ((m = /^\/api\/v1\/applications\/([^/]+)$/.exec(path)) && get) {
      const r = byUuid(m[1]);
      if (!r || r.kind !== 'application') return json(res, 404, { message: 'Application not found.' });
      const cur: Instance | undefined = o.app.supervisor.current;
      return json(res, 200, {
        uuid: r.uuid,
        name: r.name,
        fqdn: `https://${o.app.host}`,
        status: cur && !cur.proc.exitInfo ? 'running:healthy' : 'exited:unhealthy',
        health_check_enabled: true,
        health_check_path: '/',
      });
    }

    return json(res, 404, { message: 'Not found.', docs: 'https://coolify.io/docs' });
  }

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      log(`deployer: ${(e as Error).message}`);
      if (!res.headersSent) json(res, 500, { message: 'Server Error' });
      else res.destroy();
    }
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: o.host, port: o.port ?? 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  return {
    host: o.host,
    port,
    deployments: allDeployments,
    idle() {
      if (resources.every((r) => !r.running && r.queue.length === 0)) return Promise.resolve();
      return new Promise<void>((r) => idleWaiters.add(r));
    },
    close() {
      closed ??= (async () => {
        closing = true;
        for (const r of resources) {
          for (const d of r.queue) setStatus(d, 'cancelled-by-user');
          r.queue = [];
        }
        const done = new Promise<void>((r) => server.close(() => r()));
        for (const s of sockets) s.destroy();
        await done;
      })();
      return closed;
    },
  };
}
