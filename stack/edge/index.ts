// The stack's edge: what Traefik is in production. Terminates TLS (SNI per host, leaf + intermediate; tls.ts),
// routes by Host header to upstreams in a mutable route table (routes.ts; the deployer switches the app's
// upstream during a rolling update), and counts in-flight requests per upstream so that a deploy can drain
// (proxy.ts). Error pages use Traefik's texts so that downtime looks the same as in production.
import { createServer as createHttpServer, Agent, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
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
  /** 0: a free port. */
  httpsPort: number;
  httpPort: number;
  /** TLS identity per host name (SNI). */
  certs: Map<string, TlsIdentity>;
  /** Served for an unknown or absent SNI (Traefik's default certificate). */
  defaultCert: TlsIdentity;
  hosts: EdgeHosts;
  faults?: readonly FaultId[];
  log?: (line: string) => void;
}

export interface EdgeHandle {
  host: string;
  httpsPort: number;
  /** The plain-HTTP port; under fault http-port-closed the port the edge picked, with nothing listening. */
  httpPort: number;
  routes: RouteTable;
  /** Requests currently being forwarded to this upstream (responses not yet finished). */
  inFlight(upstream: Upstream): number;
  /** Resolves true once nothing is in flight to `upstream`, false after `timeoutMs`. */
  drain(upstream: Upstream, timeoutMs: number): Promise<boolean>;
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

function initialRoutes(o: EdgeOptions, faults: readonly FaultId[]): RouteTable {
  const routes = new RouteTable();
  const appPrefix = has(faults, 'app-404-path-prefix') ? appPathPrefix(o.hosts.app) : undefined;
  routes.set(o.hosts.app, { upstream: null, pathPrefix: appPrefix });
  routes.set(o.hosts.auth, { upstream: null });
  routes.set(o.hosts.deployer, { upstream: null });
  return routes;
}

function initialCerts(o: EdgeOptions, faults: readonly FaultId[]): CertStore {
  const store = new CertStore();
  // Fault cert-default-deployer: no certificate for the deployer's SNI, so its visitors get the default one
  // (the CA leaves it out too; this keeps the edge faithful whatever certificates it is handed).
  const noCertFor = has(faults, 'cert-default-deployer') ? o.hosts.deployer.toLowerCase() : undefined;
  for (const [name, id] of o.certs) if (name.toLowerCase() !== noCertFor) store.set(name, id);
  return store;
}

export async function startEdge(o: EdgeOptions): Promise<EdgeHandle> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => undefined);
  const faults = o.faults ?? [];
  const routes = initialRoutes(o, faults);
  const certs = initialCerts(o, faults);
  const inFlight = new InFlight();
  const agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64 });
  const forward = createForwarder(routes, inFlight, agent, log);

  let httpsPort = 0;
  let httpPort = 0;
  const httpsServer: HttpsServer = createHttpsServer(httpsOptions(o.defaultCert, certs), (req, res) => forward(req, res, 'https', httpsPort));
  const plainHttp = has(faults, 'no-https-redirect');
  const httpServer: HttpServer = createHttpServer((req, res) =>
    plainHttp ? forward(req, res, 'http', httpPort) : redirectToHttps(req, res, routes, httpsPort),
  );
  const sockets = trackSockets([httpsServer, httpServer]);
  httpsServer.on('tlsClientError', () => undefined);

  // Fault http-port-closed: Traefik without its `web` entrypoint. The port is still claimed for the target
  // (EXPECTED_OPEN_PORTS lists it), so it is bound once to pick or check it, then released: connections to it
  // are refused. Binding also makes a fixed port that someone else holds fail here, as it would when healthy.
  const httpClosed = has(faults, 'http-port-closed');
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

  let closed: Promise<void> | undefined;
  return {
    host,
    get httpsPort() {
      return httpsPort;
    },
    get httpPort() {
      return httpPort;
    },
    routes,
    inFlight: (u) => inFlight.of(u),
    drain: (u, timeoutMs) => inFlight.drain(u, timeoutMs),
    close() {
      closed ??= (async () => {
        const done = Promise.all([closeServer(httpsServer), closeServer(httpServer)]);
        for (const s of sockets) s.destroy();
        agent.destroy();
        await done;
      })();
      return closed;
    },
  };
}
