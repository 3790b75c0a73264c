// The suite's configuration: every knob is an env var (see .env.example), validated in one pass so a
// misconfigured run fails before any browser starts, with one line per bad variable.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import dotenv from 'dotenv';
import { resolve } from 'node:path';

export interface User { username: string; password: string }
export interface Target {
  name: string; runId: string;
  appUrl: string; authUrl: string; deployerUrl: string;
  httpPort: number; expectedIps: string[]; dnsServers: string[]; resolveViaDnsServers: boolean;
  caFile?: string; certWarnDays: number; expectedCertIssuer: string;
  users: { admin: User; viewer?: User };
  databaseUrl?: string;
  coolify?: { token: string; appUuid?: string; authUuid?: string; appDbUuid?: string; authDbUuid?: string };
  /** Backups check: BACKUP_MIN_RETENTION (days kept locally, default 7), BACKUP_MAX_AGE_HOURS (newest success, default 26). */
  backups: { minRetentionDays: number; maxAgeHours: number };
  exposure: { serverAddress?: string; expectedOpenPorts: number[]; forbiddenPorts: number[] };
  budgets: { responseMs: number; redeployDowntimeMs: number; authMaintenanceWindowMs: number; listRefreshMs: number };
  chromiumPath?: string; testDataPrefix: string;
  /** A saved session must have at least this many hours left (Better Auth's default session lasts 7 days). */
  sessionMinHours: number;
  /** HSTS max-age floor in seconds (HSTS_MIN_MAX_AGE, default 180 days). */
  hstsMinMaxAge: number;
}

export class ConfigError extends Error {
  problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
      problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Variables whose values must never appear in output. DATABASE_URL is handled separately (only its password). */
export const SECRET_VARS = ['ADMIN_PASSWORD', 'VIEWER_PASSWORD', 'COOLIFY_TOKEN'] as const;

export const DEFAULTS = {
  DNS_SERVERS: '1.1.1.1,8.8.8.8',
  HTTP_PORT: 80,
  CERT_WARN_DAYS: 21,
  EXPECTED_CERT_ISSUER: "Let's Encrypt",
  // Production's internal ports: Postgres, the app container, Zitadel.
  FORBIDDEN_PORTS: '5432,3000,8080',
  BUDGET_RESPONSE_MS: 3000,
  BUDGET_REDEPLOY_DOWNTIME_MS: 10_000,
  AUTH_MAINTENANCE_WINDOW_MS: 60_000,
  // The real app's products list refetches late after a change: how long a check waits for it to show the change.
  BUDGET_LIST_REFRESH_MS: 15_000,
  TEST_DATA_PREFIX: 'gbv-',
  SESSION_MIN_HOURS: 24,
  // 180 days: shorter, and browsers forget the policy between the visits of occasional users.
  HSTS_MIN_MAX_AGE: 15_552_000,
  BACKUP_MIN_RETENTION: 7,
  BACKUP_MAX_AGE_HOURS: 26,
} as const;

// Empty strings count as "not set": .env files often carry `VAR=` placeholders.
const opt = <T extends z.ZodType<unknown, string>>(s: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v), s.optional());

function baseUrl(name: string) {
  return z.string().superRefine((v, ctx) => {
    let u: URL;
    try { u = new URL(v); } catch { ctx.addIssue({ code: 'custom', message: `"${v}" is not a URL (expected https://host[:port])` }); return; }
    if (u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `"${v}" must use https:// (the suite checks TLS on every host)` });
    if (u.username || u.password) ctx.addIssue({ code: 'custom', message: `must not carry credentials` });
    if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
      ctx.addIssue({ code: 'custom', message: `"${u.origin}…" must be a base URL without path, query or fragment (${name} is the origin only)` });
  }).transform((v) => new URL(v).origin);
}

function intIn(min: number, max: number) {
  return z.string().superRefine((v, ctx) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a whole number in ${min}..${max}` });
  }).transform(Number);
}

function list(item: (s: string) => string | null, what: string) {
  return z.string().superRefine((v, ctx) => {
    const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
    if (parts.length === 0) ctx.addIssue({ code: 'custom', message: `empty list (expected comma-separated ${what})` });
    for (const p of parts) {
      const why = item(p);
      if (why) ctx.addIssue({ code: 'custom', message: `"${p}" ${why}` });
    }
  }).transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
}

const ipv4 = (s: string) => (isIP(s) === 4 ? null : 'is not an IPv4 address');
const port = (s: string) => (/^\d+$/.test(s) && +s >= 1 && +s <= 65535 ? null : 'is not a port (1..65535)');
function dnsServer(s: string): string | null {
  // ip, ip:port, [v6], [v6]:port
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) return isIP(s) === 6 ? null : 'is not ip[:port]';
  if (!isIP(m[1])) return 'is not ip[:port] (DNS servers are given by address, not name)';
  if (m[2] !== undefined && port(m[2])) return `has a bad port ${m[2]}`;
  return null;
}

const bool = z.string().superRefine((v, ctx) => {
  if (!/^(true|false|1|0|yes|no)$/i.test(v)) ctx.addIssue({ code: 'custom', message: `"${v}" is not a boolean (true/false)` });
}).transform((v) => /^(true|1|yes)$/i.test(v));

const readableFile = (what: string, pem: boolean) => z.string().superRefine((v, ctx) => {
  if (!existsSync(v)) { ctx.addIssue({ code: 'custom', message: `${what} "${v}" does not exist` }); return; }
  try {
    if (!statSync(v).isFile()) { ctx.addIssue({ code: 'custom', message: `${what} "${v}" is not a file` }); return; }
    if (pem && !readFileSync(v, 'utf8').includes('-----BEGIN CERTIFICATE-----'))
      ctx.addIssue({ code: 'custom', message: `${what} "${v}" holds no PEM certificate` });
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `${what} "${v}" is not readable (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
  }
});

/** DATABASE_URL never echoes its value in a problem: it may carry the password. */
const databaseUrl = z.string().superRefine((v, ctx) => {
  let u: URL;
  try { u = new URL(v); } catch { ctx.addIssue({ code: 'custom', message: 'is not a URL (expected postgresql://user:password@host:port/db)' }); return; }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:')
    ctx.addIssue({ code: 'custom', message: `scheme "${u.protocol}" is not postgresql:` });
  if (!u.hostname) ctx.addIssue({ code: 'custom', message: 'has no host' });
  if (!u.pathname || u.pathname === '/') ctx.addIssue({ code: 'custom', message: 'names no database (…/gadgetbot)' });
});

const schema = z.object({
  TARGET_NAME: opt(z.string().max(60)),
  RUN_ID: opt(z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1..40 characters of A-Z a-z 0-9 _ -')),
  APP_URL: baseUrl('APP_URL'),
  AUTH_URL: baseUrl('AUTH_URL'),
  DEPLOYER_URL: opt(baseUrl('DEPLOYER_URL')),
  HTTP_PORT: opt(intIn(1, 65535)),
  EXPECTED_IPS: opt(list(ipv4, 'IPv4 addresses')),
  DNS_SERVERS: opt(list(dnsServer, 'ip[:port]')),
  RESOLVE_VIA_DNS_SERVERS: opt(bool),
  CA_FILE: opt(readableFile('CA file', true)),
  CERT_WARN_DAYS: opt(intIn(0, 365)),
  EXPECTED_CERT_ISSUER: opt(z.string()),
  ADMIN_USER: z.string().trim().min(1, 'is empty'),
  ADMIN_PASSWORD: z.string().min(1, 'is empty'),
  VIEWER_USER: opt(z.string()),
  VIEWER_PASSWORD: opt(z.string()),
  DATABASE_URL: opt(databaseUrl),
  COOLIFY_TOKEN: opt(z.string()),
  COOLIFY_APP_UUID: opt(z.string().regex(/^[A-Za-z0-9_-]+$/, 'is not a resource uuid')),
  COOLIFY_AUTH_UUID: opt(z.string().regex(/^[A-Za-z0-9_-]+$/, 'is not a resource uuid')),
  COOLIFY_APP_DB_UUID: opt(z.string().regex(/^[A-Za-z0-9_-]+$/, 'is not a resource uuid')),
  COOLIFY_AUTH_DB_UUID: opt(z.string().regex(/^[A-Za-z0-9_-]+$/, 'is not a resource uuid')),
  BACKUP_MIN_RETENTION: opt(intIn(1, 3650)),
  BACKUP_MAX_AGE_HOURS: opt(intIn(1, 8760)),
  SERVER_ADDRESS: opt(z.string().regex(/^[A-Za-z0-9.:_-]+$/, 'is not a host name or IP address')),
  EXPECTED_OPEN_PORTS: opt(list(port, 'ports')),
  FORBIDDEN_PORTS: opt(list(port, 'ports')),
  BUDGET_RESPONSE_MS: opt(intIn(1, 600_000)),
  BUDGET_REDEPLOY_DOWNTIME_MS: opt(intIn(0, 3_600_000)),
  AUTH_MAINTENANCE_WINDOW_MS: opt(intIn(0, 3_600_000)),
  BUDGET_LIST_REFRESH_MS: opt(intIn(500, 300_000)),
  CHROMIUM_PATH: opt(readableFile('Chromium binary', false)),
  TEST_DATA_PREFIX: opt(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,15}$/i, 'must be 1..16 characters of letters, digits, _ or - (it prefixes every test record)')),
  SESSION_MIN_HOURS: opt(intIn(0, 8760)),
  HSTS_MIN_MAX_AGE: opt(intIn(0, 315_360_000)),
});

/** Every variable the schema reads (documented in .env.example). */
export const CONFIG_VARS = Object.keys(schema.shape);

const missingMessage: Record<string, string> = {
  APP_URL: 'is required (the app base URL, e.g. https://gadgetbot.vellandi.net)',
  AUTH_URL: 'is required (the Zitadel base URL, e.g. https://gadgetbot-auth.vellandi.net)',
  ADMIN_USER: 'is required (login name of an admin user)',
  ADMIN_PASSWORD: 'is required (password of ADMIN_USER)',
};

export function generateRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, ''); // 20251125T113000
  return `${t}-${randomBytes(3).toString('hex')}`;
}

let generatedRunId: string | undefined;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Target {
  const input: Record<string, string | undefined> = {};
  for (const k of Object.keys(schema.shape)) input[k] = env[k];
  const r = schema.safeParse(input);
  const problems: string[] = [];
  if (!r.success) {
    const seen = new Set<string>();
    for (const issue of r.error.issues) {
      const name = String(issue.path[0] ?? '?');
      const missing = input[name] === undefined || (name in missingMessage && String(input[name]).trim() === '');
      const line = missing && missingMessage[name]
        ? `${name} ${missingMessage[name]}`
        : `${name} ${issue.message}`;
      if (!seen.has(line)) { seen.add(line); problems.push(line); }
    }
  }
  const v = r.success ? r.data : undefined;
  // Cross-field rules (checked on raw input too, so they are reported together with per-field problems).
  const set = (k: string) => (env[k] ?? '').trim() !== '';
  if (set('VIEWER_USER') !== set('VIEWER_PASSWORD'))
    problems.push(set('VIEWER_USER') ? 'VIEWER_PASSWORD is required when VIEWER_USER is set' : 'VIEWER_USER is required when VIEWER_PASSWORD is set');
  if (!set('COOLIFY_TOKEN') && (set('COOLIFY_APP_UUID') || set('COOLIFY_AUTH_UUID')))
    problems.push('COOLIFY_TOKEN is required when COOLIFY_APP_UUID or COOLIFY_AUTH_UUID is set');
  if (!set('COOLIFY_TOKEN') && (set('COOLIFY_APP_DB_UUID') || set('COOLIFY_AUTH_DB_UUID')))
    problems.push('COOLIFY_TOKEN is required when COOLIFY_APP_DB_UUID or COOLIFY_AUTH_DB_UUID is set (the backups check reads them through the Coolify API)');
  if (set('COOLIFY_TOKEN') && !set('DEPLOYER_URL'))
    problems.push('DEPLOYER_URL is required when COOLIFY_TOKEN is set (the deployer API lives there)');
  if (problems.length || !v) throw new ConfigError(problems.length ? problems : ['configuration could not be parsed']);

  const runId = v.RUN_ID ?? (generatedRunId ??= generateRunId());
  return {
    name: v.TARGET_NAME ?? new URL(v.APP_URL).hostname,
    runId,
    appUrl: v.APP_URL,
    authUrl: v.AUTH_URL,
    deployerUrl: v.DEPLOYER_URL ?? '',
    httpPort: v.HTTP_PORT ?? DEFAULTS.HTTP_PORT,
    expectedIps: v.EXPECTED_IPS ?? [],
    dnsServers: v.DNS_SERVERS ?? DEFAULTS.DNS_SERVERS.split(','),
    resolveViaDnsServers: v.RESOLVE_VIA_DNS_SERVERS ?? false,
    caFile: v.CA_FILE,
    certWarnDays: v.CERT_WARN_DAYS ?? DEFAULTS.CERT_WARN_DAYS,
    expectedCertIssuer: v.EXPECTED_CERT_ISSUER ?? DEFAULTS.EXPECTED_CERT_ISSUER,
    users: {
      admin: { username: v.ADMIN_USER, password: v.ADMIN_PASSWORD },
      ...(v.VIEWER_USER && v.VIEWER_PASSWORD ? { viewer: { username: v.VIEWER_USER, password: v.VIEWER_PASSWORD } } : {}),
    },
    databaseUrl: v.DATABASE_URL,
    coolify: v.COOLIFY_TOKEN
      ? {
        token: v.COOLIFY_TOKEN, appUuid: v.COOLIFY_APP_UUID, authUuid: v.COOLIFY_AUTH_UUID,
        ...(v.COOLIFY_APP_DB_UUID ? { appDbUuid: v.COOLIFY_APP_DB_UUID } : {}),
        ...(v.COOLIFY_AUTH_DB_UUID ? { authDbUuid: v.COOLIFY_AUTH_DB_UUID } : {}),
      }
      : undefined,
    backups: {
      minRetentionDays: v.BACKUP_MIN_RETENTION ?? DEFAULTS.BACKUP_MIN_RETENTION,
      maxAgeHours: v.BACKUP_MAX_AGE_HOURS ?? DEFAULTS.BACKUP_MAX_AGE_HOURS,
    },
    exposure: {
      serverAddress: v.SERVER_ADDRESS,
      expectedOpenPorts: (v.EXPECTED_OPEN_PORTS ?? []).map(Number),
      forbiddenPorts: (v.FORBIDDEN_PORTS ?? DEFAULTS.FORBIDDEN_PORTS.split(',')).map(Number),
    },
    budgets: {
      responseMs: v.BUDGET_RESPONSE_MS ?? DEFAULTS.BUDGET_RESPONSE_MS,
      redeployDowntimeMs: v.BUDGET_REDEPLOY_DOWNTIME_MS ?? DEFAULTS.BUDGET_REDEPLOY_DOWNTIME_MS,
      authMaintenanceWindowMs: v.AUTH_MAINTENANCE_WINDOW_MS ?? DEFAULTS.AUTH_MAINTENANCE_WINDOW_MS,
      listRefreshMs: v.BUDGET_LIST_REFRESH_MS ?? DEFAULTS.BUDGET_LIST_REFRESH_MS,
    },
    chromiumPath: v.CHROMIUM_PATH,
    testDataPrefix: v.TEST_DATA_PREFIX ?? DEFAULTS.TEST_DATA_PREFIX,
    sessionMinHours: v.SESSION_MIN_HOURS ?? DEFAULTS.SESSION_MIN_HOURS,
    hstsMinMaxAge: v.HSTS_MIN_MAX_AGE ?? DEFAULTS.HSTS_MIN_MAX_AGE,
  };
}

/** Repository root (helpers/..). */
export const ROOT = resolve(import.meta.dirname, '..');

/**
 * Loads `<root>/.env` into process.env (never overriding variables already set), unless GBV_NO_DOTENV=1
 * (self-tests run with a clean environment). Called by ONE entry, bin/verify.ts: Playwright's runner and workers
 * inherit its environment, and after the run only the run record (helpers/run-record.ts) is read, never `.env`.
 * Returns the file's variable names.
 */
export function loadDotenv(path = resolve(ROOT, '.env')): string[] {
  if (process.env.GBV_NO_DOTENV === '1' || !existsSync(path)) return [];
  const r = dotenv.config({ path, quiet: true });
  return Object.keys(r.parsed ?? {});
}

let cached: Target | undefined;
export function getConfig(): Target {
  return (cached ??= loadConfig(process.env));
}

/** The password part of a DATABASE_URL (decoded), if any. */
export function databasePassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch { return undefined; }
}

/** A DATABASE_URL safe to print: the password replaced by ***. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch { return '(unparseable URL)'; }
}

/** Every configured secret with the variable it came from (the label is what reports may show, never the value). */
export function labelledSecretsOf(t: Target): { kind: string; value: string }[] {
  const out: { kind: string; value: string }[] = [
    { kind: 'ADMIN_PASSWORD', value: t.users.admin.password },
    { kind: 'VIEWER_PASSWORD', value: t.users.viewer?.password ?? '' },
    { kind: 'COOLIFY_TOKEN', value: t.coolify?.token ?? '' },
  ];
  const dbPw = databasePassword(t.databaseUrl);
  if (dbPw) {
    out.push({ kind: 'DATABASE_URL password', value: dbPw });
    const raw = (() => { try { return new URL(t.databaseUrl!).password; } catch { return ''; } })();
    // The URL-encoded form is what appears in a printed URL.
    if (raw && raw !== dbPw) out.push({ kind: 'DATABASE_URL password', value: raw });
    out.push({ kind: 'DATABASE_URL', value: t.databaseUrl! });
  }
  const seen = new Set<string>();
  return out.filter((s) => s.value.length > 0 && !seen.has(s.value) && !!seen.add(s.value));
}

export function secretsOf(t: Target): string[] {
  return labelledSecretsOf(t).map((s) => s.value);
}

export function describeTarget(t: Target): Record<string, string> {
  const d: Record<string, string> = {
    TARGET_NAME: t.name,
    RUN_ID: t.runId,
    APP_URL: t.appUrl,
    AUTH_URL: t.authUrl,
    DEPLOYER_URL: t.deployerUrl || '(not set: deployer checks skip)',
    HTTP_PORT: String(t.httpPort),
    EXPECTED_IPS: t.expectedIps.join(',') || '(not set)',
    DNS_SERVERS: t.dnsServers.join(','),
    RESOLVE_VIA_DNS_SERVERS: String(t.resolveViaDnsServers),
    CA_FILE: t.caFile ?? '(system roots only)',
    CERT_WARN_DAYS: String(t.certWarnDays),
    EXPECTED_CERT_ISSUER: t.expectedCertIssuer,
    ADMIN_USER: t.users.admin.username,
    ADMIN_PASSWORD: '***',
    VIEWER_USER: t.users.viewer?.username ?? '(not set)',
    DATABASE_URL: t.databaseUrl ? redactDatabaseUrl(t.databaseUrl) : '(not set: db checks skip)',
    COOLIFY_TOKEN: t.coolify ? '***' : '(not set)',
    COOLIFY_APP_UUID: t.coolify?.appUuid ?? '(not set)',
    COOLIFY_AUTH_UUID: t.coolify?.authUuid ?? '(not set)',
    COOLIFY_APP_DB_UUID: t.coolify?.appDbUuid ?? '(not set)',
    COOLIFY_AUTH_DB_UUID: t.coolify?.authDbUuid ?? '(not set)',
    BACKUP_MIN_RETENTION: String(t.backups.minRetentionDays),
    BACKUP_MAX_AGE_HOURS: String(t.backups.maxAgeHours),
    SERVER_ADDRESS: t.exposure.serverAddress ?? '(not set)',
    EXPECTED_OPEN_PORTS: t.exposure.expectedOpenPorts.join(',') || '(not set)',
    FORBIDDEN_PORTS: t.exposure.forbiddenPorts.join(','),
    BUDGET_RESPONSE_MS: String(t.budgets.responseMs),
    BUDGET_REDEPLOY_DOWNTIME_MS: String(t.budgets.redeployDowntimeMs),
    AUTH_MAINTENANCE_WINDOW_MS: String(t.budgets.authMaintenanceWindowMs),
    BUDGET_LIST_REFRESH_MS: String(t.budgets.listRefreshMs),
    CHROMIUM_PATH: t.chromiumPath ?? '(auto)',
    TEST_DATA_PREFIX: t.testDataPrefix,
    SESSION_MIN_HOURS: String(t.sessionMinHours),
    HSTS_MIN_MAX_AGE: String(t.hstsMinMaxAge),
  };
  return d;
}
