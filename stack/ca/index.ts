// Per-run PKI for the embedded stack: a root, an intermediate (like Let's Encrypt's R10/R11) and one leaf
// per host name. Only the root goes to clients (CA_FILE); the edge serves leaf + intermediate, so clients
// must build the chain exactly as they do in production.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { has, type FaultId } from '../faults.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const HOUR = 3600_000;
const DAY = 24 * HOUR;

export const ROOT_DN = 'CN=GadgetBot Stack Root CA, O=gadgetbot-verify';
export const INTERMEDIATE_DN = 'CN=Stack R1, O=gadgetbot-verify';
/** Traefik serves this self-signed certificate when no router's certificate matches the SNI. */
export const DEFAULT_CERT_DN = 'CN=TRAEFIK DEFAULT CERT';
export const WRONG_HOST_NAME = 'other.stack.test';

export interface Authority {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
}

export interface IssuedCert {
  /** The leaf alone. */
  certPem: string;
  /** PKCS#8 private key. */
  keyPem: string;
  /** Leaf followed by the intermediate: what a TLS server must send. */
  chainPem: string;
  names: string[];
  notBefore: Date;
  notAfter: Date;
}

export interface StackPki {
  root: Authority;
  intermediate: Authority;
  rootPem: string;
  intermediatePem: string;
  /** Keyed by host name (lower case); under fault cert-default-deployer the deployer host has none. */
  leaves: Map<string, IssuedCert>;
  /** Served for an unknown or missing SNI, as Traefik does; not chained to the root. */
  defaultCert: IssuedCert;
}

function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f; // positive INTEGER
  if (b[0] === 0) b[0] = 1;
  return Buffer.from(b).toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function genKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function createRoot(now = new Date()): Promise<Authority> {
  const keys = await genKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: ROOT_DN,
    notBefore: new Date(now.getTime() - HOUR),
    notAfter: new Date(now.getTime() + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, pem: cert.toString('pem') };
}

export async function createIntermediate(root: Authority, now = new Date()): Promise<Authority> {
  const keys = await genKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: INTERMEDIATE_DN,
    issuer: root.cert.subject,
    notBefore: new Date(now.getTime() - HOUR),
    notAfter: new Date(now.getTime() + 3 * 365 * DAY),
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root.keys.publicKey),
    ],
  });
  return { cert, keys, pem: cert.toString('pem') };
}

export interface LeafOptions {
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** The leaf's own key: ECDSA P-256 (default, as Traefik's Let's Encrypt certificates) or a weak RSA-1024 one. */
  key?: 'ec-p256' | 'rsa-1024';
  /** The hash the issuer signs the leaf with; default SHA-256. */
  signatureHash?: 'SHA-256' | 'SHA-1';
  /** false: the served chain is the leaf alone (no intermediate), as with Traefik given cert.pem instead of fullchain.pem. */
  serveIntermediate?: boolean;
}

const RSA_1024: RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

/** Issues a server certificate (serverAuth, SAN dNSName) signed by `issuer`; with no issuer it is self-signed. */
export async function issueLeaf(issuer: Authority | null, o: LeafOptions, subjectDn?: string): Promise<IssuedCert> {
  const keys = o.key === 'rsa-1024'
    ? ((await webcrypto.subtle.generateKey(RSA_1024, true, ['sign', 'verify'])) as CryptoKeyPair)
    : await genKeys();
  const signingAlgorithm = { ...ALG, hash: o.signatureHash ?? ALG.hash };
  const subject = subjectDn ?? `CN=${o.names[0]}`;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(o.names.map((value) => ({ type: 'dns' as const, value }))),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const cert = issuer
    ? await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject,
        issuer: issuer.cert.subject,
        notBefore: o.notBefore,
        notAfter: o.notAfter,
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
        signingAlgorithm,
        extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerial(),
        name: subject,
        notBefore: o.notBefore,
        notAfter: o.notAfter,
        keys,
        signingAlgorithm: o.key === 'rsa-1024' ? RSA_1024 : signingAlgorithm,
        extensions,
      });
  const certPem = cert.toString('pem');
  return {
    certPem,
    keyPem: await keyPem(keys.privateKey),
    chainPem: issuer && o.serveIntermediate !== false ? `${certPem}\n${issuer.pem}\n` : `${certPem}\n`,
    names: o.names,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
  };
}

export interface PkiHosts {
  app: string;
  auth: string;
  deployer: string;
}

/**
 * Dates of the app host's leaf under the cert faults. Production certificates (Let's Encrypt) live 90 days;
 * a healthy leaf here was issued an hour ago.
 */
export function appLeafPlan(hosts: PkiHosts, faults: readonly FaultId[], now: Date): LeafOptions {
  const t = now.getTime();
  let names = [hosts.app];
  let notBefore = new Date(t - HOUR);
  let notAfter = new Date(t + 90 * DAY);
  if (has(faults, 'cert-expired')) {
    notBefore = new Date(t - 91 * DAY);
    notAfter = new Date(t - DAY);
  } else if (has(faults, 'cert-expiring-soon')) {
    notBefore = new Date(t - 80 * DAY);
    notAfter = new Date(t + 10 * DAY);
  }
  if (has(faults, 'cert-wrong-host')) names = [WRONG_HOST_NAME];
  return { names, notBefore, notAfter, serveIntermediate: !has(faults, 'cert-chain-incomplete') };
}

export async function createStackPki(hosts: PkiHosts, faults: readonly FaultId[] = [], now = new Date()): Promise<StackPki> {
  const root = await createRoot(now);
  const intermediate = await createIntermediate(root, now);
  const healthy = (name: string): LeafOptions => ({
    names: [name],
    notBefore: new Date(now.getTime() - HOUR),
    notAfter: new Date(now.getTime() + 90 * DAY),
  });
  // Fault cert-default-deployer: the deployer host's certificate was never issued (ACME failed for it), so the
  // edge has nothing for that SNI and falls back to its default certificate, as Traefik does.
  const deployerIssued = !has(faults, 'cert-default-deployer');
  // cert-sha1-signature: the auth host's leaf signed with SHA-1; cert-weak-key: the deployer's with an RSA-1024 key.
  const authPlan: LeafOptions = { ...healthy(hosts.auth), ...(has(faults, 'cert-sha1-signature') ? { signatureHash: 'SHA-1' as const } : {}) };
  const deployerPlan: LeafOptions = { ...healthy(hosts.deployer), ...(has(faults, 'cert-weak-key') ? { key: 'rsa-1024' as const } : {}) };
  const [app, auth, deployer, defaultCert] = await Promise.all([
    issueLeaf(intermediate, appLeafPlan(hosts, faults, now)),
    issueLeaf(intermediate, authPlan),
    deployerIssued ? issueLeaf(intermediate, deployerPlan) : undefined,
    issueLeaf(null, { names: ['traefik.default'], notBefore: new Date(now.getTime() - HOUR), notAfter: new Date(now.getTime() + 365 * DAY) }, DEFAULT_CERT_DN),
  ]);
  const leaves = new Map<string, IssuedCert>([
    [hosts.app.toLowerCase(), app],
    [hosts.auth.toLowerCase(), auth],
  ]);
  if (deployer) leaves.set(hosts.deployer.toLowerCase(), deployer);
  return { root, intermediate, rootPem: root.pem, intermediatePem: intermediate.pem, leaves, defaultCert };
}

/** Writes the root (the only thing a client should trust) as `<dir>/ca.pem`; returns its path. */
export async function writeCaFile(dir: string, pki: StackPki): Promise<string> {
  const file = join(dir, 'ca.pem');
  await writeFile(file, `${pki.rootPem}\n`, { mode: 0o644 });
  return file;
}
