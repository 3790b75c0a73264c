// The control channel of a running stack, for other processes (`npm run stack -- fault <id> on|off`): HTTP over
// a unix socket in the run folder (`<run>/control/stack.sock`, its folder 0700, so only the owner can connect;
// no token, nothing secret). Any stack has one, `npm run stack`'s and one started in-process (the monitor's).
//   GET /faults            → { faults: [on now], switchable: [...], dir, pid }
//   PUT /faults/<id>       body `on` or `off` → { faults: [on now] }, or 400 { error } naming the problem
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { FaultError, RUNTIME_FAULTS } from '../faults.ts';
import type { FaultSwitch } from './runtime.ts';
import { liveRunDirs } from './sweep.ts';

export function controlSocket(runDir: string): string {
  return join(runDir, 'control', 'stack.sock');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > 1024) break;
  }
  return text.trim();
}

/** What the socket needs of the fault switch. */
export type Switch = Pick<FaultSwitch, 'list' | 'set'>;

async function handle(req: IncomingMessage, res: ServerResponse, faults: Switch, runDir: string): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/faults' && req.method === 'GET')
    return reply(res, 200, { faults: faults.list(), switchable: RUNTIME_FAULTS, dir: runDir, pid: process.pid });
  const m = /^\/faults\/([a-z0-9-]+)$/.exec(path);
  if (!m || req.method !== 'PUT') return reply(res, 404, { error: `no such control: ${req.method} ${path}` });
  const body = await readBody(req);
  if (body !== 'on' && body !== 'off') return reply(res, 400, { error: `say on or off, not "${body.slice(0, 20)}"` });
  try {
    await faults.set(m[1], body === 'on');
  } catch (e) {
    return reply(res, e instanceof FaultError ? 400 : 500, { error: (e as Error).message });
  }
  reply(res, 200, { faults: faults.list() });
}

export interface ControlServer {
  socket: string;
  close(): Promise<void>;
}

export async function startControl(runDir: string, faults: Switch, log: (line: string) => void): Promise<ControlServer> {
  const socket = controlSocket(runDir);
  await mkdir(join(runDir, 'control'), { mode: 0o700 });
  const server = createServer((req, res) => {
    handle(req, res, faults, runDir).catch((e: Error) => reply(res, 500, { error: e.message }));
  });
  try {
    // Linux cuts a longer path (sun_path is 108 bytes) without a word: refuse it instead.
    if (Buffer.byteLength(socket) > 107) throw Object.assign(new Error('path too long'), { code: 'ENAMETOOLONG' });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    // A deep checkout must still get a working stack, switchable in process (setFault), just not from another
    // terminal.
    log(`stack: no control socket (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: ${socket}); faults switch only in process`);
    return { socket, close: async () => undefined };
  }
  log(`stack: control socket ${socket}`);
  return {
    socket,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

// --- the client side (bin/stack.ts) -------------------------------------------------------------------------

/** The live stacks under `stackRoot` that have a control socket. */
export function runningStacks(stackRoot: string): string[] {
  return liveRunDirs(stackRoot).filter((d) => existsSync(controlSocket(d)));
}

export function controlRequest(runDir: string, method: 'GET' | 'PUT', path: string, body = ''): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: controlSocket(runDir), method, path, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`the stack's control socket answered ${res.statusCode} with no JSON`));
        }
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error('the stack did not answer within 30 s')));
    req.once('error', reject);
    req.end(body);
  });
}
