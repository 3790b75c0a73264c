// The stack's edge: what Traefik is in production. Terminates TLS (SNI per host, leaf + intermediate; tls.ts),
// routes by Host header to upstreams in a mutable route table (routes.ts; the deployer switches the app's
// upstream during a rolling update), and counts in-flight requests per upstream so that a deploy can drain
// (proxy.ts). Error pages use Traefik's texts so that downtime looks the same as in production.
import { createServer as createHttpServer, Agent, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { hasIpv6Loopback, PUBLIC_HOST_V6 } from '../dns/index.ts';
import { has, type FaultId } from '../faults.ts';
import { createForwarder, InFlight } from './proxy.ts';
import { appPathPrefix, redirectToHttps, RouteTable, type Upstream } from './routes.ts';
import { CertStore, httpsOptions, type TlsIdentity } from './tls.ts';

export { appPathPrefix, NO_SERVER_TEXT, NOT_FOUND_TEXT, RouteTable, type Route, type Upstream } from './routes.ts';
export type { TlsIdentity } from './tls.ts';

export interface EdgeHosts {
  app: string;
  auth: string;
  deployer: string;
}

export interface EdgeOptions {
  host?: string;
  /** The public IPv6 address the edge also listens on (same ports); default ::1 when the machine has it, null: none. */
  host6?: string | null;
  /** 0: a free port. */
  httpsPort: number;
  httpPort: number;
  /** TLS identity per host name (SNI). */
  certs: Map<string, TlsIdentity>;
  /** Served for an unknown or absent SNI (Traefik's default certificate). */
  defaultCert: TlsIdentity;
  hosts: EdgeHosts;
  /** The faults at start; a running edge takes new ones with applyFaults(). */
  faults?: readonly FaultId[];
  log?: (line: string) => void;
}

export interface EdgeHandle {
  host: string;
  /** The IPv6 address it also listens on, if any. */
  host6?: string;
  httpsPort: number;
  /** The plain-HTTP port; under fault http-port-closed the port the edge picked, with nothing listening. */
  httpPort: number;
  routes: RouteTable;
  /** Requests currently being forwarded to this upstream (responses not yet finished). */
  inFlight(upstream: Upstream): number;
  /** Resolves true once nothing is in flight to `upstream`, false after `timeoutMs`. */
  drain(upstream: Upstream, timeoutMs: number): Promise<boolean>;
  /**
   * Switches the edge's own faults while it runs (no-https-redirect, http-port-closed, and the routers' path
   * prefix, headers, redirects and shadowed paths): from the next request (a closed plain-HTTP port: at once, its
   * connections cut). Certificates: setCert; the TLS versions and weak keys stay as started.
   */
  applyFaults(faults: readonly FaultId[]): Promise<void>;
  /** Serves `id` for host `name` from the next TLS handshake; null: the default certificate. */
  setCert(name: string, id: TlsIdentity | null): void;
  close(): Promise<void>;
}

type AnyServer = HttpServer | HttpsServer;

function listen(srv: AnyServer, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ host, port, exclusive: true }, () => {
      srv.off('error', reject);
      resolve((srv.address() as AddressInfo).port);
    });
  });
}

function closeServer(srv: AnyServer): Promise<void> {
  return new Promise<void>((r) => (srv.listening ? srv.close(() => r()) : r()));
}

/** Every open connection of the servers, so that close() can cut keep-alive sockets. */
function trackSockets(servers: AnyServer[]): Set<Socket> {
  const sockets = new Set<Socket>();
  for (const s of servers) {
    s.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
    });
    s.on('clientError', (_e, sock: Socket) => sock.destroy());
  }
  return sockets;
}

const DASHBOARD_HTML = '<!DOCTYPE html><html><head><title>Coolify</title></head><body><div id="app"></div></body></html>';

/** Traefik's headers middleware on the routers of Zitadel and Coolify (the app sends its own headers). */
export const EDGE_HSTS = 'max-age=31536000; includeSubDomains';

/** The routers' fault-shaped parts (prefix, headers, redirect, shadowing) as `faults` want them; the upstreams stay. */
function applyRouteFaults(routes: RouteTable, o: EdgeOptions, faults: readonly FaultId[]): void {
  const want = initialRoutes(o, faults);
  for (const host of want.hosts()) {
    const now = routes.get(host);
    const w = want.get(host)!;
    if (now) Object.assign(now, { pathPrefix: w.pathPrefix, responseHeaders: w.responseHeaders, httpRedirect: w.httpRedirect, shadowedPath: w.shadowedPath });
  }
}

function appPrefixFor(o: EdgeOptions, faults: readonly FaultId[]): string | undefined {
  return has(faults, 'app-404-path-prefix') ? appPathPrefix(o.hosts.app) : undefined;
}

function initialRoutes(o: EdgeOptions, faults: readonly FaultId[]): RouteTable {
  const routes = new RouteTable();
  const appPrefix = appPrefixFor(o, faults);
  const hsts = { 'strict-transport-security': EDGE_HSTS };
  // hsts-short-max-age: a middleware on the app's router overrides the app's HSTS with stsSeconds=60.
  const appHeaders = has(faults, 'hsts-short-max-age') ? { 'strict-transport-security': 'max-age=60' } : undefined;
  routes.set(o.hosts.app, {
    upstream: null, pathPrefix: appPrefix, responseHeaders: appHeaders,
    httpRedirect: has(faults, 'redirect-drops-path') ? 'drop-path' : undefined,
  });
  // auth-missing-security-headers: Zitadel's router lacks the middleware too (no HSTS on the Login V2 pages).
  routes.set(o.hosts.auth, {
    upstream: null, responseHeaders: has(faults, 'auth-missing-security-headers') ? undefined : hsts,
    httpRedirect: has(faults, 'redirect-other-host') ? { host: o.hosts.app } : undefined,
  });
  routes.set(o.hosts.deployer, {
    upstream: null, responseHeaders: has(faults, 'hsts-missing-deployer') ? undefined : hsts,
    httpRedirect: has(faults, 'redirect-loop') ? 'loop' : has(faults, 'redirect-drops-query') ? 'drop-query' : undefined,
    // deployer-health-misrouted: the dashboard's catch-all router wins over the API's for /api/health.
    shadowedPath: has(faults, 'deployer-health-misrouted') ? { path: '/api/health', html: DASHBOARD_HTML } : undefined,
  });
  return routes;
}

function initialCerts(o: EdgeOptions, faults: readonly FaultId[]): CertStore {
  const store = new CertStore(minTls(faults));
  // Fault cert-default-deployer: no certificate for the deployer's SNI, so its visitors get the default one
  // (the CA leaves it out too; this keeps the edge faithful whatever certificates it is handed).
  const noCertFor = has(faults, 'cert-default-deployer') ? o.hosts.deployer.toLowerCase() : undefined;
  for (const [name, id] of o.certs) if (name.toLowerCase() !== noCertFor) store.set(name, id);
  return store;
}

const minTls = (faults: readonly FaultId[]) => (has(faults, 'tls-legacy-versions') ? 'TLSv1' as const : 'TLSv1.2' as const);

/** The same entrypoints on a second address (a dual-stack server: IPv6 next to IPv4), sharing handlers and ports. */
async function listenTwin(servers: [AnyServer, AnyServer], host6: string, ports: [number, number | undefined], log: (l: string) => void): Promise<boolean> {
  try {
    await listen(servers[0], host6, ports[0]);
    if (ports[1] !== undefined) await listen(servers[1], host6, ports[1]);
    return true;
  } catch (e) {
    await Promise.all(servers.map(closeServer));
    log(`edge: cannot also listen on ${host6} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): IPv6 clients get nothing`);
    return false;
  }
}

/** Fault http-port-closed switched at runtime: the plain-HTTP entrypoints stop (connections cut) or listen again. */
async function switchHttpPort(
  close: boolean, servers: { server: HttpServer; host: string }[], sockets: Set<Socket>, port: number,
): Promise<void> {
  if (close) {
    const done = Promise.all(servers.map((s) => closeServer(s.server)));
    for (const sock of sockets) sock.destroy();
    await done;
  } else {
    for (const s of servers) await listen(s.server, s.host, port);
  }
}

export async function startEdge(o: EdgeOptions): Promise<EdgeHandle> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => undefined);
  let faults = o.faults ?? [];
  const routes = initialRoutes(o, faults);
  const certs = initialCerts(o, faults);
  const inFlight = new InFlight();
  const agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64 });
  const forward = createForwarder(routes, inFlight, agent, log);

  let httpsPort = 0;
  let httpPort = 0;
  // Read per request: no-https-redirect can be switched while the edge runs.
  const onHttps = (req: IncomingMessage, res: ServerResponse) => forward(req, res, 'https', httpsPort);
  const onHttp = (req: IncomingMessage, res: ServerResponse) =>
    has(faults, 'no-https-redirect') ? forward(req, res, 'http', httpPort) : redirectToHttps(req, res, routes, httpsPort, httpPort);
  const weak = { sha1: has(faults, 'cert-sha1-signature'), smallKey: has(faults, 'cert-weak-key') };
  const tlsOptions = httpsOptions(o.defaultCert, certs, minTls(faults), weak);
  const httpsServer: HttpsServer = createHttpsServer(tlsOptions, onHttps);
  const httpServer: HttpServer = createHttpServer(onHttp);
  const host6 = o.host6 === undefined ? (hasIpv6Loopback() ? PUBLIC_HOST_V6 : undefined) : o.host6 ?? undefined;
  const twin: [HttpsServer, HttpServer] = [createHttpsServer(tlsOptions, onHttps), createHttpServer(onHttp)];
  const all: AnyServer[] = [httpsServer, httpServer, ...twin];
  const sockets = trackSockets([httpsServer, twin[0]]);
  const httpSockets = trackSockets([httpServer, twin[1]]);
  for (const s of [httpsServer, twin[0]]) s.on('tlsClientError', () => undefined);

  // Fault http-port-closed: Traefik without its `web` entrypoint. The port is still claimed for the target
  // (EXPECTED_OPEN_PORTS lists it), so it is bound once to pick or check it, then released: connections to it
  // are refused. Binding also makes a fixed port that someone else holds fail here, as it would when healthy.
  let httpClosed = has(faults, 'http-port-closed');
  const reserve = async (port: number) => {
    const got = await listen(httpServer, host, port);
    await closeServer(httpServer);
    return got;
  };
  try {
    httpsPort = await listen(httpsServer, host, o.httpsPort);
    httpPort = httpClosed ? await reserve(o.httpPort) : await listen(httpServer, host, o.httpPort);
    if (httpClosed) log(`edge: fault http-port-closed: nothing listens on plain-HTTP port ${httpPort}`);
  } catch (e) {
    await Promise.all([closeServer(httpsServer), closeServer(httpServer)]);
    throw e;
  }
  const dual = host6 ? await listenTwin(twin, host6, [httpsPort, httpClosed ? undefined : httpPort], log) : false;

  let closed: Promise<void> | undefined;
  return {
    host,
    ...(dual ? { host6 } : {}),
    get httpsPort() {
      return httpsPort;
    },
    get httpPort() {
      return httpPort;
    },
    routes,
    inFlight: (u) => inFlight.of(u),
    drain: (u, timeoutMs) => inFlight.drain(u, timeoutMs),
    async applyFaults(next) {
      faults = [...next];
      applyRouteFaults(routes, o, faults);
      const close = has(faults, 'http-port-closed');
      if (close === httpClosed || closed) return;
      httpClosed = close;
      const servers = [{ server: httpServer, host }, ...(dual && host6 ? [{ server: twin[1], host: host6 }] : [])];
      await switchHttpPort(close, servers, httpSockets, httpPort);
      log(`edge: plain-HTTP port ${httpPort} ${close ? 'closed (fault http-port-closed)' : 'listening again'}`);
    },
    setCert: (name, id) => certs.set(name, id),
    close() {
      closed ??= (async () => {
        const done = Promise.all(all.map(closeServer));
        for (const s of [...sockets, ...httpSockets]) s.destroy();
        agent.destroy();
        await done;
      })();
      return closed;
    },
  };
}
