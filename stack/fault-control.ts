// The internal control route of the child services (app, auth): the orchestrator switches faults in a running
// process with `PUT /__stack/faults` and the run's control token. Only on the service's own internal port: a
// request that came through the edge (which always sets X-Forwarded-For) is never treated as one, and without a
// token in the env (a service started on its own) the route does not exist. Kept free of imports beyond Node's:
// the services load it before they listen.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const FAULT_CONTROL_PATH = '/__stack/faults';
/** Env variable with the per-run token (never logged, never in the target). */
export const FAULT_CONTROL_TOKEN_ENV = 'STACK_CONTROL_TOKEN';

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Handles the control request if `req` is one (returns true), else returns false and leaves it alone.
 * `apply` gets the whole fault list of the stack (every service's ids) and returns the ones this service now has.
 */
export function handleFaultControl(
  req: IncomingMessage,
  res: ServerResponse,
  token: string | undefined,
  apply: (ids: string[]) => string[],
): boolean {
  if (!token || req.headers['x-forwarded-for'] !== undefined) return false;
  if ((req.url ?? '').split('?')[0] !== FAULT_CONTROL_PATH) return false;
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('Bearer ') || !sameToken(auth.slice(7), token)) {
    reply(res, 403, { error: 'forbidden' });
    return true;
  }
  if (req.method !== 'PUT') {
    res.setHeader('allow', 'PUT');
    reply(res, 405, { error: 'method not allowed' });
    return true;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= 16 * 1024) chunks.push(c);
  });
  req.on('end', () => {
    let ids: unknown;
    try {
      ids = size <= 16 * 1024 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { faults?: unknown }).faults : undefined;
    } catch {
      ids = undefined;
    }
    if (!Array.isArray(ids) || !ids.every((f) => typeof f === 'string')) return reply(res, 400, { error: 'body must be {"faults": [ids]}' });
    reply(res, 200, { faults: apply(ids) });
  });
  return true;
}
