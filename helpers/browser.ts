// Which Chromium to run and how, so the browser sees the target exactly as a user would: names resolved
// through the target's DNS servers (a wrong A record breaks it), and TLS trusted through the normal
// certificate store with the run's root CA added — never "ignore certificate errors".
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync, appendFileSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { chromium, type LaunchOptions } from '@playwright/test';
import { SECRET_VARS, type Target } from './config.ts';
import { DnsError, resolveA } from './dns.ts';

export const CHROMIUM_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
] as const;

export const NSS_NICKNAME = 'gbv-stack-ca';

export const NO_CHROMIUM = 'no Chromium: `npm run setup` installs one (as root), or set CHROMIUM_PATH';

export interface ChromiumChoice { path: string; source: 'CHROMIUM_PATH' | 'playwright' | 'headless-shell' | 'system' }

/**
 * A browser or certutil the run needs is missing: a problem of this machine's set-up, never of the deployment.
 * `command` is the one thing to run; the set-up (helpers/browser-setup.ts) exits 2 with it.
 */
export class BrowserSetupError extends Error {
  constructor(message: string, readonly command: string) { super(message); this.name = 'BrowserSetupError'; }
}

/**
 * Where a run records a set-up problem met after the preflight (a browser deleted mid-run, seen by a worker), so
 * that bin/verify.ts ends it as a set-up problem (exit 2) instead of a failed deployment.
 */
export function setupProblemFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(resolve(import.meta.dirname, '..', env.GBV_REPORTS_DIR ?? 'reports'), 'setup-problem.txt');
}

function recordSetupProblem(e: BrowserSetupError): void {
  try {
    const file = setupProblemFile();
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, `${e.message}\n`); // the message names the command already
  } catch { /* the error itself still fails the test */ }
}

/**
 * Prefix of the system paths searched for Debian's browsers and certutil: `/` but for the set-up's own self-tests,
 * which point it at an empty folder to see a machine without them (as PLAYWRIGHT_BROWSERS_PATH does for Playwright's).
 */
function systemRoot(): string { return process.env.GBV_SYSTEM_ROOT?.trim() || '/'; }

/** Debian's `chromium-headless-shell` package: the lean "old headless" build Playwright itself runs headless. */
export const HEADLESS_SHELL_PATH = '/usr/bin/chromium-headless-shell';

/** Playwright's own headless shell (`playwright install chromium-headless-shell`), beside its Chromium build. */
export function playwrightHeadlessShellPath(chromiumPath: string): string | null {
  const browserDir = dirname(dirname(chromiumPath)); // <registry>/chromium-<rev>/chrome-linux64/chrome
  const m = /^chromium-(\d+)$/.exec(basename(browserDir));
  if (!m || process.platform !== 'linux') return null;
  const arch = process.arch === 'arm64' ? 'linux-arm64' : 'linux64';
  return join(dirname(browserDir), `chromium_headless_shell-${m[1]}`, `chrome-headless-shell-${arch}`, 'chrome-headless-shell');
}

export interface ChromiumCandidates {
  playwrightPath?: string | null; playwrightShellPath?: string | null; systemPath?: string; headlessShellPath?: string;
  headless?: boolean;
}

/**
 * CHROMIUM_PATH, else Playwright's own build when it is on disk (its headless shell for headless runs when
 * installed), else Debian's: its headless shell for headless runs when installed (a third of full Chromium's CPU per
 * page on these machines), else /usr/bin/chromium (always for headed runs: the shell has no window).
 */
export function pickChromium(t: Pick<Target, 'chromiumPath'> = {}, opts: ChromiumCandidates = {}): ChromiumChoice {
  const override = t.chromiumPath ?? process.env.CHROMIUM_PATH?.trim();
  if (override) {
    if (!existsSync(override)) throw new Error(`CHROMIUM_PATH "${override}" does not exist`);
    return { path: override, source: 'CHROMIUM_PATH' };
  }
  const headless = opts.headless ?? true;
  let own: string | null | undefined = opts.playwrightPath;
  if (own === undefined) {
    try { own = chromium.executablePath(); } catch { own = null; }
  }
  const ownShell = opts.playwrightShellPath !== undefined ? opts.playwrightShellPath : own ? playwrightHeadlessShellPath(own) : null;
  if (headless && ownShell && existsSync(ownShell)) return { path: ownShell, source: 'playwright' };
  if (own && existsSync(own)) return { path: own, source: 'playwright' };
  const shell = opts.headlessShellPath ?? join(systemRoot(), HEADLESS_SHELL_PATH);
  if (headless && existsSync(shell)) return { path: shell, source: 'headless-shell' };
  const system = opts.systemPath ?? join(systemRoot(), '/usr/bin/chromium');
  if (existsSync(system)) return { path: system, source: 'system' };
  throw new BrowserSetupError(NO_CHROMIUM, 'npm run setup');
}

/** Host names the browser visits on this target (app, auth, deployer). */
export function targetHosts(t: Pick<Target, 'appUrl' | 'authUrl' | 'deployerUrl'>): string[] {
  const hosts = [t.appUrl, t.authUrl, t.deployerUrl].filter(Boolean).map((u) => new URL(u).hostname);
  return [...new Set(hosts)];
}

/**
 * `--host-resolver-rules` value mapping each target host to what the DNS servers answer now.
 * NXDOMAIN / no A record → `~NOTFOUND`, so the browser fails the way a user's would. A DNS server that
 * does not answer at all is a broken run, not a finding about one host: that throws.
 */
export async function hostResolverRules(
  t: Pick<Target, 'appUrl' | 'authUrl' | 'deployerUrl' | 'dnsServers'>,
  timeoutMs = 3000,
): Promise<string> {
  const rules: string[] = [];
  for (const host of targetHosts(t)) {
    try {
      const ips = await resolveA(host, t.dnsServers, timeoutMs);
      // One address per MAP rule: Chromium's rule syntax takes a single replacement.
      rules.push(ips.length ? `MAP ${host} ${ips[0]}` : `MAP ${host} ~NOTFOUND`);
    } catch (e) {
      if (e instanceof DnsError && e.code === 'ENOTFOUND') { rules.push(`MAP ${host} ~NOTFOUND`); continue; }
      throw new Error(`browser name resolution: ${(e as Error).message}`);
    }
  }
  return rules.join(', ');
}

/** An executable named `name` on `PATH` (no shell: the set-up's self-tests hand it a PATH of their own). */
export function onPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(':').filter(Boolean)) {
    const p = join(dir, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

export const NO_CERTUTIL = 'certutil not found (needed to make Chromium trust CA_FILE): `npm run setup` installs it (as root)';

/** NSS's certutil (Debian package libnss3-tools), or null. */
export function findCertutil(): string | null {
  for (const p of ['/usr/bin/certutil', '/usr/local/bin/certutil']) if (existsSync(join(systemRoot(), p))) return join(systemRoot(), p);
  return systemRoot() === '/' ? onPath('certutil') : null;
}

function certutilPath(): string {
  const p = findCertutil();
  if (!p) throw new BrowserSetupError(NO_CERTUTIL, 'npm run setup');
  return p;
}

const homes = new Map<string, string>();
let exitHookInstalled = false;

/** A run's browser HOME made by the runner (global setup), which its workers reuse instead of making their own. */
export const BROWSER_HOME_ENV = 'GBV_BROWSER_HOME';

/** The HOME named by BROWSER_HOME_ENV when its NSS database trusts exactly `root`; else undefined. */
function sharedHomeFor(root: string): string | undefined {
  const shared = process.env[BROWSER_HOME_ENV];
  if (!shared || !existsSync(join(shared, '.pki', 'nssdb', 'cert9.db'))) return undefined;
  try {
    return readFileSync(join(shared, 'ca.pem'), 'utf8') === `${root}\n` ? shared : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A throwaway HOME whose NSS database (`$HOME/.pki/nssdb`, where Chromium on Linux looks for user trust)
 * trusts `caFile` as an SSL root. One per process and CA, removed when that process exits; a worker reuses the
 * runner's (BROWSER_HOME_ENV) when it trusts the same root, so a worker start runs no certutil.
 */
export function nssHomeFor(caFile: string): string {
  const pem = readFileSync(caFile, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`CA file "${caFile}" holds no PEM certificate`);
  // certutil -A takes the first certificate of a file: hand it exactly the root.
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0];
  const shared = sharedHomeFor(first);
  if (shared) return shared;
  const key = createHash('sha256').update(pem).digest('hex').slice(0, 16);
  const known = homes.get(key);
  if (known && existsSync(join(known, '.pki', 'nssdb', 'cert9.db'))) return known;

  const home = mkdtempSync(join(tmpdir(), `gbv-chromium-home-${key}-`));
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true, mode: 0o700 });
  const rootFile = join(home, 'ca.pem');
  writeFileSync(rootFile, first + '\n');
  const certutil = certutilPath();
  const run = (args: string[]) => {
    try {
      execFileSync(certutil, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`certutil ${args[0]} failed: ${err.stderr?.toString().trim() || err.message}`);
    }
  };
  run(['-N', '-d', `sql:${db}`, '--empty-password']);
  run(['-A', '-d', `sql:${db}`, '-t', 'C,,', '-n', NSS_NICKNAME, '-i', rootFile]);
  homes.set(key, home);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', disposeBrowserHomes);
  }
  return home;
}

/** Removes the HOME folders made by nssHomeFor (also runs on process exit). */
export function disposeBrowserHomes(): void {
  for (const [key, home] of homes) {
    rmSync(home, { recursive: true, force: true });
    homes.delete(key);
  }
}

/** Launch options for Chromium against `t`: executable, flags, name resolution and trust. */
export async function launchOptionsFor(t: Target, opts: { headless?: boolean } = {}): Promise<LaunchOptions> {
  try {
    return await launchOptionsChecked(t, opts);
  } catch (e) {
    // Found missing after the preflight (deleted mid-run): still a set-up problem, recorded for bin/verify.ts.
    if (e instanceof BrowserSetupError) recordSetupProblem(e);
    throw e;
  }
}

async function launchOptionsChecked(t: Target, opts: { headless?: boolean }): Promise<LaunchOptions> {
  const { path } = pickChromium(t, { headless: opts.headless });
  const args: string[] = [...CHROMIUM_ARGS];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  if (t.resolveViaDnsServers) args.push(`--host-resolver-rules=${await hostResolverRules(t)}`);
  const options: LaunchOptions = { executablePath: path, args };
  if (t.caFile) {
    // Chromium reads user trust only from $HOME/.pki/nssdb; the rest of the environment stays as it is
    // (Debian's /usr/bin/chromium is a shell wrapper that needs PATH).
    const env: Record<string, string> = {};
    const secret = new Set<string>([...SECRET_VARS, 'DATABASE_URL']);
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !secret.has(k)) env[k] = v;
    env.HOME = nssHomeFor(t.caFile);
    options.env = env;
  }
  return options;
}
