// The orchestrator of the embedded reference deployment: PostgreSQL, CA, DNS, edge, auth, app and deployer,
// started in parallel where they do not depend on each other, torn down without leftovers. The phases live in
// stack/orchestrator/: sweep (run folders), front (PKI, DNS, Postgres, edge), services (auth and app), deployer,
// target (the suite's variables), teardown.
import type { DeployerHandle } from './deployer/index.ts';
import type { Supervisor } from './deployer/supervisor.ts';
import type { EdgeHandle } from './edge/index.ts';
import { parseFaults, type FaultId } from './faults.ts';
import { databaseUrl, INTERNAL_HOST, PUBLIC_HOST } from './postgres/index.ts';
import { assertPortFree, freePort, isAlive } from './process.ts';
import { wireDeployer } from './orchestrator/deployer.ts';
import { portHint, startFront, type Run } from './orchestrator/front.ts';
import { HOSTS, STACK_ROOT, stackUrls } from './orchestrator/names.ts';
import { startControl } from './orchestrator/control.ts';
import { FaultSwitch } from './orchestrator/runtime.ts';
import { dbPasswords, runSecrets, secret } from './orchestrator/secrets.ts';
import { appSupervisor, authSupervisor, launchApp, launchAuth, type ServiceInputs } from './orchestrator/services.ts';
import { openRunFolder, sweepStaleRuns } from './orchestrator/sweep.ts';
import { targetEnv } from './orchestrator/target.ts';
import { registerTeardown, type Parts } from './orchestrator/teardown.ts';

export { HOSTS, ROOT, STACK_ROOT, USERS } from './orchestrator/names.ts';
export { sweepStaleRuns } from './orchestrator/sweep.ts';
export { toDotenv } from './orchestrator/target.ts';

export interface StackOptions {
  faults?: string[];
  ports?: 'auto' | { https: number; http: number };
  authRestartPauseMs?: number;
  redeployGapMs?: number;
  /**
   * false: the app does not rate-limit sign-ins. Default true: Better Auth's production limit (3 sign-ins per
   * 10 s per client IP), as the real app has. The fault matrix turns it off for its fault runs only (they prove
   * detection, not pacing); its healthy runs keep it.
   */
  signInRateLimit?: boolean;
  log?: (line: string) => void;
}

export interface StackHandle {
  env: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
  /**
   * Switches a fault of RUNTIME_FAULTS (stack/faults.ts) on or off while the stack runs; resolves once every
   * service answers with the new set (from the next request on; a redeployed app or auth starts with it).
   * Rejects with a FaultError, changing nothing, for any other fault.
   */
  setFault(id: FaultId, on: boolean): Promise<void>;
  /** The faults on now. */
  faults(): FaultId[];
}

/** Not part of the contract: knobs for the stack's own tests and the benchmark. */
export interface StackInternalOptions extends StackOptions {
  /** Replace the service entry files (self-tests use tiny stand-ins). */
  appScript?: string;
  authScript?: string;
  /** Where run folders live; default `<repo>/.stack`. */
  stackRoot?: string;
  healthTimeoutMs?: number;
}

export interface StackDetails extends StackHandle {
  hosts: { app: string; auth: string; deployer: string };
  ports: { https: number; http: number; dns: number; postgres: number; deployer: number };
  edge: EdgeHandle;
  deployer: DeployerHandle;
  app: Supervisor;
  auth: Supervisor;
  /** ms from the call to ready, and per phase. */
  timings: Record<string, number>;
  /** pids of every live child process (Postgres, app and auth generations). */
  pids(): number[];
}

export async function startStack(opts: StackOptions = {}): Promise<StackHandle> {
  return startStackDetailed(opts);
}

export async function startStackDetailed(opts: StackInternalOptions = {}): Promise<StackDetails> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const faults = parseFaults(opts.faults ?? []);
  const stackRoot = opts.stackRoot ?? STACK_ROOT;
  // Fixed ports are checked before anything starts, so a conflict costs nothing and says what to do.
  if (opts.ports && opts.ports !== 'auto') {
    await assertPortFree(PUBLIC_HOST, opts.ports.https, portHint('STACK_HTTPS_PORT'));
    await assertPortFree(PUBLIC_HOST, opts.ports.http, portHint('STACK_HTTP_PORT'));
  }
  await sweepStaleRuns(stackRoot, opts.log);
  const folder = await openRunFolder(stackRoot, t0, opts.log);
  const parts: Parts = { pgPid: -1 };
  const stop = registerTeardown(parts, folder.dir);
  const run: Run = { folder, stackRoot, faults, live: new Set(faults), parts, mark: (phase) => (timings[phase] = Date.now() - t0) };
  try {
    folder.log(`stack: starting in ${folder.dir}${faults.length ? ` with faults ${faults.join(',')}` : ''}`);
    const details = await startPhases(run, opts);
    parts.control = await startControl(folder.dir, details.switch, folder.log);
    run.mark('ready');
    folder.log(`stack: ready in ${timings.ready} ms (${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    const { switch: faultSwitch, ...rest } = details;
    return { ...rest, stop, timings, setFault: (id, on) => faultSwitch.set(id, on), faults: () => faultSwitch.list() };
  } catch (e) {
    folder.log(`stack: start failed: ${(e as Error).message}`);
    await stop();
    throw e;
  }
}

/** Every phase after the run folder: front, services, deployer, target. */
type Started = Omit<StackDetails, 'stop' | 'timings' | 'setFault' | 'faults'> & { switch: FaultSwitch };

async function startPhases(run: Run, opts: StackInternalOptions): Promise<Started> {
  const { parts, faults } = run;
  const healthTimeoutMs = opts.healthTimeoutMs ?? 30_000;
  const wantPorts = opts.ports && opts.ports !== 'auto' ? opts.ports : { https: 0, http: 0 };
  const pgPort = await freePort(INTERNAL_HOST, [PUBLIC_HOST]);
  // The database roles' passwords are chosen here, before Postgres runs, so that auth and app can be spawned
  // (and load their modules) while it starts: their DATABASE_URL is known up front.
  const passwords = dbPasswords();
  // The migrations' module (and pg) load while Postgres starts, not after.
  void import('./app/migrate.ts').catch(() => undefined);
  const { front, pg, all } = await startFront(run, wantPorts, pgPort, passwords);

  const urls = stackUrls(front.edge.httpsPort);
  const secrets = runSecrets();
  const controlToken = secret(24);
  const inputs: ServiceInputs = {
    urls,
    secrets,
    front,
    dbUrl: (db) => databaseUrl(pgPort, passwords, db),
    appScript: opts.appScript,
    authScript: opts.authScript,
    signInRateLimit: opts.signInRateLimit,
    controlToken,
  };
  const auth = (parts.auth = authSupervisor(run, inputs));
  const app = (parts.app = appSupervisor(run, inputs));
  // Both are spawned now; auth waits for its database itself (it retries), the app connects on first use.
  const authP = launchAuth(run, auth, auth.launch(), front, healthTimeoutMs);
  const appP = launchApp(run, app, app.launch(), front, pg, healthTimeoutMs);
  const deployerP = wireDeployer(run, {
    front,
    secrets,
    app,
    auth,
    authPauseMs: opts.authRestartPauseMs ?? 2000,
    redeployGapMs: opts.redeployGapMs ?? 8000,
    healthTimeoutMs,
  });
  const pieces = [all, authP, appP, deployerP];
  await Promise.all(pieces).catch(async (e) => {
    // A failed piece (Postgres, say) leaves the services waiting for it: end them now, so their waits end too.
    await Promise.all([app.stopAll(5000), auth.stopAll(5000)]).catch(() => undefined);
    await Promise.allSettled(pieces);
    throw e;
  });
  const pgH = await pg;
  const deployer = parts.deployer!;
  return {
    env: targetEnv({ faults, urls, secrets, front, pg: pgH, app, auth }),
    dir: run.folder.dir,
    switch: new FaultSwitch({ run, front, app, auth, token: controlToken }),
    hosts: { ...HOSTS },
    ports: { https: front.edge.httpsPort, http: front.edge.httpPort, dns: front.dns.port, postgres: pgH.port, deployer: deployer.port },
    edge: front.edge,
    deployer,
    app,
    auth,
    pids() {
      const out: number[] = [];
      if (parts.pg && isAlive(parts.pg.pid)) out.push(parts.pg.pid);
      for (const s of [app, auth]) for (const i of s.instances) if (!i.proc.exitInfo) out.push(i.proc.pid);
      return out;
    },
  };
}
