// The Coolify-compatible deployer against real processes (tiny stand-in services) behind the real edge.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStackPki, type StackPki } from '../stack/ca/index.ts';
import { startEdge, type EdgeHandle } from '../stack/edge/index.ts';
import { COOLIFY_VERSION, POST_ONLY_MESSAGE, startDeployer, type DeployerHandle, type Deployment } from '../stack/deployer/index.ts';
import type { FaultId } from '../stack/faults.ts';
import { Supervisor } from '../stack/deployer/supervisor.ts';
import { isAlive } from '../stack/process.ts';

const HOSTS = { app: 'gadgetbot.stack.test', auth: 'gadgetbot-auth.stack.test', deployer: 'gadgetbot-coolify.stack.test' };
const TOKEN = '1|testtokentesttokentesttokentesttokentest';
const READ_TOKEN = '2|readonlyreadonlyreadonlyreadonlyreadonly';
const ROOT = join(import.meta.dirname, '..');

// A stand-in service: answers its health path with HEALTH_STATUS, tells which port (generation) and which
// secret (hashed) served a request, delays on ?ms=, and finishes in-flight requests on SIGTERM.
const STAND_IN = `
import http from 'node:http';
import { createHash } from 'node:crypto';
const status = Number(process.env.HEALTH_STATUS || 200);
const secret = createHash('sha256').update(process.env.BETTER_AUTH_SECRET || '').digest('hex').slice(0, 12);
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  setTimeout(() => {
    const health = u.pathname === '/' || u.pathname === '/debug/healthz';
    res.writeHead(health ? status : 200, { 'x-port': process.env.PORT, 'x-secret': secret, 'x-commit': process.env.SOURCE_COMMIT || '' });
    res.end('ok');
  }, Number(u.searchParams.get('ms') || 0));
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

let dir: string;
let script: string;
let pki: StackPki;
/** One rig (edge, deployer, app and auth) shared by the tests below in order; fault rigs are their own. */
let shared: Rig;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stack-deployer-'));
  script = join(dir, 'stand-in.mjs');
  writeFileSync(script, STAND_IN);
  mkdirSync(join(dir, 'logs'));
  pki = await createStackPki(HOSTS, []);
  shared = await rig();
});
after(async () => {
  if (shared) await teardown(shared);
  rmSync(dir, { recursive: true, force: true });
});

interface Rig {
  edge: EdgeHandle;
  deployer: DeployerHandle;
  app: Supervisor;
  auth: Supervisor;
  appEnv: Record<string, string>;
  rotated: string[];
  agent: HttpsAgent;
}

async function rig(o: { stopStart?: boolean; rotateSecret?: boolean; gapMs?: number; pauseMs?: number; healthFailing?: boolean; faults?: FaultId[] } = {}): Promise<Rig> {
  const certs = new Map([...pki.leaves].map(([h, l]) => [h, { keyPem: l.keyPem, chainPem: l.chainPem }]));
  const edge = await startEdge({ httpsPort: 0, httpPort: 0, certs, defaultCert: pki.defaultCert, hosts: HOSTS });
  const appEnv: Record<string, string> = { PATH: process.env.PATH ?? '', BETTER_AUTH_SECRET: 'first-secret' };
  const mk = (name: string, healthPath: string, env: () => Record<string, string>) =>
    new Supervisor({ name, script, cwd: ROOT, logDir: join(dir, 'logs'), host: '127.0.0.2', healthPath, env });
  const app = mk('app', '/', () => ({ ...appEnv }));
  const auth = mk('auth', '/debug/healthz', () => ({ PATH: process.env.PATH ?? '' }));
  const [a, z] = await Promise.all([app.launch(), auth.launch()]);
  try {
    await Promise.all([app.waitUp(a, { timeoutMs: 20_000, require2xx: true }), auth.waitUp(z, { timeoutMs: 20_000, require2xx: true })]);
  } catch (e) {
    // What this rig started must not outlive it: a live child or edge keeps the test file (and npm test) running.
    await Promise.allSettled([app.stopAll(), auth.stopAll(), edge.close()]);
    throw e;
  }
  app.current = a;
  auth.current = z;
  edge.routes.setUpstream(HOSTS.app, a.upstream);
  edge.routes.setUpstream(HOSTS.auth, z.upstream);
  const rotated: string[] = [];
  const deployer = await startDeployer({
    host: '127.0.0.2',
    token: TOKEN,
    edge,
    app: {
      uuid: 'appuuid000000000000000001',
      name: 'gadgetbot',
      host: HOSTS.app,
      supervisor: app,
      rotateSecret: o.rotateSecret ?? false,
      stopStart: o.stopStart ?? false,
      redeployGapMs: o.gapMs ?? 300,
      onSecretRotated: (s) => {
        appEnv.BETTER_AUTH_SECRET = s;
        rotated.push(s);
      },
    },
    auth: { uuid: 'authuuid00000000000000001', name: 'zitadel-stack', host: HOSTS.auth, supervisor: auth, pauseMs: o.pauseMs ?? 300 },
    healthTimeoutMs: 15_000,
    unhealthyGraceMs: 1000,
    retryAfterSeconds: 7,
    healthFailing: o.healthFailing,
    faults: o.faults,
    extraTokens: [{ token: READ_TOKEN, abilities: ['read'] }],
  });
  edge.routes.setUpstream(HOSTS.deployer, { host: '127.0.0.2', port: deployer.port });
  return { edge, deployer, app, auth, appEnv, rotated, agent: new HttpsAgent({ keepAlive: true, ca: pki.rootPem }) };
}

async function teardown(r: Rig): Promise<void> {
  r.agent.destroy();
  await r.deployer.close();
  await Promise.all([r.app.stopAll(), r.auth.stopAll()]);
  await r.edge.close();
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(r: Rig, host: string, path: string, o: { token?: string | null; method?: string; body?: unknown } = {}): Promise<Reply> {
  const token = o.token === undefined ? TOKEN : o.token;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: r.edge.httpsPort,
        servername: host,
        path,
        method: o.method ?? 'GET',
        agent: r.agent,
        headers: { host: `${host}:${r.edge.httpsPort}`, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end(o.body !== undefined ? JSON.stringify(o.body) : undefined);
  });
}

const api = (r: Rig, path: string, o?: { token?: string | null; method?: string; body?: unknown }) => call(r, HOSTS.deployer, path, o);

async function waitDeployment(r: Rig, uuid: string, timeoutMs = 30_000): Promise<{ final: Deployment; seen: string[] }> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api(r, `/api/v1/deployments/${uuid}`);
    assert.equal(res.status, 200, res.body);
    const d = JSON.parse(res.body) as Deployment;
    if (seen[seen.length - 1] !== d.status) seen.push(d.status);
    if (['finished', 'failed', 'cancelled-by-user'].includes(d.status)) return { final: d, seen };
    if (Date.now() > deadline) throw new Error(`deployment ${uuid} still ${d.status}`);
    await new Promise((res2) => setTimeout(res2, 25));
  }
}

/** Requests the app host in a loop until stopped; counts answers by status and serving port. */
function load(r: Rig, host = HOSTS.app) {
  let stop = false;
  const statuses: Record<string, number> = {};
  const ports = new Set<string>();
  const errors: string[] = [];
  const worker = async () => {
    while (!stop) {
      try {
        const res = await call(r, host, '/work?ms=3', { token: null });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.headers['x-port']) ports.add(String(res.headers['x-port']));
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  };
  const workers = Array.from({ length: 6 }, worker);
  return {
    statuses,
    ports,
    errors,
    async stop() {
      stop = true;
      await Promise.all(workers);
    },
  };
}

test('API surface: health without auth, 401 without/with a wrong token, version, 404s and 400', async () => {
  const r = shared;
  const health = await api(r, '/api/health', { token: null });
  assert.equal(health.status, 200);
  assert.equal(health.body, 'OK');
  for (const token of [null, 'wrong-token', `${TOKEN}x`]) {
    const v = await api(r, '/api/v1/version', { token });
    assert.equal(v.status, 401);
    assert.deepEqual(JSON.parse(v.body), { message: 'Unauthenticated.' });
    assert.equal((await api(r, `/api/v1/deploy?uuid=appuuid000000000000000001`, { token, method: 'POST' })).status, 401);
  }
  const v = await api(r, '/api/v1/version');
  assert.equal(v.status, 200);
  assert.equal(v.body, COOLIFY_VERSION);
  const unknown = await api(r, '/api/v1/deploy?uuid=doesnotexist&force=false', { method: 'POST' });
  assert.equal(unknown.status, 404);
  assert.deepEqual(JSON.parse(unknown.body), { message: 'No resources found.' });
  assert.equal((await api(r, '/api/v1/deploy', { method: 'POST' })).status, 400);
  const noDep = await api(r, '/api/v1/deployments/nope');
  assert.equal(noDep.status, 404);
  assert.deepEqual(JSON.parse(noDep.body), { message: 'Deployment not found.' });
  assert.equal((await api(r, '/api/v1/whatever')).status, 404);
  assert.equal((await api(r, '/api/v1/applications/authuuid00000000000000001/restart', { method: 'POST' })).status, 404, 'the auth stack is a service, not an application');
  const dash = await api(r, '/', { token: null });
  assert.equal(dash.status, 302);
  assert.equal(dash.headers.location, '/login');
  assert.deepEqual(JSON.parse((await api(r, '/api/v1/deployments')).body), []);
});

test('app deploy is a rolling update: queued -> in_progress -> finished, new port, old process gone, zero failed requests', async () => {
  const r = shared;
  const old = r.app.current!;
  const l = load(r);
  let final: Deployment;
  let seen: string[];
  try {
    const res = await api(r, '/api/v1/deploy?uuid=appuuid000000000000000001&force=false', { method: 'POST' });
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body) as { deployments: { message: string; resource_uuid: string; deployment_uuid: string }[] };
    assert.equal(body.deployments.length, 1);
    assert.equal(body.deployments[0].message, 'Application gadgetbot deployment queued.');
    assert.equal(body.deployments[0].resource_uuid, 'appuuid000000000000000001');
    assert.match(body.deployments[0].deployment_uuid, /^[a-z][a-z0-9]{23}$/);
    ({ final, seen } = await waitDeployment(r, body.deployments[0].deployment_uuid));
  } finally {
    await l.stop();
  }
  assert.equal(final.status, 'finished', final.logs);
  assert.deepEqual(seen.filter((s) => s !== 'queued'), ['in_progress', 'finished']);
  assert.equal(final.application_name, 'gadgetbot');
  assert.ok(JSON.parse(final.logs).some((e: { output: string }) => /traffic switched/.test(e.output)));
  assert.deepEqual(l.errors, []);
  assert.deepEqual(Object.keys(l.statuses), ['200'], JSON.stringify(l.statuses));
  const now = r.app.current!;
  assert.notEqual(now.port, old.port);
  assert.ok(l.ports.has(String(old.port)) && l.ports.has(String(now.port)), 'both generations served during the test');
  assert.equal((await call(r, HOSTS.app, '/', { token: null })).headers['x-port'], String(now.port));
  assert.ok(old.proc.exitInfo, 'old process has exited');
  assert.equal(old.proc.exitInfo!.code, 0, 'old process stopped gracefully (SIGTERM)');
  assert.equal(isAlive(old.proc.pid), false);
  const history = JSON.parse((await api(r, '/api/v1/deployments/applications/appuuid000000000000000001')).body) as { count: number; deployments: Deployment[] };
  assert.equal(history.count, 1);
  assert.equal(history.deployments[0].deployment_uuid, final.deployment_uuid);
});

test('queue of one: a third deploy while one runs and one waits gets 429 with Retry-After; both run in order', async () => {
  const r = shared;
  const one = await api(r, '/api/v1/deploy?uuid=appuuid000000000000000001', { method: 'POST' });
  const two = await api(r, '/api/v1/applications/appuuid000000000000000001/restart', { method: 'POST' });
  const three = await api(r, '/api/v1/deploy?uuid=appuuid000000000000000001', { method: 'POST' });
  assert.equal(one.status, 200);
  assert.equal(two.status, 200);
  const twoBody = JSON.parse(two.body) as { message: string; deployment_uuid: string };
  assert.equal(twoBody.message, 'Restart request queued.');
  assert.equal(three.status, 429);
  assert.equal(three.headers['retry-after'], '7');
  const listed = JSON.parse((await api(r, '/api/v1/deployments')).body) as Deployment[];
  assert.equal(listed.length, 2, 'running and queued deployments are listed');
  const first = await waitDeployment(r, (JSON.parse(one.body) as { deployments: { deployment_uuid: string }[] }).deployments[0].deployment_uuid);
  const second = await waitDeployment(r, twoBody.deployment_uuid);
  assert.equal(first.final.status, 'finished');
  assert.equal(second.final.status, 'finished');
  assert.equal(second.final.restart_only, true);
  assert.ok(Date.parse(second.final.finished_at!) >= Date.parse(first.final.finished_at!));
  await r.deployer.idle();
  assert.equal(r.app.instances.size, 1, 'only the newest generation is left');
});

test('a new process that fails its healthcheck: status failed, the old one keeps serving; a queued deploy can be cancelled', async (t) => {
  const r = shared;
  const old = r.app.current!;
  r.appEnv.HEALTH_STATUS = '500';
  t.after(() => delete r.appEnv.HEALTH_STATUS);
  const res = await api(r, '/api/v1/deploy?uuid=appuuid000000000000000001', { method: 'POST' });
  const queued = await api(r, '/api/v1/deploy?uuid=appuuid000000000000000001', { method: 'POST' });
  const queuedUuid = (JSON.parse(queued.body) as { deployments: { deployment_uuid: string }[] }).deployments[0].deployment_uuid;
  const cancel = await api(r, `/api/v1/deployments/${queuedUuid}/cancel`, { method: 'POST' });
  assert.equal(cancel.status, 200, cancel.body);
  const { final } = await waitDeployment(r, (JSON.parse(res.body) as { deployments: { deployment_uuid: string }[] }).deployments[0].deployment_uuid);
  assert.equal(final.status, 'failed');
  assert.match(final.logs, /unhealthy/);
  assert.equal((await waitDeployment(r, queuedUuid)).final.status, 'cancelled-by-user');
  assert.equal(r.app.current, old);
  assert.equal(old.proc.exitInfo, undefined);
  const served = await call(r, HOSTS.app, '/x', { token: null });
  assert.equal(served.status, 200);
  assert.equal(served.headers['x-port'], String(old.port));
  assert.equal(r.app.instances.size, 1, 'the failed generation was stopped');
});

test('faults redeploy-stop-start and redeploy-loses-sessions: a gap with 503 "no available server", then a new secret', async () => {
  const r = await rig({ stopStart: true, rotateSecret: true, gapMs: 400 });
  try {
    const before = await call(r, HOSTS.app, '/x', { token: null });
    const l = load(r);
    let final: Deployment;
    try {
      const res = await api(r, '/api/v1/deploy?uuid=appuuid000000000000000001', { method: 'POST' });
      ({ final } = await waitDeployment(r, (JSON.parse(res.body) as { deployments: { deployment_uuid: string }[] }).deployments[0].deployment_uuid));
    } finally {
      await l.stop();
    }
    assert.equal(final.status, 'finished', final.logs);
    assert.ok((l.statuses['503'] ?? 0) > 0, `downtime was visible: ${JSON.stringify(l.statuses)}`);
    assert.equal(r.rotated.length, 1);
    const afterRes = await call(r, HOSTS.app, '/x', { token: null });
    assert.notEqual(afterRes.headers['x-secret'], before.headers['x-secret'], 'BETTER_AUTH_SECRET changed');
  } finally {
    await teardown(r);
  }
});

test('auth stack deploy (Docker Compose): stop, pause, start on a new port; 503 "no available server" meanwhile', async () => {
  const r = shared;
  const old = r.auth.current!;
  const l = load(r, HOSTS.auth);
  let final: Deployment;
  let message: string;
  try {
    const res = await api(r, '/api/v1/deploy?uuid=authuuid00000000000000001&force=false', { method: 'POST' });
    assert.equal(res.status, 200);
    const d = (JSON.parse(res.body) as { deployments: { message: string; deployment_uuid: string }[] }).deployments[0];
    message = d.message;
    ({ final } = await waitDeployment(r, d.deployment_uuid));
  } finally {
    await l.stop();
  }
  assert.match(message, /^Service zitadel-stack started/);
  assert.equal(final.status, 'finished', final.logs);
  assert.ok((l.statuses['503'] ?? 0) > 0, JSON.stringify(l.statuses));
  assert.notEqual(r.auth.current!.port, old.port);
  assert.equal(old.proc.exitInfo?.code, 0);
  assert.equal((await call(r, HOSTS.auth, '/debug/healthz', { token: null })).status, 200);
});

test('fault deployer-health-failing: /api/health answers 503, the rest of the API keeps working (a deploy finishes)', async () => {
  const r = await rig({ healthFailing: true });
  try {
    for (const path of ['/api/health', '/api/v1/health']) {
      const h = await api(r, path, { token: null });
      assert.equal(h.status, 503, `${path}: ${h.body}`);
      assert.notEqual(h.body, 'OK');
    }
    const v = await api(r, '/api/v1/version');
    assert.equal(v.status, 200);
    assert.equal(v.body, COOLIFY_VERSION);
    assert.equal((await api(r, '/api/v1/version', { token: null })).status, 401, 'auth still enforced');
    const info = await api(r, '/api/v1/applications/appuuid000000000000000001');
    assert.equal(info.status, 200);
    assert.equal((JSON.parse(info.body) as { status: string }).status, 'running:healthy');
    const old = r.app.current!;
    const res = await api(r, '/api/v1/deploy?uuid=appuuid000000000000000001', { method: 'POST' });
    assert.equal(res.status, 200, res.body);
    const { final } = await waitDeployment(r, (JSON.parse(res.body) as { deployments: { deployment_uuid: string }[] }).deployments[0].deployment_uuid);
    assert.equal(final.status, 'finished', final.logs);
    assert.notEqual(r.app.current!.port, old.port);
    assert.equal((await call(r, HOSTS.app, '/x', { token: null })).status, 200, 'the deployed app serves');
    assert.equal((await api(r, '/api/health', { token: null })).status, 503, 'and health still fails');
  } finally {
    await teardown(r);
  }
});

const APP_UUID = 'appuuid000000000000000001';
const queuedUuidOf = (res: Reply) => (JSON.parse(res.body) as { deployment_uuid?: string; deployments?: { deployment_uuid: string }[] }).deployment_uuid
  ?? (JSON.parse(res.body) as { deployments: { deployment_uuid: string }[] }).deployments[0].deployment_uuid;

test('today\'s Coolify: GET on state-changing endpoints is 405 with Allow: POST; a read-only token gets 403 on a deploy', async () => {
  const r = shared;
  for (const path of [`/api/v1/deploy?uuid=${APP_UUID}`, `/api/v1/applications/${APP_UUID}/restart`, `/api/v1/applications/${APP_UUID}/stop`]) {
    const res = await api(r, path);
    assert.equal(res.status, 405, `${path}: ${res.body}`);
    assert.equal(res.headers.allow, 'POST');
    assert.deepEqual(JSON.parse(res.body), { message: POST_ONLY_MESSAGE });
  }
  const queued = r.deployer.deployments().length;
  const refused = await api(r, `/api/v1/deploy?uuid=${APP_UUID}`, { token: READ_TOKEN, method: 'POST' });
  assert.equal(refused.status, 403, refused.body);
  assert.equal((await api(r, '/api/v1/version', { token: READ_TOKEN })).status, 200, 'read is enough for the version');
  assert.equal(r.deployer.deployments().length, queued, 'nothing queued by the refused call');
});

test('image history: a deploy is a new tag the serving process runs; rollback to an earlier tag and forward again; 422 on an unknown tag', async () => {
  const r = shared;
  const imagesOf = async () => JSON.parse((await api(r, `/api/v1/applications/${APP_UUID}/rollback-images`)).body) as
    { current: string; images: { tag: string; created_at: string; is_current: boolean }[] };
  const start = await imagesOf();
  assert.ok(start.images.length >= 2, 'the stack starts with an earlier image to roll back to');
  assert.equal(start.images.filter((i) => i.is_current).map((i) => i.tag).join(), start.current);
  const { final } = await waitDeployment(r, queuedUuidOf(await api(r, `/api/v1/deploy?uuid=${APP_UUID}`, { method: 'POST' })));
  assert.equal(final.status, 'finished', final.logs);
  const after = await imagesOf();
  assert.equal(after.current, final.commit, 'the deployment record names the image that now serves');
  assert.equal(after.images[0].tag, final.commit, 'newest first');
  assert.equal((await call(r, HOSTS.app, '/x', { token: null })).headers['x-commit'], final.commit, 'the serving process runs that image');
  assert.match(final.logs, /New container started\./);
  const previous = start.current;
  const unknown = await api(r, `/api/v1/applications/${APP_UUID}/rollback`, { method: 'POST', body: { commit: 'nope' } });
  assert.equal(unknown.status, 422, unknown.body);
  const back = await waitDeployment(r, queuedUuidOf(await api(r, `/api/v1/applications/${APP_UUID}/rollback`, { method: 'POST', body: { commit: previous } })));
  assert.equal(back.final.status, 'finished', back.final.logs);
  assert.equal(back.final.rollback, true);
  assert.equal((await imagesOf()).current, previous);
  assert.equal((await call(r, HOSTS.app, '/x', { token: null })).headers['x-commit'], previous);
  const forward = await waitDeployment(r, queuedUuidOf(await api(r, `/api/v1/applications/${APP_UUID}/rollback`, { method: 'POST', body: { commit: final.commit } })));
  assert.equal(forward.final.status, 'finished');
  assert.equal((await imagesOf()).current, final.commit);
});

test('every answer the suite reads satisfies the project\'s Coolify schemas (written from the reference)', async () => {
  const { SCHEMAS_BY_PATH, firstIssue } = await import('../helpers/coolify-schemas.ts');
  const r = shared;
  const dep = await api(r, `/api/v1/deploy?uuid=${APP_UUID}`, { method: 'POST' });
  const depUuid = queuedUuidOf(dep);
  await waitDeployment(r, depUuid);
  const images = JSON.parse((await api(r, `/api/v1/applications/${APP_UUID}/rollback-images`)).body) as { images: { tag: string }[] };
  const restart = await api(r, `/api/v1/applications/${APP_UUID}/restart`, { method: 'POST' });
  await waitDeployment(r, queuedUuidOf(restart));
  const rollback = await api(r, `/api/v1/applications/${APP_UUID}/rollback`, { method: 'POST', body: { commit: images.images[0].tag } });
  await waitDeployment(r, queuedUuidOf(rollback));
  const answers: [keyof typeof SCHEMAS_BY_PATH, Reply][] = [
    ['POST /deploy', dep],
    ['GET /deployments', await api(r, '/api/v1/deployments')],
    ['GET /deployments/{uuid}', await api(r, `/api/v1/deployments/${depUuid}`)],
    ['GET /deployments/applications/{uuid}', await api(r, `/api/v1/deployments/applications/${APP_UUID}?skip=0&take=10`)],
    ['POST /applications/{uuid}/restart', restart],
    ['GET /applications/{uuid}/rollback-images', await api(r, `/api/v1/applications/${APP_UUID}/rollback-images`)],
    ['POST /applications/{uuid}/rollback', rollback],
  ];
  for (const [key, res] of answers) {
    assert.equal(res.status, 200, `${key}: ${res.body}`);
    const parsed = SCHEMAS_BY_PATH[key].safeParse(JSON.parse(res.body));
    assert.ok(parsed.success, `${key}: ${parsed.success ? '' : firstIssue(parsed.error)}`);
  }
  const v = await api(r, '/api/v1/version');
  assert.ok(SCHEMAS_BY_PATH['GET /version'].safeParse(v.body).success, v.body);
});

test('faults redeploy-noop, rollback-no-switch, auth-upgrade-no-restart: "finished", yet nothing changed', async () => {
  const r = await rig({ faults: ['redeploy-noop', 'rollback-no-switch', 'auth-upgrade-no-restart'] });
  try {
    const app0 = r.app.current!;
    const auth0 = r.auth.current!;
    const images0 = JSON.parse((await api(r, `/api/v1/applications/${APP_UUID}/rollback-images`)).body) as { current: string; images: { tag: string }[] };
    const dep = await waitDeployment(r, queuedUuidOf(await api(r, `/api/v1/deploy?uuid=${APP_UUID}`, { method: 'POST' })));
    assert.equal(dep.final.status, 'finished');
    assert.doesNotMatch(dep.final.logs, /New container started/);
    const earlier = images0.images.find((i) => i.tag !== images0.current)!.tag;
    const back = await waitDeployment(r, queuedUuidOf(await api(r, `/api/v1/applications/${APP_UUID}/rollback`, { method: 'POST', body: { commit: earlier } })));
    assert.equal(back.final.status, 'finished');
    assert.equal((JSON.parse((await api(r, `/api/v1/applications/${APP_UUID}/rollback-images`)).body) as { current: string }).current, images0.current,
      'Coolify inspects the running container: it still runs the image it had');
    const auth = await waitDeployment(r, queuedUuidOf(await api(r, '/api/v1/deploy?uuid=authuuid00000000000000001', { method: 'POST' })));
    assert.equal(auth.final.status, 'finished');
    assert.equal(r.app.current, app0);
    assert.equal(r.auth.current, auth0);
  } finally {
    await teardown(r);
  }
});

test('backups: real dumps of both databases at start (file and size real); faults stale, failing, disabled, short retention, weekly', async () => {
  const { chmodSync, statSync, readFileSync } = await import('node:fs');
  const { startPostgres, migrateApp, INTERNAL_HOST } = await import('../stack/postgres/index.ts');
  const { freePort } = await import('../stack/process.ts');
  const { BackupStore } = await import('../stack/deployer/backups.ts');
  const { SCHEMAS_BY_PATH } = await import('../helpers/coolify-schemas.ts');
  const pgDir = join(dir, 'pg');
  chmodSync(dir, 0o711);
  mkdirSync(pgDir, { mode: 0o711 });
  chmodSync(pgDir, 0o711); // the postgres user (we may be root) must traverse it
  const port = await freePort(INTERNAL_HOST, ['127.0.0.1']);
  const pgH = await startPostgres({ stackRoot: join(ROOT, '.stack'), runDir: pgDir, port, faults: [] });
  try {
    await migrateApp(pgH.url('gadgetbot'), []);
    const databases = [
      { uuid: 'appdb', name: 'gadgetbot-db', database: 'gadgetbot', url: pgH.url('gadgetbot') },
      { uuid: 'authdb', name: 'zitadel-db', database: 'zitadel', url: pgH.url('zitadel') },
    ];
    let n = 0;
    const healthy = new BackupStore({ databases, dir: join(dir, 'b1'), faults: [], uuid: () => `u${++n}`, log: () => undefined });
    await healthy.ready;
    for (const db of databases) {
      const s = healthy.schedules.get(db.uuid)!;
      assert.ok(SCHEMAS_BY_PATH['GET /databases/{uuid}/backups'].safeParse([s]).success);
      assert.ok(SCHEMAS_BY_PATH['GET /databases/{uuid}/backups/{scheduled_backup_uuid}/executions'].safeParse({ executions: s.executions }).success);
      const [e] = s.executions;
      assert.equal(e.status, 'success', e.message ?? '');
      assert.equal(e.size, statSync(e.filename!).size, 'the recorded size is the file\'s');
      assert.ok(e.size! > 200);
      assert.equal(s.enabled, true);
      assert.equal(s.frequency, '0 2 * * *');
    }
    const file = referenceFile();
    if (file) {
      const ref = JSON.parse(readFileSync(file, 'utf8')) as { paths: Record<string, { get: { responses: { '200': { content: { 'application/json': { schema: JsonSchema } } } } } }>; components: { schemas: Record<string, JsonSchema> } };
      const schema = ref.paths['/databases/{uuid}/backups/{scheduled_backup_uuid}/executions'].get.responses['200'].content['application/json'].schema;
      for (const db of databases) assert.deepEqual(violations({ executions: healthy.schedules.get(db.uuid)!.executions }, schema, ref), [], 'executions as the reference describes them');
    }
    const appDump = readFileSync(healthy.schedules.get('appdb')!.executions[0].filename!, 'utf8');
    assert.match(appDump, /CREATE TABLE "public"\."gadgetbots"/);
    assert.match(appDump, /COPY "drizzle"\."__drizzle_migrations"/, 'every table, with its rows');
    assert.ok(!appDump.includes(decodeURIComponent(new URL(pgH.url('gadgetbot')).password)), 'no password in the dump');

    const broken = new BackupStore({ databases, dir: join(dir, 'b2'), uuid: () => `v${++n}`, log: () => undefined,
      faults: ['backup-stale', 'backup-failing', 'backup-disabled', 'backup-retention-short', 'backup-weekly'] });
    await broken.ready;
    const app = broken.schedules.get('appdb')!;
    const auth = broken.schedules.get('authdb')!;
    assert.equal(app.frequency, '0 2 * * 0');
    assert.equal(app.database_backup_retention_days_locally, 3);
    assert.ok(Date.now() - Date.parse(app.executions[0].created_at) > 70 * 3600_000, 'stale');
    assert.equal(app.executions[0].status, 'success');
    assert.equal(auth.enabled, false);
    assert.equal(auth.database_backup_retention_days_locally, 5);
    assert.equal(auth.executions[0].status, 'failed');
    assert.match(auth.executions[0].message ?? '', /password authentication failed/);
    assert.ok(!(auth.executions[0].message ?? '').includes(decodeURIComponent(new URL(pgH.url('zitadel')).password)));
  } finally {
    await pgH.stop();
  }
});

// --- the reference's own OpenAPI schemas (../shared/reference/coolify-openapi.paths.json) -----------------------

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; items?: JsonSchema; nullable?: boolean; required?: string[]; $ref?: string };

/** The subset of JSON Schema the reference uses: $ref, type (or a list), nullable, properties, required, items. */
function violations(v: unknown, s: JsonSchema, root: { components: { schemas: Record<string, JsonSchema> } }, at = '$'): string[] {
  if (s.$ref) return violations(v, root.components.schemas[s.$ref.split('/').pop()!], root, at);
  if (v === null) return s.nullable || (Array.isArray(s.type) && s.type.includes('null')) ? [] : [`${at}: null`];
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  const kind = Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  if (types.length && !types.some((t) => t === kind || (t === 'number' && kind === 'integer'))) return [`${at}: ${kind}, expected ${types.join('|')}`];
  const out: string[] = [];
  if (kind === 'object' && s.properties) {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) out.push(`${at}.${r}: missing`);
    for (const [k, sub] of Object.entries(s.properties)) if (k in o) out.push(...violations(o[k], sub, root, `${at}.${k}`));
  }
  if (kind === 'array' && s.items) (v as unknown[]).forEach((x, i) => out.push(...violations(x, s.items!, root, `${at}[${i}]`)));
  return out;
}

function referenceFile(): string | undefined {
  return [process.env.GBV_REFERENCE_DIR, join(ROOT, '..', 'shared', 'reference'), join(ROOT, '..', '..', 'shared', 'reference')]
    .filter((d): d is string => !!d).map((d) => join(d, 'coolify-openapi.paths.json')).find((f) => existsSync(f));
}

test('the stand-in\'s answers validate against the reference\'s OpenAPI schemas of every path the suite uses', async (t) => {
  const { readFileSync } = await import('node:fs');
  const file = referenceFile();
  if (!file) return t.skip('the reference (../shared/reference/coolify-openapi.paths.json) is not beside this checkout');
  const ref = JSON.parse(readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }> }>>; components: { schemas: Record<string, JsonSchema> } };
  const schemaOf = (path: string, method: string) => {
    const c = ref.paths[path][method].responses['200'].content!;
    return (c['application/json'] ?? c['text/html']).schema;
  };
  const r = shared;
  const dep = await api(r, `/api/v1/deploy?uuid=${APP_UUID}`, { method: 'POST' });
  const depUuid = queuedUuidOf(dep);
  await waitDeployment(r, depUuid);
  const images = await api(r, `/api/v1/applications/${APP_UUID}/rollback-images`);
  const restart = await api(r, `/api/v1/applications/${APP_UUID}/restart`, { method: 'POST' });
  await waitDeployment(r, queuedUuidOf(restart));
  const rollback = await api(r, `/api/v1/applications/${APP_UUID}/rollback`, { method: 'POST', body: { commit: (JSON.parse(images.body) as { images: { tag: string }[] }).images[1].tag } });
  await waitDeployment(r, queuedUuidOf(rollback));
  const cases: [string, string, unknown][] = [
    ['/deploy', 'post', JSON.parse(dep.body)],
    ['/deployments', 'get', JSON.parse((await api(r, '/api/v1/deployments')).body)],
    ['/deployments/{uuid}', 'get', JSON.parse((await api(r, `/api/v1/deployments/${depUuid}`)).body)],
    ['/applications/{uuid}/restart', 'post', JSON.parse(restart.body)],
    ['/applications/{uuid}/rollback-images', 'get', JSON.parse(images.body)],
    ['/applications/{uuid}/rollback', 'post', JSON.parse(rollback.body)],
    ['/version', 'get', (await api(r, '/api/v1/version')).body],
  ];
  for (const [path, method, body] of cases) assert.deepEqual(violations(body, schemaOf(path, method), ref), [], `${method.toUpperCase()} ${path}`);
  // The app's history: Coolify's code answers {count, deployments: [ApplicationDeploymentQueue]}; the OpenAPI text
  // (an array of Application) is wrong there, as the interface reference says: its items are checked as deployments.
  const history = JSON.parse((await api(r, `/api/v1/deployments/applications/${APP_UUID}`)).body) as { deployments: unknown[] };
  assert.deepEqual(violations(history.deployments, { type: 'array', items: { $ref: '#/components/schemas/ApplicationDeploymentQueue' } }, ref), []);
  // Backups: the reference leaves the schedules' schema out ("Content is very complex"); the executions have one.
});

// A service that dies on EADDRINUSE the first time it starts (it binds its own PORT twice), then serves.
const BUSY_ONCE = `
import http from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
const { HOST, PORT, MARK } = process.env;
const serve = () => http.createServer((q, r) => r.end('ok')).listen(Number(PORT), HOST);
if (existsSync(MARK)) serve();
else { writeFileSync(MARK, ''); http.createServer().listen(Number(PORT), HOST, serve); }
`;

test('a child that finds its port taken (EADDRINUSE) is started again on another port; any other exit is reported', async () => {
  const busy = join(dir, 'busy-once.mjs');
  writeFileSync(busy, BUSY_ONCE);
  const mark = join(dir, 'busy.mark');
  const sup = new Supervisor({ name: 'busy', script: busy, cwd: ROOT, logDir: join(dir, 'logs'), host: '127.0.0.2', healthPath: '/', env: () => ({ PATH: process.env.PATH ?? '', MARK: mark }) });
  try {
    const inst = await sup.launch();
    const first = inst.port;
    assert.equal(await sup.waitUp(inst, { timeoutMs: 10_000, require2xx: true }), 200);
    assert.equal(inst.generation, 2, 'the first start died on EADDRINUSE, the second serves');
    assert.notEqual(inst.port, first);
    assert.deepEqual([...sup.instances], [inst]);

    const failing = new Supervisor({ ...sup.o, name: 'fails', env: () => ({ PATH: process.env.PATH ?? '', MARK: join(dir, 'no-such-dir', 'mark') }) });
    const dead = await failing.launch();
    await assert.rejects(failing.waitUp(dead, { timeoutMs: 10_000, require2xx: true }), /the process exited \(code 1.*ENOENT/s);
    assert.equal(dead.generation, 1, 'an exit for another reason is not retried');
  } finally {
    await sup.stopAll();
  }
});
