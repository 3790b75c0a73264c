// The deployer client against a small local HTTP server speaking Coolify's API shapes: bearer auth, 404,
// 429 + Retry-After, status transitions of a deployment, time-outs, and the token never showing up anywhere.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { Agent } from 'undici';
import { CoolifyClient, CoolifyError, parseRetryAfter } from '../helpers/coolify.ts';

const TOKEN = '7|gbvTestTokenSecretValue0123456789';
const READ_TOKEN = '8|gbvReadOnlyTokenValue0123456789';

interface Dep { statuses: string[]; polls: number }

/** Coolify-like API. Each deployment walks through `statuses`, one step per poll. */
function fakeCoolify() {
  const deployments = new Map<string, Dep>();
  const requests: { path: string; auth?: string }[] = [];
  let rateLimitLeft = 0;
  let retryAfter = '0';
  let nextStatuses = ['queued', 'in_progress', 'in_progress', 'finished'];
  let flaky = 0; // next N polls answer 503
  let seq = 0;
  let hang = false;
  let shapeChanged = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push({ path: url.pathname + url.search, auth: req.headers.authorization });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/api/health') {
      if (hang) return; // never answers; closed in after()
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('OK');
    }
    // Today's Coolify: state-changing endpoints are POST only (before authentication).
    if (req.method === 'GET' && /^\/api\/v1\/(deploy|applications\/[^/]+\/restart)$/.test(url.pathname)) {
      return json(405, { message: 'This endpoint has changed to a POST request.' }, { allow: 'POST' });
    }
    if (req.headers.authorization === `Bearer ${READ_TOKEN}` && req.method === 'POST') return json(403, { message: 'Invalid ability provided.' });
    if (req.headers.authorization !== `Bearer ${TOKEN}` && req.headers.authorization !== `Bearer ${READ_TOKEN}`) {
      // Echo the presented credential, as a careless server might: the client must not pass it on.
      return json(401, { message: `Unauthenticated. (${req.headers.authorization ?? ''})` });
    }
    if (url.pathname === '/api/v1/version') { res.writeHead(200, { 'content-type': 'text/html' }); return res.end('4.3.10'); }
    if (url.pathname === '/api/v1/applications/app-uuid-1/rollback-images') {
      // An older Coolify without the endpoint's route for GET would answer 405 too.
      if (req.method !== 'GET') return json(405, { message: 'The POST method is not supported for route api/v1/applications/app-uuid-1/rollback-images. Supported methods: GET, HEAD.' }, { allow: 'GET, HEAD' });
      return json(200, { current: 'c2', images: [{ tag: 'c2', created_at: '2026-12-01T10:00:00.000000Z', is_current: true }, { tag: shapeChanged ? 7 : 'c1', created_at: '2026-11-30T10:00:00.000000Z', is_current: false }] });
    }
    if (url.pathname === '/api/v1/applications/app-uuid-1/rollback' && req.method === 'POST') {
      const dep = `dep-${++seq}`;
      deployments.set(dep, { statuses: ['in_progress', 'finished'], polls: 0 });
      return json(200, { message: 'Rollback queued.', deployment_uuid: dep });
    }
    if (url.pathname === '/api/v1/databases/db-1/backups') {
      return json(200, [{ uuid: 'b-1', enabled: true, frequency: '0 2 * * *', save_s3: false, database_backup_retention_amount_locally: 7,
        database_backup_retention_days_locally: 7, executions: [{ uuid: 'e-1', status: 'success', created_at: '2026-12-01T02:00:01.000000Z', filename: '/backups/x.dmp', size: '2048', message: null }] }]);
    }
    if (url.pathname === '/api/v1/databases/db-1/backups/b-1/executions') {
      return json(200, { executions: [{ uuid: 'e-1', status: 'failed', created_at: '2026-12-01T02:00:01.000000Z', filename: null, size: null, message: 'pg_dump: error: connection failed' }] });
    }
    if (url.pathname === '/api/v1/deploy' && req.method === 'POST') {
      if (rateLimitLeft > 0) { rateLimitLeft--; return json(429, { message: 'Too many requests.' }, { 'retry-after': retryAfter }); }
      const uuid = url.searchParams.get('uuid');
      if (uuid !== 'app-uuid-1' && uuid !== 'auth-uuid-1') return json(404, { message: 'No resources found.' });
      const dep = `dep-${++seq}`;
      deployments.set(dep, { statuses: nextStatuses.slice(), polls: 0 });
      return json(200, { deployments: [{ message: `Application ${uuid} deployment queued.`, resource_uuid: uuid, deployment_uuid: dep }] });
    }
    const restart = url.pathname.match(/^\/api\/v1\/applications\/([^/]+)\/restart$/);
    if (restart && req.method === 'POST') {
      if (restart[1] !== 'app-uuid-1') return json(404, { message: 'Application not found.' });
      const dep = `dep-${++seq}`;
      deployments.set(dep, { statuses: ['in_progress', 'finished'], polls: 0 });
      return json(200, { message: 'Restart request queued.', deployment_uuid: dep });
    }
    if (url.pathname === '/api/v1/deployments/applications/app-uuid-1') {
      return json(200, { count: deployments.size, deployments: [...deployments.entries()].reverse().map(([k, d]) => ({ deployment_uuid: k, status: d.statuses[Math.min(d.polls, d.statuses.length - 1)] })) });
    }
    const one = url.pathname.match(/^\/api\/v1\/deployments\/([^/]+)$/);
    if (one) {
      const d = deployments.get(one[1]);
      if (!d) return json(404, { message: 'Deployment not found.' });
      if (flaky > 0) { flaky--; return json(503, { message: 'Service Unavailable' }); }
      const status = d.statuses[Math.min(d.polls, d.statuses.length - 1)];
      d.polls++;
      return json(200, { id: 1, deployment_uuid: one[1], status, application_name: 'gadgetbot-app', logs: '[]' });
    }
    return json(404, { message: 'Not found.' });
  });
  return {
    server, requests, deployments,
    rateLimit(n: number, after: string) { rateLimitLeft = n; retryAfter = after; },
    willWalk(statuses: string[]) { nextStatuses = statuses; },
    flake(n: number) { flaky = n; },
    hangHealth(on: boolean) { hang = on; },
    changeShape(on: boolean) { shapeChanged = on; },
  };
}

describe('Coolify client', () => {
  const api = fakeCoolify();
  const agent = new Agent();
  let base = '';
  const logs: string[] = [];
  const client = () => new CoolifyClient({ baseUrl: base + '/', token: TOKEN, dispatcher: agent, timeoutMs: 2000, log: (l) => logs.push(l) });

  before(async () => {
    await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    api.server.closeAllConnections();
    await new Promise<void>((r) => api.server.close(() => r()));
    await agent.close();
  });

  test('deploy → queued → in_progress → finished, with the bearer token sent', async () => {
    const c = client();
    const [d, ...more] = await c.deploy('app-uuid-1', { force: false });
    assert.equal(more.length, 0);
    assert.equal(d.resourceUuid, 'app-uuid-1');
    assert.match(d.deploymentUuid!, /^dep-\d+$/);
    assert.equal(api.requests.at(-1)!.path, '/api/v1/deploy?uuid=app-uuid-1&force=false');
    assert.equal(api.requests.at(-1)!.auth, `Bearer ${TOKEN}`);
    const seen: string[] = [];
    const final = await c.waitForDeployment(d.deploymentUuid!, { pollMs: 20, timeoutMs: 5000, onStatus: (s) => seen.push(s) });
    assert.equal(final, 'finished');
    assert.deepEqual(seen, ['queued', 'in_progress', 'finished']);
    assert.equal((await c.deployment(d.deploymentUuid!)).raw.application_name, 'gadgetbot-app');
    await c.deploy('app-uuid-1', { force: true });
    assert.equal(api.requests.at(-1)!.path, '/api/v1/deploy?uuid=app-uuid-1&force=true');
    const history = await c.deploymentsOf('app-uuid-1');
    assert.ok(history.length >= 2 && history.every((h) => h.deploymentUuid.startsWith('dep-')));
  });

  test('failed and cancelled deployments are final statuses; transient 503 while polling is ridden out', async () => {
    const c = client();
    api.willWalk(['queued', 'failed']);
    const [d1] = await c.deploy('app-uuid-1');
    api.flake(2);
    assert.equal(await c.waitForDeployment(d1.deploymentUuid!, { pollMs: 20, timeoutMs: 5000 }), 'failed');
    api.willWalk(['in_progress', 'cancelled-by-user']);
    const [d2] = await c.deploy('auth-uuid-1');
    assert.equal(await c.waitForDeployment(d2.deploymentUuid!, { pollMs: 20, timeoutMs: 5000 }), 'cancelled-by-user');
    api.willWalk(['queued', 'in_progress', 'finished']);
  });

  test('a deployment that never ends gives a time-out naming the last status', async () => {
    const c = client();
    api.willWalk(['queued', 'in_progress']);
    const [d] = await c.deploy('app-uuid-1');
    const t0 = Date.now();
    await assert.rejects(c.waitForDeployment(d.deploymentUuid!, { pollMs: 50, timeoutMs: 400 }), (e: unknown) => {
      assert.ok(e instanceof CoolifyError);
      assert.equal(e.kind, 'timeout');
      assert.match(e.message, /did not reach a final status within 0 s \(last status: in_progress\)/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, 'gave up at its time-out (0.4 s), not hanging'); // generous: a shared machine
    api.willWalk(['queued', 'in_progress', 'finished']);
  });

  test('restart answers a deployment uuid that can be waited for', async () => {
    const c = client();
    const r = await c.restart('app-uuid-1');
    assert.equal(r.message, 'Restart request queued.');
    assert.ok(r.deploymentUuid);
    assert.equal(await c.waitForDeployment(r.deploymentUuid!, { pollMs: 20, timeoutMs: 5000 }), 'finished');
    await assert.rejects(c.restart('nope'), (e: unknown) => e instanceof CoolifyError && e.kind === 'not-found' && /Application not found/.test(e.message));
  });

  test('404 for an unknown resource, with the API message; unknown deployment is not retried', async () => {
    const c = client();
    await assert.rejects(c.deploy('no-such-uuid'), (e: unknown) => {
      assert.ok(e instanceof CoolifyError);
      assert.equal(e.kind, 'not-found');
      assert.equal(e.status, 404);
      assert.match(e.message, /HTTP 404 "No resources found\."/);
      return true;
    });
    const before = api.requests.length;
    await assert.rejects(c.waitForDeployment('dep-unknown', { pollMs: 10, timeoutMs: 5000 }), (e: unknown) => e instanceof CoolifyError && e.kind === 'not-found');
    assert.equal(api.requests.length - before, 1);
  });

  test('429 is retried after Retry-After, and only a bounded number of times', async () => {
    const c = client();
    api.rateLimit(1, '1');
    const t0 = Date.now();
    const [d] = await c.deploy('app-uuid-1');
    const waited = Date.now() - t0;
    assert.ok(d.deploymentUuid);
    assert.ok(waited >= 950, `retried after ${waited} ms, Retry-After said 1 s`);
    assert.ok(logs.some((l) => JSON.parse(l).event === 'coolify-retry'));

    api.rateLimit(10, '0');
    const n0 = api.requests.length;
    const bounded = new CoolifyClient({ baseUrl: base, token: TOKEN, dispatcher: agent, maxRetries: 2 });
    await assert.rejects(bounded.deploy('app-uuid-1'), (e: unknown) => e instanceof CoolifyError && e.kind === 'rate-limited' && /after 3 attempts/.test(e.message));
    assert.equal(api.requests.length - n0, 3);

    api.rateLimit(1, '3600');
    const n1 = api.requests.length;
    await assert.rejects(client().deploy('app-uuid-1'), (e: unknown) => e instanceof CoolifyError && e.kind === 'rate-limited' && /Retry-After 3600 s/.test(e.message));
    assert.equal(api.requests.length - n1, 1, 'a Retry-After beyond the limit is not waited for');
    api.rateLimit(0, '0');
  });

  test('Retry-After parsing: seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('5', now), 5000);
    assert.equal(parseRetryAfter(['2'], now), 2000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:07 GMT', now), 7000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:07 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  test('health and version', async () => {
    const c = client();
    assert.deepEqual(await c.health(), { ok: true, status: 200, body: 'OK' });
    assert.equal(await c.version(), '4.3.10');
    assert.equal(c.seenVersion, '4.3.10');
    const anon = new CoolifyClient({ baseUrl: base, dispatcher: agent });
    assert.equal((await anon.health()).ok, true, 'health needs no token');
    await assert.rejects(anon.version(), (e: unknown) => e instanceof CoolifyError && e.kind === 'unauthorized' && /no deployer token/.test(e.message));
  });

  test('a wrong token is unauthorized; the token appears in no error, log line or inspection', async () => {
    const wrong = 'WRONG-gbvTokenThatMustNotLeak-987654321';
    const c = new CoolifyClient({ baseUrl: base, token: wrong, dispatcher: agent, log: (l) => logs.push(l) });
    const errors: string[] = [];
    await assert.rejects(c.deploy('app-uuid-1'), (e: unknown) => {
      assert.ok(e instanceof CoolifyError);
      assert.equal(e.kind, 'unauthorized');
      assert.equal(e.status, 401);
      errors.push(e.message, e.stack ?? '', inspect(e));
      return true;
    });
    assert.match(errors[0], /HTTP 401 "Unauthenticated\. \(Bearer \[redacted\]\)": Coolify does not accept COOLIFY_TOKEN .*Nothing was deployed/);

    // Network failure and time-out paths too.
    const dead = new CoolifyClient({ baseUrl: 'http://127.0.0.1:9', token: TOKEN, dispatcher: agent, timeoutMs: 1000 });
    await assert.rejects(dead.deploy('app-uuid-1'), (e: unknown) => {
      assert.ok(e instanceof CoolifyError && e.kind === 'network', String(e));
      errors.push(e.message, inspect(e));
      return true;
    });
    const slow = new CoolifyClient({ baseUrl: base, token: TOKEN, dispatcher: agent, timeoutMs: 300 });
    api.hangHealth(true);
    await assert.rejects(slow.health(), (e: unknown) => {
      assert.ok(e instanceof CoolifyError && e.kind === 'timeout', String(e));
      errors.push(e.message, inspect(e));
      return true;
    });
    api.hangHealth(false);
    errors.push(inspect(c), JSON.stringify(c), inspect(client()), JSON.stringify(client()), ...logs);
    for (const text of errors) {
      for (const secret of [wrong, TOKEN, 'gbvTestTokenSecretValue0123456789']) {
        assert.ok(!text.includes(secret), `secret leaked into: ${text.slice(0, 200)}`);
      }
    }
  });

  test('POST for every state-changing call; 403 names the missing ability, 405 says "another API version", never a failed deployment', async () => {
    const c = client();
    const [d] = await c.deploy('app-uuid-1');
    assert.ok(d.deploymentUuid);
    const r = await c.restart('app-uuid-1');
    assert.ok(r.deploymentUuid);
    const reader = new CoolifyClient({ baseUrl: base, token: READ_TOKEN, dispatcher: agent });
    await assert.rejects(reader.deploy('app-uuid-1'), (e: unknown) => {
      assert.ok(e instanceof CoolifyError);
      assert.equal(e.kind, 'forbidden');
      assert.ok(e.isAccessProblem);
      assert.match(e.message, /HTTP 403 "Invalid ability provided\.": COOLIFY_TOKEN lacks the "deploy" ability .*Nothing was deployed/);
      return true;
    });
    assert.equal((await reader.rollbackImages('app-uuid-1')).current, 'c2', 'reading needs only "read"');
    // A Coolify whose route takes another method than the suite sends (older or newer API).
    const raw = await fetch(`${base}/api/v1/deploy?uuid=app-uuid-1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(raw.status, 405, 'the fake speaks today\'s Coolify');
    assert.equal(raw.headers.get('allow'), 'POST');
  });

  test('rollback images, rollback, backups and executions parse; a changed shape fails with one line naming the field', async () => {
    const c = client();
    const images = await c.rollbackImages('app-uuid-1');
    assert.deepEqual(images.images.map((i) => [i.tag, i.isCurrent]), [['c2', true], ['c1', false]]);
    const rb = await c.rollback('app-uuid-1', 'c1');
    assert.equal(api.requests.at(-1)!.path, '/api/v1/applications/app-uuid-1/rollback');
    assert.equal(await c.waitForDeployment(rb.deploymentUuid, { pollMs: 20, timeoutMs: 5000 }), 'finished');
    const [b] = await c.backups('db-1');
    assert.equal(b.retentionDaysLocally, 7);
    assert.equal(b.executions[0].size, 2048, 'a numeric string is a byte count');
    const [e] = await c.backupExecutions('db-1', 'b-1');
    assert.equal(e.status, 'failed');
    assert.equal(e.message, 'pg_dump: error: connection failed');
    api.changeShape(true);
    try {
      await assert.rejects(c.rollbackImages('app-uuid-1'), (err: unknown) => {
        assert.ok(err instanceof CoolifyError);
        assert.equal(err.kind, 'bad-response');
        assert.match(err.message, /^GET \/api\/v1\/applications\/app-uuid-1\/rollback-images: the answer does not have the shape this suite relies on: images\.1\.tag: /);
        assert.equal(err.message.split('\n').length, 1);
        return true;
      });
    } finally {
      api.changeShape(false);
    }
  });
});

describe('backup judgments (helpers/backups.ts)', async () => {
  const { runsPerDay, retentionDays, judgeExecutions } = await import('../helpers/backups.ts');
  const schedule = (frequency: string, amount: number, days: number) =>
    ({ uuid: 'b', enabled: true, frequency, saveS3: false, retentionAmountLocally: amount, retentionDaysLocally: days, executions: [] });
  const now = Date.parse('2026-12-01T12:00:00Z');
  const exec = (hoursAgo: number, status = 'success', size: number | undefined = 4096, message?: string) =>
    ({ uuid: `e${hoursAgo}`, status, createdAt: new Date(now - hoursAgo * 3600_000).toISOString(), filename: '/x.dmp', size, message });

  test('frequency: cron fields and Coolify names; "at least daily" means every day of the week', () => {
    assert.equal(runsPerDay('0 2 * * *'), 1);
    assert.equal(runsPerDay('daily'), 1);
    assert.equal(runsPerDay('hourly'), 24);
    assert.equal(runsPerDay('0 */6 * * *'), 4);
    assert.equal(runsPerDay('30 2,14 * * 0-6'), 2);
    assert.equal(runsPerDay('0 2 * * 1-7'), 1, 'Sunday as 7');
    assert.equal(runsPerDay('0 2 * * 0'), 0, 'weekly');
    assert.equal(runsPerDay('0 2 * * 1-5'), 0, 'weekdays only');
    assert.equal(runsPerDay('0 2 1 * *'), 0, 'monthly');
    assert.equal(runsPerDay('weekly'), 0);
    assert.equal(runsPerDay('every now and then'), undefined);
  });

  test('retention: the tighter of days and count per runs a day; 0 is unlimited', () => {
    assert.equal(retentionDays(schedule('0 2 * * *', 7, 7)), 7);
    assert.equal(retentionDays(schedule('0 2 * * *', 3, 30)), 3);
    assert.equal(retentionDays(schedule('0 */6 * * *', 14, 0)), 3.5, '14 backups at 4 a day');
    assert.equal(retentionDays(schedule('0 2 * * *', 0, 0)), Infinity);
  });

  test('executions: newest finished judged; failed with its redacted message; stale; empty; running set aside', () => {
    const redact = (s: string) => s.replace('s3cr3t', '[redacted]');
    assert.equal(judgeExecutions([exec(3), exec(27, 'failed')], 26, redact, now).problem, undefined);
    assert.equal(judgeExecutions([exec(3), exec(27, 'failed')], 26, redact, now).failures.length, 1);
    assert.match(judgeExecutions([exec(1, 'failed', 0, 'auth failed for s3cr3t'), exec(25)], 26, redact, now).problem!,
      /newest backup .* failed: "auth failed for \[redacted\]"; 1 of 2 executions failed; the last success was 25\.0 h ago/);
    assert.match(judgeExecutions([exec(30)], 26, redact, now).problem!, /30\.0 h old .*older than BACKUP_MAX_AGE_HOURS 26 h/);
    assert.match(judgeExecutions([exec(2, 'success', 0)], 26, redact, now).problem!, /is empty \(size 0\)/);
    assert.equal(judgeExecutions([exec(0.1, 'running', undefined), exec(5)], 26, redact, now).problem, undefined);
    assert.match(judgeExecutions([], 26, redact, now).problem!, /no finished backup execution/);
  });
});
