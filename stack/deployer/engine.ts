// The deploy engine of the embedded Coolify: a queue per resource and the deploy strategies. Deploys are real:
// an app deploy is a rolling update of real processes (new process on a new port, healthcheck, route switch at
// the edge, drain, SIGTERM the old one); the auth stack is a Docker Compose resource, which Coolify stops before
// it starts again. Each app deploy builds a new image (a new tag, as each push to main is a new commit); the
// running process carries its tag in SOURCE_COMMIT (the variable Coolify sets), so "which image serves" is read
// from the process that serves, never from a record of what was asked.
import { randomBytes } from 'node:crypto';
import type { EdgeHandle } from '../edge/index.ts';
import { has, type FaultId } from '../faults.ts';
import type { Instance, Supervisor } from './supervisor.ts';

export type DeploymentStatus = 'queued' | 'in_progress' | 'finished' | 'failed' | 'cancelled-by-user';

/** Lower-case alphanumerics starting with a letter, like Coolify's cuid2 ids. */
export function cuid(length = 24): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = alphabet[bytes[0] % 26];
  for (let i = 1; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
  return out;
}

export function laravelTime(d = new Date()): string {
  // Laravel serialises timestamps with microseconds: 2025-11-03T10:00:00.000000Z
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
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
  /** A string column in Coolify's application_deployment_queues (the OpenAPI description says so too). */
  application_id: string;
  deployment_uuid: string;
  pull_request_id: number;
  force_rebuild: boolean;
  commit: string;
  status: DeploymentStatus;
  is_webhook: boolean;
  is_api: boolean;
  restart_only: boolean;
  rollback: boolean;
  /** JSON text of LogEntry[], as Coolify stores it. */
  logs: string;
  current_process_id: string;
  application_name: string;
  server_id: number;
  server_name: string;
  deployment_url: string;
  destination_id: string;
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

export interface EngineOptions {
  edge: EdgeHandle;
  app: AppResourceOptions;
  auth: AuthResourceOptions;
  /** Read at every deploy, rollback and auth upgrade: a live set switches them while the stack runs. */
  faults: readonly FaultId[] | ReadonlySet<FaultId>;
  healthTimeoutMs: number;
  unhealthyGraceMs: number;
  drainTimeoutMs: number;
  log: (line: string) => void;
}

export type Kind = 'application' | 'service';
export type DeployKind = 'deploy' | 'restart' | 'rollback';
type Step = (line: string, type?: 'stdout' | 'stderr') => void;

export interface Resource {
  id: number;
  uuid: string;
  name: string;
  kind: Kind;
  queue: Deployment[];
  running?: Deployment;
  history: Deployment[];
  run: (d: Deployment, step: Step, how: DeployKind) => Promise<void>;
}

export interface Image { tag: string; created_at: string }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A commit sha, as Coolify tags the images it builds. */
const commitSha = () => randomBytes(20).toString('hex');
/** Coolify's container names: `<resource uuid>-<12 digits>`. */
const containerName = (uuid: string) => `${uuid}-${String(Date.now()).slice(-12)}`;

export class DeployEngine {
  readonly resources: Resource[];
  /** The app's images, oldest first. The stack starts with two: the one serving and the one before it. */
  readonly images: Image[];
  closing = false;
  #nextId = 1;
  readonly #idleWaiters = new Set<() => void>();
  readonly #initialTag: string;
  /** Fault rollback-loses-sessions: the image that ran before the rollback (it has the configured secret). */
  #forwardTag: string | undefined;
  readonly #health: { timeoutMs: number; require2xx: true; unhealthyGraceMs: number };

  constructor(private readonly o: EngineOptions) {
    this.#health = { timeoutMs: o.healthTimeoutMs, require2xx: true, unhealthyGraceMs: o.unhealthyGraceMs };
    const day = 24 * 3600_000;
    this.images = [
      { tag: commitSha(), created_at: laravelTime(new Date(Date.now() - 2 * day)) },
      { tag: commitSha(), created_at: laravelTime(new Date(Date.now() - day)) },
    ];
    this.#initialTag = this.images[1].tag;
    this.resources = [
      { id: 1, uuid: o.app.uuid, name: o.app.name, kind: 'application', queue: [], history: [], run: (d, s, how) => this.#appDeploy(d, s, how) },
      { id: 2, uuid: o.auth.uuid, name: o.auth.name, kind: 'service', queue: [], history: [], run: (d, s) => this.#composeDeploy(d, s) },
    ];
  }

  byUuid(u: string): Resource | undefined {
    return this.resources.find((r) => r.uuid === u);
  }
  all(): Deployment[] {
    return this.resources.flatMap((r) => r.history);
  }
  find(u: string): Deployment | undefined {
    return this.all().find((d) => d.deployment_uuid === u);
  }

  /** The image tag of the app process that serves (its SOURCE_COMMIT); the stack's first process runs the newest image. */
  runningTag(): string | null {
    const cur = this.o.app.supervisor.current;
    if (!cur || cur.proc.exitInfo) return null;
    return cur.env.SOURCE_COMMIT || this.#initialTag;
  }

  // --- deploy strategies -------------------------------------------------------------------------------

  /** Starts a new instance and waits for its healthcheck; an unhealthy one is stopped again and the error rethrown. */
  async #launchHealthy(sup: Supervisor, step: Step, started: (port: number) => string, unhealthy: string,
    override: Record<string, string>, uuid: string): Promise<Instance> {
    const inst = await sup.launch(override);
    step(`Container ${containerName(uuid)} Started`);
    step(started(inst.port));
    try {
      await sup.waitUp(inst, this.#health);
    } catch (e) {
      await sup.stopInstance(inst);
      step(`${unhealthy} ${(e as Error).message.split('\n')[0]}`, 'stderr');
      throw e;
    }
    return inst;
  }

  #serve(sup: Supervisor, host: string, inst: Instance): void {
    sup.current = inst;
    this.o.edge.routes.setUpstream(host, inst.upstream);
  }

  /** Which image a deployment rolls out, and a log of how it got it. */
  #imageFor(d: Deployment, step: Step, how: DeployKind): string {
    if (how === 'rollback') {
      step(`Rolling back to image ${d.commit}.`);
      return d.commit;
    }
    if (how === 'restart') {
      const tag = this.runningTag() ?? this.#initialTag;
      step(`Restarting with the running image ${tag}.`);
      return (d.commit = tag);
    }
    const tag = commitSha();
    d.commit = tag;
    step(`Building docker image for commit ${tag}.`);
    this.images.push({ tag, created_at: laravelTime() });
    step('Building docker image completed.');
    return tag;
  }

  async #appDeploy(d: Deployment, step: Step, how: DeployKind): Promise<void> {
    const app = this.o.app;
    const sup = app.supervisor;
    if (how === 'deploy' && has(this.o.faults, 'redeploy-noop')) {
      step('Pulling latest changes.');
      return step('Deployment is up to date.');
    }
    if (how === 'rollback' && has(this.o.faults, 'rollback-no-switch')) {
      return step(`Rolling back to image ${d.commit}.`);
    }
    const tag = this.#imageFor(d, step, how);
    const old = sup.current;
    const override: Record<string, string> = { SOURCE_COMMIT: tag };
    if (app.rotateSecret) {
      override.BETTER_AUTH_SECRET = randomBytes(32).toString('base64url');
      app.onSecretRotated?.(override.BETTER_AUTH_SECRET);
      step('Environment changed: BETTER_AUTH_SECRET regenerated.');
    } else if (how === 'rollback' && has(this.o.faults, 'rollback-loses-sessions')) {
      // An earlier image was built with another BETTER_AUTH_SECRET baked in: its sessions are not today's.
      // Rolling forward to the image that ran before the rollback brings the configured secret (and the sessions) back.
      this.#forwardTag ??= this.runningTag() ?? undefined;
      if (tag !== this.#forwardTag) override.BETTER_AUTH_SECRET = `baked-into-${tag}`;
      else this.#forwardTag = undefined;
    }
    if (app.stopStart) {
      step('Rolling update is not possible for this resource; stopping the running container first.');
      if (old) {
        // The router loses its server as the container goes down: new requests get 503 from now on.
        this.o.edge.routes.setUpstream(app.host, null);
        await sup.stopInstance(old);
        step(`Old container (port ${old.port}) stopped.`);
      }
      step(`Waiting ${app.redeployGapMs} ms (image pull and container creation).`);
      await sleep(app.redeployGapMs);
      if (this.closing) throw new Error('deployer closing');
      const inst = await this.#launchHealthy(sup, step, (port) => `New container started on port ${port}; waiting for the healthcheck.`,
        'Healthcheck failed:', override, app.uuid);
      step('New container started.');
      this.#serve(sup, app.host, inst);
      return step('Healthcheck passed; new container is serving.');
    }
    step('Rolling update started.');
    const inst = await this.#launchHealthy(sup, step, (port) => `New container on port ${port}; waiting for the healthcheck.`,
      'New container is unhealthy, rolling update aborted; the old container keeps serving.', override, app.uuid);
    if (this.closing) {
      await sup.stopInstance(inst);
      throw new Error('deployer closing');
    }
    step('New container started.');
    this.#serve(sup, app.host, inst);
    step('Healthcheck passed; traffic switched to the new container.');
    if (old) {
      const drained = await this.o.edge.drain(old.upstream, this.o.drainTimeoutMs);
      step(drained ? 'Old container drained.' : `Old container still had requests in flight after ${this.o.drainTimeoutMs} ms.`, drained ? 'stdout' : 'stderr');
      await sup.stopInstance(old);
      step(`Old container (port ${old.port}) stopped.`);
    }
    step('Rolling update completed.');
  }

  async #composeDeploy(_d: Deployment, step: Step): Promise<void> {
    const auth = this.o.auth;
    const sup = auth.supervisor;
    if (has(this.o.faults, 'auth-upgrade-no-restart')) {
      step('Pulling images.');
      return step('Stack is up to date.');
    }
    const old = sup.current;
    step('Docker Compose resource: stopping the running stack.');
    if (old) {
      this.o.edge.routes.setUpstream(auth.host, null);
      await sup.stopInstance(old);
      step(`Old stack (port ${old.port}) stopped.`);
    }
    await sleep(auth.pauseMs);
    if (this.closing) throw new Error('deployer closing');
    const inst = await this.#launchHealthy(sup, step, (port) => `Stack started on port ${port}; waiting for the healthcheck.`, 'Healthcheck failed:', {}, auth.uuid);
    this.#serve(sup, auth.host, inst);
    step('Stack is healthy and serving.');
  }

  // --- queue ---------------------------------------------------------------------------------------------

  #checkIdle(): void {
    if (this.resources.every((r) => !r.running && r.queue.length === 0)) {
      for (const w of this.#idleWaiters) w();
      this.#idleWaiters.clear();
    }
  }

  idle(): Promise<void> {
    if (this.resources.every((r) => !r.running && r.queue.length === 0)) return Promise.resolve();
    return new Promise<void>((r) => this.#idleWaiters.add(r));
  }

  setStatus(d: Deployment, status: DeploymentStatus): void {
    d.status = status;
    d.updated_at = laravelTime();
    if (status === 'finished' || status === 'failed' || status === 'cancelled-by-user') d.finished_at = d.updated_at;
  }

  #pump(r: Resource, how: Map<Deployment, DeployKind>): void {
    if (r.running || this.closing) return;
    const d = r.queue.shift();
    if (!d) return this.#checkIdle();
    r.running = d;
    this.setStatus(d, 'in_progress');
    const entries: LogEntry[] = [];
    const step: Step = (output, type = 'stdout') => {
      entries.push({ command: null, output, type, timestamp: laravelTime(), hidden: false, batch: 1, order: entries.length + 1 });
      d.logs = JSON.stringify(entries);
      d.updated_at = laravelTime();
      this.o.log(`deployer: ${r.name} ${d.deployment_uuid}: ${output}`);
    };
    step(`Starting deployment of ${r.name}.`);
    const t0 = Date.now();
    r.run(d, step, how.get(d) ?? 'deploy')
      .then(
        () => {
          step(`Deployment finished in ${Date.now() - t0} ms.`);
          this.setStatus(d, 'finished');
        },
        (e: Error) => {
          step(`Deployment failed: ${e.message.split('\n')[0]}`, 'stderr');
          this.setStatus(d, 'failed');
        },
      )
      .finally(() => {
        r.running = undefined;
        how.delete(d);
        this.#pump(r, how);
        this.#checkIdle();
      });
  }

  readonly #how = new Map<Deployment, DeployKind>();

  /** One deployment may run and one wait behind it; a third is refused (429). */
  full(r: Resource): boolean {
    return (r.running ? 1 : 0) + r.queue.length >= 2;
  }

  /** Queues a deployment; undefined when the queue is full. */
  enqueue(r: Resource, opts: { force: boolean; how: DeployKind; commit?: string }): Deployment | undefined {
    if (this.full(r)) return undefined;
    const now = laravelTime();
    const uuid = cuid(24);
    const d: Deployment = {
      id: this.#nextId++, application_id: String(r.id), deployment_uuid: uuid, pull_request_id: 0, force_rebuild: opts.force,
      commit: opts.commit ?? 'HEAD', status: 'queued', is_webhook: false, is_api: true,
      restart_only: opts.how === 'restart', rollback: opts.how === 'rollback', logs: '[]', current_process_id: String(process.pid),
      application_name: r.name, server_id: 0, server_name: 'localhost',
      deployment_url: `/project/stack/environment/production/${r.kind}/${r.uuid}/deployment/${uuid}`,
      destination_id: '0', created_at: now, updated_at: now, finished_at: null,
    };
    r.queue.push(d);
    r.history.push(d);
    this.#how.set(d, opts.how);
    // Like Coolify's queue worker: the job starts right after the request that queued it.
    setImmediate(() => this.#pump(r, this.#how));
    return d;
  }

  cancel(d: Deployment): boolean {
    const r = this.resources.find((x) => String(x.id) === d.application_id)!;
    if (d.status !== 'queued') return false;
    r.queue = r.queue.filter((x) => x !== d);
    this.setStatus(d, 'cancelled-by-user');
    this.#checkIdle();
    return true;
  }

  close(): void {
    this.closing = true;
    for (const r of this.resources) {
      for (const d of r.queue) this.setStatus(d, 'cancelled-by-user');
      r.queue = [];
    }
  }
}
