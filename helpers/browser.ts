// Which Chromium to run and how, so the browser sees the target exactly as a user would: names resolved
// through the target's DNS servers (a wrong A record breaks it), and TLS trusted through the normal
// certificate store with the run's root CA added — never "ignore certificate errors".
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const NO_CHROMIUM = 'no Chromium: `apt-get install -y chromium` or set CHROMIUM_PATH';

export interface ChromiumChoice { path: string; source: 'CHROMIUM_PATH' | 'playwright' | 'headless-shell' | 'system' }

/** Debian's `chromium-headless-shell` package: the lean "old headless" build Playwright itself runs headless. */
export const HEADLESS_SHELL_PATH = '/usr/bin/chromium-headless-shell';

/**
 * CHROMIUM_PATH, else Playwright's own build when it is on disk, else Debian's: its headless shell for headless
 * runs when installed (a third of full Chromium's CPU per page on these machines), else /usr/bin/chromium
 * (always for headed runs: the shell has no window).
 */
export function pickChromium(
  t: Pick<Target, 'chromiumPath'> = {},
  opts: { playwrightPath?: string | null; systemPath?: string; headlessShellPath?: string; headless?: boolean } = {},
): ChromiumChoice {
  const override = t.chromiumPath ?? process.env.CHROMIUM_PATH?.trim();
  if (override) {
    if (!existsSync(override)) throw new Error(`CHROMIUM_PATH "${override}" does not exist`);
    return { path: override, source: 'CHROMIUM_PATH' };
  }
  let own: string | null | undefined = opts.playwrightPath;
  if (own === undefined) {
    try { own = chromium.executablePath(); } catch { own = null; }
  }
  if (own && existsSync(own)) return { path: own, source: 'playwright' };
  const shell = opts.headlessShellPath ?? HEADLESS_SHELL_PATH;
  if ((opts.headless ?? true) && existsSync(shell)) return { path: shell, source: 'headless-shell' };
  const system = opts.systemPath ?? '/usr/bin/chromium';
  if (existsSync(system)) return { path: system, source: 'system' };
  throw new Error(NO_CHROMIUM);
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

function certutilPath(): string {
  for (const p of ['/usr/bin/certutil', '/usr/local/bin/certutil']) if (existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v certutil'], { encoding: 'utf8' }).trim() || 'certutil';
  } catch {
    throw new Error('certutil not found: `apt-get install -y libnss3-tools` (needed to make Chromium trust CA_FILE)');
  }
}

const homes = new Map<string, string>();
let exitHookInstalled = false;

/**
 * A throwaway HOME whose NSS database (`$HOME/.pki/nssdb`, where Chromium on Linux looks for user trust)
 * trusts `caFile` as an SSL root. One per process and CA; removed when the process exits.
 */
export function nssHomeFor(caFile: string): string {
  const pem = readFileSync(caFile, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`CA file "${caFile}" holds no PEM certificate`);
  const key = createHash('sha256').update(pem).digest('hex').slice(0, 16);
  const known = homes.get(key);
  if (known && existsSync(join(known, '.pki', 'nssdb', 'cert9.db'))) return known;

  const home = mkdtempSync(join(tmpdir(), `gbv-chromium-home-${key}-`));
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true, mode: 0o700 });
  // certutil -A takes the first certificate of a file: hand it exactly the root.
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0];
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
