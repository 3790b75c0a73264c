// The stack's authoritative nameservers for `stack.test` (ns1 and ns2, as a real domain has two; each answers
// UDP and TCP on one port), so that every client resolves the three host names the way it does in production:
// through DNS, never through /etc/hosts.
import dns2 from 'dns2';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { has, type FaultId } from '../faults.ts';

const { Packet } = dns2;

export const ZONE = 'stack.test';
/** Where `dns-wrong-a` (and a stale ns2 under `dns-secondary-stale`) points the app host: nothing listens there. */
export const WRONG_A = '127.0.0.3';
/** Where `dns-aaaa-dead` points the auth host's AAAA: the IPv6 discard prefix (RFC 6666), nothing answers there. */
export const DEAD_AAAA = '100::1';
/** The edge's public IPv6 address on the stack (the twin of 127.0.0.1), when the machine has one. */
export const PUBLIC_HOST_V6 = '::1';
/** The CA that production's Traefik gets its certificates from (ACME), as a CAA `issue` value names it. */
export const ACME_CAA = 'letsencrypt.org';
/** What `dns-caa-forbids-le` leaves in the zone's CAA set: another CA only. */
export const OTHER_CAA = 'pki.goog';
/** The domain's nameservers, primary first; a real zone is served by (at least) two. */
export const NAMESERVERS = ['ns1', 'ns2'] as const;
export type Nameserver = (typeof NAMESERVERS)[number];
const TTL = 60;
// RFC 1035 §4.1.1 response codes (dns2's typings omit its RCODE table).
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export interface DnsHosts {
  app: string;
  auth: string;
  deployer: string;
}

/**
 * A records per (lower-case) name as nameserver `ns` serves them, with the DNS faults applied. A missing name
 * is missing on every nameserver (the zone lacks it); two faults make ns2 differ: `dns-secondary-stale` (its copy of
 * the zone was never refreshed and still has the app host's old address) and `dns-secondary-missing`.
 */
export function dnsRecordsFor(hosts: DnsHosts, faults: readonly FaultId[] = [], ip = '127.0.0.1', ns: Nameserver = 'ns1'): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const staleApp = ns === 'ns2' && has(faults, 'dns-secondary-stale');
  m.set(hosts.app.toLowerCase(), [has(faults, 'dns-wrong-a') || staleApp ? WRONG_A : ip]);
  if (!has(faults, 'dns-missing-auth')) m.set(hosts.auth.toLowerCase(), [ip]);
  // dns-secondary-missing: ns2's copy of the zone lacks the deployer host (added at the primary, never transferred).
  const missingOnNs2 = ns === 'ns2' && has(faults, 'dns-secondary-missing');
  if (!has(faults, 'dns-missing-deployer') && !missingOnNs2) m.set(hosts.deployer.toLowerCase(), [ip]);
  return m;
}

/** Whether this machine has IPv6 loopback (::1): only then the stack publishes AAAA records and the edge listens there. */
export function hasIpv6Loopback(): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.family === 'IPv6' && i.address === PUBLIC_HOST_V6));
}

/**
 * AAAA records per name as nameserver `ns` serves them: the edge's IPv6 address for every name that has an A
 * record (a dual-stack VPS), none at all without IPv6 loopback. `dns-aaaa-dead`: the auth host's AAAA points at a
 * discard address (an old server's, a typo) while its A record is right: IPv6 clients cannot connect.
 */
export function dnsAaaaFor(hosts: DnsHosts, faults: readonly FaultId[] = [], ip6: string | undefined = hasIpv6Loopback() ? PUBLIC_HOST_V6 : undefined, ns: Nameserver = 'ns1'): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const withA = dnsRecordsFor(hosts, faults, undefined, ns);
  const dead = has(faults, 'dns-aaaa-dead');
  for (const name of withA.keys()) {
    if (dead && name === hosts.auth.toLowerCase()) m.set(name, [DEAD_AAAA]);
    else if (ip6) m.set(name, [ip6]);
  }
  return m;
}

/** A CAA property (RFC 8659): flags, tag (issue, issuewild, iodef), value. */
export interface CaaRecord { flags: number; tag: string; value: string }

/** The zone's CAA set at its apex: Let's Encrypt may issue; `dns-caa-forbids-le`: only another CA may. */
export function dnsCaaFor(zone: string, faults: readonly FaultId[] = []): Map<string, CaaRecord[]> {
  const ca = has(faults, 'dns-caa-forbids-le') ? OTHER_CAA : ACME_CAA;
  return new Map([[zone.toLowerCase(), [{ flags: 0, tag: 'issue', value: ca }, { flags: 0, tag: 'iodef', value: `mailto:hostmaster@${zone}` }]]]);
}

export interface NameserverOptions {
  host?: string;
  /** 0 or undefined: a free port (the same one for UDP and TCP). */
  port?: number;
  zone?: string;
  records: Map<string, string[]>;
  /** AAAA records per name; default none. */
  aaaa?: Map<string, string[]>;
  /** CAA sets per name; default none. */
  caa?: Map<string, CaaRecord[]>;
  /** Names this server in its log lines. */
  name?: string;
  log?: (line: string) => void;
}

/** One authoritative nameserver (UDP and TCP on one port). */
export interface NameserverHandle {
  host: string;
  port: number;
  /** `host:port`, the form of STACK_DNS_SERVER and DNS_SERVERS. */
  server: string;
  records: Map<string, string[]>;
  /** AAAA records per name, read per query (runtime faults replace the contents). */
  aaaa: Map<string, string[]>;
  close(): Promise<void>;
}

export interface DnsOptions {
  host?: string;
  /** ns1's port; 0 or undefined: a free port. */
  port?: number;
  /** ns2's port; 0 or undefined: a free port (never ns1's). */
  secondaryPort?: number;
  zone?: string;
  /** What ns1 serves. */
  records: Map<string, string[]>;
  /** What ns2 serves; default: the same records as ns1 (a secondary in sync). */
  secondaryRecords?: Map<string, string[]>;
  /** AAAA (ns1's) and CAA (both nameservers serve the same). */
  aaaa?: Map<string, string[]>;
  /** ns2's AAAA; default: ns1's map (AAAA follows each server's A records: a name ns2 lacks is NXDOMAIN there). */
  secondaryAaaa?: Map<string, string[]>;
  caa?: Map<string, CaaRecord[]>;
  log?: (line: string) => void;
}

/**
 * The zone's two nameservers. `host`/`port`/`server`/`records` are ns1's: the stack's own services ask it
 * (STACK_DNS_SERVER). `servers` lists both, primary first: the target's DNS_SERVERS, as a domain's NS set.
 */
export interface DnsHandle extends NameserverHandle {
  servers: string[];
  nameservers: NameserverHandle[];
}

type DnsPacket = InstanceType<typeof Packet>;

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** Records of the zone beyond A: AAAA and CAA per (lower-case) name. */
export interface ExtraRecords { aaaa?: Map<string, string[]>; caa?: Map<string, CaaRecord[]> }

export function answer(request: DnsPacket, zone: string, records: Map<string, string[]>, extra: ExtraRecords = {}): DnsPacket {
  const response = Packet.createResponseFromRequest(request);
  const [q] = request.questions;
  if (!q) {
    response.header.rcode = RCODE.FORMERR;
    return response;
  }
  const name = String(q.name).toLowerCase().replace(/\.$/, '');
  if (!inZone(name, zone)) {
    // Not authoritative and not recursive: refuse rather than pretend the name does not exist.
    response.header.rcode = RCODE.REFUSED;
    return response;
  }
  response.header.aa = 1;
  const soa = {
    name: zone,
    type: Packet.TYPE.SOA,
    class: Packet.CLASS.IN,
    ttl: TTL,
    primary: `ns1.${zone}`,
    admin: `hostmaster.${zone}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expiration: 86400,
    minimum: TTL,
  };
  const addrs = records.get(name);
  const v6 = extra.aaaa?.get(name);
  const caa = extra.caa?.get(name);
  if (!addrs && !v6 && !caa && name !== zone) {
    response.header.rcode = RCODE.NXDOMAIN;
    response.authorities.push(soa as never);
    return response;
  }
  const rr = (type: number, data: Record<string, unknown>) => ({ name: q.name, type, class: Packet.CLASS.IN, ttl: TTL, ...data }) as never;
  const any = q.type === Packet.TYPE.ANY;
  if (addrs && (q.type === Packet.TYPE.A || any)) for (const address of addrs) response.answers.push(rr(Packet.TYPE.A, { address }));
  if (v6 && (q.type === Packet.TYPE.AAAA || any)) for (const address of v6) response.answers.push(rr(Packet.TYPE.AAAA, { address }));
  if (caa && (q.type === Packet.TYPE.CAA || any)) for (const c of caa) response.answers.push(rr(Packet.TYPE.CAA, { flags: c.flags, tag: c.tag, value: c.value }));
  if (name === zone && (q.type === Packet.TYPE.SOA || any)) response.answers.push(soa as never);
  // The name exists but has no record of this type: NOERROR with no answer (NODATA), the SOA as authority.
  if (!response.answers.length) response.authorities.push(soa as never);
  return response;
}

export async function startNameserver(o: NameserverOptions): Promise<NameserverHandle> {
  const host = o.host ?? '127.0.0.1';
  const zone = (o.zone ?? ZONE).toLowerCase();
  const records = o.records;
  const aaaa = o.aaaa ?? new Map<string, string[]>();
  const tag = o.name ? `dns ${o.name}` : 'dns';
  const logTo = o.log ?? (() => undefined);
  const log = (line: string) => logTo(`${tag}: ${line}`);

  const handler = (request: DnsPacket, send: (r: DnsPacket) => unknown) => {
    let response: DnsPacket;
    try {
      response = answer(request, zone, records, { aaaa, caa: o.caa });
    } catch (e) {
      log(`bad request: ${(e as Error).message}`);
      response = Packet.createResponseFromRequest(request);
      response.header.rcode = RCODE.SERVFAIL;
    }
    Promise.resolve(send(response)).catch((e: Error) => log(`send failed: ${e.message}`));
  };

  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dns2.createUDPServer(handler as never);
    const tcp = dns2.createTCPServer(handler as never);
    udp.on('requestError', (e: Error) => log(`udp: ${e.message}`));
    tcp.on('requestError', (e: Error) => log(`tcp: ${e.message}`));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(o.port ?? 0, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = (udp.address() as AddressInfo).port;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ port, host, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      udp.on('error', (e: Error) => log(`udp: ${e.message}`));
      tcp.on('error', (e: Error) => log(`tcp: ${e.message}`));
      const sockets = new Set<import('node:net').Socket>();
      tcp.on('connection', (s: import('node:net').Socket) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      let closed: Promise<void> | undefined;
      return {
        host,
        port,
        server: `${host}:${port}`,
        records,
        aaaa,
        close() {
          closed ??= Promise.all([
            new Promise<void>((r) => udp.close(() => r())),
            new Promise<void>((r) => {
              tcp.close(() => r());
              for (const s of sockets) s.destroy();
            }),
          ]).then(() => undefined);
          return closed;
        },
      };
    } catch (e) {
      try {
        udp.close();
      } catch {
        /* not bound */
      }
      try {
        tcp.close();
      } catch {
        /* not listening */
      }
      const code = (e as NodeJS.ErrnoException).code;
      // A fixed port that is taken is the caller's problem; a random one only collided on TCP: retry.
      if (o.port || code !== 'EADDRINUSE') throw e;
    }
  }
  throw new Error(`could not bind UDP and TCP on one free port on ${host}`);
}

/** Starts ns1 and ns2 (each on its own port); a failure of either closes the other. */
export async function startDns(o: DnsOptions): Promise<DnsHandle> {
  const common = { host: o.host, zone: o.zone, log: o.log, aaaa: o.aaaa, caa: o.caa };
  const started = await Promise.allSettled([
    startNameserver({ ...common, name: 'ns1', port: o.port, records: o.records }),
    startNameserver({ ...common, name: 'ns2', port: o.secondaryPort, records: o.secondaryRecords ?? o.records, aaaa: o.secondaryAaaa ?? o.aaaa }),
  ]);
  const up = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(up.map((n) => n.close()));
    throw failed.reason;
  }
  const [ns1, ns2] = up;
  let closed: Promise<void> | undefined;
  return {
    host: ns1.host,
    port: ns1.port,
    server: ns1.server,
    records: ns1.records,
    aaaa: ns1.aaaa,
    servers: [ns1.server, ns2.server],
    nameservers: [ns1, ns2],
    close() {
      closed ??= Promise.all([ns1.close(), ns2.close()]).then(() => undefined);
      return closed;
    },
  };
}

export interface NameserversOptions {
  hosts: DnsHosts;
  faults?: readonly FaultId[];
  /** The address the three names resolve to (the edge's public address). */
  ip?: string;
  /** Where the nameservers listen; default 127.0.0.1. */
  host?: string;
  log?: (line: string) => void;
}

/** The stack's two nameservers with the records (and the DNS faults) of each: what the orchestrator starts. */
export function startNameservers(o: NameserversOptions): Promise<DnsHandle> {
  const faults = o.faults ?? [];
  return startDns({
    host: o.host,
    records: dnsRecordsFor(o.hosts, faults, o.ip, 'ns1'),
    secondaryRecords: dnsRecordsFor(o.hosts, faults, o.ip, 'ns2'),
    aaaa: dnsAaaaFor(o.hosts, faults),
    secondaryAaaa: dnsAaaaFor(o.hosts, faults, undefined, 'ns2'),
    caa: dnsCaaFor(ZONE, faults),
    log: o.log,
  });
}
