import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createIntermediate, createRoot, createStackPki, issueLeaf, writeCaFile, WRONG_HOST_NAME, type IssuedCert, type StackPki } from '../stack/ca/index.ts';
import type { FaultId } from '../stack/faults.ts';

const HOSTS = { app: 'gadgetbot.stack.test', auth: 'gadgetbot-auth.stack.test', deployer: 'gadgetbot-coolify.stack.test' };
const DAY = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** A real TLS handshake against a server presenting `leaf` (leaf + intermediate), trusting only the root. */
async function handshake(pki: StackPki, leaf: IssuedCert, servername: string): Promise<{ authorized: boolean; error?: string; peer: string[] }> {
  const server = createServer({ key: leaf.keyPem, cert: leaf.chainPem, minVersion: 'TLSv1.2' }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise((resolve) => {
      const sock: TLSSocket = connect({ host: '127.0.0.1', port, servername, ca: pki.rootPem, rejectUnauthorized: false }, () => {
        const chain: string[] = [];
        let c = sock.getPeerCertificate(true);
        while (c && c.subject && chain.length < 5) {
          chain.push(c.subject.CN as string);
          if (c.issuerCertificate === c) break;
          c = c.issuerCertificate;
        }
        resolve({ authorized: sock.authorized, error: sock.authorizationError?.toString(), peer: chain });
        sock.end();
      });
      sock.once('error', (e: NodeJS.ErrnoException) => resolve({ authorized: false, error: e.code ?? e.message, peer: [] }));
    });
  } finally {
    server.close();
  }
}

test('healthy PKI: root -> intermediate -> leaf per host, ECDSA P-256/SHA-256, serverAuth, SAN, 90 days', async () => {
  // How fast issuance is belongs to the benchmark (npm run bench), not to a test on a shared machine.
  const pki = await createStackPki(HOSTS, []);
  const root = new X509Certificate(pki.rootPem);
  const inter = new X509Certificate(pki.intermediatePem);
  assert.equal(root.subject, 'CN=GadgetBot Stack Root CA\nO=gadgetbot-verify');
  assert.equal(inter.subject, 'CN=Stack R1\nO=gadgetbot-verify');
  assert.equal(inter.issuer, root.subject);
  assert.ok(root.ca && inter.ca);
  assert.ok(root.verify(root.publicKey), 'root is self-signed');
  assert.ok(inter.verify(root.publicKey) && inter.checkIssued(root));
  assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  for (const [name, leaf] of Object.entries(HOSTS).map(([, h]) => [h, pki.leaves.get(h)!] as const)) {
    const c = new X509Certificate(leaf.certPem);
    assert.equal(c.ca, false);
    assert.equal(c.subjectAltName, `DNS:${name}`);
    assert.equal(c.checkHost(name), name);
    assert.equal(c.checkHost('gadgetbot.vellandi.net'), undefined);
    assert.ok(c.verify(inter.publicKey) && c.checkIssued(inter), `${name} is issued by the intermediate`);
    assert.equal(c.verify(root.publicKey), false, 'leaves are not signed by the root directly');
    assert.deepEqual(c.keyUsage, [SERVER_AUTH]);
    assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(c.issuer, /gadgetbot-verify/);
    const from = Date.parse(c.validFrom);
    const to = Date.parse(c.validTo);
    assert.ok(from <= Date.now() && to > Date.now());
    assert.ok(Math.abs(to - Date.now() - 90 * DAY) < DAY, 'about 90 days left, like Let\'s Encrypt');
    // The chain a server sends: leaf then intermediate, never the root.
    assert.equal(leaf.chainPem.match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.ok(!leaf.chainPem.includes(pki.rootPem.trim()));
    const hs = await handshake(pki, leaf, name);
    assert.equal(hs.authorized, true, `${name}: ${hs.error}`);
    // The verified path: leaf, the intermediate the server sent, and the client's own root.
    assert.deepEqual(hs.peer, [name, 'Stack R1', 'GadgetBot Stack Root CA']);
  }
  // ECDSA with SHA-256: the signature algorithm OID sits in the DER; check through @peculiar's parser.
  const x509 = await import('@peculiar/x509');
  const parsed = new x509.X509Certificate(pki.leaves.get(HOSTS.app)!.certPem);
  assert.deepEqual(
    { name: parsed.signatureAlgorithm.name, hash: (parsed.signatureAlgorithm as EcdsaParams).hash },
    { name: 'ECDSA', hash: { name: 'SHA-256' } },
  );
  // The default (no SNI match) certificate is Traefik's self-signed one: not trusted by the run's root.
  const def = new X509Certificate(pki.defaultCert.certPem);
  assert.equal(def.subject, 'CN=TRAEFIK DEFAULT CERT');
  assert.equal(def.verify(inter.publicKey), false);
});

test('the CA file holds the root only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-ca-'));
  try {
    const pki = await createStackPki(HOSTS, []);
    const file = await writeCaFile(dir, pki);
    assert.equal(file, join(dir, 'ca.pem'));
    const text = readFileSync(file, 'utf8');
    assert.equal(text.match(/BEGIN CERTIFICATE/g)?.length, 1);
    assert.equal(new X509Certificate(text).subject, new X509Certificate(pki.rootPem).subject);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function appLeafUnder(fault: FaultId) {
  const pki = await createStackPki(HOSTS, [fault]);
  const leaf = pki.leaves.get(HOSTS.app)!;
  // The other hosts stay healthy under every cert fault.
  for (const h of [HOSTS.auth, HOSTS.deployer]) {
    assert.equal((await handshake(pki, pki.leaves.get(h)!, h)).authorized, true);
  }
  return { pki, leaf, cert: new X509Certificate(leaf.certPem) };
}

test('fault cert-expired: the app leaf expired yesterday and a handshake fails for that reason', async () => {
  const { pki, leaf, cert } = await appLeafUnder('cert-expired');
  const to = Date.parse(cert.validTo);
  assert.ok(to < Date.now() && Date.now() - to < 2 * DAY, `validTo ${cert.validTo}`);
  const hs = await handshake(pki, leaf, HOSTS.app);
  assert.equal(hs.authorized, false);
  assert.equal(hs.error, 'CERT_HAS_EXPIRED');
});

test('fault cert-wrong-host: the app host serves a cert for other.stack.test only', async () => {
  const { pki, leaf, cert } = await appLeafUnder('cert-wrong-host');
  assert.equal(cert.subjectAltName, `DNS:${WRONG_HOST_NAME}`);
  assert.equal(cert.checkHost(HOSTS.app), undefined);
  // The chain itself is valid; only the name is wrong (what a browser reports as a name mismatch).
  const hs = await handshake(pki, leaf, HOSTS.app);
  assert.equal(hs.authorized, false);
  assert.match(hs.error ?? '', /does not match|ALTNAME/i);
  assert.equal((await handshake(pki, leaf, WRONG_HOST_NAME)).authorized, true);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const server = createServer({ key: leaf.keyPem, cert: leaf.chainPem }, (s) => s.end());
      server.listen(0, '127.0.0.1', () => {
        const port = (server.address() as AddressInfo).port;
        const s = connect({ host: '127.0.0.1', port, servername: HOSTS.app, ca: pki.rootPem }, () => {
          s.end();
          server.close();
          resolve(undefined);
        });
        s.once('error', (e) => {
          server.close();
          reject(e);
        });
      });
    }),
    (e: NodeJS.ErrnoException) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
  );
});

test('fault cert-expiring-soon: 10 days left, still valid', async () => {
  const { pki, leaf, cert } = await appLeafUnder('cert-expiring-soon');
  const left = (Date.parse(cert.validTo) - Date.now()) / DAY;
  assert.ok(left > 9.9 && left <= 10, `${left} days left`);
  assert.equal((await handshake(pki, leaf, HOSTS.app)).authorized, true);
});

test("fault cert-default-deployer: no leaf is issued for the deployer host (the edge falls back to its default)", async () => {
  const pki = await createStackPki(HOSTS, ['cert-default-deployer']);
  assert.equal(pki.leaves.has(HOSTS.deployer), false, 'ACME "failed" for the deployer host');
  assert.deepEqual([...pki.leaves.keys()].sort(), [HOSTS.app, HOSTS.auth].sort());
  for (const h of [HOSTS.app, HOSTS.auth]) {
    assert.equal((await handshake(pki, pki.leaves.get(h)!, h)).authorized, true, `${h} stays healthy`);
  }
  // What the deployer's visitors get instead: the self-signed default, which the run's root does not vouch for.
  const def = new X509Certificate(pki.defaultCert.certPem);
  assert.equal(def.subject, 'CN=TRAEFIK DEFAULT CERT');
  assert.equal(def.issuer, def.subject);
  assert.ok(def.verify(def.publicKey), 'self-signed');
  assert.equal(def.checkHost(HOSTS.deployer), undefined);
  const hs = await handshake(pki, pki.defaultCert, HOSTS.deployer);
  assert.equal(hs.authorized, false);
  assert.equal(hs.error, 'DEPTH_ZERO_SELF_SIGNED_CERT');
});

test('weak-certificate plans: RSA-1024 key, SHA-1 signature and a leaf served alone are each named by the TLS judgement', async () => {
  const { judgeTls, probeTls, signatureAlgorithmOf } = await import('../helpers/tls.ts');
  const { CertStore, httpsOptions } = await import('../stack/edge/tls.ts');
  const now = new Date();
  const root = await createRoot(now);
  const inter = await createIntermediate(root, now);
  const base = { names: ['weak.test'], notBefore: new Date(now.getTime() - 3600_000), notAfter: new Date(now.getTime() + 90 * 86_400_000) };
  const cases = [
    { plan: {}, want: undefined, sig: 'ecdsa-with-SHA256' },
    { plan: { key: 'rsa-1024' as const }, want: /the leaf certificate's key is RSA-1024, below the 2048-bit floor/, sig: 'ecdsa-with-SHA256' },
    { plan: { signatureHash: 'SHA-1' as const }, want: /the leaf certificate is signed with ecdsa-with-SHA1/, sig: 'ecdsa-with-SHA1' },
    { plan: { serveIntermediate: false }, want: /sends only the leaf certificate: the intermediate \(CN=Stack R1/, sig: 'ecdsa-with-SHA256' },
  ];
  // Self-signed, as Traefik's default: an intermediate in the entrypoint's own chain would complete a leaf served alone.
  const fallback = await issueLeaf(null, { ...base, names: ['default.test'] });
  for (const c of cases) {
    const leaf = await issueLeaf(inter, { ...base, ...c.plan });
    const der = Buffer.from(leaf.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    assert.equal(signatureAlgorithmOf(der), c.sig);
    // Served the way the edge serves it under the faults (stack/edge/tls.ts WeakServing).
    const store = new CertStore();
    store.set('weak.test', { keyPem: leaf.keyPem, chainPem: leaf.chainPem });
    const srv = createServer(httpsOptions(fallback, store, 'TLSv1.2', { smallKey: c.plan.key === 'rsa-1024', sha1: c.plan.signatureHash === 'SHA-1' }), (s) => s.end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const p = await probeTls('weak.test', (srv.address() as { port: number }).port, { address: '127.0.0.1', ca: [root.pem] });
      const v = judgeTls(p, { warnDays: 21, expectedIssuer: 'gadgetbot-verify' });
      if (!c.want) assert.deepEqual(v.problems, []);
      else {
        assert.match(v.problems[0] ?? '', c.want);
        assert.match(v.problems[0] ?? '', /^weak\.test \(127\.0\.0\.1\): /);
        assert.equal(v.problems.length, 1, `one problem, the chain code explained by it: ${v.problems.join(' | ')}`);
      }
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  }
});
