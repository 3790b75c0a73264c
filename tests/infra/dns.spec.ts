// Every host's addresses, asked of each configured DNS server separately, for every record type a client uses:
// A (IPv4) and AAAA (IPv6, which clients prefer when it exists). A stale secondary, an AAAA left pointing at an
// old server, or a CAA set that forbids the ACME CA shows up here, not as a mysterious browser time-out.
import { expectNone } from '../../fixtures/observed.ts';
import { test } from '../../fixtures/test.ts';
import type { Target } from '../../helpers/config.ts';
import { caaPermits, ipv6Kind, resolveCaa, resolveHost, type DnsError, type HostRecords } from '../../helpers/dns.ts';
import { warn } from '../../helpers/findings.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { probePort } from '../../helpers/ports.ts';
import { attachJson, hostOf, hostPort, hostsOf, note, ROLES, type HostRole } from './common.ts';

/** The CA Coolify's Traefik gets certificates from (ACME), as CAA `issue` values name it. */
const ACME_CAA = 'letsencrypt.org';
const DNS_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 2500;

const isLoopback4 = (a: string) => a.startsWith('127.');

const sortedA = (r: HostRecords) => r.a.map((x) => x.address).sort();

/** Whether one server's A records are what the target expects (some address, when EXPECTED_IPS is unset). */
function aRight(t: Target, r: HostRecords): boolean {
  const got = sortedA(r);
  return t.expectedIps.length ? got.join(',') === [...t.expectedIps].sort().join(',') : got.length > 0;
}

/** One line per problem with the A records one server gave. */
function aProblems(t: Target, h: HostRole, server: string, r: HostRecords): string[] {
  if (aRight(t, r)) return [];
  if (!t.expectedIps.length) return [`${h.host}: no A record via ${server}`];
  return [`${h.host}: A via ${server} = ${sortedA(r).join(', ') || 'none'}, expected ${[...t.expectedIps].sort().join(', ')}`];
}

/**
 * When some servers gave the right A records and others did not (a wrong address, none, NXDOMAIN): one line saying
 * so, first, with each server's answer; the per-server lines follow. Empty when all agree or all are wrong alike.
 */
function disagreement(t: Target, h: HostRole, answers: Record<string, HostRecords | string>): string[] {
  // Only servers that answered: one that timed out or refused is down, not out of sync.
  const answered = Object.entries(answers).filter(([, r]) => typeof r !== 'string' || /NXDOMAIN/.test(r));
  const right = answered.filter(([, r]) => typeof r !== 'string' && aRight(t, r)).length;
  if (!right || right === answered.length) return [];
  const said = (r: HostRecords | string) => (typeof r === 'string' ? 'NXDOMAIN' : sortedA(r).join(', ') || 'no A record');
  return [`${h.host}: the DNS servers disagree on its A records: ${answered.map(([s, r]) => `${s} → ${said(r)}`).join('; ')}`];
}

/**
 * AAAA is optional, but an AAAA that exists is where IPv6 clients go first: it must be an address they can reach
 * and something must accept connections on the HTTPS port there (TLS on it is judged by tls.spec.ts).
 */
async function aaaaProblems(h: HostRole, server: string, r: HostRecords, tried: Map<string, Promise<string | undefined>>): Promise<string[]> {
  const out: string[] = [];
  const loopbackA = r.a.length > 0 && r.a.every((x) => isLoopback4(x.address));
  for (const { address } of r.aaaa) {
    const kind = ipv6Kind(address);
    const fact = `${h.host}: AAAA via ${server} → ${address}`;
    if (kind === 'loopback' && !loopbackA) { out.push(`${fact}, the loopback address, while its A records are public: IPv6 clients connect to themselves`); continue; }
    if (typeof kind === 'object') { out.push(`${fact}, ${kind.special}: IPv6 clients cannot connect (the A record is right, so IPv4 clients still can)`); continue; }
    if (!tried.has(address)) tried.set(address, reach(h, address));
    const why = await tried.get(address)!;
    if (why) out.push(`${fact}, which ${why}`);
  }
  return out;
}

/** undefined when the HTTPS port accepts a connection there; else what happened (a warning when untestable). */
async function reach(h: HostRole, address: string): Promise<string | undefined> {
  const p = await probePort(address, h.port, CONNECT_TIMEOUT_MS);
  if (p.state === 'open') return undefined;
  if (p.code === 'ENETUNREACH' || p.code === 'EADDRNOTAVAIL') {
    warn(`${h.host}: AAAA ${address} not verified: this machine has no IPv6 route (${p.code}); IPv6 clients were not tested`);
    return undefined;
  }
  return p.state === 'closed'
    ? `refuses connections on port ${h.port} (nothing listens at ${hostPort(address, h.port)})`
    : `does not answer on port ${h.port} within ${CONNECT_TIMEOUT_MS} ms (${p.code ?? 'timed out'})`;
}

test.describe('DNS', () => {
  for (const role of ROLES) {
    test(`${role} host: A and AAAA records on every DNS server reach the server`, { tag: '@smoke' }, async ({ target: t }, info) => {
      const h = hostOf(t, role);
      test.skip(!h, 'DEPLOYER_URL not set: the deployer host is not checked');
      await label({ feature: 'DNS', story: `A and AAAA records of the ${role} host`, severity: 'blocker', parameters: { host: h!.host } });
      const problems: string[] = [];
      const answers: Record<string, HostRecords | string> = {};
      const tried = new Map<string, Promise<string | undefined>>();
      for (const server of t.dnsServers) {
        await test.step(`ask ${server} for ${h!.host} A and AAAA`, async () => {
          try {
            const r = await resolveHost(h!.host, server, DNS_TIMEOUT_MS);
            answers[server] = r;
            problems.push(...aProblems(t, h!, server, r), ...await aaaaProblems(h!, server, r, tried));
            const ttls = [...r.a, ...r.aaaa].map((x) => x.ttl);
            note(info, 'ttl', `${h!.host} via ${server}: A ${r.a.map((x) => x.address).join(', ') || 'none'}, AAAA ${r.aaaa.map((x) => x.address).join(', ') || 'none'}, TTL ${ttls.length ? Math.min(...ttls) : '-'} s`);
          } catch (e) {
            answers[server] = (e as Error).message;
            problems.push((e as DnsError).message); // "cannot resolve <host> via <server>: NXDOMAIN"
          }
        });
      }
      problems.unshift(...disagreement(t, h!, answers));
      await attachJson(info, `dns-${h!.host}.json`, { host: h!.host, expected: t.expectedIps, answers });
      if (!t.expectedIps.length) warn(`EXPECTED_IPS not set: ${h!.host} was only checked to resolve, not to point at the server`);
      await expectNone(`${h!.host} resolves on every DNS server to addresses that reach the server`, problems);
    });
  }

  test('all DNS servers give the same answers', async ({ target: t }, info) => {
    await label({ feature: 'DNS', story: 'DNS servers agree', severity: 'normal' });
    test.skip(t.dnsServers.length < 2, 'only one DNS server configured: nothing to compare');
    const problems: string[] = [];
    for (const h of hostsOf(t)) {
      const per = await Promise.all(t.dnsServers.map(async (s) => {
        try {
          const r = await resolveHost(h.host, s, DNS_TIMEOUT_MS);
          const fmt = (l: { address: string }[]) => l.map((x) => x.address).sort().join(',') || 'none';
          return [s, `A ${fmt(r.a)} AAAA ${fmt(r.aaaa)}`] as const;
        } catch (e) { return [s, `error ${(e as DnsError).code}`] as const; }
      }));
      if (new Set(per.map(([, a]) => a)).size > 1) problems.push(`${h.host}: DNS servers disagree: ${per.map(([s, a]) => `${s} → ${a}`).join('; ')}`);
    }
    await attachJson(info, 'dns-agreement.json', problems);
    await expectNone('every DNS server gives the same A and AAAA answers for every host', problems);
  });

  test(`CAA lets ${ACME_CAA} issue for every host`, async ({ target: t }, info) => {
    await label({ feature: 'DNS', story: 'CAA allows the ACME CA', severity: 'critical' });
    const problems: string[] = [];
    const found: Record<string, unknown> = {};
    for (const h of hostsOf(t)) {
      try {
        const set = await resolveCaa(h.host, t.dnsServers, DNS_TIMEOUT_MS);
        const v = caaPermits(set, ACME_CAA);
        found[h.host] = set ?? 'none';
        note(info, 'caa', `${h.host}: ${set ? set.records.map((r) => `${r.critical} ${r.tag} "${r.value}"`).join('; ') : 'no CAA'} (${v.why})`);
        if (!v.ok) problems.push(`${h.host}: ${v.why}: Let's Encrypt refuses to renew its certificate (it expires within 90 days)`);
      } catch (e) {
        found[h.host] = (e as Error).message;
        problems.push(`${h.host}: CAA lookup failed: ${(e as Error).message} (Let's Encrypt refuses to issue while CAA cannot be read)`);
      }
    }
    await attachJson(info, 'caa.json', found);
    await expectNone(`no CAA set forbids ${ACME_CAA} for any host`, problems);
  });
});
