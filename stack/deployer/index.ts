// A Coolify-compatible deployer (the part of Coolify's API the suite uses), serving behind the edge on the
// deployer host: the HTTP API (api.ts) over the deploy engine (engine.ts: rolling updates, stop-start, image
// history, rollbacks) and the databases' scheduled backups (backups.ts: real dumps at start).
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { EdgeHandle } from '../edge/index.ts';
import type { FaultId } from '../faults.ts';
import { createApi, type ApiToken } from './api.ts';
import { BackupStore, type DatabaseResource } from './backups.ts';
import { cuid, DeployEngine, type AppResourceOptions, type AuthResourceOptions, type Deployment } from './engine.ts';

export { COOLIFY_VERSION, POST_ONLY_MESSAGE, type Ability, type ApiToken } from './api.ts';
export type { DatabaseResource } from './backups.ts';
export { cuid, type AppResourceOptions, type AuthResourceOptions, type Deployment, type DeploymentStatus } from './engine.ts';

export interface DeployerOptions {
  host: string;
  port?: number;
  /** The stack's API token; it has the abilities "read" and "deploy" (the least the suite needs). */
  token: string;
  /** More tokens with their own abilities (self-tests of 403 handling). */
  extraTokens?: ApiToken[];
  edge: EdgeHandle;
  app: AppResourceOptions;
  auth: AuthResourceOptions;
  /** The stack's faults; the deployer's own (redeploy-noop, rollback-*, backup-*, ...) are read here. */
  faults?: readonly FaultId[] | ReadonlySet<FaultId>;
  /** Database resources whose scheduled backups the deployer keeps (dumped for real at start). */
  databases?: DatabaseResource[];
  /** Where the dumps go; default a temporary folder removed by close(). */
  backupDir?: string;
  /** The start-up dumps wait for this (the databases up and migrated). */
  backupsAfter?: Promise<unknown>;
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
  /** The app's image tags, oldest first, and the one its serving process runs. */
  images(): { tags: string[]; running: string | null };
  /** Settles once the start-up backups are done. */
  backupsDone(): Promise<void>;
  /** Resolves once no deployment is queued or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startDeployer(o: DeployerOptions): Promise<DeployerHandle> {
  const log = o.log ?? (() => undefined);
  const faults = o.faults ?? [];
  const engine = new DeployEngine({
    edge: o.edge, app: o.app, auth: o.auth, faults, log,
    healthTimeoutMs: o.healthTimeoutMs ?? 30_000,
    unhealthyGraceMs: o.unhealthyGraceMs ?? 20_000,
    drainTimeoutMs: o.drainTimeoutMs ?? 10_000,
  });
  const ownDir = o.databases?.length && !o.backupDir ? mkdtempSync(join(tmpdir(), 'gbv-backups-')) : undefined;
  const backups = o.databases?.length
    ? new BackupStore({ databases: o.databases, dir: o.backupDir ?? ownDir!, faults: [...faults], uuid: () => cuid(24), log, after: o.backupsAfter })
    : undefined;
  const handle = createApi({
    engine, backups, appHost: o.app.host, log,
    tokens: [{ token: o.token, abilities: ['read', 'deploy'] }, ...(o.extraTokens ?? [])],
    retryAfter: String(o.retryAfterSeconds ?? 5),
    healthFailing: o.healthFailing ?? false,
  });

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      log(`deployer: ${e.message}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Server Error' }));
      } else res.destroy();
    });
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
    deployments: () => engine.all(),
    images: () => ({ tags: engine.images.map((i) => i.tag), running: engine.runningTag() }),
    backupsDone: () => backups?.ready ?? Promise.resolve(),
    idle: () => engine.idle(),
    close() {
      closed ??= (async () => {
        engine.close();
        const done = new Promise<void>((r) => server.close(() => r()));
        for (const s of sockets) s.destroy();
        await done;
        await backups?.ready.catch(() => undefined);
        if (ownDir) rmSync(ownDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
