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

/** The plain-HTTP entrypoint's answer when healthy: Traefik's permanent redirect to the same URL over HTTPS. */
export function redirectToHttps(req: IncomingMessage, res: ServerResponse, routes: RouteTable, httpsPort: number): void {
  const name = hostOf(req);
  if (!name || !routes.get(name)) return textReply(res, 404, NOT_FOUND_TEXT);
  const portPart = httpsPort === 443 ? '' : `:${httpsPort}`;
  const location = `https://${name}${portPart}${req.url ?? '/'}`;
  res.writeHead(308, { location, 'content-type': 'text/plain; charset=utf-8' });
  res.end('Permanent Redirect');
}
