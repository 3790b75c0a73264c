// helpers/config.ts and the entry points that validate it (bin/verify.ts, global setup).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CONFIG_VARS, ConfigError, describeTarget, labelledSecretsOf, loadConfig, redactDatabaseUrl, secretsOf,
} from '../helpers/config.ts';
import { recordPath } from '../helpers/run-record.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ADMIN_PW = 'Adm1n-Pw!zz9';
const VIEWER_PW = 'V1ewer-Pw!qq7';
const DB_PW = 'db p@ss/word';
const TOKEN = '7|coolifyTokenSecretValue';

function goodEnv(): Record<string, string> {
  return {
    TARGET_NAME: 'embedded',
    APP_URL: 'https://gadgetbot.stack.test:8443/',
    AUTH_URL: 'https://gadgetbot-auth.stack.test:8443',
    DEPLOYER_URL: 'https://gadgetbot-coolify.stack.test:8443',
    HTTP_PORT: '8080',
    EXPECTED_IPS: '127.0.0.1',
    DNS_SERVERS: '127.0.0.1:5353, 10.0.0.2',
    RESOLVE_VIA_DNS_SERVERS: 'true',
    EXPECTED_CERT_ISSUER: 'gadgetbot-verify',
    ADMIN_USER: 'gbv-admin', ADMIN_PASSWORD: ADMIN_PW,
    VIEWER_USER: 'gbv-viewer', VIEWER_PASSWORD: VIEWER_PW,
    DATABASE_URL: `postgresql://reader:${encodeURIComponent(DB_PW)}@127.0.0.2:5432/gadgetbot`,
    COOLIFY_TOKEN: TOKEN, COOLIFY_APP_UUID: 'app-uuid-1', COOLIFY_AUTH_UUID: 'auth-uuid-1',
    SERVER_ADDRESS: '127.0.0.1', EXPECTED_OPEN_PORTS: '8443,8080', FORBIDDEN_PORTS: '5432,3000',
  };
}

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env as NodeJS.ProcessEnv);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${(e as Error).message}`);
    return e.problems;
  }
  assert.fail('configuration was accepted');
}

describe('loadConfig', () => {
  test('a good environment gives the Target, with defaults and normalised URLs', () => {
    const t = loadConfig({ ...goodEnv(), RUN_ID: 'run-1' });
    assert.equal(t.name, 'embedded');
    assert.equal(t.runId, 'run-1');
    assert.equal(t.appUrl, 'https://gadgetbot.stack.test:8443');
    assert.equal(t.authUrl, 'https://gadgetbot-auth.stack.test:8443');
    assert.equal(t.deployerUrl, 'https://gadgetbot-coolify.stack.test:8443');
    assert.equal(t.httpPort, 8080);
    assert.deepEqual(t.expectedIps, ['127.0.0.1']);
    assert.deepEqual(t.dnsServers, ['127.0.0.1:5353', '10.0.0.2']);
    assert.equal(t.resolveViaDnsServers, true);
    assert.equal(t.certWarnDays, 21);
    assert.deepEqual(t.users, { admin: { username: 'gbv-admin', password: ADMIN_PW }, viewer: { username: 'gbv-viewer', password: VIEWER_PW } });
    assert.deepEqual(t.coolify, { token: TOKEN, appUuid: 'app-uuid-1', authUuid: 'auth-uuid-1' });
    assert.deepEqual(t.exposure, { serverAddress: '127.0.0.1', expectedOpenPorts: [8443, 8080], forbiddenPorts: [5432, 3000] });
    assert.deepEqual(t.budgets, { responseMs: 3000, redeployDowntimeMs: 10_000, authMaintenanceWindowMs: 60_000, listRefreshMs: 15_000 });
    assert.equal(t.testDataPrefix, 'gbv-');
    assert.equal(t.sessionMinHours, 24, 'SESSION_MIN_HOURS defaults to a day');
    assert.equal(loadConfig({ ...goodEnv(), SESSION_MIN_HOURS: '168' }).sessionMinHours, 168);
    assert.equal(loadConfig({ ...goodEnv(), SESSION_MIN_HOURS: ' 0 ' }).sessionMinHours, 0);
    assert.equal(describeTarget(loadConfig({ ...goodEnv(), SESSION_MIN_HOURS: '48' })).SESSION_MIN_HOURS, '48');
  });

  test('minimal production environment: only the four required variables', () => {
    const t = loadConfig({ APP_URL: 'https://gadgetbot.vellandi.net', AUTH_URL: 'https://gadgetbot-auth.vellandi.net', ADMIN_USER: 'a', ADMIN_PASSWORD: 'b' });
    assert.equal(t.name, 'gadgetbot.vellandi.net');
    assert.equal(t.deployerUrl, '');
    assert.equal(t.expectedCertIssuer, "Let's Encrypt");
    assert.deepEqual(t.dnsServers, ['1.1.1.1', '8.8.8.8']);
    assert.equal(t.resolveViaDnsServers, false);
    assert.equal(t.httpPort, 80);
    assert.equal(t.users.viewer, undefined);
    assert.equal(t.coolify, undefined);
    assert.equal(t.databaseUrl, undefined);
    assert.match(t.runId, /^\d{8}T\d{6}-[0-9a-f]{6}$/, 'RUN_ID generated when absent');
    assert.equal(loadConfig({ APP_URL: t.appUrl, AUTH_URL: t.authUrl, ADMIN_USER: 'a', ADMIN_PASSWORD: 'b' }).runId, t.runId, 'stable within a process');
  });

  test('empty values count as unset', () => {
    const t = loadConfig({ ...goodEnv(), DEPLOYER_URL: '', COOLIFY_TOKEN: '', COOLIFY_APP_UUID: '', COOLIFY_AUTH_UUID: '', CA_FILE: '  ', CERT_WARN_DAYS: '' });
    assert.equal(t.deployerUrl, '');
    assert.equal(t.caFile, undefined);
    assert.equal(t.certWarnDays, 21);
  });

  test('each missing required variable is named', () => {
    const p = problemsOf({});
    for (const v of ['APP_URL', 'AUTH_URL', 'ADMIN_USER', 'ADMIN_PASSWORD']) {
      assert.ok(p.some((l) => l.startsWith(`${v} is required`)), `${v} not named in:\n${p.join('\n')}`);
    }
    assert.equal(p.length, 4, p.join('\n'));
  });

  // One bad value per row: the problem list must name exactly that variable.
  const bad: [string, string, RegExp][] = [
    ['APP_URL', 'gadgetbot.vellandi.net', /not a URL/],
    ['APP_URL', 'http://gadgetbot.vellandi.net', /must use https/],
    ['AUTH_URL', 'https://auth.example/ui/console', /base URL without path/],
    ['DEPLOYER_URL', 'ftp://coolify', /must use https/],
    ['HTTP_PORT', '0', /1\.\.65535/],
    ['HTTP_PORT', 'eighty', /whole number/],
    ['EXPECTED_IPS', '65.21.154.182,65.21.154', /"65\.21\.154" is not an IPv4/],
    ['DNS_SERVERS', 'one.one.one.one', /by address, not name/],
    ['DNS_SERVERS', '1.1.1.1:70000', /bad port/],
    ['RESOLVE_VIA_DNS_SERVERS', 'maybe', /not a boolean/],
    ['CA_FILE', '/nonexistent/ca.pem', /does not exist/],
    ['CERT_WARN_DAYS', '-3', /whole number/],
    ['DATABASE_URL', 'mysql://u@h/db', /scheme "mysql:"/],
    ['DATABASE_URL', 'postgresql://u@h', /names no database/],
    ['COOLIFY_APP_UUID', 'has space', /not a resource uuid/],
    ['EXPECTED_OPEN_PORTS', '443,https', /"https" is not a port/],
    ['FORBIDDEN_PORTS', '5432,99999', /not a port/],
    ['BUDGET_RESPONSE_MS', '3s', /whole number/],
    ['BUDGET_REDEPLOY_DOWNTIME_MS', '1.5', /whole number/],
    ['AUTH_MAINTENANCE_WINDOW_MS', 'x', /whole number/],
    ['BUDGET_LIST_REFRESH_MS', '100', /whole number in 500\.\.300000/],
    ['CHROMIUM_PATH', '/no/such/chromium', /does not exist/],
    ['TEST_DATA_PREFIX', 'has space', /prefixes every test record/],
    ['RUN_ID', 'a/b', /A-Z a-z 0-9/],
    ['SERVER_ADDRESS', 'bad host!', /not a host name or IP/],
    ['SESSION_MIN_HOURS', '2h', /"2h" is not a whole number in 0\.\.8760/],
    ['SESSION_MIN_HOURS', '9000', /whole number in 0\.\.8760/],
  ];
  for (const [name, value, why] of bad) {
    test(`bad ${name}=${JSON.stringify(value)} is named`, () => {
      const p = problemsOf({ ...goodEnv(), [name]: value });
      assert.equal(p.length, 1, p.join('\n'));
      assert.ok(p[0].startsWith(`${name} `), p[0]);
      assert.match(p[0], why);
    });
  }

  test('cross-variable rules', () => {
    assert.deepEqual(problemsOf({ ...goodEnv(), VIEWER_PASSWORD: '' }), ['VIEWER_PASSWORD is required when VIEWER_USER is set']);
    assert.deepEqual(problemsOf({ ...goodEnv(), VIEWER_USER: '' }), ['VIEWER_USER is required when VIEWER_PASSWORD is set']);
    assert.deepEqual(problemsOf({ ...goodEnv(), COOLIFY_TOKEN: '' }), ['COOLIFY_TOKEN is required when COOLIFY_APP_UUID or COOLIFY_AUTH_UUID is set']);
    assert.deepEqual(problemsOf({ ...goodEnv(), DEPLOYER_URL: '' }), ['DEPLOYER_URL is required when COOLIFY_TOKEN is set (the deployer API lives there)']);
  });

  test('several bad variables are reported all at once, one line each', () => {
    const p = problemsOf({ ...goodEnv(), APP_URL: 'nope', HTTP_PORT: 'x', CERT_WARN_DAYS: 'y', ADMIN_USER: '', DNS_SERVERS: 'dns.google' });
    const named = p.map((l) => l.split(' ')[0]).sort();
    assert.deepEqual(named, ['ADMIN_USER', 'APP_URL', 'CERT_WARN_DAYS', 'DNS_SERVERS', 'HTTP_PORT']);
    const e = (() => { try { loadConfig({ ...goodEnv(), APP_URL: 'nope', HTTP_PORT: 'x' }); } catch (x) { return x as ConfigError; } })()!;
    assert.match(e.message, /^invalid configuration \(2 problems\):\n {2}- APP_URL .*\n {2}- HTTP_PORT /);
  });

  test('secrets never appear in problems, descriptions or printed URLs', () => {
    const secrets = [ADMIN_PW, VIEWER_PW, DB_PW, encodeURIComponent(DB_PW), TOKEN];
    const outputs: string[] = [];
    outputs.push(...problemsOf({ ...goodEnv(), DATABASE_URL: `mysql://reader:${encodeURIComponent(DB_PW)}@h/db` }));
    outputs.push(...problemsOf({ ...goodEnv(), DATABASE_URL: `postgresql://reader:${encodeURIComponent(DB_PW)}@h` }));
    outputs.push(...problemsOf({ ...goodEnv(), DEPLOYER_URL: '', APP_URL: 'x' }));
    const t = loadConfig(goodEnv());
    outputs.push(JSON.stringify(describeTarget(t)), redactDatabaseUrl(t.databaseUrl!));
    for (const out of outputs) for (const s of secrets) assert.ok(!out.includes(s), `secret leaked into: ${out}`);
    assert.equal(describeTarget(t).DATABASE_URL, 'postgresql://reader:***@127.0.0.2:5432/gadgetbot');
    const listed = secretsOf(t);
    for (const s of [ADMIN_PW, VIEWER_PW, DB_PW, TOKEN]) assert.ok(listed.includes(s), `secretsOf misses a secret`);
    const labelled = labelledSecretsOf(t);
    assert.deepEqual(labelled.map((x) => x.value), listed, 'the same secrets, named by variable');
    assert.deepEqual([...new Set(labelled.map((x) => x.kind))], ['ADMIN_PASSWORD', 'VIEWER_PASSWORD', 'COOLIFY_TOKEN', 'DATABASE_URL password', 'DATABASE_URL']);
    assert.ok(listed.includes(encodeURIComponent(DB_PW)), 'URL-encoded DB password listed too');
  });

  test('.env.example documents every variable', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    for (const v of CONFIG_VARS) assert.ok(documented.has(v), `${v} missing from .env.example`);
  });
});

interface Run { code: number | null; out: string; ms: number }
function runNode(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((res) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', GBV_NO_DOTENV: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); res({ code, out, ms: Date.now() - started }); });
  });
}

describe('entry points refuse a bad configuration', () => {
  test('bin/verify.ts: bad target → exit 2 fast, every bad variable named, nothing started', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'gbv-selftest-cfg-'));
    try {
      const r = await runNode(['--import', 'tsx', 'bin/verify.ts', '--project', 'infra'], {
        APP_URL: 'http://gadgetbot.example', AUTH_URL: 'https://auth.example/x', ADMIN_PASSWORD: ADMIN_PW,
        HTTP_PORT: '99999', DATABASE_URL: `postgresql://u:${encodeURIComponent(DB_PW)}@h`, GBV_REPORTS_DIR: reports,
      });
      assert.equal(r.code, 2, r.out);
      for (const v of ['APP_URL', 'AUTH_URL', 'ADMIN_USER', 'HTTP_PORT', 'DATABASE_URL']) assert.match(r.out, new RegExp(`- ${v} `), r.out);
      assert.ok(!r.out.includes(ADMIN_PW) && !r.out.includes(encodeURIComponent(DB_PW)), 'secret in output');
      assert.match(r.out, /Nothing was started/);
      assert.doesNotMatch(r.out, /Running \d+ test|\[setup\]/, 'Playwright or the stack started');
      assert.deepEqual(readdirSync(reports), [], 'no report written');
      assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    } finally {
      rmSync(reports, { recursive: true, force: true });
    }
  });

  test('bin/verify.ts: embedded mode still checks the other variables before starting the stack', async () => {
    const r = await runNode(['--import', 'tsx', 'bin/verify.ts'], { CERT_WARN_DAYS: 'soon', TEST_DATA_PREFIX: 'x y' });
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /- CERT_WARN_DAYS "soon"/);
    assert.match(r.out, /- TEST_DATA_PREFIX /);
    assert.doesNotMatch(r.out, /APP_URL|ADMIN_USER/, 'stack-provided variables must not be reported');
    assert.doesNotMatch(r.out, /\[setup\]|Running \d+ test/);
  });

  test('global setup: a configured but incomplete target → exit 2 with the problems, no test run', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gbv-selftest-cfg-'));
    try {
      const cli = join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js');
      assert.ok(existsSync(cli));
      const r = await runNode([cli, 'test', '--project', 'infra', '--reporter=list'], {
        APP_URL: 'https://gadgetbot.example', AUTH_URL: 'https://auth.example', ADMIN_USER: 'a',
        GBV_OUTPUT_DIR: join(out, 'tr'), GBV_REPORTS_DIR: join(out, 'reports'),
      });
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, /- ADMIN_PASSWORD is required/);
      assert.doesNotMatch(r.out, /Running \d+ test/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('global setup preflight', () => {
  test('an unreachable target fails the whole run fast with one root-cause line (after writing the run record)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gbv-selftest-cfg-'));
    const runId = `cfgtest-${process.pid}`;
    const record = recordPath(runId);
    const unread = recordPath(`${runId}-unread`);
    try {
      const cli = join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js');
      // Port 1 on loopback: nothing listens, so the DNS query is refused at once.
      const target = {
        APP_URL: 'https://gadgetbot.example', AUTH_URL: 'https://gadgetbot-auth.example', ADMIN_USER: 'a', ADMIN_PASSWORD: ADMIN_PW,
        DNS_SERVERS: '127.0.0.1:1', RESOLVE_VIA_DNS_SERVERS: 'true',
        GBV_OUTPUT_DIR: join(out, 'tr'), GBV_REPORTS_DIR: join(out, 'reports'),
      };
      const [r, plain] = await Promise.all([
        runNode([cli, 'test', '--project', 'infra', '--reporter=list,./helpers/verdict-reporter.ts'], { ...target, RUN_ID: runId }),
        // No reporter of this run reads the record (a monitor round's `--reporter=json`): teardown removes it.
        runNode([cli, 'test', '--project', 'infra', '--reporter=list'], { ...target, RUN_ID: `${runId}-unread`, GBV_REPORTS_DIR: join(out, 'reports2') }),
      ]);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /preflight failed: target unreachable: cannot resolve gadgetbot\.example via 127\.0\.0\.1:1: connection refused by the DNS server \(same for gadgetbot-auth\.example\)/);
      assert.doesNotMatch(r.out, /Running \d+ test/);
      assert.ok(!r.out.includes(ADMIN_PW));
      // Global setup wrote the one record of the run's target: owner-only, printable part secrets-free.
      const rec = JSON.parse(readFileSync(record, 'utf8'));
      assert.equal(statSync(record).mode & 0o777, 0o600);
      assert.equal(rec.runId, runId);
      assert.equal(rec.embedded, false);
      assert.equal(rec.target.APP_URL, 'https://gadgetbot.example');
      assert.ok(!JSON.stringify(rec.target).includes(ADMIN_PW));
      assert.deepEqual(rec.redact.filter((x: { kind: string }) => x.kind === 'ADMIN_PASSWORD').map((x: { value: string }) => x.value), [ADMIN_PW]);
      assert.equal(JSON.parse(readFileSync(join(out, 'reports', 'verdict.json'), 'utf8')).runRecord, record, 'verdict.json names its record');
      assert.notEqual(plain.code, 0, plain.out);
      assert.match(plain.out, /preflight failed/);
      assert.ok(!existsSync(unread), 'an unread record is removed at teardown');
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(record, { force: true });
      rmSync(unread, { force: true });
    }
  });
});

describe('playwright.config.ts projects', () => {
  // Evaluates the config module itself (as the runner does) with a given argv/env: no test files loaded.
  async function projectsWith(argv: string[], env: Record<string, string> = {}): Promise<string[]> {
    const code = "const c = (await import('./playwright.config.ts')).default; console.log('PROJECTS=' + c.projects.map((p) => p.name).join(','));";
    const r = await runNode(['--import', 'tsx', '--input-type=module', '-e', code, '--', ...argv], env);
    assert.equal(r.code, 0, r.out);
    const m = /PROJECTS=(.*)/.exec(r.out);
    assert.ok(m, r.out);
    return m[1].split(',');
  }

  test('default projects; disruptive only by --project or RUN_DISRUPTIVE=1', async () => {
    const [plain, flag, flagEq, byEnv] = await Promise.all([
      projectsWith(['test']),
      projectsWith(['test', '--project', 'disruptive']),
      projectsWith(['test', '--project=disruptive', '--grep', '@redeploy']),
      projectsWith(['test'], { RUN_DISRUPTIVE: '1' }),
    ]);
    assert.deepEqual(plain, ['setup', 'infra', 'db', 'auth', 'crud']);
    for (const p of [flag, flagEq, byEnv]) assert.deepEqual(p, ['setup', 'infra', 'db', 'auth', 'crud', 'disruptive']);
  });

  test('the run id is decided once, where the config loads (workers inherit it); a set RUN_ID stays', async () => {
    const code = "await import('./playwright.config.ts'); console.log('RUN_ID=' + process.env.RUN_ID);";
    const [gen, set] = await Promise.all([
      runNode(['--import', 'tsx', '--input-type=module', '-e', code], {}),
      runNode(['--import', 'tsx', '--input-type=module', '-e', code], { RUN_ID: 'given-1' }),
    ]);
    assert.match(gen.out, /RUN_ID=\d{8}T\d{6}-[0-9a-f]{6}\b/);
    assert.match(set.out, /RUN_ID=given-1\b/);
  });
});
