// The stack's authoritative DNS server for `stack.test` (UDP and TCP on one port), so that every client resolves
// the three host names the way it does in production: through DNS, never through /etc/hosts.
import dns2 from 'dns2';
import type { AddressInfo } from 'node:net';
import { has, type FaultId } from '../faults.ts';

const { Packet } = dns2;

export const ZONE = 'stack.test';
/** Where `dns-wrong-a` points the app host: an address nothing listens on. */
export const WRONG_A = '127.0.0.3';
const TTL = 60;
// RFC 1035 §4.1.1 response codes (dns2's typings omit its RCODE table).
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export interface DnsHosts {
  app: string;
  auth: string;
  deployer: string;
}

/** A records per (lower-case) name, with the DNS faults applied. */
export function dnsRecordsFor(hosts: DnsHosts, faults: readonly FaultId[] = [], ip = '127.0.0.1'): Map<string, string[]> {
  const m = new Map<string, string[]>();
  m.set(hosts.app.toLowerCase(), [has(faults, 'dns-wrong-a') ? WRONG_A : ip]);
  if (!has(faults, 'dns-missing-auth')) m.set(hosts.auth.toLowerCase(), [ip]);
  m.set(hosts.deployer.toLowerCase(), [ip]);
  return m;
}

export interface DnsOptions {
  host?: string;
  /** 0 or undefined: a free port (the same one for UDP and TCP). */
  port?: number;
  zone?: string;
  records: Map<string, string[]>;
  log?: (line: string) => void;
}

export interface DnsHandle {
  host: string;
  port: number;
  /** `host:port`, the form of STACK_DNS_SERVER and DNS_SERVERS. */
  server: string;
  records: Map<string, string[]>;
  close(): Promise<void>;
}

type DnsPacket = InstanceType<typeof Packet>;

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

export function answer(request: DnsPacket, zone: string, records: Map<string, string[]>): DnsPacket {
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
    primary: `ns.${zone}`,
    admin: `hostmaster.${zone}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expiration: 86400,
    minimum: TTL,
  };
  const addrs = records.get(name);
  if (!addrs && name !== zone) {
    response.header.rcode = RCODE.NXDOMAIN;
    response.authorities.push(soa as never);
    return response;
  }
  if (addrs && (q.type === Packet.TYPE.A || q.type === Packet.TYPE.ANY)) {
    for (const address of addrs) {
      response.answers.push({ name: q.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: TTL, address } as never);
    }
    return response;
  }
  if (name === zone && q.type === Packet.TYPE.SOA) {
    response.answers.push(soa as never);
    return response;
  }
  // The name exists but has no record of this type (AAAA among them): NOERROR with no answer.
  response.authorities.push(soa as never);
  return response;
}

export async function startDns(o: DnsOptions): Promise<DnsHandle> {
  const host = o.host ?? '127.0.0.1';
  const zone = (o.zone ?? ZONE).toLowerCase();
  const records = o.records;
  const log = o.log ?? (() => undefined);

  const handler = (request: DnsPacket, send: (r: DnsPacket) => unknown) => {
    let response: DnsPacket;
    try {
      response = answer(request, zone, records);
    } catch (e) {
      log(`dns: bad request: ${(e as Error).message}`);
      response = Packet.createResponseFromRequest(request);
      response.header.rcode = RCODE.SERVFAIL;
    }
    Promise.resolve(send(response)).catch((e: Error) => log(`dns: send failed: ${e.message}`));
  };

  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dns2.createUDPServer(handler as never);
    const tcp = dns2.createTCPServer(handler as never);
    udp.on('requestError', (e: Error) => log(`dns udp: ${e.message}`));
    tcp.on('requestError', (e: Error) => log(`dns tcp: ${e.message}`));
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
      udp.on('error', (e: Error) => log(`dns udp: ${e.message}`));
      tcp.on('error', (e: Error) => log(`dns tcp: ${e.message}`));
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
