// The orchestrator of the embedded reference deployment: PostgreSQL, CA, DNS, edge, auth, app and deployer,
// started in parallel where they do not depend on each other, torn down without leftovers.
import { randomBytes, randomInt } from 'node:crypto';
import { appendFileSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createStackPki, writeCaFile } from './ca/index.ts';
import { startNameservers, type DnsHandle } from './dns/index.ts';
import { startEdge, type EdgeHandle } from './edge/index.ts';
import { has, parseFaults, type FaultId } from './faults.ts';
import { databaseUrl, migrateApp, startPostgres, stopLeftoverPostgres, INTERNAL_HOST, PUBLIC_HOST, type DbRoleName, type PostgresHandle } from './postgres/index.ts';
import { assertPortFree, baseChildEnv, freePort, isAlive, processStartMs, PortInUseError } from './process.ts';
import { cuid, startDeployer, type DeployerHandle } from './deployer/index.ts';
import { Supervisor, type Instance } from './deployer/supervisor.ts';

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
  faults: FaultId[];
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

export const ROOT = resolve(import.meta.dirname, '..');
export const STACK_ROOT = join(ROOT, '.stack');
export const HOSTS = {
  app: 'gadgetbot.stack.test',
  auth: 'gadgetbot-auth.stack.test',
  deployer: 'gadgetbot-coolify.stack.test',
} as const;
export const USERS = { admin: 'gbv-admin', viewer: 'gbv-viewer' } as const;

const RUN_RE = /^run-(\d+)-(\d+)(?:-\d+)?$/;

interface RunRecord {
  pid: number;
  startedAt: number;
  children: { name: string; pid: number; startMs?: number }[];
}

function recordFile(dir: string): string {
  return join(dir, 'stack.json');
}

function readRecord(dir: string): RunRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(dir), 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

/** True when the run folder's owner (pid in its name) is still the process that created it. */
function ownerAlive(pid: number, createdAt: number): boolean {
  if (!isAlive(pid)) return false;
  const started = processStartMs(pid);
  // A recycled pid belongs to a process that started after the folder was made.
  return started === undefined || started <= createdAt + 1000;
}

/**
 * Removes run folders whose creating process is gone: kills the children it recorded (only if still the
 * same processes), stops the Postgres it left (via postmaster.pid), deletes the folder. Also removes
 * half-built templates of dead processes.
 */
export async function sweepStaleRuns(stackRoot = STACK_ROOT, log: (l: string) => void = () => undefined): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(stackRoot);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    const dir = join(stackRoot, name);
    const run = RUN_RE.exec(name);
    if (run) {
      const pid = Number(run[1]);
      const createdAt = Number(run[2]);
      if (pid === process.pid || ownerAlive(pid, createdAt)) continue;
      const rec = readRecord(dir);
      for (const c of rec?.children ?? []) {
        if (!isAlive(c.pid)) continue;
        const start = processStartMs(c.pid);
        if (c.startMs !== undefined && start !== undefined && Math.abs(start - c.startMs) > 50) continue;
        try {
          process.kill(-c.pid, 'SIGKILL');
        } catch {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      await stopLeftoverPostgres(join(dir, 'pg')).catch(() => false);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      log(`stack: removed stale run folder ${name}`);
      swept.push(dir);
      continue;
    }
    const build = /^template-pg17\.(?:build|old)-(\d+)-/.exec(name);
    if (build && !isAlive(Number(build[1]))) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      swept.push(dir);
    }
  }
  return swept;
}

async function makeRunDir(stackRoot: string): Promise<string> {
  await mkdir(stackRoot, { recursive: true, mode: 0o755 });
  const t = Date.now();
  for (let n = 0; n < 100; n++) {
    const dir = join(stackRoot, n === 0 ? `run-${process.pid}-${t}` : `run-${process.pid}-${t}-${n}`);
    try {
      // 0711: Postgres (another user) must traverse it; nobody else needs to list it.
      await mkdir(dir, { mode: 0o711 });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error('could not create a run folder');
}

function secret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** Strong enough for any password policy (upper, lower, digit, symbol), and safe in dotenv files. */
function userPassword(): string {
  return `${secret(12)}Aa1-`;
}

function clientId(): string {
  let s = String(randomInt(1, 10));
  for (let i = 0; i < 17; i++) s += String(randomInt(0, 10));
  return s;
}

function coolifyToken(): string {
  // Sanctum's shape: "<id>|<40 random characters>".
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const b = randomBytes(40);
  let s = '';
  for (let i = 0; i < 40; i++) s += alphabet[b[i] % alphabet.length];
  return `1|${s}`;
}

function baseUrl(host: string, port: number): string {
  return port === 443 ? `https://${host}` : `https://${host}:${port}`;
}

// --- process-wide cleanup --------------------------------------------------------------------------------

interface Live {
  stop(): Promise<void>;
  killNow(): void;
}
const live = new Set<Live>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const onSignal = (sig: NodeJS.Signals) => {
    const stops = [...live].map((l) => l.stop().catch(() => undefined));
    void Promise.all(stops).then(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Someone else (a CLI, Playwright) handles this signal: let them decide. Otherwise die of it as if
      // we had not been listening.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const l of live) l.killNow();
  });
}

// --- start -----------------------------------------------------------------------------------------------

export async function startStack(opts: StackOptions = {}): Promise<StackHandle> {
  return startStackDetailed(opts);
}

export async function startStackDetailed(opts: StackInternalOptions = {}): Promise<StackDetails> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (phase: string) => (timings[phase] = Date.now() - t0);
  const faults = parseFaults(opts.faults ?? []);
  const stackRoot = opts.stackRoot ?? STACK_ROOT;
  const authPauseMs = opts.authRestartPauseMs ?? 2000;
  const redeployGapMs = opts.redeployGapMs ?? 8000;
  const healthTimeoutMs = opts.healthTimeoutMs ?? 30_000;

  // Fixed ports are checked before anything starts, so a conflict costs nothing and says what to do.
  if (opts.ports && opts.ports !== 'auto') {
    const hint = (v: string) => `Stop whatever listens there (another \`npm run stack\`?), or pick another port: ${v}=<port> npm run stack.`;
    await assertPortFree(PUBLIC_HOST, opts.ports.https, hint('STACK_HTTPS_PORT'));
    await assertPortFree(PUBLIC_HOST, opts.ports.http, hint('STACK_HTTP_PORT'));
  }
  await sweepStaleRuns(stackRoot, opts.log);
  const dir = await makeRunDir(stackRoot);
  const logDir = join(dir, 'logs');
  await mkdir(logDir, { mode: 0o755 });
  const stackLog = join(logDir, 'stack.log');
  const log = (line: string) => {
    try {
      appendFileSync(stackLog, `${new Date().toISOString()} ${line}\n`);
    } catch {
      /* folder gone during stop */
    }
    opts.log?.(line);
  };
  const record: RunRecord = { pid: process.pid, startedAt: t0, children: [] };
  const saveRecord = () => {
    try {
      writeFileSync(recordFile(dir), JSON.stringify(record));
    } catch {
      /* folder gone during stop */
    }
  };
  saveRecord();
  const remember = (name: string, pid: number) => {
    if (pid <= 0) return;
    record.children.push({ name, pid, startMs: processStartMs(pid) });
    saveRecord();
  };

  // Everything started so far, torn down in reverse by stop().
  let pgHandle: PostgresHandle | undefined;
  let dns: DnsHandle | undefined;
  let edge: EdgeHandle | undefined;
  let deployer: DeployerHandle | undefined;
  let app: Supervisor | undefined;
  let auth: Supervisor | undefined;
  let stopped: Promise<void> | undefined;
  let pgPid = -1;

  const stop = () => {
    stopped ??= (async () => {
      live.delete(entry);
      // Front to back: no new work, then the services, then the database they use.
      await Promise.all(
        [deployer?.close(), edge?.close(), dns?.close(), app?.stopAll(5000), auth?.stopAll(5000)].map((p) => p?.catch(() => undefined)),
      );
      await pgHandle?.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    })();
    return stopped;
  };
  const entry: Live = {
    stop,
    killNow() {
      // Synchronous: the process is exiting. Children die now; Postgres gets an immediate shutdown.
      app?.killAllNow();
      auth?.killAllNow();
      if (pgPid > 0 && isAlive(pgPid)) {
        try {
          process.kill(pgPid, 'SIGQUIT');
        } catch {
          /* gone */
        }
      }
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* the next start sweeps it */
      }
    },
  };
  live.add(entry);
  installHooks();

  try {
    log(`stack: starting in ${dir}${faults.length ? ` with faults ${faults.join(',')}` : ''}`);
    const wantPorts = opts.ports && opts.ports !== 'auto' ? opts.ports : { https: 0, http: 0 };

    // Independent pieces first, in parallel.
    const pgPort = await freePort(INTERNAL_HOST, [PUBLIC_HOST]);
    // The database roles' passwords are chosen here, before Postgres runs, so that auth and app can be spawned
    // (and load their modules) while it starts: their DATABASE_URL is known up front.
    const dbPasswords: Record<DbRoleName, string> = { gadgetbot: secret(18), zitadel: secret(18), reader: secret(18) };
    const dbUrl = (database: 'gadgetbot' | 'zitadel') => databaseUrl(pgPort, dbPasswords, database);
    // The migrations' module (and pg) load while Postgres starts, not after.
    void import('./app/migrate.ts').catch(() => undefined);
    const pkiP = createStackPki(HOSTS, faults).then(async (pki) => {
      const caFile = await writeCaFile(dir, pki);
      mark('ca');
      return { pki, caFile };
    });
    const dnsP = startNameservers({ hosts: HOSTS, faults, ip: PUBLIC_HOST, log }).then((d) => {
      dns = d;
      mark('dns');
      return d;
    });
    const pgP = startPostgres({ stackRoot, runDir: dir, port: pgPort, faults, log, passwords: dbPasswords }).then((p) => {
      pgHandle = p;
      pgPid = p.pid;
      remember('postgres', p.pid);
      mark('postgres');
      return p;
    });
    const edgeP = pkiP.then(async ({ pki }) => {
      const certs = new Map([...pki.leaves].map(([h, l]) => [h, { keyPem: l.keyPem, chainPem: l.chainPem }]));
      try {
        edge = await startEdge({
          httpsPort: wantPorts.https,
          httpPort: wantPorts.http,
          certs,
          defaultCert: { keyPem: pki.defaultCert.keyPem, chainPem: pki.defaultCert.chainPem },
          hosts: HOSTS,
          faults,
          log,
        });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          const port = (e as { port?: number }).port ?? wantPorts.https;
          const which = port === wantPorts.http ? 'STACK_HTTP_PORT' : 'STACK_HTTPS_PORT';
          throw new PortInUseError(
            PUBLIC_HOST,
            port,
            `Stop whatever listens there (another \`npm run stack\`?), or pick another port: ${which}=<port> npm run stack.`,
          );
        }
        throw e;
      }
      mark('edge');
      return edge;
    });
    // Surface the first failure at once; the others are awaited (and cleaned up) by stop().
    const settle = Promise.allSettled([pkiP, dnsP, pgP, edgeP]);
    const all = Promise.all([pkiP, dnsP, pgP, edgeP]);
    all.catch(() => undefined);
    // The services need the CA file, the DNS server and the edge's port; Postgres may still be starting (and
    // its failure ends this wait too).
    const front = Promise.all([pkiP, dnsP, edgeP]);
    const [{ caFile }, dnsH, edgeH] = await Promise.race([front, pgP.then(() => front)]).catch(async (e) => {
      await settle;
      throw e;
    });

    const httpsPort = edgeH.httpsPort;
    const urls = {
      app: baseUrl(HOSTS.app, httpsPort),
      auth: baseUrl(HOSTS.auth, httpsPort),
      deployer: baseUrl(HOSTS.deployer, httpsPort),
    };
    const secrets = {
      adminPassword: userPassword(),
      viewerPassword: userPassword(),
      clientId: clientId(),
      betterAuthSecret: secret(32),
      coolifyToken: coolifyToken(),
      appUuid: cuid(24),
      authUuid: cuid(24),
    };
    const faultList = faults.join(',');
    const common = baseChildEnv();

    auth = new Supervisor({
      name: 'auth',
      script: opts.authScript ?? join(ROOT, 'stack', 'auth', 'server.ts'),
      cwd: ROOT,
      logDir,
      host: INTERNAL_HOST,
      portAlsoFreeOn: [PUBLIC_HOST],
      // Readiness, not liveness: Zitadel's own container healthcheck (`zitadel ready`) asks /debug/ready, and
      // only then can it serve sign-ins. Under fault auth-not-ready that never comes, so liveness must do.
      healthPath: has(faults, 'auth-not-ready') ? '/debug/healthz' : '/debug/ready',
      onSpawn: (i: Instance) => remember(`auth-${i.generation}`, i.proc.pid),
      env: () => ({
        ...common,
        AUTH_URL: urls.auth,
        DATABASE_URL: dbUrl('zitadel'),
        APP_URL: urls.app,
        ZITADEL_CLIENT_ID: secrets.clientId,
        ADMIN_USER: USERS.admin,
        ADMIN_PASSWORD: secrets.adminPassword,
        VIEWER_USER: USERS.viewer,
        VIEWER_PASSWORD: secrets.viewerPassword,
        STACK_CA_FILE: caFile,
        STACK_DNS_SERVER: dnsH.server,
        STACK_FAULTS: faultList,
      }),
    });
    app = new Supervisor({
      name: 'app',
      script: opts.appScript ?? join(ROOT, 'stack', 'app', 'server.ts'),
      cwd: ROOT,
      logDir,
      host: INTERNAL_HOST,
      portAlsoFreeOn: [PUBLIC_HOST],
      healthPath: '/',
      onSpawn: (i: Instance) => remember(`app-${i.generation}`, i.proc.pid),
      env: () => ({
        ...common,
        DATABASE_URL: dbUrl('gadgetbot'),
        APP_URL: urls.app,
        BETTER_AUTH_URL: urls.app,
        BETTER_AUTH_SECRET: secrets.betterAuthSecret,
        ZITADEL_ISSUER_URL: urls.auth,
        ZITADEL_CLIENT_ID: secrets.clientId,
        STACK_CA_FILE: caFile,
        STACK_DNS_SERVER: dnsH.server,
        STACK_FAULTS: faultList,
        SIGN_IN_RATE_LIMIT: opts.signInRateLimit === false ? 'off' : 'on',
      }),
    });

    // Both are spawned now; auth waits for its database itself (it retries), the app connects on first use.
    const authLaunch = auth.launch();
    const appLaunch = app.launch();
    // Auth needs only its database; the app also needs its tables.
    const authP = (async () => {
      const inst = await authLaunch;
      // Ready means /debug/ready answers 200 (the OIDC provider and its database are set up). Under the
      // faults that break those endpoints, any answer of the endpoint we watch has to do.
      const strict = has(faults, 'auth-not-ready') ? !has(faults, 'auth-healthz-failing') : true;
      await auth!.waitUp(inst, { timeoutMs: healthTimeoutMs, require2xx: strict, unhealthyGraceMs: healthTimeoutMs });
      auth!.current = inst;
      edgeH.routes.setUpstream(HOSTS.auth, inst.upstream);
      mark('auth');
    })();
    const appP = (async () => {
      // The app process loads for about a second and touches its tables only when serving; the migrations
      // run as soon as Postgres is up. Route to the app only when both are done.
      const migrated = pgP.then((pgH) => migrateApp(pgH.url('gadgetbot'), faults)).then(() => mark('migrations'));
      migrated.catch(() => undefined);
      const inst = await appLaunch;
      await migrated;
      // Any HTTP answer counts here: under fault app-health-failing the app is up but unhealthy.
      await app!.waitUp(inst, { timeoutMs: healthTimeoutMs, require2xx: false });
      app!.current = inst;
      edgeH.routes.setUpstream(HOSTS.app, inst.upstream);
      mark('app');
    })();
    const deployerP = (async () => {
      deployer = await startDeployer({
        host: INTERNAL_HOST,
        token: secrets.coolifyToken,
        edge: edgeH,
        app: {
          uuid: secrets.appUuid,
          name: 'gadgetbot',
          host: HOSTS.app,
          supervisor: app!,
          rotateSecret: has(faults, 'redeploy-loses-sessions'),
          stopStart: has(faults, 'redeploy-stop-start'),
          redeployGapMs,
          onSecretRotated: (s) => (secrets.betterAuthSecret = s),
        },
        auth: { uuid: secrets.authUuid, name: 'zitadel-stack', host: HOSTS.auth, supervisor: auth!, pauseMs: authPauseMs },
        healthTimeoutMs,
        healthFailing: has(faults, 'deployer-health-failing'),
        log,
      });
      edgeH.routes.setUpstream(HOSTS.deployer, { host: INTERNAL_HOST, port: deployer.port });
      mark('deployer');
    })();
    const settle2 = Promise.allSettled([all, authP, appP, deployerP]);
    const [, , pgH] = await Promise.all([all, authP, appP, deployerP])
      .then(([front]) => front)
      .catch(async (e) => {
        // A failed piece (Postgres, say) leaves the services waiting for it: end them now, so their waits end too.
        await Promise.all([app?.stopAll(5000), auth?.stopAll(5000)]).catch(() => undefined);
        await settle2;
        throw e;
      });

    const dbScheme = has(faults, 'db-url-postgres-scheme') ? 'postgres' : 'postgresql';
    const env: Record<string, string> = {
      TARGET_NAME: 'embedded',
      APP_URL: urls.app,
      AUTH_URL: urls.auth,
      DEPLOYER_URL: urls.deployer,
      HTTP_PORT: String(edgeH.httpPort),
      EXPECTED_IPS: PUBLIC_HOST,
      DNS_SERVERS: dnsH.servers.join(','),
      RESOLVE_VIA_DNS_SERVERS: 'true',
      CA_FILE: caFile,
      EXPECTED_CERT_ISSUER: 'gadgetbot-verify',
      ADMIN_USER: USERS.admin,
      ADMIN_PASSWORD: secrets.adminPassword,
      VIEWER_USER: USERS.viewer,
      VIEWER_PASSWORD: secrets.viewerPassword,
      DATABASE_URL: pgH.url('gadgetbot', 'reader', dbScheme),
      COOLIFY_TOKEN: secrets.coolifyToken,
      COOLIFY_APP_UUID: secrets.appUuid,
      COOLIFY_AUTH_UUID: secrets.authUuid,
      SERVER_ADDRESS: PUBLIC_HOST,
      EXPECTED_OPEN_PORTS: `${edgeH.httpsPort},${edgeH.httpPort}`,
      FORBIDDEN_PORTS: `${pgH.port},${app.current!.port},${auth.current!.port}`,
      // Its deployer does real rolling updates: any outage at all is a finding here (a probe interval is ~250 ms).
      BUDGET_REDEPLOY_DOWNTIME_MS: '1000',
    };
    mark('ready');
    log(`stack: ready in ${timings.ready} ms (${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join(', ')})`);

    const appSup = app;
    const authSup = auth;
    const handle: StackDetails = {
      env,
      dir,
      stop,
      faults,
      hosts: { ...HOSTS },
      ports: { https: edgeH.httpsPort, http: edgeH.httpPort, dns: dnsH.port, postgres: pgH.port, deployer: deployer!.port },
      edge: edgeH,
      deployer: deployer!,
      app: appSup,
      auth: authSup,
      timings,
      pids() {
        const out: number[] = [];
        if (pgHandle && isAlive(pgHandle.pid)) out.push(pgHandle.pid);
        for (const s of [appSup, authSup]) for (const i of s.instances) if (!i.proc.exitInfo) out.push(i.proc.pid);
        return out;
      },
    };
    return handle;
  } catch (e) {
    log(`stack: start failed: ${(e as Error).message}`);
    await stop();
    throw e;
  }
}

/**
 * dotenv lines for a target env. Values that a POSIX shell would not take literally (the Coolify token has
 * a `|`) are single-quoted, so the file works both with dotenv and with `set -a; . target.env`.
 */
export function toDotenv(env: Record<string, string>): string {
  return (
    Object.entries(env)
      .map(([k, v]) => (/^[A-Za-z0-9_./:@,+=%-]*$/.test(v) ? `${k}=${v}` : `${k}='${v.replace(/'/g, `'\\''`)}'`))
      .join('\n') + '\n'
  );
}
