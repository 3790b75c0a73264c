// The edge's routing table and the small parsing it needs: which router a request's Host names, and which path
// a router forwards. Kept apart from TLS (tls.ts) and from the forwarding itself (proxy.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Upstream {
  host: string;
  port: number;
}

export interface Route {
  /** null: the router exists but has no server (a deploy gap): 503 "no available server". */
  upstream: Upstream | null;
  /** Only paths under this prefix are routed (and the prefix is stripped), as Coolify does for a path domain. */
  pathPrefix?: string;
  /** A Traefik headers middleware: set on every forwarded answer (replacing the service's own). */
  responseHeaders?: Record<string, string>;
  /**
   * How the plain-HTTP entrypoint's redirect is (mis)configured for this host; default the same URL over https.
   * 'drop-path': a redirectregex whose replacement forgot ${1} (every path goes to /); { host }: the wrong
   * host in the replacement; 'loop': a 302 back to the same http:// URL (a middleware chained on the web entrypoint);
   * 'drop-query': a redirectregex whose pattern captures the path only (`^http://[^/]+(/[^?]*)`).
   */
  httpRedirect?: 'drop-path' | 'drop-query' | 'loop' | { host: string };
  /** Another router with a higher priority answering one path of this host itself (status 200, an HTML page). */
  shadowedPath?: { path: string; html: string };
}

export const NOT_FOUND_TEXT = '404 page not found\n';
export const NO_SERVER_TEXT = 'no available server\n';
/** The app host's only routed path under fault `app-404-path-prefix`. */
export function appPathPrefix(appHost: string): string {
  return `/${appHost}`;
}

export function upstreamKey(u: Upstream): string {
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

export function hostOf(req: IncomingMessage): string | undefined {
  const h = req.headers.host;
  if (!h) return undefined;
  // Host may carry a port; IPv6 literals are not routed by name anyway.
  const m = /^([^:[\]]+)(?::\d+)?$/.exec(h.trim());
  return m ? m[1].toLowerCase().replace(/\.$/, '') : h.toLowerCase();
}

/** Applies a route's path prefix: the path to forward, or undefined when the path is not routed. */
export function routedPath(route: Route, url: string): string | undefined {
  const prefix = route.pathPrefix;
  if (!prefix) return url;
  if (url === prefix) return '/';
  if (url.startsWith(`${prefix}/`)) return url.slice(prefix.length);
  if (url.startsWith(`${prefix}?`)) return `/${url.slice(prefix.length)}`;
  return undefined;
}

export function textReply(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The plain-HTTP entrypoint's answer: Traefik's permanent redirect to the same URL over HTTPS (or a route's misconfiguration). */
export function redirectToHttps(req: IncomingMessage, res: ServerResponse, routes: RouteTable, httpsPort: number, httpPort = 80): void {
  const name = hostOf(req);
  const route = name ? routes.get(name) : undefined;
  if (!name || !route) return textReply(res, 404, NOT_FOUND_TEXT);
  const portPart = httpsPort === 443 ? '' : `:${httpsPort}`;
  const url = req.url ?? '/';
  const how = route.httpRedirect;
  if (how === 'loop') {
    res.writeHead(302, { location: `http://${name}${httpPort === 80 ? '' : `:${httpPort}`}${url}`, 'content-type': 'text/plain; charset=utf-8' });
    return void res.end('Found');
  }
  const target = typeof how === 'object' ? how.host : name;
  const location = `https://${target}${portPart}${how === 'drop-path' ? '/' : how === 'drop-query' ? url.split('?')[0] : url}`;
  res.writeHead(308, { location, 'content-type': 'text/plain; charset=utf-8' });
  res.end('Permanent Redirect');
}
