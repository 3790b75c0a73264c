// Bounded TCP probes for the exposure check: does anything accept a connection on host:port? Only the ports
// the configuration names are ever tried (this is a check of one's own server, not a scanner).
import { Socket } from 'node:net';

/**
 * open: the handshake completed (something listens). closed: refused (nothing listens, nothing filters).
 * filtered: no answer in time (a firewall drops the packets) or the host is unreachable.
 */
export type PortState = 'open' | 'closed' | 'filtered';

export interface PortProbe { host: string; port: number; state: PortState; ms: number; code?: string }

export const DEFAULT_PORT_TIMEOUT_MS = 2500;

/** One TCP connect to host:port, closed again at once; never rejects. */
export function probePort(host: string, port: number, timeoutMs = DEFAULT_PORT_TIMEOUT_MS): Promise<PortProbe> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = new Socket();
    let done = false;
    const finish = (state: PortState, code?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined); // a late RST after destroy must not crash the process
      socket.destroy();
      resolve({ host, port, state, ms: Math.round(performance.now() - started), ...(code ? { code } : {}) });
    };
    const timer = setTimeout(() => finish('filtered', 'ETIMEDOUT'), timeoutMs);
    socket.once('connect', () => finish('open'));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      finish(e.code === 'ECONNREFUSED' ? 'closed' : 'filtered', e.code);
    });
    socket.connect({ host, port });
  });
}

/** Probes several ports on one host, a few at a time (a burst of connects looks like a scan to an IDS). */
export async function probePorts(host: string, ports: readonly number[], timeoutMs = DEFAULT_PORT_TIMEOUT_MS, concurrency = 4): Promise<PortProbe[]> {
  const unique = [...new Set(ports)];
  const out: PortProbe[] = new Array(unique.length);
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const i = next++;
      out[i] = await probePort(host, unique[i], timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, unique.length) }, worker));
  return out;
}

/** What an open forbidden port hands an attacker, for the failure message. */
export function exposureRisk(port: number, knownAs?: string): string {
  const role = knownAs ?? ({ 5432: 'Postgres', 3000: 'the app container', 8080: 'Zitadel' } as Record<number, string>)[port];
  if (role === 'Postgres' || /postgres/i.test(role ?? ''))
    return 'anyone on the internet can try passwords against the database directly and read or change every record if one works';
  if (role) return `anyone can reach ${role} directly, bypassing the edge (its TLS, redirects and headers)`;
  return 'a service meant for the internal network answers from outside, bypassing the edge';
}
