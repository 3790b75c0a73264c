// The stack's edge: what Traefik is in production. Terminates TLS (SNI per host, leaf + intermediate),
// routes by Host header to upstreams in a mutable route table (the deployer switches the app's upstream
// during a rolling update), and counts in-flight requests per upstream so that a deploy can drain.
// Error pages use Traefik's texts so that downtime looks the same as in production.
import { createServer as createHttpServer, Agent, request as httpRequest, type IncomingMessage, type ServerResponse, type Server as HttpServer, type OutgoingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { has, type FaultId } from '../faults.ts';

export interface Upstream {
  host: string;
  port: number;
}

export interface Route {
  /** null: the router exists but has no server (a deploy gap): 503 "no available server". */
  upstream: Upstream | null;
  /** Only paths under this prefix are routed (and the prefix is stripped), as Coolify does for a path domain. */
  pathPrefix?: string;
}

export interface TlsIdentity {
  keyPem: string;
  /** Leaf followed by the intermediate. */
  chainPem: string;
}

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

export const NOT_FOUND_TEXT = '404 page not found\n';
export const NO_SERVER_TEXT = 'no available server\n';
/** The app host's only routed path under fault `app-404-path-prefix`. */
export function appPathPrefix(appHost: string): string {
  return `/${appHost}`;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function key(u: Upstream): string {
  return `${u.host}:${u.port}`;
}

export class RouteTable {
  private readonly routes = new Map<string, Route>();

  set(host: string, route: Route): void {
    this.routes.set(host.toLowerCase(), { ...route });
  }

  get(host: string): Route | undefined {
    return this.routes.get(host.toLowerCase());
  }

  /** Switches the upstream of an existing route; new requests go there from now on. */
  setUpstream(host: string, upstream: Upstream | null): void {
    const r = this.routes.get(host.toLowerCase());
    if (!r) throw new Error(`no route for ${host}`);
    r.upstream = upstream ? { ...upstream } : null;
  }

  hosts(): string[] {
    return [...this.routes.keys()];
  }
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

function hostOf(req: IncomingMessage): string | undefined {
  const h = req.headers.host;
  if (!h) return undefined;
  // Host may carry a port; IPv6 literals are not routed by name anyway.
  const m = /^([^:[\]]+)(?::\d+)?$/.exec(h.trim());
  return m ? m[1].toLowerCase().replace(/\.$/, '') : h.toLowerCase();
}

function textReply(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function clientIp(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Applies a route's path prefix: the path to forward, or undefined when the path is not routed. */
function routedPath(route: Route, url: string): string | undefined {
  const prefix = route.pathPrefix;
  if (!prefix) return url;
  if (url === prefix) return '/';
  if (url.startsWith(`${prefix}/`)) return url.slice(prefix.length);
  if (url.startsWith(`${prefix}?`)) return `/${url.slice(prefix.length)}`;
  return undefined;
}

export async function startEdge(o: EdgeOptions): Promise<EdgeHandle> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => undefined);
  const faults = o.faults ?? [];
  const routes = new RouteTable();
  const appPrefix = has(faults, 'app-404-path-prefix') ? appPathPrefix(o.hosts.app) : undefined;
  routes.set(o.hosts.app, { upstream: null, pathPrefix: appPrefix });
  routes.set(o.hosts.auth, { upstream: null });
  routes.set(o.hosts.deployer, { upstream: null });

  const contexts = new Map<string, SecureContext>();
  // Fault cert-default-deployer: no certificate for the deployer's SNI, so its visitors get the default one
  // (the CA leaves it out too; this keeps the edge faithful whatever certificates it is handed).
  const noCertFor = has(faults, 'cert-default-deployer') ? o.hosts.deployer.toLowerCase() : undefined;
  for (const [name, id] of o.certs) {
    if (name.toLowerCase() === noCertFor) continue;
    contexts.set(name.toLowerCase(), createSecureContext({ key: id.keyPem, cert: id.chainPem, minVersion: 'TLSv1.2' }));
  }

  const counts = new Map<string, number>();
  const counter = new EventEmitter();
  counter.setMaxListeners(0);
  const agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64 });

  function begin(u: Upstream): () => void {
    const k = key(u);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (counts.get(k) ?? 1) - 1;
      if (n <= 0) {
        counts.delete(k);
        counter.emit(`idle:${k}`);
      } else counts.set(k, n);
    };
  }

  function forward(req: IncomingMessage, res: ServerResponse, proto: 'https' | 'http', port: number): void {
    const name = hostOf(req);
    const route = name ? routes.get(name) : undefined;
    if (!route) return textReply(res, 404, NOT_FOUND_TEXT);
    const path = routedPath(route, req.url ?? '/');
    if (path === undefined) return textReply(res, 404, NOT_FOUND_TEXT);
    const upstream = route.upstream;
    if (!upstream) return textReply(res, 503, NO_SERVER_TEXT);

    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k) || k.startsWith('x-forwarded-') || k === 'x-real-ip') continue;
      headers[k] = v;
    }
    // Like Traefik with untrusted clients: incoming X-Forwarded-* are replaced, never appended to.
    const ip = clientIp(req);
    headers['x-forwarded-for'] = ip;
    headers['x-forwarded-proto'] = proto;
    headers['x-forwarded-host'] = req.headers.host ?? name;
    headers['x-forwarded-port'] = String(port);
    headers['x-forwarded-server'] = 'stack-edge';
    headers['x-real-ip'] = ip;

    const end = begin(upstream);
    res.once('close', end);
    const bodyless = (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') && !req.headers['content-length'] && !req.headers['transfer-encoding'];

    const attempt = (retry: boolean) => {
      const up = httpRequest({ host: upstream.host, port: upstream.port, method: req.method, path, headers, agent });
      up.once('response', (upRes) => {
        const out: string[] = [];
        const raw = upRes.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) {
          if (!HOP_BY_HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
        upRes.pipe(res);
        upRes.once('error', () => res.destroy());
        upRes.once('aborted', () => res.destroy());
      });
      up.once('error', (e: NodeJS.ErrnoException) => {
        // A pooled keep-alive socket the upstream closed just now: safe to retry a request without a body.
        if (retry && bodyless && up.reusedSocket && e.code === 'ECONNRESET' && !res.headersSent) return attempt(false);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        log(`edge: ${name} -> ${key(upstream)}: ${e.code ?? e.message}`);
        textReply(res, 503, NO_SERVER_TEXT);
      });
      res.once('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      if (bodyless) up.end();
      else req.pipe(up);
    };
    attempt(true);
  }

  const httpsServer: HttpsServer = createHttpsServer(
    {
      key: o.defaultCert.keyPem,
      cert: o.defaultCert.chainPem,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
      SNICallback(servername, cb) {
        cb(null, contexts.get(servername.toLowerCase()));
      },
    },
    (req, res) => forward(req, res, 'https', httpsPort),
  );

  const plainHttp = has(faults, 'no-https-redirect');
  const httpServer: HttpServer = createHttpServer((req, res) => {
    if (plainHttp) return forward(req, res, 'http', httpPort);
    const name = hostOf(req);
    if (!name || !routes.get(name)) return textReply(res, 404, NOT_FOUND_TEXT);
    const portPart = httpsPort === 443 ? '' : `:${httpsPort}`;
    const location = `https://${name}${portPart}${req.url ?? '/'}`;
    res.writeHead(308, { location, 'content-type': 'text/plain; charset=utf-8' });
    res.end('Permanent Redirect');
  });

  const sockets = new Set<Socket>();
  for (const s of [httpsServer, httpServer]) {
    s.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
    });
    s.on('clientError', (_e, sock: Socket) => sock.destroy());
  }
  httpsServer.on('tlsClientError', () => undefined);

  const listen = (srv: HttpServer | HttpsServer, port: number) =>
    new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host, port, exclusive: true }, () => {
        srv.off('error', reject);
        resolve((srv.address() as AddressInfo).port);
      });
    });
  const closeServer = (srv: HttpServer | HttpsServer) =>
    new Promise<void>((r) => (srv.listening ? srv.close(() => r()) : r()));

  // Fault http-port-closed: Traefik without its `web` entrypoint. The port is still claimed for the target
  // (EXPECTED_OPEN_PORTS lists it), so it is bound once to pick or check it, then released: connections to it
  // are refused. Binding also makes a fixed port that someone else holds fail here, as it would when healthy.
  const httpClosed = has(faults, 'http-port-closed');
  const reserve = async (port: number) => {
    const got = await listen(httpServer, port);
    await closeServer(httpServer);
    return got;
  };

  let httpsPort = 0;
  let httpPort = 0;
  try {
    httpsPort = await listen(httpsServer, o.httpsPort);
    httpPort = httpClosed ? await reserve(o.httpPort) : await listen(httpServer, o.httpPort);
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
    inFlight: (u) => counts.get(key(u)) ?? 0,
    drain(u, timeoutMs) {
      const k = key(u);
      if (!counts.get(k)) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const onIdle = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          counter.off(`idle:${k}`, onIdle);
          resolve(false);
        }, timeoutMs);
        counter.once(`idle:${k}`, onIdle);
      });
    },
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
