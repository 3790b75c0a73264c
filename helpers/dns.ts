// Name resolution through the configured DNS servers only. The embedded stack's names exist nowhere
// else, and in production asking a named public resolver shows what the world sees, not a local cache.
import { Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { Target } from './config.ts';

export class DnsError extends Error {
  code: 'ENOTFOUND' | 'ETIMEOUT' | 'ECONNREFUSED' | 'ESERVFAIL' | string;
  host: string;
  servers: string[];
  constructor(host: string, servers: string[], code: string, why: string) {
    super(`cannot resolve ${host} via ${servers.join(', ')}: ${why}`);
    this.name = 'DnsError';
    this.code = code;
    this.host = host;
    this.servers = servers;
  }
}

function explain(code: string | undefined): { code: string; why: string } {
  switch (code) {
    case 'ENOTFOUND': return { code: 'ENOTFOUND', why: 'NXDOMAIN' };
    case 'ENODATA': return { code: 'ENOTFOUND', why: 'no A record' };
    case 'ETIMEOUT': return { code: 'ETIMEOUT', why: 'timed out (no answer from the DNS server)' };
    case 'ECONNREFUSED': return { code: 'ECONNREFUSED', why: 'connection refused by the DNS server' };
    case 'ESERVFAIL': return { code: 'ESERVFAIL', why: 'SERVFAIL' };
    case 'EREFUSED': return { code: 'EREFUSED', why: 'query REFUSED by the DNS server' };
    default: return { code: code ?? 'EUNKNOWN', why: code ?? 'unknown error' };
  }
}

/** A records of `host` as answered by `servers` (ip[:port], tried in order). */
export async function resolveA(host: string, servers: string[], timeoutMs = 3000): Promise<string[]> {
  if (isIP(host) === 4) return [host];
  if (servers.length === 0) throw new DnsError(host, servers, 'EINVAL', 'no DNS servers configured');
  // c-ares' timeout is per try and doubles on retry; two tries fit the overall budget.
  const resolver = new Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / 3)), tries: 2 });
  resolver.setServers(servers);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      resolver.resolve4(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          resolver.cancel();
          reject(new DnsError(host, servers, 'ETIMEOUT', `timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } catch (e) {
    if (e instanceof DnsError) throw e;
    const { code, why } = explain((e as NodeJS.ErrnoException).code);
    throw new DnsError(host, servers, code, why);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A `lookup` for net/tls/undici that answers from DNS_SERVERS when the target says so; undefined means
 * "use the system resolver" (production default).
 */
export function lookupFor(t: Target): LookupFunction | undefined {
  if (!t.resolveViaDnsServers) return undefined;
  const servers = t.dnsServers;
  const lookup = (hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (...a: unknown[]) => void;
    const opts = (typeof options === 'object' && options !== null ? options : {}) as { all?: boolean; family?: number | string };
    const done = (addrs: string[]) => {
      if (opts.all) cb(null, addrs.map((address) => ({ address, family: isIP(address) || 4 })));
      else cb(null, addrs[0], isIP(addrs[0]) || 4);
    };
    const literal = hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal)) { done([literal]); return; }
    if (opts.family === 6 || opts.family === 'IPv6') {
      const err = new DnsError(hostname, servers, 'ENOTFOUND', 'only A records are resolved via DNS_SERVERS');
      cb(Object.assign(err, { hostname }));
      return;
    }
    resolveA(hostname, servers).then(
      (addrs) => (addrs.length ? done(addrs) : cb(Object.assign(new DnsError(hostname, servers, 'ENOTFOUND', 'no A record'), { hostname }))),
      (err: DnsError) => cb(Object.assign(err, { hostname })),
    );
  };
  return lookup as LookupFunction;
}
