// A real webhook receiver for the monitor's self-tests: an HTTP server on loopback that records every request
// and answers each path with planned statuses (then 200), or always `fail[path]`.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit { path: string; headers: IncomingHttpHeaders; body: string; at: number }

export class Receiver {
  hits: Hit[] = [];
  /** Statuses to answer in turn on a path; 200 once used up. */
  plan: Record<string, number[]> = {};
  /** A status a path always answers. */
  always: Record<string, number> = {};
  port = 0;
  private server?: Server;
  private waiters: (() => void)[] = [];

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.hits.push({ path, headers: req.headers, body, at: Date.now() });
        const status = this.always[path] ?? this.plan[path]?.shift() ?? 200;
        if (status === 429) res.setHeader('retry-after', '1');
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : `error (echoing ${path})`);
        for (const w of this.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string { return `http://127.0.0.1:${this.port}${path}`; }
  of(path: string): Hit[] { return this.hits.filter((h) => h.path === path); }

  /** Resolves when `pred` holds (checked after every request), rejects after `timeoutMs`. */
  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`receiver: ${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (pred()) { clearTimeout(timer); res(); } else this.waiters.push(check);
      };
      check();
    });
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
