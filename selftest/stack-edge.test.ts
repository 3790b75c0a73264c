import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { createStackPki, type StackPki } from '../stack/ca/index.ts';
import { NOT_FOUND_TEXT, NO_SERVER_TEXT, startEdge, type EdgeHandle, type Upstream } from '../stack/edge/index.ts';
import type { FaultId } from '../stack/faults.ts';
import { judgeTls, probeTls } from '../helpers/tls.ts';
import { probePort } from '../helpers/ports.ts';

const HOSTS = { app: 'gadgetbot.stack.test', auth: 'gadgetbot-auth.stack.test', deployer: 'gadgetbot-coolify.stack.test' };

let pkiCache: StackPki | undefined;
async function pki(): Promise<StackPki> {
  return (pkiCache ??= await createStackPki(HOSTS, []));
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  peerCn?: string;
}

/** A request through the edge the way a client does it: to 127.0.0.1, SNI and Host = the name. */
function get(edge: EdgeHandle, ca: string, name: string, path = '/', opts: { method?: string; body?: Buffer | string; agent?: HttpsAgent; headers?: Record<string, string>; servername?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: edge.httpsPort,
        servername: opts.servername ?? name,
        path,
        method: opts.method ?? 'GET',
        ca,
        agent: opts.agent ?? false,
        headers: { host: `${name}:${edge.httpsPort}`, ...opts.headers },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        // Read now: a keep-alive socket goes back to the pool (and res.socket to null) at 'end'.
        const peer = (res.socket as import('node:tls').TLSSocket | null)?.getPeerCertificate?.();
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), peerCn: peer?.subject?.CN as string | undefined });
        });
        res.once('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end(opts.body);
  });
}

function plainGet(edge: EdgeHandle, name: string, path = '/'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: edge.httpPort, path, agent: false, headers: { host: `${name}:${edge.httpPort}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Backend {
  server: Server;
  upstream: Upstream;
  seen: { method: string; url: string; headers: IncomingHttpHeaders }[];
  /** URLs whose response this backend has finished sending. */
  answered: string[];
  close(): Promise<void>;
}

/** A real upstream on the internal address: echoes what it got; `/slow?ms=` answers late; POST echoes the body. */
async function backend(label: string): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const answered: string[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.once('finish', () => answered.push(req.url ?? ''));
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST') {
      res.writeHead(200, { 'x-backend': label, 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    const ms = Number(u.searchParams.get('ms') ?? 0);
    setTimeout(() => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.writeHead(u.pathname === '/missing' ? 404 : 200, { 'x-backend': label, 'content-type': 'application/json' });
      res.end(JSON.stringify({ label, url: req.url, headers: req.headers }));
    }, ms);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.2', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    upstream: { host: '127.0.0.2', port },
    seen,
    answered,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
      }),
  };
}

async function withEdge(
  faults: FaultId[], fn: (edge: EdgeHandle, ca: string) => Promise<void>, opts: { pki?: StackPki; log?: (line: string) => void } = {},
): Promise<void> {
  const p = opts.pki ?? (await pki());
  const certs = new Map([...p.leaves].map(([h, l]) => [h, { keyPem: l.keyPem, chainPem: l.chainPem }]));
  const edge = await startEdge({
    httpsPort: 0,
    httpPort: 0,
    certs,
    defaultCert: { keyPem: p.defaultCert.keyPem, chainPem: p.defaultCert.chainPem },
    hosts: HOSTS,
    faults,
    log: opts.log,
  });
  try {
    await fn(edge, p.rootPem);
  } finally {
    await edge.close();
  }
}

test('routes by Host, forwards X-Forwarded-*, keeps status, body and repeated headers; TLS per SNI', async () => {
  const app = await backend('app');
  const auth = await backend('auth');
  try {
    await withEdge([], async (edge, ca) => {
      edge.routes.setUpstream(HOSTS.app, app.upstream);
      edge.routes.setUpstream(HOSTS.auth, auth.upstream);
      const r = await get(edge, ca, HOSTS.app, '/admin?x=1', { headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'http' } });
      assert.equal(r.status, 200);
      assert.equal(r.peerCn, HOSTS.app);
      assert.equal(r.headers['x-backend'], 'app');
      assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
      const echoed = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
      assert.equal(echoed.url, '/admin?x=1');
      assert.equal(echoed.headers.host, `${HOSTS.app}:${edge.httpsPort}`, 'Host is passed through');
      assert.equal(echoed.headers['x-forwarded-proto'], 'https', 'client-sent X-Forwarded-Proto is replaced');
      assert.equal(echoed.headers['x-forwarded-host'], `${HOSTS.app}:${edge.httpsPort}`);
      assert.equal(echoed.headers['x-forwarded-for'], '127.0.0.1', 'client-sent X-Forwarded-For is not trusted');
      assert.equal(echoed.headers['x-forwarded-port'], String(edge.httpsPort));
      assert.equal(r.headers['strict-transport-security'], undefined, 'the edge adds no security headers');

      const a = await get(edge, ca, HOSTS.auth, '/debug/healthz');
      assert.equal(a.headers['x-backend'], 'auth');
      assert.equal(a.peerCn, HOSTS.auth);
      assert.equal((await get(edge, ca, HOSTS.app, '/missing')).status, 404, 'upstream statuses pass through');

      // Streaming both ways: a 2 MB body goes up and comes back intact.
      const big = Buffer.alloc(2 * 1024 * 1024, 7);
      const echo = await get(edge, ca, HOSTS.app, '/upload', { method: 'POST', body: big });
      assert.equal(echo.status, 200);
      assert.equal(echo.body.length, big.length);

      // No SNI match (e.g. by IP): Traefik's default certificate, which the run's CA does not vouch for.
      await assert.rejects(get(edge, ca, HOSTS.app, '/', { servername: 'unknown.example' }), /self-signed|DEPTH_ZERO|unable to verify/i);
      const def = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: edge.httpsPort, rejectUnauthorized: false, agent: false }, (res) => {
          res.resume();
          const c = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
          resolve(new X509Certificate(c.raw).subject);
        });
        req.once('error', reject);
        req.end();
      });
      assert.equal(def, 'CN=TRAEFIK DEFAULT CERT');
    });
  } finally {
    await Promise.all([app.close(), auth.close()]);
  }
});

test("Traefik's texts: unknown host 404, no server 503, upstream down 503; TLS 1.2 minimum", async () => {
  const gone = await backend('gone');
  const goneUpstream = gone.upstream;
  await gone.close();
  await withEdge([], async (edge, ca) => {
    const unknown = await get(edge, ca, 'nope.stack.test', '/', { servername: HOSTS.app });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body, NOT_FOUND_TEXT);
    assert.equal(NOT_FOUND_TEXT, '404 page not found\n');
    const noServer = await get(edge, ca, HOSTS.deployer);
    assert.equal(noServer.status, 503);
    assert.equal(noServer.body, NO_SERVER_TEXT);
    assert.equal(NO_SERVER_TEXT, 'no available server\n');
    edge.routes.setUpstream(HOSTS.deployer, goneUpstream);
    const down = await get(edge, ca, HOSTS.deployer);
    assert.equal(down.status, 503);
    assert.equal(down.body, NO_SERVER_TEXT);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port: edge.httpsPort, servername: HOSTS.app, ca, agent: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
          resolve,
        );
        req.once('error', reject);
        req.end();
      }),
      (e: NodeJS.ErrnoException) => /version|protocol|alert/i.test(`${e.code} ${e.message}`),
    );
  });
});

test('plain HTTP: 308 to https with the same host and path; unknown host 404', async () => {
  await withEdge([], async (edge) => {
    const r = await plainGet(edge, HOSTS.app, '/login?redirect=%2Fadmin');
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, `https://${HOSTS.app}:${edge.httpsPort}/login?redirect=%2Fadmin`);
    const auth = await plainGet(edge, HOSTS.auth, '/');
    assert.equal(auth.headers.location, `https://${HOSTS.auth}:${edge.httpsPort}/`);
    assert.equal((await plainGet(edge, 'nope.stack.test')).status, 404);
  });
});

test('fault no-https-redirect: plain HTTP serves the site', async () => {
  const app = await backend('app');
  try {
    await withEdge(['no-https-redirect'], async (edge) => {
      edge.routes.setUpstream(HOSTS.app, app.upstream);
      const r = await plainGet(edge, HOSTS.app, '/');
      assert.equal(r.status, 200);
      assert.equal(r.headers.location, undefined);
      assert.equal((JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'http');
    });
  } finally {
    await app.close();
  }
});

test('fault app-404-path-prefix: the app host answers only under /gadgetbot.stack.test (prefix stripped)', async () => {
  const app = await backend('app');
  const auth = await backend('auth');
  try {
    await withEdge(['app-404-path-prefix'], async (edge, ca) => {
      edge.routes.setUpstream(HOSTS.app, app.upstream);
      edge.routes.setUpstream(HOSTS.auth, auth.upstream);
      const root = await get(edge, ca, HOSTS.app, '/');
      assert.equal(root.status, 404);
      assert.equal(root.body, NOT_FOUND_TEXT);
      assert.equal((await get(edge, ca, HOSTS.app, '/admin')).status, 404);
      const under = await get(edge, ca, HOSTS.app, `/${HOSTS.app}/admin?x=1`);
      assert.equal(under.status, 200);
      assert.equal((JSON.parse(under.body) as { url: string }).url, '/admin?x=1');
      assert.equal((JSON.parse((await get(edge, ca, HOSTS.app, `/${HOSTS.app}`)).body) as { url: string }).url, '/');
      assert.equal((await get(edge, ca, HOSTS.auth, '/')).status, 200, 'other hosts are unaffected');
      assert.equal(app.seen.filter((s) => s.url === '/' || s.url === '/admin?x=1').length, 2);
    });
  } finally {
    await Promise.all([app.close(), auth.close()]);
  }
});

test('route switch under load: zero failed requests; drain waits for in-flight requests', async () => {
  const a = await backend('a');
  const b = await backend('b');
  try {
    await withEdge([], async (edge, ca) => {
      edge.routes.setUpstream(HOSTS.app, a.upstream);
      const agent = new HttpsAgent({ keepAlive: true, ca, maxSockets: 16 });
      let stop = false;
      const results = { ok: 0, failed: [] as string[], by: { a: 0, b: 0 } as Record<string, number> };
      const worker = async () => {
        while (!stop) {
          try {
            const r = await get(edge, ca, HOSTS.app, '/slow?ms=5', { agent });
            if (r.status === 200) {
              results.ok++;
              results.by[String(r.headers['x-backend'])]++;
            } else results.failed.push(`status ${r.status}`);
          } catch (e) {
            results.failed.push((e as Error).message);
          }
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      try {
      await new Promise((r) => setTimeout(r, 300));
      // A slow request to A that must finish after the switch.
      const slow = get(edge, ca, HOSTS.app, '/slow?ms=400', { agent });
      slow.catch(() => undefined);
      // Switch only once A is really serving it (no sleeps as synchronisation).
      await waitFor(() => a.seen.some((x) => x.url === '/slow?ms=400'));
      assert.ok(edge.inFlight(a.upstream) >= 1);
      edge.routes.setUpstream(HOSTS.app, b.upstream);
      assert.equal(await edge.drain(a.upstream, 5000), true);
      assert.ok(a.answered.includes('/slow?ms=400'), 'drain waited for the slow request');
      assert.equal(edge.inFlight(a.upstream), 0);
      await a.close();
      assert.equal((await slow).headers['x-backend'], 'a');
      await new Promise((r) => setTimeout(r, 300));
      } finally {
        stop = true;
        await Promise.all(workers);
        agent.destroy();
      }
      assert.deepEqual(results.failed, []);
      assert.ok(results.by.a > 10 && results.by.b > 10, JSON.stringify(results.by));
      assert.equal(edge.inFlight(b.upstream), 0);
      assert.equal(await edge.drain(b.upstream, 10), true);
    });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('drain reports false when requests stay in flight past the bound', async () => {
  const a = await backend('a');
  try {
    await withEdge([], async (edge, ca) => {
      edge.routes.setUpstream(HOSTS.app, a.upstream);
      const slow = get(edge, ca, HOSTS.app, '/slow?ms=600');
      slow.catch(() => undefined);
      await waitFor(() => a.seen.some((x) => x.url === '/slow?ms=600'));
      assert.equal(await edge.drain(a.upstream, 100), false);
      assert.equal((await slow).status, 200);
      assert.equal(edge.inFlight(a.upstream), 0);
    });
  } finally {
    await a.close();
  }
});

test('fault http-port-closed: the HTTPS port serves, the reported plain-HTTP port refuses connections', async () => {
  const app = await backend('app');
  const lines: string[] = [];
  try {
    await withEdge(['http-port-closed'], async (edge, ca) => {
      edge.routes.setUpstream(HOSTS.app, app.upstream);
      assert.ok(edge.httpPort > 0, 'a real port number is still reported');
      assert.notEqual(edge.httpPort, edge.httpsPort);
      // The suite's own probe (the exposure check): refused, not filtered.
      const closed = await probePort('127.0.0.1', edge.httpPort, 2000);
      assert.equal(closed.state, 'closed', JSON.stringify(closed));
      assert.equal(closed.code, 'ECONNREFUSED');
      await assert.rejects(plainGet(edge, HOSTS.app, '/'), { code: 'ECONNREFUSED' });
      assert.equal((await probePort('127.0.0.1', edge.httpsPort, 2000)).state, 'open');
      assert.equal((await get(edge, ca, HOSTS.app, '/')).status, 200, 'HTTPS keeps working');
      assert.ok(lines.some((l) => l.includes(`plain-HTTP port ${edge.httpPort}`)), lines.join('\n'));
    }, { log: (l) => lines.push(l) });
  } finally {
    await app.close();
  }
});

test('fault http-port-closed with a fixed port: that port is reported and refuses; a port in use still fails the start', async () => {
  const p = await pki();
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const taken = (holder.address() as AddressInfo).port;
  try {
    await assert.rejects(
      startEdge({ httpsPort: 0, httpPort: taken, certs: new Map(), defaultCert: p.defaultCert, hosts: HOSTS, faults: ['http-port-closed'] }),
      { code: 'EADDRINUSE' },
    );
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
  }
  // Now free: the edge claims it, reports it, and leaves it closed.
  const edge = await startEdge({ httpsPort: 0, httpPort: taken, certs: new Map(), defaultCert: p.defaultCert, hosts: HOSTS, faults: ['http-port-closed'] });
  try {
    assert.equal(edge.httpPort, taken);
    assert.equal((await probePort('127.0.0.1', taken, 2000)).state, 'closed');
  } finally {
    await edge.close();
  }
});

test("fault cert-default-deployer: the deployer host gets the edge's self-signed default certificate, the others the CA's", async () => {
  const faults: FaultId[] = ['cert-default-deployer'];
  const faulty = await createStackPki(HOSTS, faults);
  const deployer = await backend('deployer');
  try {
    await withEdge(faults, async (edge, ca) => {
      edge.routes.setUpstream(HOSTS.deployer, deployer.upstream);
      // The suite's TLS probe and judgement, trusting only the run's root (as CA_FILE does).
      const probe = await probeTls('127.0.0.1', edge.httpsPort, { servername: HOSTS.deployer, ca: [ca] });
      assert.equal(probe.authorized, false);
      assert.equal(probe.authorizationError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
      const leaf = probe.chain[0];
      assert.equal(leaf.subjectCN, 'TRAEFIK DEFAULT CERT');
      assert.equal(leaf.selfSigned, true);
      assert.equal(probe.chain.length, 1, 'no chain to the run CA');
      assert.doesNotMatch(leaf.issuer, /gadgetbot-verify/);
      const verdict = judgeTls({ ...probe, host: HOSTS.deployer }, { warnDays: 21, expectedIssuer: 'gadgetbot-verify' });
      const text = verdict.problems.join('\n');
      assert.match(text, new RegExp(`certificate does not cover ${HOSTS.deployer.replace(/\./g, '\\.')} \\(SAN: traefik\\.default`), text);
      assert.match(text, /certificate is self-signed .*\(DEPTH_ZERO_SELF_SIGNED_CERT\)/, text);
      assert.match(text, /issuer "CN=TRAEFIK DEFAULT CERT" does not contain "gadgetbot-verify"/, text);
      await assert.rejects(get(edge, ca, HOSTS.deployer, '/api/health'), /self-signed|DEPTH_ZERO/i);
      // The route itself works: only the certificate is wrong (a client that ignores it gets through).
      const insecure = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: edge.httpsPort, servername: HOSTS.deployer, rejectUnauthorized: false, agent: false,
          headers: { host: `${HOSTS.deployer}:${edge.httpsPort}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
        req.once('error', reject);
        req.end();
      });
      assert.equal(insecure, 200);
      for (const h of [HOSTS.app, HOSTS.auth]) {
        const ok = await probeTls('127.0.0.1', edge.httpsPort, { servername: h, ca: [ca] });
        assert.equal(ok.authorized, true, `${h}: ${ok.authorizationError}`);
        assert.deepEqual(judgeTls({ ...ok, host: h }, { warnDays: 21, expectedIssuer: 'gadgetbot-verify' }).problems, []);
      }
    }, { pki: faulty });
    // The edge alone also keeps the fault, whatever certificates it is handed (a healthy PKI here).
    await withEdge(faults, async (edge, ca) => {
      const probe = await probeTls('127.0.0.1', edge.httpsPort, { servername: HOSTS.deployer, ca: [ca] });
      assert.equal(probe.chain[0]?.subjectCN, 'TRAEFIK DEFAULT CERT');
    });
  } finally {
    await deployer.close();
  }
});
