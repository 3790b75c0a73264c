// The two supervised services, auth (Zitadel stand-in) and app: the env each generation is spawned with, and
// their launch (spawned while Postgres still starts, routed at the edge once ready).
import { join } from 'node:path';
import { Supervisor, type Instance } from '../deployer/supervisor.ts';
import { FAULT_CONTROL_TOKEN_ENV } from '../fault-control.ts';
import { has, type FaultId } from '../faults.ts';
import { migrateApp, INTERNAL_HOST, PUBLIC_HOST, type PostgresHandle } from '../postgres/index.ts';
import { baseChildEnv } from '../process.ts';
import type { Front, Run } from './front.ts';
import { HOSTS, ROOT, USERS, type StackUrls } from './names.ts';
import type { RunSecrets } from './secrets.ts';

export interface ServiceInputs {
  urls: StackUrls;
  secrets: RunSecrets;
  front: Front;
  dbUrl(database: 'gadgetbot' | 'zitadel'): string;
  appScript?: string;
  authScript?: string;
  signInRateLimit?: boolean;
  /** The run's token for the children's fault control route. */
  controlToken: string;
}

/**
 * Readiness, not liveness: Zitadel's own container healthcheck (`zitadel ready`) asks /debug/ready, and
 * only then can it serve sign-ins. Under fault auth-not-ready that never comes, so liveness must do.
 */
export function authHealthPath(faults: readonly FaultId[]): string {
  return has(faults, 'auth-not-ready') ? '/debug/healthz' : '/debug/ready';
}

/** Read at each spawn: a new instance (a redeploy) starts with the faults on now, and can be switched. */
function faultEnv(run: Run, s: ServiceInputs): Record<string, string> {
  return { STACK_FAULTS: [...run.live].join(','), [FAULT_CONTROL_TOKEN_ENV]: s.controlToken };
}

/** Where a service runs and logs, the same for auth and app: internal address, its run folder, its pids recorded. */
function placement(run: Run, name: 'auth' | 'app', script: string | undefined) {
  return {
    name,
    script: script ?? join(ROOT, 'stack', name, 'server.ts'),
    cwd: ROOT,
    logDir: run.folder.logDir,
    host: INTERNAL_HOST,
    portAlsoFreeOn: [PUBLIC_HOST],
    onSpawn: (i: Instance) => run.folder.remember(`${name}-${i.generation}`, i.proc.pid),
  };
}

export function authSupervisor(run: Run, s: ServiceInputs): Supervisor {
  const { urls, secrets, front } = s;
  const common = baseChildEnv();
  return new Supervisor({
    ...placement(run, 'auth', s.authScript),
    healthPath: authHealthPath(run.faults),
    env: () => ({
      ...common,
      AUTH_URL: urls.auth,
      DATABASE_URL: s.dbUrl('zitadel'),
      APP_URL: urls.app,
      ZITADEL_CLIENT_ID: secrets.clientId,
      ADMIN_USER: USERS.admin,
      ADMIN_PASSWORD: secrets.adminPassword,
      VIEWER_USER: USERS.viewer,
      VIEWER_PASSWORD: secrets.viewerPassword,
      STACK_CA_FILE: front.caFile,
      STACK_DNS_SERVER: front.dns.server,
      ...faultEnv(run, s),
    }),
  });
}

export function appSupervisor(run: Run, s: ServiceInputs): Supervisor {
  const { urls, secrets, front } = s;
  const common = baseChildEnv();
  return new Supervisor({
    ...placement(run, 'app', s.appScript),
    healthPath: '/',
    env: () => ({
      ...common,
      DATABASE_URL: s.dbUrl('gadgetbot'),
      APP_URL: urls.app,
      BETTER_AUTH_URL: urls.app,
      // Read at each spawn: a redeploy under fault redeploy-loses-sessions rotates it.
      BETTER_AUTH_SECRET: secrets.betterAuthSecret,
      ZITADEL_ISSUER_URL: urls.auth,
      ZITADEL_CLIENT_ID: secrets.clientId,
      STACK_CA_FILE: front.caFile,
      STACK_DNS_SERVER: front.dns.server,
      ...faultEnv(run, s),
      SIGN_IN_RATE_LIMIT: s.signInRateLimit === false ? 'off' : 'on',
    }),
  });
}

/** Waits for auth's first generation and routes the edge to it. Auth waits for its database itself (it retries). */
export async function launchAuth(run: Run, auth: Supervisor, launch: Promise<Instance>, front: Front, healthTimeoutMs: number): Promise<void> {
  const inst = await launch;
  // Ready means /debug/ready answers 200 (the OIDC provider and its database are set up). Under the
  // faults that break those endpoints, any answer of the endpoint we watch has to do.
  const strict = has(run.faults, 'auth-not-ready') ? !has(run.faults, 'auth-healthz-failing') : true;
  await auth.waitUp(inst, { timeoutMs: healthTimeoutMs, require2xx: strict, unhealthyGraceMs: healthTimeoutMs });
  auth.current = inst;
  front.edge.routes.setUpstream(HOSTS.auth, inst.upstream);
  run.mark('auth');
}

/** Migrates the app's database as soon as Postgres is up, waits for the app's first generation, routes it. */
export async function launchApp(
  run: Run,
  app: Supervisor,
  launch: Promise<Instance>,
  front: Front,
  pg: Promise<PostgresHandle>,
  healthTimeoutMs: number,
): Promise<void> {
  // The app process loads for about a second and touches its tables only when serving; the migrations
  // run as soon as Postgres is up. Route to the app only when both are done.
  const migrated = pg.then((pgH) => migrateApp(pgH.url('gadgetbot'), run.faults)).then(() => run.mark('migrations'));
  migrated.catch(() => undefined);
  const inst = await launch;
  await migrated;
  // Any HTTP answer counts here: under fault app-health-failing the app is up but unhealthy.
  await app.waitUp(inst, { timeoutMs: healthTimeoutMs, require2xx: false });
  app.current = inst;
  front.edge.routes.setUpstream(HOSTS.app, inst.upstream);
  run.mark('app');
}
