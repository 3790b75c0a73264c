// The verdict reporter on a real (tiny, throwaway) Playwright project run as a child process, plus the
// diagnosis table against the messages the specs and helpers actually produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import JSZip from 'jszip';
import { scratchProject } from './lib/scratch-project.ts';
import { CATEGORIES, categorize, diagnose, RULES } from '../helpers/diagnosis.ts';
import { computeVerdict, firstErrorLine, type TestRecord } from '../helpers/report/verdict.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PW_CLI = join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js');

function killGroup(pid: number | undefined) {
  try {
    if (pid) process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

// ---- diagnosis table ----------------------------------------------------------------------------------------

const SAMPLES: [string, string][] = [
  ['gadgetbot.stack.test: certificate expired 1 day ago (notAfter 2025-01-01 00:00 UTC)', 'cert-expired'],
  ['TLS connect to gadgetbot.stack.test:8443 failed: CERT_HAS_EXPIRED: certificate has expired', 'cert-expired'],
  ['page.goto: net::ERR_CERT_DATE_INVALID at https://gadgetbot.stack.test:8443/', 'cert-expired'],
  ['gadgetbot.stack.test: certificate does not cover gadgetbot.stack.test (SAN: other.stack.test; subject CN=other.stack.test)', 'cert-wrong-host'],
  ["Hostname/IP does not match certificate's altnames: Host: gadgetbot.stack.test. is not in the cert's altnames", 'cert-wrong-host'],
  ['gadgetbot.stack.test: certificate expires in 10 days, inside the 21-day warning window (notAfter x): renewal is not happening', 'cert-expiring-soon'],
  ['gadgetbot.stack.test: issuer "CN=TRAEFIK DEFAULT CERT" does not contain "Let\'s Encrypt"', 'cert-untrusted'],
  ['the browser shows a certificate warning although the chain is valid', 'tls-warning-browser-cache'],
  ['gadgetbot.stack.test: A via 127.0.0.1:5353 = 127.0.0.3, expected 127.0.0.1', 'dns-wrong-a'],
  ['gadgetbot-coolify.stack.test: the DNS servers disagree on its A records: 127.0.0.1:5353 → 127.0.0.1; 127.0.0.1:5354 → NXDOMAIN\ncannot resolve gadgetbot-coolify.stack.test via 127.0.0.1:5354: NXDOMAIN', 'dns-servers-disagree'],
  ['gadgetbot.stack.test: DNS servers disagree: 127.0.0.1:5353 → A 127.0.0.1 AAAA none; 127.0.0.1:5354 → A 127.0.0.3 AAAA none', 'dns-servers-disagree'],
  ['gadgetbot.stack.test: plain HTTP on port 80: redirect dropped the query: /gbv?q=1 became /gbv', 'redirect-drops-query'],
  ['cannot resolve gadgetbot-auth.stack.test via 127.0.0.1:5353: NXDOMAIN', 'dns-missing'],
  ['page.goto: net::ERR_NAME_NOT_RESOLVED at https://gadgetbot.stack.test/', 'dns-missing'],
  ['gadgetbot-auth.stack.test: authorize lands on /ui/login/login?authRequestID (status 200), not on Login V2 /ui/v2/login/…', 'login-v1'],
  ['gadgetbot-auth.stack.test: authorize lands on /oauth/v2/authorize?client_id&redirect_uri (status 400), not on Login V2 /ui/v2/login/…', 'redirect-uri-unregistered'],
  ['page shows: redirect_uri does not match any of the redirect URIs registered for this client', 'redirect-uri-unregistered'],
  ['sign-in ended on /api/auth/error?error=invalid_code', 'auth-method-basic'],
  ['POST /oauth/v2/token answered 401 invalid_client', 'auth-method-basic'],
  ['gadgetbot-auth.stack.test: discovery issuer is "https://x", expected "https://gadgetbot-auth.stack.test" (tokens would fail validation)', 'issuer-mismatch'],
  ['gadgetbot-auth.stack.test: /debug/ready answered 503 "not ready" (Zitadel readiness fails)', 'auth-not-ready'],
  ['gadgetbot-auth.stack.test: /debug/healthz answered 502 (Zitadel liveness fails)', 'auth-down'],
  ['redeploy: downtime 9.1 s exceeds BUDGET_REDEPLOY_DOWNTIME_MS 5 s (promise …). app failed 40 times (first: HTTP 404) …\nredeploy: sessions lost after redeploy … BETTER_AUTH_SECRET', 'redeploy-stop-start'],
  ['redeploy: sessions lost after redeploy (promise: an app redeploy keeps users signed in). Likely cause: BETTER_AUTH_SECRET changed', 'sessions-lost-after-redeploy'],
  ['db: DATABASE_URL uses postgres:// — the app requires postgresql:// and refuses to start with it', 'db-url-postgres-scheme'],
  ['Expected startsWith("postgresql://"), actual "postgres://…"', 'db-url-postgres-scheme'],
  ['gadgetbot.stack.test: GET / answered 404 (the container healthcheck curl -f would fail)', 'app-404-path-prefix'],
  ['gadgetbot.stack.test: GET / answered 500 (the container healthcheck curl -f would fail)', 'app-unhealthy'],
  ['container gadgetbot-app is unhealthy, rolling back', 'healthcheck-needs-curl'],
  ['gadgetbot.stack.test: plain HTTP on port 8080 answered 200 instead of redirecting to https (the site is served unencrypted)', 'no-https-redirect'],
  // The edge answers the probe path itself (404) when nothing redirects: still the redirect, not the app's routing.
  ['gadgetbot.stack.test: plain HTTP on port 8080 answered 404 instead of redirecting to https', 'no-https-redirect'],
  ['127.0.0.1: forbidden port 5432 is open', 'port-exposed'],
  ['gadgetbot.stack.test: no X-Content-Type-Options header', 'security-headers'],
  ['request to https://gadgetbot.stack.test:8443/ failed: connect ECONNREFUSED 127.0.0.3:8443', 'connection-refused'],
  ['page.goto: Timeout 30000ms exceeded.', 'timeout'],
  ['db: no drizzle.__drizzle_migrations table: migrations were never run', 'db-migration'],
  ['db: 1 of 2 drizzle migrations recorded (run the app\'s migrations)', 'db-migration'],
  ['relation "verifications" does not exist', 'db-migration'],
  ['getById still finds the deleted bot (HTTP 200): delete answered success but kept the row', 'delete-keeps-row'],
  ['database postgresql://gadgetbot:***@h/gadgetbot: password authentication failed for user "gadgetbot" (28P01)', 'database-unreachable'],
  ['zitadel-db: the newest backup (2026-12-01 03:00 UTC) failed: "password authentication failed for user "zitadel""', 'backup-failing'],
  ['gadgetbot-db: backup execution 42 ended with status failed', 'backup-failing'],
  ['authorization: a non-admin user could create a GadgetBot (the plan requires admin only)', 'no-admin-check'],
  ['sign-in accepted an external callbackURL https://evil.example', 'open-redirect'],
  ['a forged callback with a mismatched state created a session (state not checked)', 'callback-replay'],
  ['sign-out left the server session valid: the old session token still works', 'signout-keeps-session'],
  ["after the admin signed out, the old admin token still names session s1 of user u1 on the server: sign-out left the server session valid (only the cookie was cleared)", 'signout-keeps-session'],
  ["after the admin signed out, the viewer's separate session s2 is gone (now: no session (get-session HTTP 200)): sign-out ended other sessions than the caller's", 'signout-ends-other-sessions'],
  ['after a browser restart the user was sent to sign in again: the session cookie has no expiry (or the session ended)', 'session-cookie-not-persistent'],
  ["the saved session expires in 9 min (< 24 h): users are signed out after minutes (Better Auth's session.expiresIn is too short; its default is 7 days)", 'session-short-lived'],
  ['__Secure-better-auth.session_token expires in 10 min (expected more than a day)', 'session-short-lived'],
  ['list without a session answered 200', 'no-session-check'],
  ['GET /admin answered 200 without a session (expected a redirect to /login)', 'no-session-check'],
  ['a wrong password was accepted: the password page moved on instead of showing "Failed to authenticate."', 'wrong-password-accepted'],
  ['gadgetbot-coolify.stack.test: certificate does not cover gadgetbot-coolify.stack.test (SAN: none); self-signed (issuer TRAEFIK DEFAULT CERT)', 'cert-untrusted'],
  ['the app reports no session after a completed sign-in', 'sign-in-failed'],
  ['ConfigError: APP_URL: missing required variable', 'config'],
  // infra/db hints (engineer infra): the wording the checks use, observed fact first.
  ['gadgetbot.stack.test (127.0.0.1): the server sends only the leaf certificate: the intermediate (CN=R11, O=Let\'s Encrypt) is missing from the chain it serves', 'cert-chain-incomplete'],
  ["gadgetbot-coolify.stack.test (127.0.0.1): the leaf certificate's key is RSA-1024, below the 2048-bit floor (breakable; browsers refuse it)", 'cert-weak-key'],
  ['gadgetbot-auth.stack.test (::1): the leaf certificate is signed with sha1WithRSAEncryption (collisions are practical: browsers refuse it; floor SHA-256)', 'cert-weak-signature'],
  ['gadgetbot.stack.test (127.0.0.1): accepts a TLSv1 handshake (TLS 1.0 and 1.1 must be refused: downgrade attacks, no modern ciphers)', 'tls-legacy-versions'],
  ["gadgetbot.stack.test: CAA at stack.test allows only pki.goog, not letsencrypt.org: Let's Encrypt refuses to renew its certificate", 'caa-forbids-le'],
  ['gadgetbot-auth.stack.test: AAAA via 1.1.1.1 → 2a01:4f9::1, which refuses connections on port 443 (nothing listens at [2a01:4f9::1]:443)', 'dns-aaaa-wrong'],
  ['gadgetbot.stack.test: plain HTTP on port 80: redirect dropped the path: /gbv?q=1 became /', 'redirect-drops-path'],
  ['gadgetbot-auth.stack.test: plain HTTP on port 80: redirect goes to another host: gadgetbot.vellandi.net, expected gadgetbot-auth.vellandi.net', 'redirect-wrong-host'],
  ['gadgetbot-coolify.stack.test: plain HTTP on port 80: redirect loop: 302 to http://gadgetbot-coolify.stack.test/x and back, never reaching https (1 hop)', 'redirect-loop'],
  ['gadgetbot.stack.test/ (status 200): HSTS max-age=60 (0 days), below the floor of 15552000 s (180 days): browsers forget it', 'hsts-weak'],
  ['gadgetbot.stack.test/ (status 200): no Strict-Transport-Security header: an attacker on the network path', 'hsts-missing'],
  ['gadgetbot-coolify.stack.test: /api/health answered 200 with "<!DOCTYPE html>", not Coolify\'s "OK" (another service answers this route)', 'health-other-service'],
  ['gadgetbot-coolify.stack.test: /api/health answered 503 "Service Unavailable"', 'deployer-unhealthy'],
  ["127.0.0.2:5432/gadgetbot: gadgetbots.status: default none, expected 'available'", 'db-schema-drift'],
];

test('diagnose: real failure messages map to the right signature; every rule is exercised', () => {
  for (const [msg, id] of SAMPLES) assert.equal(diagnose(msg)?.id, id, msg);
  const covered = new Set(SAMPLES.map(([, id]) => id));
  assert.deepEqual(RULES.map((r) => r.id).filter((id) => !covered.has(id)), []);
  for (const r of RULES) {
    assert.ok(CATEGORIES.includes(r.category), r.id);
    assert.ok(r.cause.length > 20 && r.fix.length > 20, r.id);
  }
});

test('diagnose: Playwright-formatted errors (ANSI, Error: prefix, expect details) and no false alarms', () => {
  const pw = '\u001b[31mError: gadgetbot.stack.test: certificate expired 2 days ago (notAfter x)\u001b[39m\n\nexpect(received).toEqual(expected)\n\n- Expected  - 1';
  assert.equal(diagnose(pw)?.id, 'cert-expired');
  assert.equal(diagnose('expect(received).toBe(expected) // Object.is equality\n\nExpected: 200\nReceived: 404')?.id, 'app-404-path-prefix');
  for (const benign of ['', 'expect(received).toBe(expected)\n\nExpected: 3\nReceived: 4', 'something unexpected happened', 'OIDC auth flow looked fine']) {
    assert.equal(diagnose(benign), undefined, benign);
  }
  // Observed facts another hint's words are near, but not its signature: no hint rather than a wrong one.
  for (const other of [
    "after sign-out, /admin let the browser in (it landed on /admin) instead of sending it to /login?redirect=/admin; the server had ended the old admin session; the browser still held __Secure-better-auth.session_data after the sign-out response",
    'gadgetbot-auth.stack.test: A via 127.0.0.1:39184 = none, expected 127.0.0.1',
    'the admin\'s own create of "gbv-x" (security), made to prepare this check, failed: oRPC create answered 403: {"message":"Admin role required"} (nothing this check judges was tried)',
  ]) assert.equal(diagnose(other), undefined, other);
  assert.equal(categorize('cannot resolve x via y: NXDOMAIN'), 'DNS');
  assert.equal(categorize('getById still finds the deleted bot'), 'data');
  assert.equal(categorize(undefined), undefined);
});

test('firstErrorLine: the custom message, or the matcher with Expected/Received', () => {
  assert.equal(firstErrorLine('Error: host: certificate expired 1 day ago\n\nexpect(received)…'), 'host: certificate expired 1 day ago');
  assert.equal(firstErrorLine('\u001b[2mexpect(\u001b[22mreceived).toBe(expected) // Object.is equality\n\nExpected: \u001b[32m200\u001b[39m\nReceived: \u001b[31m404\u001b[39m'),
    'expect(received).toBe(expected) // Object.is equality — Expected: 200, Received: 404');
  assert.equal(firstErrorLine(''), '(no error message)');
  assert.ok(firstErrorLine('x'.repeat(1000)).length <= 300);
});

// ---- the verdict as a pure function ---------------------------------------------------------------------------

const rec = (over: Partial<TestRecord>): TestRecord => ({
  project: 'infra', title: 'a check', tags: [], outcome: 'expected', lastStatus: 'passed', declaredSkip: false,
  errorText: '', annotations: [], ...over,
});

test('computeVerdict: tally per area in config order, skipped vs never run, gate, first root cause with its hint', () => {
  const v = computeVerdict({
    projects: ['infra', 'db', 'auth'],
    runStatus: 'failed',
    globalErrors: [],
    tests: [
      rec({ project: 'auth', title: 'signs in', outcome: 'skipped', lastStatus: undefined }), // never ran: setup failed
      rec({ project: 'auth', title: 'picker', outcome: 'skipped', lastStatus: undefined, declaredSkip: true }),
      rec({ project: 'db', title: 'tables' }),
      rec({ project: 'infra', title: 'tls › app host', tags: ['@smoke'], outcome: 'unexpected', lastStatus: 'failed', errorText: 'Error: gadgetbot.stack.test: certificate expired 1 day ago' }),
      rec({ project: 'infra', title: 'dns', outcome: 'flaky' }),
      rec({ project: 'infra', title: 'late', outcome: 'unexpected', lastStatus: 'timedOut' }),
    ],
  });
  assert.equal(v.status, 'FAILED');
  assert.deepEqual(v.projects.map((p) => [p.project, p.passed, p.total, p.notRun, p.skipped, p.flaky]),
    [['infra', 1, 3, 0, 0, 1], ['db', 1, 1, 0, 0, 0], ['auth', 0, 1, 1, 1, 0]]);
  assert.deepEqual(v.gate, { tag: '@smoke', failed: 1, passed: false });
  assert.equal(v.rootCause?.diagnosis?.id, 'cert-expired');
  assert.match(v.line, /^VERDICT: FAILED — infra 1\/3 \(1 flaky\), db 1\/1, auth 0\/1 \(1 not run, 1 skipped\) — first root cause: \[infra\] tls › app host: gadgetbot\.stack\.test: certificate expired 1 day ago \[hint: .*Fix: .*\]$/);
  // A run that stopped early, or a global error, fails without any failed test.
  assert.match(computeVerdict({ projects: [], tests: [], runStatus: 'interrupted', globalErrors: [] }).line, /^VERDICT: FAILED — no tests ran — first root cause: run interrupted/);
  // A worker that found no browser: the failures it caused judge this machine, not the deployment.
  const s = computeVerdict({
    projects: ['auth'], runStatus: 'failed', globalErrors: [], setupProblems: ['no Chromium: `npm run setup` installs one (as root), or set CHROMIUM_PATH'],
    tests: [rec({ project: 'auth', title: 'signs in', outcome: 'unexpected', lastStatus: 'failed', errorText: 'BrowserSetupError: no Chromium' })],
  });
  assert.equal(s.status, 'NO VERDICT');
  assert.equal(s.line, 'VERDICT: NO VERDICT — auth 0/1 — first root cause: set-up problem on this machine, not a deployment failure: no Chromium: `npm run setup` installs one (as root), or set CHROMIUM_PATH');
  // The hint comes from what the failure observed, never from the check's title.
  const t = computeVerdict({ projects: ['crud'], runStatus: 'failed', globalErrors: [], tests: [rec({
    project: 'crud', title: 'a non-admin user cannot create, update or delete GadgetBots', outcome: 'unexpected', lastStatus: 'failed',
    errorText: 'Error: the admin\'s own create of "gbv-x" (security), made to prepare this check, failed: oRPC create answered 403 (nothing this check judges was tried)',
  })] });
  assert.equal(t.rootCause?.diagnosis, undefined);
  const g = computeVerdict({ projects: ['infra'], tests: [rec({})], runStatus: 'failed', globalErrors: ['preflight failed: cannot resolve x via y: NXDOMAIN'] });
  assert.equal(g.status, 'FAILED');
  assert.equal(g.rootCause?.diagnosis?.id, 'dns-missing');
});

test('computeVerdict: warnings are counted and listed but never fail; headlines go on the line; figures per test, once', () => {
  const w1 = { type: 'warning', description: 'gadgetbot.stack.test: no Permissions-Policy header (a second line of defence)' };
  const v = computeVerdict({
    projects: ['infra', 'disruptive'],
    runStatus: 'passed',
    globalErrors: [],
    tests: [
      rec({ title: 'headers', annotations: [w1] }),
      rec({ title: 'headers', annotations: [w1] }), // --repeat-each: the same finding once
      rec({ title: 'cookies', annotations: [{ type: 'warning', description: 'SameSite=Lax, not Strict' }] }),
      rec({ project: 'disruptive', title: 'redeploy', annotations: [
        { type: 'figure', description: 'downtime app: 0.0 s of 10 s' }, { type: 'figure', description: 'sessions: 2 of 2 kept' },
        { type: 'headline', description: 'redeploy: 0.0 s downtime of 10 s, sessions kept' },
      ] }),
    ],
  });
  assert.equal(v.status, 'PASSED');
  assert.equal(v.warnings.length, 2);
  assert.equal(v.line, 'VERDICT: PASSED with 2 warnings: gadgetbot.stack.test: no Permissions-Policy header (a second line of defence); SameSite=Lax, not Strict — infra 3/3, disruptive 1/1 — redeploy: 0.0 s downtime of 10 s, sessions kept');
  assert.deepEqual(v.figures, [{ project: 'disruptive', test: 'redeploy', figures: ['downtime app: 0.0 s of 10 s', 'sessions: 2 of 2 kept'], headline: 'redeploy: 0.0 s downtime of 10 s, sessions kept' }]);
  assert.equal(computeVerdict({ projects: ['infra'], runStatus: 'passed', globalErrors: [], tests: [rec({ annotations: [{ type: 'warning', description: 'x' }] })] }).line,
    'VERDICT: PASSED with 1 warning: x — infra 1/1');
  // Under --strict the warning is a thrown error: the test fails, and the verdict says so like any failure.
  const strict = computeVerdict({ projects: ['infra'], runStatus: 'failed', globalErrors: [], tests: [rec({ outcome: 'unexpected', lastStatus: 'failed', errorText: 'Error: x (a warning, failing because of --strict)' })] });
  assert.match(strict.line, /^VERDICT: FAILED — infra 0\/1 — first root cause: \[infra\] a check: x \(a warning, failing because of --strict\)$/);
});

// ---- the reporter in a real Playwright run --------------------------------------------------------------------

const PLANTED = `Planted-${Math.random().toString(36).slice(2)}-Secret`;
const BEARER = `bearer${Math.random().toString(36).slice(2)}TOKEN`;

function makeProject(): string {
  const dir = scratchProject('gbv-verdict-');
  writeFileSync(join(dir, 'playwright.config.ts'), `
import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: 'tests', outputDir: 'test-results', workers: 1, retries: 0, timeout: 20000,
  use: { trace: 'on' },
  reporter: [
    ['list'],
    ['allure-playwright', { resultsDir: 'reports/allure-results' }],
    ['json', { outputFile: 'reports/results.json' }],
    [${JSON.stringify(join(ROOT, 'helpers', 'verdict-reporter.ts'))}],
  ],
  projects: [{ name: 'infra', testDir: 'tests/infra' }, { name: 'auth', testDir: 'tests/auth' }],
});
`);
  mkdirSync(join(dir, 'tests', 'infra'), { recursive: true });
  mkdirSync(join(dir, 'tests', 'auth'), { recursive: true });
  writeFileSync(join(dir, 'tests', 'infra', 'home.spec.ts'), `
import { test, expect } from '@playwright/test';
test('home page answers', { tag: '@smoke' }, async () => { expect(1 + 1).toBe(2); });
`);
  // The certificate failure also talks to a local server with a password, a bearer token and a session
  // cookie, so its trace holds all three; the error message itself contains the configured password.
  writeFileSync(join(dir, 'tests', 'infra', 'tls.spec.ts'), `
import { test } from '@playwright/test';
import http from 'node:http';
test('app host certificate is valid', { tag: '@smoke' }, async ({ request }) => {
  const srv = http.createServer((q, s) => {
    s.setHeader('set-cookie', '__Secure-better-auth.session_token=SrvIssuedToken123.sig; Path=/; HttpOnly');
    s.setHeader('content-type', 'application/json');
    s.end('{"session":{"token":"SrvIssuedToken123"}}');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (srv.address() as import('node:net').AddressInfo).port;
    await request.post('http://127.0.0.1:' + port + '/api/auth/sign-in', {
      headers: { authorization: 'Bearer ' + process.env.PLANTED_BEARER },
      form: { loginName: 'gbv-admin', password: process.env.ADMIN_PASSWORD! },
    });
  } finally {
    srv.close();
  }
  throw new Error('gadgetbot.stack.test: certificate expired 1 day ago (notAfter 2025-01-01 00:00 UTC); signed in with ' + process.env.ADMIN_PASSWORD);
});
`);
  // A spec written the suite's way (the project's test): its warning, figures and headline reach the terminal,
  // the VERDICT line, verdict.json and the Allure overview; the automatic fixture labels the epic, no browser.
  writeFileSync(join(dir, 'tests', 'infra', 'measured.spec.ts'), `
import { test } from ${JSON.stringify(join(ROOT, 'fixtures', 'test.ts'))};
import { warn } from ${JSON.stringify(join(ROOT, 'helpers', 'findings.ts'))};
import { figure, headline } from ${JSON.stringify(join(ROOT, 'helpers', 'figures.ts'))};
test('measured check', async () => {
  figure('downtime app', '0.0 s of 10 s');
  figure('sessions', '1 of 1 kept');
  headline('demo: 0.0 s downtime of 10 s, sessions kept');
  warn('demo.test: no Permissions-Policy header');
});
`);
  writeFileSync(join(dir, 'tests', 'auth', 'login.spec.ts'), `
import { test } from '@playwright/test';
test('auth host resolves', async () => { throw new Error('cannot resolve gadgetbot-auth.stack.test via 127.0.0.1:5353: NXDOMAIN'); });
`);
  return dir;
}

function runPlaywright(dir: string, args: string[] = [], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [PW_CLI, 'test', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, FORCE_COLOR: '0', ADMIN_PASSWORD: PLANTED, PLANTED_BEARER: BEARER, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a time-out takes the workers down too
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => killGroup(child.pid), 300_000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, out });
    });
  });
}

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

// Both runs start at once (they are independent child processes); the tests below await their outcomes.
const failingDir = makeProject();
const greenDir = makeProject();
const failingRun = runPlaywright(failingDir, ['--grep-invert', 'measured']);
// The project's test resolves its target (baseURL) for every test, as in the suite after global setup.
const DEMO_TARGET = { APP_URL: 'https://demo.test', AUTH_URL: 'https://auth.demo.test', ADMIN_USER: 'gbv-admin' };
const greenRun = runPlaywright(greenDir, ['--grep', 'home page|measured'], DEMO_TARGET);
// bin/verify.ts --strict sets STRICT=1 for the run: the same warning then fails its test.
const strictDir = makeProject();
const strictRun = runPlaywright(strictDir, ['--grep', 'measured'], { ...DEMO_TARGET, STRICT: '1' });

test('verdict line, hint, diagnosis in JSON and Allure, and a redacted trace', async () => {
  const dir = failingDir;
  const { code, out } = await failingRun;
  assert.equal(code, 1, out);
  const lines = out.split('\n').filter((l) => l.startsWith('VERDICT:'));
  assert.equal(lines.length, 1, out);
  const v = lines[0];
  assert.match(v, /^VERDICT: FAILED — infra 1\/2, auth 0\/1 — first root cause: \[infra\] app host certificate is valid: gadgetbot\.stack\.test: certificate expired 1 day ago/);
  assert.match(v, /\[hint: The certificate served for this host has expired[^\]]*Fix: [^\]]+\]$/);
  assert.ok(!out.includes(PLANTED), 'the planted password reached stdout');
  assert.match(v, /signed in with \[REDACTED\]/);

  const verdict = JSON.parse(readFileSync(join(dir, 'reports', 'verdict.json'), 'utf8'));
  assert.equal(verdict.status, 'FAILED');
  assert.equal(verdict.rootCause.diagnosis.id, 'cert-expired');
  assert.deepEqual(verdict.gate, { tag: '@smoke', failed: 1, passed: false });

  // Playwright annotation on each failing test (json reporter output).
  const report = JSON.parse(readFileSync(join(dir, 'reports', 'results.json'), 'utf8'));
  const annotations: string[] = JSON.stringify(report).match(/"type":"diagnosis","description":"[a-z-]+/g) ?? [];
  assert.deepEqual(annotations.map((a) => a.split('"').pop()).sort(), ['cert-expired', 'dns-missing']);

  // Allure: description and label on the failed results, none on the passed one.
  const results = readdirSync(join(dir, 'reports', 'allure-results')).filter((f) => f.endsWith('-result.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, 'reports', 'allure-results', f), 'utf8')));
  assert.equal(results.length, 3);
  for (const r of results) {
    const label = r.labels.find((l: { name: string }) => l.name === 'diagnosis')?.value;
    if (r.status === 'passed') assert.equal(label, undefined);
    else {
      assert.match(r.description, /^\*\*Likely cause:\*\* /);
      assert.equal(label, r.name.includes('certificate') ? 'cert-expired' : 'dns-missing');
    }
  }

  // Nothing anywhere still holds the secrets: traces (in test-results and copied into Allure), JSON, Allure.
  const secrets = [PLANTED, encodeURIComponent(PLANTED), BEARER, 'SrvIssuedToken123'];
  let traces = 0;
  for (const f of [...files(join(dir, 'test-results')), ...files(join(dir, 'reports'))]) {
    const buf = readFileSync(f);
    const texts: string[] = [];
    if (f.endsWith('.zip')) {
      const z = await JSZip.loadAsync(buf);
      for (const e of Object.values(z.files)) if (!e.dir) texts.push(await e.async('string'));
      if (z.file(/trace\.network$/).length) traces++;
    } else texts.push(buf.toString('utf8'));
    for (const text of texts) for (const s of secrets) assert.ok(!text.includes(s), `${f.slice(dir.length)} still holds a planted secret`);
  }
  assert.ok(traces >= 2, `expected the failing test's trace in test-results and in allure-results, saw ${traces}`);
  const tls = [...files(join(dir, 'test-results'))].find((f) => f.includes('certificate') && f.endsWith('trace.zip'));
  assert.ok(tls, 'trace of the failing test');
  const z = await JSZip.loadAsync(readFileSync(tls));
  const network = (await Promise.all(z.file(/trace\.network$/).map((e) => e.async('string')))).join('\n');
  // The request really was recorded, with its credentials replaced.
  assert.match(network, /\/api\/auth\/sign-in/);
  assert.match(network, /"name":"authorization","value":"\[REDACTED\]"/);
  assert.match(network, /"name":"password","value":"\[REDACTED\]"/);
  assert.match(network, /"name":"__Secure-better-auth\.session_token","value":"\[REDACTED\]"/);
});

test('a green run: VERDICT PASSED with its warning and headline, measurements before it, Allure overview and epic', async () => {
  const dir = greenDir;
  const { code, out } = await greenRun;
  assert.equal(code, 0, out);
  const v = out.split('\n').filter((l) => l.startsWith('VERDICT:'));
  assert.deepEqual(v, ['VERDICT: PASSED with 1 warning: demo.test: no Permissions-Policy header — infra 2/2 — demo: 0.0 s downtime of 10 s, sessions kept']);
  const tail = out.slice(out.indexOf('Measurements:'));
  assert.match(tail, /^Measurements:\n  \[infra\] measured check — demo: 0\.0 s downtime of 10 s, sessions kept\n    downtime app: 0\.0 s of 10 s\n    sessions: 1 of 1 kept\nWarnings \(1; [^\n]*\):\n  \[infra\] measured check: demo\.test: no Permissions-Policy header\nVERDICT: PASSED/);
  const verdict = JSON.parse(readFileSync(join(dir, 'reports', 'verdict.json'), 'utf8'));
  assert.equal(verdict.gate.passed, true);
  assert.deepEqual(verdict.warnings, [{ project: 'infra', test: 'measured check', message: 'demo.test: no Permissions-Policy header' }]);
  assert.equal(verdict.figures[0].headline, 'demo: 0.0 s downtime of 10 s, sessions kept');
  const results = readdirSync(join(dir, 'reports', 'allure-results')).filter((f) => f.endsWith('-result.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, 'reports', 'allure-results', f), 'utf8')));
  const measured = results.find((r) => r.name === 'measured check');
  const labels = (name: string) => measured.labels.filter((l: { name: string }) => l.name === name).map((l: { value: string }) => l.value);
  assert.deepEqual(labels('epic'), ['Infrastructure']);
  assert.deepEqual(labels('warning'), ['demo.test: no Permissions-Policy header']);
  assert.deepEqual(labels('figure'), ['downtime app: 0.0 s of 10 s', 'sessions: 1 of 1 kept']);
  assert.match(measured.description, /\*\*Measurements\*\*: demo: 0\.0 s downtime of 10 s, sessions kept\n\n- downtime app: 0\.0 s of 10 s\n- sessions: 1 of 1 kept/);
  assert.match(measured.description, /\*\*Warnings\*\*[^\n]*\n\n- demo\.test: no Permissions-Policy header/);
  assert.equal(measured.status, 'passed');
  // No browser was launched for it: the label fixture asks for none (and, boxed, is no step of its own).
  const steps = JSON.stringify(measured.steps);
  assert.match(steps, /Fixture \\"target\\"/, 'fixture steps are recorded (allure-playwright detail)');
  assert.doesNotMatch(steps, /Fixture \\"(browser|context|page)\\"|Launch browser/);
});

test('--strict (STRICT=1): the warning fails its test, and the verdict says FAILED like for any failure', async () => {
  const { code, out } = await strictRun;
  assert.equal(code, 1, out);
  const v = out.split('\n').filter((l) => l.startsWith('VERDICT:'));
  assert.deepEqual(v, ['VERDICT: FAILED — infra 0/1 — first root cause: [infra] measured check: demo.test: no Permissions-Policy header (a warning, failing because of --strict) — demo: 0.0 s downtime of 10 s, sessions kept']);
  const verdict = JSON.parse(readFileSync(join(strictDir, 'reports', 'verdict.json'), 'utf8'));
  assert.deepEqual(verdict.warnings, []);
});
