// Faults switched while the stack runs (StackHandle.setFault, `npm run stack -- fault <id> on|off`): each one is
// observed through the public way in (edge, nameservers) on the very next request, survives an app redeploy,
// and the control routes cannot be reached from outside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { clientFor } from './lib/stack-client.ts';
import { startStackDetailed, ROOT, STACK_ROOT, type StackDetails } from '../stack/index.ts';
import { FaultError } from '../stack/faults.ts';
import { controlRequest, startControl } from '../stack/orchestrator/control.ts';
import { FAULT_CONTROL_PATH, FAULT_CONTROL_TOKEN_ENV } from '../stack/fault-control.ts';
import { freePort } from '../stack/process.ts';


async function status(agent: Agent, url: string, init: { method?: 'GET' | 'PUT'; headers?: Record<string, string>; body?: string } = {}) {
  const r = await request(url, { dispatcher: agent, ...init });
  await r.body.text();
  return { status: r.statusCode, headers: r.headers };
}

/** The A records of `host` as nameserver `server` (ip:port) answers, or the error code. */
async function aRecords(server: string, host: string): Promise<string> {
  const r = new Resolver({ timeout: 1000, tries: 2 });
  r.setServers([server]);
  return r.resolve4(host).then(
    (a) => a.join(','),
    (e: NodeJS.ErrnoException) => e.code ?? 'error',
  );
}

/** The certificate the edge serves for `host`: its expiry and its issuer's CN. */
function servedCert(port: number, host: string): Promise<{ notAfter: Date; issuer: string }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: host, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      s.destroy();
      resolve({ notAfter: new Date(c.valid_to), issuer: String(c.issuer.CN) });
    });
    s.once('error', reject);
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function redeployApp(stack: StackDetails): Promise<void> {
  const gen = stack.app.current!.generation;
  const url = `http://127.0.0.2:${stack.ports.deployer}/api/v1/deploy?uuid=${stack.env.COOLIFY_APP_UUID}&force=false`;
  const r = await request(url, { method: 'POST', headers: { authorization: `Bearer ${stack.env.COOLIFY_TOKEN}` } });
  await r.body.text();
  assert.equal(r.statusCode, 200, 'POST /api/v1/deploy queues the deploy (current Coolify takes POST only)');
  await stack.deployer.idle();
  assert.ok(stack.app.current!.generation > gen, 'a new app instance serves');
}

test('faults switch on and off while the stack runs, from the next request, survive a redeploy, and only the orchestrator can switch them', async () => {
  const stack = await startStackDetailed({});
  const agent = clientFor(stack.env);
  const { APP_URL, AUTH_URL } = stack.env;
  const [ns1, ns2] = stack.env.DNS_SERVERS.split(',');
  try {
    assert.deepEqual(stack.faults(), [], 'a healthy stack has no fault on');

    await stack.setFault('app-health-failing', true);
    assert.equal((await status(agent, `${APP_URL}/`)).status, 500, 'app-health-failing on: GET / through the edge answers 500');
    assert.deepEqual(stack.faults(), ['app-health-failing']);
    await stack.setFault('app-health-failing', false);
    assert.equal((await status(agent, `${APP_URL}/`)).status, 200, 'app-health-failing off: GET / answers 200');

    await stack.setFault('auth-healthz-failing', true);
    assert.equal((await status(agent, `${AUTH_URL}/debug/healthz`)).status, 503, 'auth-healthz-failing on: /debug/healthz answers 503');
    await stack.setFault('auth-healthz-failing', false);
    assert.equal((await status(agent, `${AUTH_URL}/debug/healthz`)).status, 200, 'auth-healthz-failing off: 200');
    await stack.setFault('auth-not-ready', true);
    assert.equal((await status(agent, `${AUTH_URL}/debug/ready`)).status, 503, 'auth-not-ready on: /debug/ready answers 503');
    await stack.setFault('auth-not-ready', false);
    assert.equal((await status(agent, `${AUTH_URL}/debug/ready`)).status, 200, 'auth-not-ready off: 200');

    await stack.setFault('dns-wrong-a', true);
    assert.equal(await aRecords(ns1!, stack.hosts.app), '127.0.0.3', 'dns-wrong-a on: ns1 answers the wrong address');
    assert.equal(await aRecords(ns2!, stack.hosts.app), '127.0.0.3', 'dns-wrong-a on: ns2 too');
    await stack.setFault('dns-wrong-a', false);
    assert.equal(await aRecords(ns1!, stack.hosts.app), '127.0.0.1', 'dns-wrong-a off: the server address again');
    await stack.setFault('dns-missing-auth', true);
    assert.equal(await aRecords(ns1!, stack.hosts.auth), 'ENOTFOUND', 'dns-missing-auth on: NXDOMAIN');
    await stack.setFault('dns-missing-auth', false);
    assert.equal(await aRecords(ns1!, stack.hosts.auth), '127.0.0.1', 'dns-missing-auth off: resolves');

    const plain = `http://127.0.0.1:${stack.ports.http}/`;
    const hostHeader = { host: stack.hosts.app };
    await stack.setFault('no-https-redirect', true);
    assert.equal((await status(agent, plain, { headers: hostHeader })).status, 200, 'no-https-redirect on: plain HTTP serves the site');
    await stack.setFault('no-https-redirect', false);
    assert.equal((await status(agent, plain, { headers: hostHeader })).status, 308, 'no-https-redirect off: 308 to HTTPS');

    await stack.setFault('cert-expired', true);
    assert.ok((await servedCert(stack.ports.https, stack.hosts.app)).notAfter < new Date(), 'cert-expired on: the app host serves an expired certificate');
    await stack.setFault('cert-expired', false);
    assert.ok((await servedCert(stack.ports.https, stack.hosts.app)).notAfter > new Date(Date.now() + 80 * 86400_000), 'cert-expired off: a 90-day certificate');
    await stack.setFault('cert-default-deployer', true);
    assert.equal((await servedCert(stack.ports.https, stack.hosts.deployer)).issuer, 'TRAEFIK DEFAULT CERT', 'cert-default-deployer on: the default certificate');
    await stack.setFault('cert-default-deployer', false);
    assert.equal((await servedCert(stack.ports.https, stack.hosts.deployer)).issuer, 'Stack R1', 'cert-default-deployer off: issued by the intermediate');
    await stack.setFault('http-port-closed', true);
    assert.equal(await portOpen(stack.ports.http), false, 'http-port-closed on: the plain-HTTP port refuses connections');
    await stack.setFault('http-port-closed', false);
    assert.equal((await status(agent, plain, { headers: hostHeader })).status, 308, 'http-port-closed off: the port redirects again');
    assert.equal((await status(agent, `${APP_URL}/`)).status, 200, 'the new certificate chains to the run CA');
    // The routers' faults (a middleware, a redirect rule) switch too, and the upstreams stay where the deployer put them.
    const authPlain = { host: stack.hosts.auth };
    await stack.setFault('redirect-other-host', true);
    assert.match(String((await status(agent, plain, { headers: authPlain })).headers.location), new RegExp(`^https://${stack.hosts.app}:`), 'redirect-other-host on: the auth host redirects to the app host');
    await stack.setFault('redirect-other-host', false);
    assert.match(String((await status(agent, plain, { headers: authPlain })).headers.location), new RegExp(`^https://${stack.hosts.auth}:`), 'redirect-other-host off: to itself again');
    await stack.setFault('auth-missing-security-headers', true);
    assert.equal((await status(agent, `${AUTH_URL}/ui/v2/login/loginname`)).headers['strict-transport-security'], undefined, 'auth-missing-security-headers on: no HSTS from the edge either');
    await stack.setFault('auth-missing-security-headers', false);
    assert.ok((await status(agent, `${AUTH_URL}/ui/v2/login/loginname`)).headers['strict-transport-security'], 'auth-missing-security-headers off: HSTS again');
    assert.equal((await status(agent, `${AUTH_URL}/debug/healthz`)).status, 200, 'the auth route still reaches its upstream');

    // A redeploy starts the new instance with the live set, and the switch reaches it afterwards.
    await stack.setFault('missing-security-headers', true);
    await redeployApp(stack);
    assert.equal((await status(agent, `${APP_URL}/`)).headers['strict-transport-security'], undefined, 'missing-security-headers kept after a redeploy');
    await stack.setFault('missing-security-headers', false);
    assert.ok((await status(agent, `${APP_URL}/`)).headers['strict-transport-security'], 'switched off on the redeployed instance');

    // The children's control routes answer only the run's token on their internal port, never through the edge.
    const internal = `http://127.0.0.2:${stack.app.current!.port}${FAULT_CONTROL_PATH}`;
    const body = JSON.stringify({ faults: ['app-health-failing'] });
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Record<string, string>[]) {
      assert.equal((await status(agent, internal, { method: 'PUT', headers, body })).status, 403, 'a request without the run token is refused');
    }
    const viaEdge = await status(agent, `${stack.env.APP_URL}${FAULT_CONTROL_PATH}`, { method: 'PUT', body });
    assert.notEqual(viaEdge.status, 200, 'the control route does not exist through the edge');
    const authViaEdge = await status(agent, `${stack.env.AUTH_URL}${FAULT_CONTROL_PATH}`, { method: 'PUT', body });
    assert.notEqual(authViaEdge.status, 200, "nor on auth's host");
    assert.equal((await status(agent, `${stack.env.APP_URL}/`)).status, 200, 'the app is still healthy');
    const token = stack.app.current!.env[FAULT_CONTROL_TOKEN_ENV]!;
    assert.ok(token.length >= 32, 'a per-run token is handed to the children');
    assert.ok(!Object.values(stack.env).some((v) => v.includes(token)), 'the token is not part of the target');
    for (const f of readdirSync(join(stack.dir, 'logs'))) assert.ok(!readFileSync(join(stack.dir, 'logs', f), 'utf8').includes(token), `${f} does not hold the token`);
    await assert.rejects(stack.setFault('db-missing-table', true), (e: Error) => e instanceof FaultError && /cannot be switched while the stack runs/.test(e.message));
    await assert.rejects(stack.setFault('no-such-fault' as never, true), (e: Error) => e instanceof FaultError && /Unknown fault id: no-such-fault/.test(e.message));
    assert.deepEqual(stack.faults(), [], 'a refused switch changes nothing');
  } finally {
    await agent.close();
    await stack.stop();
  }
});

function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'bin/stack.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d));
    c.stderr!.on('data', (d: Buffer) => (out += d));
    c.once('exit', (code) => resolve({ code, out }));
  });
}

/** Starts `npm run stack` (bin/stack.ts) on free ports; resolves with its run folder once it printed Ready. */
async function startCliStack(): Promise<{ child: ChildProcess; dir: string; httpsPort: number; out: () => string }> {
  const [httpsPort, httpPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/stack.ts'], {
    cwd: ROOT,
    env: { ...process.env, STACK_HTTPS_PORT: String(httpsPort), STACK_HTTP_PORT: String(httpPort), STACK_FAULTS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const dir = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /Logs\s+(\S+)\/logs\//.exec(out);
      if (/Ready in/.test(out) && m) resolve(join(ROOT, m[1]));
    });
    child.once('exit', (code) => reject(new Error(`npm run stack exited ${code}: ${out}`)));
  });
  return { child, dir, httpsPort, out: () => out };
}

test('npm run stack -- fault <id> on|off switches a running `npm run stack` from another process', async () => {
  const { child, dir, out } = await startCliStack();
  // A second live run (this process's) makes the choice ambiguous: the CLI must ask for --run.
  const other = join(STACK_ROOT, `run-${process.pid}-${Date.now()}`);
  try {
    // From what it printed and its own run folder: .stack/target.env is shared by every `npm run stack` here.
    const env = { APP_URL: /App\s+(\S+)/.exec(out())![1]!, DNS_SERVERS: /DNS\s+(\S+)/.exec(out())![1]!, CA_FILE: join(dir, 'ca.pem') };
    const agent = clientFor(env);
    try {
      assert.equal((await status(agent, `${env.APP_URL}/`)).status, 200);
      // --run everywhere: other stacks (the fault matrix's, under `npm test`) may run beside this one.
      const on = await runCli(['fault', 'app-health-failing', 'on', '--run', dir]);
      assert.equal(on.code, 0, on.out);
      assert.match(on.out, /app-health-failing on\. Faults on: app-health-failing/);
      assert.equal((await status(agent, `${env.APP_URL}/`)).status, 500, 'switched on through the CLI: GET / answers 500');
      const list = await runCli(['faults', '--run', dir]);
      assert.match(list.out, /Faults on: app-health-failing\nSwitchable: .*dns-wrong-a/);

      mkdirSync(join(other, 'control'), { recursive: true });
      writeFileSync(join(other, 'control', 'stack.sock'), '');
      const ambiguous = await runCli(['fault', 'app-health-failing', 'off']);
      assert.equal(ambiguous.code, 2, ambiguous.out);
      assert.match(ambiguous.out, /\d+ stacks are running; pick one with --run <dir>/);
      const off = await runCli(['fault', 'app-health-failing', 'off', '--run', dir]);
      assert.equal(off.code, 0, off.out);
      assert.equal((await status(agent, `${env.APP_URL}/`)).status, 200, 'switched off through the CLI: 200');
      const refused = await runCli(['fault', 'db-missing-table', 'on', '--run', dir]);
      assert.equal(refused.code, 2, refused.out);
      assert.match(refused.out, /cannot be switched while the stack runs/);
    } finally {
      await agent.close();
    }
  } finally {
    rmSync(other, { recursive: true, force: true });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
  assert.match(out(), /Stopped\./);
  const gone = await runCli(['faults', '--run', dir]);
  assert.equal(gone.code, 1, gone.out);
  assert.match(gone.out, /Could not reach the stack/);
});

test('the control socket: list, switch, refusals with their reason; a path too long for a socket is refused, not cut', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-control-'));
  const on = new Set<string>();
  const sw = {
    list: () => [...on] as never[],
    async set(id: string, value: boolean) {
      if (id === 'db-missing-table') throw new FaultError('Fault db-missing-table cannot be switched while the stack runs', [id]);
      if (value) on.add(id);
      else on.delete(id);
    },
  };
  const lines: string[] = [];
  const control = await startControl(dir, sw, (l) => lines.push(l));
  try {
    assert.equal(statSync(join(dir, 'control')).mode & 0o777, 0o700, 'only the owner reaches the socket');
    assert.deepEqual((await controlRequest(dir, 'PUT', '/faults/dns-wrong-a', 'on')).json, { faults: ['dns-wrong-a'] });
    const list = await controlRequest(dir, 'GET', '/faults');
    assert.deepEqual(list.json.faults, ['dns-wrong-a']);
    assert.ok((list.json.switchable as string[]).includes('app-health-failing'));
    const refused = await controlRequest(dir, 'PUT', '/faults/db-missing-table', 'on');
    assert.equal(refused.status, 400);
    assert.match(String(refused.json.error), /cannot be switched while the stack runs/);
    assert.equal((await controlRequest(dir, 'PUT', '/faults/dns-wrong-a', 'maybe')).status, 400, 'on or off only');
    assert.equal((await controlRequest(dir, 'GET', '/secrets')).status, 404);
    assert.deepEqual((await controlRequest(dir, 'PUT', '/faults/dns-wrong-a', 'off')).json, { faults: [] });
  } finally {
    await control.close();
  }
  const deep = join(dir, 'd'.repeat(120));
  mkdirSync(deep);
  const none = await startControl(deep, sw, (l) => lines.push(l));
  await none.close();
  assert.match(lines.at(-1)!, /no control socket \(ENAMETOOLONG/);
  assert.equal(readdirSync(join(deep, 'control')).length, 0, 'no socket under a cut name');
  rmSync(dir, { recursive: true, force: true });
});
