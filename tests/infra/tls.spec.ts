// Certificates as a browser sees them, on every address of every host (A and AAAA): the chain the server sends
// (leaf + intermediate) up to a trusted root, the host in the SAN, not expired and not about to, the expected
// issuer (renewal works), strong keys and signatures, and only modern protocols (TLS 1.0/1.1 refused).
import { expectNone } from '../../fixtures/observed.ts';
import { test } from '../../fixtures/test.ts';
import type { Target } from '../../helpers/config.ts';
import { addressesFor, ipv6Kind, type HostAddress } from '../../helpers/dns.ts';
import { warn } from '../../helpers/findings.ts';
import { caFor } from '../../helpers/http.ts';
import { label } from '../../helpers/labels.ts';
import { fmtDate, judgeTls, probeLegacyTls, probeTls, type TlsProbe } from '../../helpers/tls.ts';
import { attachJson, hostOf, note, ROLES, type HostRole } from './common.ts';

/** Addresses a client would use; AAAA that no client can reach are the DNS check's finding, not probed here. */
function probeable(list: HostAddress[]): { use: HostAddress[]; skipped: string[] } {
  const loopbackA = list.some((a) => a.family === 4 && a.address.startsWith('127.'));
  const use: HostAddress[] = [];
  const skipped: string[] = [];
  for (const a of list) {
    const kind = a.family === 6 ? ipv6Kind(a.address) : 'global';
    if (typeof kind === 'object' || (kind === 'loopback' && !loopbackA)) skipped.push(`${a.address} (${typeof kind === 'object' ? kind.special : 'loopback'}: see the DNS check)`);
    else use.push(a);
  }
  return { use, skipped };
}

function describe(p: TlsProbe) {
  return {
    address: p.target ?? p.address, protocol: p.protocol, cipher: p.cipher, alpn: p.alpn, authorized: p.authorized, authorizationError: p.authorizationError,
    chain: p.chain.map((c) => ({ subject: c.subject, san: c.san, issuer: c.issuer, validFrom: fmtDate(c.validFrom), validTo: fmtDate(c.validTo),
      daysLeft: c.daysLeft, key: c.key, signatureAlgorithm: c.signatureAlgorithm, fingerprint256: c.fingerprint256 })),
  };
}

/** Probes one address: the handshake a browser makes, then one that offers only TLS 1.0/1.1. */
async function checkAddress(t: Target, h: HostRole, a: HostAddress, problems: string[], seen: unknown[]): Promise<TlsProbe | undefined> {
  const opts = { address: a.address, servername: h.host, ca: caFor(t) };
  let p: TlsProbe;
  try {
    p = await probeTls(h.host, h.port, opts);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (a.family === 6 && (code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL')) {
      warn(`${h.host}: TLS on its AAAA ${a.address} not verified: this machine has no IPv6 route (${code})`);
      return undefined;
    }
    problems.push(`${h.host}: ${(e as Error).message}`);
    return undefined;
  }
  const legacy = await probeLegacyTls(h.host, h.port, opts);
  const v = judgeTls(p, { warnDays: t.certWarnDays, expectedIssuer: t.expectedCertIssuer, legacy });
  problems.push(...v.problems);
  seen.push({ ...describe(p), legacy, notes: v.notes });
  return p;
}

test.describe('TLS', () => {
  for (const role of ROLES) {
    test(`${role} host: valid certificate (chain, name, expiry, issuer, key, signature, protocol) on every address`, { tag: '@smoke' }, async ({ target: t }, info) => {
      const h = hostOf(t, role);
      test.skip(!h, 'DEPLOYER_URL not set: the deployer host is not checked');
      await label({ feature: 'TLS', story: `certificate of the ${role} host`, severity: 'blocker', parameters: { host: h!.host } });
      const problems: string[] = [];
      const seen: unknown[] = [];
      let addresses: HostAddress[] = [];
      try {
        addresses = await addressesFor(t, h!.host);
      } catch (e) {
        problems.push((e as Error).message); // "cannot resolve <host> via <server>: NXDOMAIN"
      }
      const { use, skipped } = probeable(addresses);
      for (const s of skipped) note(info, 'not-probed', `${h!.host}: ${s}`);
      if (addresses.length && !use.length) problems.push(`${h!.host}: none of its addresses (${addresses.map((a) => a.address).join(', ')}) can be reached by a client`);
      for (const a of use) {
        const p = await test.step(`TLS handshakes with ${h!.host} at ${a.address}`, () => checkAddress(t, h!, a, problems, seen));
        const leaf = p?.chain[0];
        if (leaf) note(info, 'days-left', `${h!.host} (${a.address}): ${Math.round(leaf.daysLeft)} days left (notAfter ${fmtDate(leaf.validTo)}; warning window ${t.certWarnDays} days)`);
      }
      await attachJson(info, `tls-${h!.host}.json`, { host: h!.host, port: h!.port, addresses, probes: seen });
      await expectNone(`${h!.host} serves a valid, strong certificate chain over TLS 1.2+ only, on every address`, problems);
    });
  }
});
