// Entry point of the Zitadel stand-in: `node --import tsx stack/auth/server.ts` with the env of
// docs/CONTRACT.md. It listens first and loads oidc-provider and the database afterwards, so that it is up
// (health answers) within a few hundred milliseconds; requests that need the provider wait for it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthApp } from './app.ts';
import { AUTH_FAULTS, AuthEnvError, readAuthEnv, type AuthEnv, type AuthFault } from './config.ts';
import { FAULT_CONTROL_TOKEN_ENV, handleFaultControl } from '../fault-control.ts';

function log(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), service: 'auth', ...event })}\n`);
}

const uptimeMs = () => Math.round(process.uptime() * 1000);

let env: AuthEnv;
try {
  env = readAuthEnv();
} catch (e) {
  log({ event: 'config_error', problems: e instanceof AuthEnvError ? e.problems : [(e as Error).message] });
  process.exit(2);
}

// The faults as given (STACK_FAULTS, then the control route); env.faults may hold more that the service derived
// itself (auth-upgrade-changes-issuer adds issuer-mismatch on an upgraded database), kept while their cause is.
let givenFaults = new Set<AuthFault>(env.faults);
const isAuthFault = (id: string): id is AuthFault => (AUTH_FAULTS as readonly string[]).includes(id);

/** The control route's switch: env.faults is read per request, so the new set applies from the next one. */
function switchFaults(ids: string[]): string[] {
  const given = new Set(ids.filter(isAuthFault));
  const derived = given.has('auth-upgrade-changes-issuer') ? [...env.faults].filter((f) => !givenFaults.has(f)) : [];
  env.faults.clear();
  for (const f of [...given, ...derived]) env.faults.add(f);
  givenFaults = given;
  log({ event: 'faults_switched', faults: [...env.faults] });
  return [...env.faults];
}
const controlToken = process.env[FAULT_CONTROL_TOKEN_ENV] || undefined;

const counts = new Map<string, number>();
let app: AuthApp | undefined;
let stopping = false;

// Loading oidc-provider compiles a large module graph on the main thread: it starts only once the socket is
// bound, so that health answers at once; requests needing the provider wait on this promise meanwhile.
let startApp!: () => void;
const appReady: Promise<AuthApp> = new Promise<void>((resolve) => (startApp = resolve))
  .then(() => import('./app.ts'))
  .then((m) => m.createAuthApp(env, log, () => stopping));
appReady.then(
  (a) => {
    app = a;
    log({ event: 'ready', uptimeMs: uptimeMs(), faults: [...env.faults] });
  },
  (e: Error & { code?: string }) => {
    // Giving up on a database that never came is a failure; being stopped while waiting for it is not.
    if (stopping) return;
    log({ event: 'init_failed', message: e.message, code: e.code });
    process.exitCode = 1;
    void shutdown('init_failed');
  },
);

function text(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function ready(): Promise<boolean> {
  if (stopping || !app || env.faults.has('auth-not-ready')) return false;
  return app.dbReady();
}

function metrics(): string {
  const lines = [
    '# HELP http_server_requests_total HTTP requests answered, by status class.',
    '# TYPE http_server_requests_total counter',
  ];
  for (const [code, n] of [...counts].sort()) lines.push(`http_server_requests_total{code="${code}"} ${n}`);
  const mem = process.memoryUsage();
  lines.push(
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    `process_start_time_seconds ${Math.floor(Date.now() / 1000 - process.uptime())}`,
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${mem.rss}`,
    '# HELP zitadel_initialized 1 once the OIDC provider and its database are set up.',
    '# TYPE zitadel_initialized gauge',
    `zitadel_initialized ${app ? 1 : 0}`,
  );
  return `${lines.join('\n')}\n`;
}

const server = http.createServer((req, res) => {
  if (handleFaultControl(req, res, controlToken, switchFaults)) return;
  res.on('finish', () => {
    const code = `${Math.floor(res.statusCode / 100)}xx`;
    counts.set(code, (counts.get(code) ?? 0) + 1);
  });
  const path = (req.url ?? '/').split('?')[0];
  if ((req.method === 'GET' || req.method === 'HEAD') && path.startsWith('/debug/')) {
    if (path === '/debug/healthz') return env.faults.has('auth-healthz-failing') ? text(res, 503, 'not healthy') : text(res, 200, 'ok');
    if (path === '/debug/ready') {
      void ready().then((ok) => text(res, ok ? 200 : 503, ok ? 'ok' : 'not ready'));
      return;
    }
    if (path === '/debug/metrics') return text(res, 200, metrics(), 'text/plain; version=0.0.4; charset=utf-8');
  }
  if (app) return app.handle(req, res);
  appReady.then(
    (a) => a.handle(req, res),
    () => text(res, 503, 'not ready'),
  );
});
server.keepAliveTimeout = 5000;
server.on('clientError', (_err, socket) => socket.destroy());

server.listen(env.port, env.host, () => {
  const { port } = server.address() as AddressInfo;
  log({ event: 'listening', host: env.host, port, uptimeMs: uptimeMs() });
  setImmediate(startApp);
});
server.on('error', (e: NodeJS.ErrnoException) => {
  log({ event: 'listen_failed', code: e.code, host: env.host, port: env.port });
  process.exit(1);
});

async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log({ event: 'stopping', reason });
  // In-flight requests finish; after a grace period lingering keep-alive sockets are cut.
  const force = setTimeout(() => server.closeAllConnections(), 5000);
  force.unref();
  const hard = setTimeout(() => process.exit(process.exitCode ?? 1), 10_000);
  hard.unref();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  if (app) await app.close().catch(() => undefined);
  log({ event: 'stopped' });
  process.exit(process.exitCode ?? 0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
