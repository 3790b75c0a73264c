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

/** Runs one query of `servers` bounded by `timeoutMs`; errors become DnsError (NXDOMAIN, time-out, ...). */
async function ask<T>(host: string, servers: string[], timeoutMs: number, fn: (r: Resolver) => Promise<T>, what = 'A'): Promise<T> {
  if (servers.length === 0) throw new DnsError(host, servers, 'EINVAL', 'no DNS servers configured');
  // c-ares' timeout is per try and doubles on retry; two tries fit the overall budget.
  const resolver = new Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / 3)), tries: 2 });
  resolver.setServers(servers);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(resolver),
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
    throw new DnsError(host, servers, code, code === 'ENOTFOUND' && why === 'no A record' ? `no ${what} record` : why);
  } finally {
    clearTimeout(timer);
  }
}

/** A records of `host` as answered by `servers` (ip[:port], tried in order). */
export async function resolveA(host: string, servers: string[], timeoutMs = 3000): Promise<string[]> {
  if (isIP(host) === 4) return [host];
  return ask(host, servers, timeoutMs, (r) => r.resolve4(host));
}

export interface AddressRecord { address: string; ttl: number }
/** What one server says about a name: its A and AAAA records (empty: none of that type; the name exists). */
export interface HostRecords { a: AddressRecord[]; aaaa: AddressRecord[] }

/**
 * A and AAAA of `host` from one server. NXDOMAIN (or a dead server) rejects; a name without records of one
 * type answers an empty list for it (NOERROR/NODATA), as a browser's resolver sees it.
 */
export async function resolveHost(host: string, server: string, timeoutMs = 3000): Promise<HostRecords> {
  const noData = (e: unknown) => {
    if (e instanceof DnsError && e.code === 'ENOTFOUND' && /^no (A|AAAA) record/.test(e.message.split(': ').pop() ?? '')) return [];
    throw e;
  };
  const [a, aaaa] = await Promise.all([
    ask(host, [server], timeoutMs, (r) => r.resolve4(host, { ttl: true })).catch(noData),
    ask(host, [server], timeoutMs, (r) => r.resolve6(host, { ttl: true }), 'AAAA').catch(noData),
  ]);
  // A name that exists with neither record type is a name without an address: say so as for A.
  if (!a.length && !aaaa.length) throw new DnsError(host, [server], 'ENOTFOUND', 'no A or AAAA record');
  return { a, aaaa };
}

export interface CaaRecord { critical: number; tag: string; value: string }
/** The CAA set that governs issuance for `host` (RFC 8659: the closest name up the tree that has one). */
export interface CaaSet { name: string; records: CaaRecord[] }

/** Climbs from `host` towards the zone apex (never the TLD) and returns the first CAA set found, if any. */
export async function resolveCaa(host: string, servers: string[], timeoutMs = 3000): Promise<CaaSet | undefined> {
  const labels = host.replace(/\.$/, '').split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const name = labels.slice(i).join('.');
    let got: CaaRecord[] = [];
    try {
      const raw = await ask(name, servers, timeoutMs, (r) => r.resolveCaa(name), 'CAA');
      got = raw.map((c) => {
        const { critical, ...rest } = c as unknown as Record<string, string | number>;
        const [tag, value] = Object.entries(rest).find(([k]) => k !== 'critical') ?? ['', ''];
        return { critical: Number(critical ?? 0), tag: String(tag), value: String(value) };
      });
    } catch (e) {
      if (!(e instanceof DnsError) || e.code !== 'ENOTFOUND') throw e;
    }
    if (got.length) return { name, records: got };
  }
  return undefined;
}

/**
 * Whether the CAA set lets `caDomain` (e.g. letsencrypt.org) issue a certificate for the name: no set, or an
 * `issue` property naming it (parameters after ";" ignored). An unknown critical property forbids all.
 */
export function caaPermits(set: CaaSet | undefined, caDomain: string): { ok: boolean; why: string } {
  if (!set) return { ok: true, why: 'no CAA record: any CA may issue' };
  const unknownCritical = set.records.find((r) => (r.critical & 128) && !['issue', 'issuewild', 'iodef'].includes(r.tag.toLowerCase()));
  if (unknownCritical) return { ok: false, why: `critical CAA property "${unknownCritical.tag}" is unknown, which forbids every CA` };
  const issue = set.records.filter((r) => r.tag.toLowerCase() === 'issue');
  if (!issue.length) return { ok: true, why: `CAA at ${set.name} has no issue property` };
  const named = issue.map((r) => r.value.split(';')[0]!.trim().toLowerCase());
  return named.includes(caDomain.toLowerCase())
    ? { ok: true, why: `CAA at ${set.name} allows ${caDomain}` }
    : { ok: false, why: `CAA at ${set.name} allows only ${named.map((n) => n || '(no CA)').join(', ')}, not ${caDomain}` };
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

export interface HostAddress { address: string; family: 4 | 6; via: string }

/**
 * Every address a client may connect to for `host`: A and AAAA from the first DNS server when the target
 * resolves through DNS_SERVERS, else the system resolver's answer (both families).
 */
export async function addressesFor(t: Target, host: string, timeoutMs = 3000): Promise<HostAddress[]> {
  if (isIP(host)) return [{ address: host, family: isIP(host) as 4 | 6, via: 'literal' }];
  if (t.resolveViaDnsServers) {
    const server = t.dnsServers[0]!;
    const r = await resolveHost(host, server, timeoutMs);
    return [...r.a.map((x) => ({ address: x.address, family: 4 as const, via: server })), ...r.aaaa.map((x) => ({ address: x.address, family: 6 as const, via: server }))];
  }
  const { lookup } = await import('node:dns/promises');
  try {
    return (await lookup(host, { all: true })).map((x) => ({ address: x.address, family: x.family as 4 | 6, via: 'system resolver' }));
  } catch (e) {
    const { code, why } = explain((e as NodeJS.ErrnoException).code);
    throw new DnsError(host, ['system resolver'], code, why);
  }
}

/**
 * What kind of address an AAAA holds, for the promise "IPv6 clients reach the server": a global unicast address
 * (2000::/3), loopback (only where the A records are loopback too: the embedded stack), or a special-use one no
 * client can reach (discard 100::/64, documentation 2001:db8::/32, link-local, unique-local, mapped, unspecified).
 */
export function ipv6Kind(address: string): 'global' | 'loopback' | { special: string } {
  const a = address.toLowerCase();
  if (a === '::1') return 'loopback';
  if (a === '::') return { special: 'the unspecified address' };
  if (a.startsWith('::ffff:')) return { special: 'an IPv4-mapped address' };
  if (/^100::|^100:0:0:0:/.test(a)) return { special: 'the discard-only prefix 100::/64 (RFC 6666)' };
  if (/^2001:0?db8:/.test(a)) return { special: 'the documentation prefix 2001:db8::/32' };
  if (/^fe[89ab]/.test(a)) return { special: 'a link-local address' };
  if (/^f[cd]/.test(a)) return { special: 'a unique-local (private) address' };
  if (/^[23]/.test(a)) return 'global';
  return { special: 'not a global unicast address (outside 2000::/3)' };
}
