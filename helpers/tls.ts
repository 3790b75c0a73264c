// TLS inspection: connect the way a browser would (SNI, the target's resolver and trust store) but
// without rejecting, so a broken certificate can be described instead of only refused.
import { connect, checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import type { LookupFunction } from 'node:net';
import type { Target } from './config.ts';
import { lookupFor } from './dns.ts';
import { caFor, describeNetError, secureContextOf } from './http.ts';

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
  /** The public key: RSA with its modulus bits, EC with its curve and bits. */
  key: { type: 'RSA' | 'EC' | 'other'; bits: number; curve?: string };
  /** Signature algorithm of the certificate (how its issuer signed it), e.g. "ecdsa-with-SHA256". */
  signatureAlgorithm: string;
  /** The fields tls.checkServerIdentity reads. */
  raw: Pick<PeerCertificate, 'subject' | 'subjectaltname'>;
}

export interface TlsProbe {
  host: string; port: number; servername: string;
  /** The address asked for (opts.address), when the probe targets one of the host's addresses. */
  target?: string;
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
  /** Connect to this IP instead of resolving `host` (one of its A/AAAA addresses); SNI stays `servername`/host. */
  address?: string;
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

function keyOf(c: PeerCertificate): CertInfo['key'] {
  const x = c as PeerCertificate & { nistCurve?: string; asn1Curve?: string };
  if (x.modulus) return { type: 'RSA', bits: c.bits ?? 0 };
  if (x.asn1Curve || x.nistCurve) return { type: 'EC', bits: c.bits ?? 0, curve: x.nistCurve ?? x.asn1Curve };
  return { type: 'other', bits: c.bits ?? 0 };
}

// Names of the signature algorithm OIDs a web PKI certificate carries (RFC 3279, 4055, 5758, 8410).
const SIG_OIDS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

/** The signatureAlgorithm OID of a DER certificate (SEQUENCE { tbsCertificate, signatureAlgorithm, signature }). */
export function signatureAlgorithmOf(der: Buffer): string {
  const tl = (off: number): { tag: number; start: number; end: number } => {
    const tag = der[off]!;
    let len = der[off + 1]!;
    let start = off + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
      start += n;
    }
    return { tag, start, end: start + len };
  };
  try {
    const cert = tl(0);
    const tbs = tl(cert.start);
    const alg = tl(tbs.end);
    const oid = tl(alg.start);
    if (oid.tag !== 0x06) return 'unknown';
    const bytes = der.subarray(oid.start, oid.end);
    const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
    let v = 0;
    for (const b of bytes.subarray(1)) { v = v * 128 + (b & 0x7f); if (!(b & 0x80)) { parts.push(v); v = 0; } }
    const dotted = parts.join('.');
    return SIG_OIDS[dotted] ?? dotted;
  } catch { return 'unknown'; }
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
    key: keyOf(c),
    signatureAlgorithm: c.raw ? signatureAlgorithmOf(c.raw) : 'unknown',
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
      host: opts.address ?? host, port,
      servername: opts.servername ?? host,
      ...(opts.ca ? { secureContext: secureContextOf(opts.ca) } : {}),
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
        ...(opts.address ? { target: opts.address } : {}),
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
      const where = opts.address ? `${host} at ${opts.address.includes(':') ? `[${opts.address}]` : opts.address}:${port}` : `${host}:${port}`;
      reject(Object.assign(new Error(`TLS connect to ${where} failed: ${describeNetError(e)}`, { cause: e }), { code: (e as NodeJS.ErrnoException).code }));
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

/** Key floors: what browsers and the CA/B Forum baseline accept (RSA 2048, EC P-256). */
export const KEY_FLOOR = { RSA: 2048, EC: 256 } as const;

export function keyProblem(cert: CertInfo, which: string): string | undefined {
  const k = cert.key;
  if (k.type === 'RSA' && k.bits < KEY_FLOOR.RSA) return `${which} key is RSA-${k.bits}, below the ${KEY_FLOOR.RSA}-bit floor (breakable; browsers refuse it)`;
  if (k.type === 'EC' && k.bits < KEY_FLOOR.EC) return `${which} key is EC ${k.curve ?? ''} ${k.bits} bits, below the ${KEY_FLOOR.EC}-bit floor`.replace(/ {2}/g, ' ');
  return undefined;
}

const WEAK_SIGNATURE = /md2|md5|sha1\b|SHA1$/i;
export function signatureProblem(cert: CertInfo, which: string): string | undefined {
  return WEAK_SIGNATURE.test(cert.signatureAlgorithm)
    ? `${which} is signed with ${cert.signatureAlgorithm} (collisions are practical: browsers refuse it; floor SHA-256)` : undefined;
}

/** The server sent the leaf alone although a CA issued it: clients without that intermediate cannot build the chain. */
export function servedChainProblem(p: TlsProbe): string | undefined {
  const leaf = p.chain[0];
  if (!leaf || leaf.selfSigned || p.chain.length > 1) return undefined;
  return `the server sends only the leaf certificate: the intermediate (${leaf.issuer}) is missing from the chain it serves`;
}

export interface LegacyProbe { protocol: string | null; error?: string }

const LEGACY_ONLY = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;

/** Offers only TLS 1.0/1.1 (weak ciphers allowed, so only the server's version policy decides): what it accepts. */
export function probeLegacyTls(host: string, port: number, opts: Omit<ProbeOptions, 'alpn' | 'now'> = {}): Promise<LegacyProbe> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const socket = connect({
      host: opts.address ?? host, port, servername: opts.servername ?? host,
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
      rejectUnauthorized: false,
      // Context options: with a prebuilt context they must be in it (tls.connect ignores them beside one).
      ...(opts.ca ? { secureContext: secureContextOf(opts.ca, LEGACY_ONLY) } : LEGACY_ONLY),
    });
    const done = (r: LegacyProbe) => { clearTimeout(timer); socket.destroy(); resolve(r); };
    const timer = setTimeout(() => done({ protocol: null, error: 'ETIMEDOUT' }), timeoutMs);
    socket.once('secureConnect', () => done({ protocol: socket.getProtocol() }));
    socket.once('error', (e: NodeJS.ErrnoException) => done({ protocol: null, error: e.code ?? e.message }));
  });
}

export interface TlsExpectations { warnDays: number; expectedIssuer: string; now?: Date; legacy?: LegacyProbe }
export interface TlsVerdict { problems: string[]; warnings: string[]; notes: string[] }

/** Every problem with a probe, each line prefixed with the host (and address) so a failure reads on its own. */
export function judgeTls(p: TlsProbe, exp: TlsExpectations): TlsVerdict {
  const v: TlsVerdict = { problems: [], warnings: [], notes: [] };
  const leaf = p.chain[0];
  const where = p.target ? `${p.host} (${p.target})` : p.host;
  const add = (list: string[], s: string | undefined) => { if (s) list.push(`${where}: ${s}`); };
  if (!leaf) { add(v.problems, 'server presented no certificate'); return v; }
  // The specific lines (name, expiry, served chain, signature) say more than the bare chain code, so they come
  // first and the chain code only when none of them explains it.
  const host = hostnameProblem(p.servername, leaf);
  add(v.problems, host);
  const exp2 = expiryJudgement(leaf, exp.warnDays, exp.now);
  if (exp2.level === 'ok') add(v.notes, exp2.message);
  else add(v.problems, exp2.message);
  const served = servedChainProblem(p);
  add(v.problems, served);
  // Signatures of what the server sent (leaf, intermediates), not of the trust anchor itself.
  const sent = p.chain.filter((c) => !c.selfSigned);
  const sigs = sent.map((c, i) => signatureProblem(c, i === 0 ? 'the leaf certificate' : `the intermediate ${c.subject}`)).filter(Boolean) as string[];
  for (const l of sigs) add(v.problems, l);
  sent.forEach((c, i) => add(v.problems, keyProblem(c, i === 0 ? 'the leaf certificate\'s' : `the intermediate ${c.subject}'s`)));
  const chain = chainProblem(p);
  const code = p.authorizationError;
  const coveredBy = (code === 'CERT_HAS_EXPIRED' && exp2.level === 'expired')
    || (code === 'CERT_NOT_YET_VALID' && exp2.level === 'not-yet-valid')
    || (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && host)
    || ((code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') && served)
    || ((code === 'UNSPECIFIED' || code === 'CA_MD_TOO_WEAK' || code === 'EE_KEY_TOO_SMALL' || code === 'CA_KEY_TOO_SMALL') && sigs.length > 0);
  if (chain && !coveredBy) add(v.problems, chain);
  add(v.problems, issuerProblem(leaf, exp.expectedIssuer));
  add(v.problems, protocolProblem(p.protocol));
  if (exp.legacy?.protocol) add(v.problems, `accepts a ${exp.legacy.protocol} handshake (TLS 1.0 and 1.1 must be refused: downgrade attacks, no modern ciphers)`);
  add(v.notes, `${p.protocol}, ${p.cipher ?? '?'}, issuer ${leaf.issuer}, key ${leaf.key.type}-${leaf.key.bits}${leaf.key.curve ? ` ${leaf.key.curve}` : ''}, `
    + `signature ${leaf.signatureAlgorithm}, ${p.chain.length} certificate(s) in chain${exp.legacy ? `, TLS 1.0/1.1 ${exp.legacy.protocol ? 'accepted' : `refused (${exp.legacy.error ?? 'no handshake'})`}` : ''}`);
  return v;
}
