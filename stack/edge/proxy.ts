// The edge's forwarding: one request to the routed upstream, with Traefik's X-Forwarded-* handling, and the
// in-flight count per upstream that lets a rolling update drain the old instance.
import { Agent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import { hostOf, NO_SERVER_TEXT, NOT_FOUND_TEXT, routedPath, textReply, upstreamKey, type RouteTable, type Upstream } from './routes.ts';

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

function clientIp(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Requests in flight per upstream; `drain` waits for one upstream's count to reach zero. */
export class InFlight {
  private readonly counts = new Map<string, number>();
  private readonly counter = new EventEmitter().setMaxListeners(0);

  /** Counts one request to `u`; the returned function (idempotent) ends it. */
  begin(u: Upstream): () => void {
    const k = upstreamKey(u);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.counts.get(k) ?? 1) - 1;
      if (n <= 0) {
        this.counts.delete(k);
        this.counter.emit(`idle:${k}`);
      } else this.counts.set(k, n);
    };
  }

  of(u: Upstream): number {
    return this.counts.get(upstreamKey(u)) ?? 0;
  }

  drain(u: Upstream, timeoutMs: number): Promise<boolean> {
    const k = upstreamKey(u);
    if (!this.counts.get(k)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.counter.off(`idle:${k}`, onIdle);
        resolve(false);
      }, timeoutMs);
      this.counter.once(`idle:${k}`, onIdle);
    });
  }
}

function forwardedHeaders(req: IncomingMessage, name: string, proto: 'https' | 'http', port: number): OutgoingHttpHeaders {
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
  return headers;
}

export type Forward = (req: IncomingMessage, res: ServerResponse, proto: 'https' | 'http', port: number) => void;

/** The request handler both entrypoints share: route by Host, forward, answer Traefik's texts when it cannot. */
export function createForwarder(routes: RouteTable, inFlight: InFlight, agent: Agent, log: (line: string) => void): Forward {
  return (req, res, proto, port) => {
    const name = hostOf(req);
    const route = name ? routes.get(name) : undefined;
    if (!route) return textReply(res, 404, NOT_FOUND_TEXT);
    const path = routedPath(route, req.url ?? '/');
    if (path === undefined) return textReply(res, 404, NOT_FOUND_TEXT);
    if (route.shadowedPath && path.split('?')[0] === route.shadowedPath.path) {
      res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8', ...route.responseHeaders });
      return void res.end(route.shadowedPath.html);
    }
    const upstream = route.upstream;
    if (!upstream) return textReply(res, 503, NO_SERVER_TEXT);

    const headers = forwardedHeaders(req, name!, proto, port);
    const end = inFlight.begin(upstream);
    res.once('close', end);
    const bodyless = (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') && !req.headers['content-length'] && !req.headers['transfer-encoding'];

    const attempt = (retry: boolean) => {
      const up = httpRequest({ host: upstream.host, port: upstream.port, method: req.method, path, headers, agent });
      up.once('response', (upRes) => {
        const out: string[] = [];
        const raw = upRes.rawHeaders;
        const set = route.responseHeaders ?? {};
        for (let i = 0; i < raw.length; i += 2) {
          const k = raw[i].toLowerCase();
          if (!HOP_BY_HOP.has(k) && !(k in set)) out.push(raw[i], raw[i + 1]);
        }
        for (const [k, v] of Object.entries(set)) out.push(k, v);
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
        log(`edge: ${name} -> ${upstreamKey(upstream)}: ${e.code ?? e.message}`);
        textReply(res, 503, NO_SERVER_TEXT);
      });
      res.once('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      if (bodyless) up.end();
      else req.pipe(up);
    };
    attempt(true);
  };
}
