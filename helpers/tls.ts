// TLS inspection: connect the way a browser would (SNI, the target's resolver and trust store) but
// without rejecting, so a broken certificate can be described instead of only refused.
import { connect, checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import type { LookupFunction } from 'node:net';
import type { Target } from './config.ts';
import { lookupFor } from './dns.ts';
import { caFor, describeNetError } from './http.ts';

const DAY_MS = 86_400_000;

export interface CertInfo {
  subject: string;            // DN, e.g. "CN=gadgetbot.stack.test"
  subjectCN?: string;
  san: string[];              // "DNS:name" / "IP Address:1.2.3.4" entries without the prefix
  issuer: string;             // DN of the issuer
  validFrom: Date;
  validTo: Date;
  daysLeft: number;           // (validTo - now) in days, one decimal; negative when expired
  fingerprint256: string;
  serialNumber: string;
  selfSigned: boolean;
  /** The fields tls.checkServerIdentity reads. */
  raw: Pick<PeerCertificate, 'subject' | 'subjectaltname'>;
}

export interface TlsProbe {
  host: string; port: number; servername: string;
  address?: string;             // the IP actually connected to
  authorized: boolean;          // chain valid to a trusted root AND hostname matches
  authorizationError?: string;  // e.g. CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, SELF_SIGNED_CERT_IN_CHAIN
  protocol: string | null;      // TLSv1.3, TLSv1.2, ...
  alpn: string | false;
  cipher?: string;
  chain: CertInfo[];            // leaf first, up to the root the peer (or trust store) provides
  ms: number;
}

export interface ProbeOptions {
  lookup?: LookupFunction;
  ca?: string[];
  servername?: string;
  timeoutMs?: number;
  now?: Date;
  alpn?: string[];
}

function dn(o: Record<string, string | string[]> | undefined): string {
  if (!o) return '';
  return Object.entries(o).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`)).join(', ');
}

function toInfo(c: PeerCertificate, now: Date): CertInfo {
  const validTo = new Date(c.valid_to);
  const san = (c.subjectaltname ?? '').split(/,\s*/).filter(Boolean).map((s) => s.replace(/^(DNS|IP Address):/, ''));
  const subj = dn(c.subject as unknown as Record<string, string>);
  const iss = dn(c.issuer as unknown as Record<string, string>);
  const cn = (c.subject as unknown as Record<string, string | string[]> | undefined)?.CN;
  return {
    subject: subj,
    subjectCN: Array.isArray(cn) ? cn[0] : cn,
    san,
    issuer: iss,
    validFrom: new Date(c.valid_from),
    validTo,
    daysLeft: Math.round(((validTo.getTime() - now.getTime()) / DAY_MS) * 10) / 10,
    fingerprint256: c.fingerprint256,
    serialNumber: c.serialNumber,
    selfSigned: subj === iss && subj !== '',
    raw: { subject: c.subject, subjectaltname: c.subjectaltname },
  };
}

function chainOf(leaf: DetailedPeerCertificate, now: Date): CertInfo[] {
  const out: CertInfo[] = [];
  const seen = new Set<string>();
  let c: DetailedPeerCertificate | undefined = leaf;
  while (c && c.fingerprint256 && !seen.has(c.fingerprint256) && out.length < 10) {
    seen.add(c.fingerprint256);
    out.push(toInfo(c, now));
    c = c.issuerCertificate;
  }
  return out;
}

/** Handshake with host:port and describe what it presented. Rejects only when no handshake happened. */
export function probeTls(host: string, port: number, opts: ProbeOptions = {}): Promise<TlsProbe> {
  const started = performance.now();
  const now = opts.now ?? new Date();
  const timeoutMs = opts.timeoutMs ?? 8000;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host, port,
      servername: opts.servername ?? host,
      ca: opts.ca,
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: opts.alpn ?? ['h2', 'http/1.1'],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`TLS handshake with ${host}:${port} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const leaf = socket.getPeerCertificate(true);
      const probe: TlsProbe = {
        host, port,
        servername: opts.servername ?? host,
        address: socket.remoteAddress,
        authorized: socket.authorized,
        authorizationError: socket.authorizationError ? String((socket.authorizationError as unknown as { code?: string }).code ?? socket.authorizationError) : undefined,
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol ?? false,
        cipher: socket.getCipher()?.name,
        chain: leaf && Object.keys(leaf).length ? chainOf(leaf, now) : [],
        ms: Math.round(performance.now() - started),
      };
      socket.end();
      socket.destroy();
      resolve(probe);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      socket.destroy();
      reject(Object.assign(new Error(`TLS connect to ${host}:${port} failed: ${describeNetError(e)}`, { cause: e }), { code: (e as NodeJS.ErrnoException).code }));
    });
  });
}

/** probeTls for a base URL of the target, with its resolver and trust store. */
export function probeTlsFor(t: Target, url: string, opts: Omit<ProbeOptions, 'lookup' | 'ca'> = {}): Promise<TlsProbe> {
  const u = new URL(url);
  return probeTls(u.hostname, Number(u.port || 443), { ...opts, lookup: lookupFor(t), ca: caFor(t) });
}

// ---- judgements: each returns undefined when fine, else one line naming the problem (the caller prefixes the host)

export function hostnameProblem(host: string, cert: CertInfo): string | undefined {
  const err = checkServerIdentity(host, cert.raw as PeerCertificate);
  if (!err) return undefined;
  return `certificate does not cover ${host} (SAN: ${cert.san.join(', ') || 'none'}; subject ${cert.subject || 'empty'})`;
}

export function fmtDate(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

export type ExpiryLevel = 'ok' | 'warning' | 'expired' | 'not-yet-valid';
export function expiryJudgement(cert: CertInfo, warnDays: number, now = new Date()): { level: ExpiryLevel; message: string } {
  const left = (cert.validTo.getTime() - now.getTime()) / DAY_MS;
  const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;
  if (now < cert.validFrom)
    return { level: 'not-yet-valid', message: `certificate not valid yet (notBefore ${fmtDate(cert.validFrom)})` };
  if (left < 0) {
    const ago = Math.max(1, Math.round(-left));
    return { level: 'expired', message: `certificate expired ${days(ago)} ago (notAfter ${fmtDate(cert.validTo)})` };
  }
  const whole = Math.round(left); // a 10-day certificate checked seconds later still reads "10 days"
  if (left < warnDays)
    return { level: 'warning', message: `certificate expires in ${days(whole)}, inside the ${warnDays}-day warning window (notAfter ${fmtDate(cert.validTo)}): renewal is not happening` };
  return { level: 'ok', message: `certificate valid for ${days(whole)} more (notAfter ${fmtDate(cert.validTo)})` };
}

export function issuerProblem(cert: CertInfo, expected: string): string | undefined {
  if (!expected) return undefined;
  return cert.issuer.toLowerCase().includes(expected.toLowerCase())
    ? undefined : `issuer "${cert.issuer}" does not contain "${expected}"`;
}

const GOOD_PROTOCOLS = new Set(['TLSv1.2', 'TLSv1.3']);
export function protocolProblem(protocol: string | null): string | undefined {
  return protocol && GOOD_PROTOCOLS.has(protocol) ? undefined : `negotiated ${protocol ?? 'no protocol'}, expected TLSv1.2 or newer`;
}

const chainReasons: Record<string, string> = {
  CERT_HAS_EXPIRED: 'chain not valid: a certificate has expired',
  CERT_NOT_YET_VALID: 'chain not valid: a certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate is self-signed (not issued by a trusted CA)',
  SELF_SIGNED_CERT_IN_CHAIN: 'chain ends in a self-signed root that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'chain incomplete: the server does not send the intermediate, or the issuer is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issuer not trusted (missing intermediate or unknown root)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not name this host',
};
export function chainProblem(p: TlsProbe): string | undefined {
  if (p.authorized) return undefined;
  const code = p.authorizationError ?? 'unknown';
  return `${chainReasons[code] ?? 'chain not trusted'} (${code})`;
}

export interface TlsExpectations { warnDays: number; expectedIssuer: string; now?: Date }
export interface TlsVerdict { problems: string[]; warnings: string[]; notes: string[] }

/** Every problem with a probe, each line prefixed with the host so a failure reads on its own. */
export function judgeTls(p: TlsProbe, exp: TlsExpectations): TlsVerdict {
  const v: TlsVerdict = { problems: [], warnings: [], notes: [] };
  const leaf = p.chain[0];
  const add = (list: string[], s: string | undefined) => { if (s) list.push(`${p.host}: ${s}`); };
  if (!leaf) { add(v.problems, 'server presented no certificate'); return v; }
  // The hostname and expiry lines say more than the bare chain code, so report those first and the
  // chain code only when it adds something.
  const host = hostnameProblem(p.servername, leaf);
  add(v.problems, host);
  const exp2 = expiryJudgement(leaf, exp.warnDays, exp.now);
  if (exp2.level === 'expired' || exp2.level === 'not-yet-valid') add(v.problems, exp2.message);
  else if (exp2.level === 'warning') add(v.problems, exp2.message);
  else add(v.notes, exp2.message);
  const chain = chainProblem(p);
  const coveredBy = (p.authorizationError === 'CERT_HAS_EXPIRED' && exp2.level === 'expired')
    || (p.authorizationError === 'CERT_NOT_YET_VALID' && exp2.level === 'not-yet-valid')
    || (p.authorizationError === 'ERR_TLS_CERT_ALTNAME_INVALID' && host);
  if (chain && !coveredBy) add(v.problems, chain);
  add(v.problems, issuerProblem(leaf, exp.expectedIssuer));
  add(v.problems, protocolProblem(p.protocol));
  add(v.notes, `${p.protocol}, ${p.cipher ?? '?'}, issuer ${leaf.issuer}, ${p.chain.length} certificate(s) in chain`);
  return v;
}
