// The browser is the project's own set-up: before a stack starts or a check runs, make sure a usable Chromium and
// certutil exist, getting them the way Playwright would. Order: a Chromium already on disk (helpers/browser.ts
// `pickChromium`: CHROMIUM_PATH, Playwright's own, Debian's); else Playwright's download where its host answers;
// else, as root on Debian/Ubuntu, apt-get (as `playwright install --with-deps` does for system packages). A machine
// where none of that works gets one line with the command to run: a set-up problem (exit 2), never a failed check.
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import {
  BrowserSetupError, findCertutil, onPath, pickChromium, type ChromiumChoice,
} from './browser.ts';

export { BrowserSetupError };

export interface SetupOptions {
  /** A headed run (`--headed`) needs a windowed Chromium: the headless shell will not do. */
  headed?: boolean;
  /** certutil is needed whenever a CA_FILE is trusted (always for the embedded deployment). */
  certutil?: boolean;
  log?: (line: string) => void;
  /** Bound of the whole `playwright install` (it also gets a short socket time-out). */
  downloadTimeoutMs?: number;
}

export interface SetupResult { chromium: ChromiumChoice; certutil: string | null; installed: string[] }

const PREFIX = 'set-up:';

/** Playwright's download mirrors, as its registry lists them, or the host its env variables name instead. */
export function playwrightDownloadHosts(env: NodeJS.ProcessEnv = process.env): string[] {
  const custom = env.PLAYWRIGHT_CHROMIUM_DOWNLOAD_HOST?.trim() || env.PLAYWRIGHT_DOWNLOAD_HOST?.trim();
  if (custom) return [custom];
  return ['https://cdn.playwright.dev', 'https://playwright.download.prss.microsoft.com'];
}

/**
 * Can any download host be reached (name resolves, TCP connects within `timeoutMs`)? Playwright itself tries each
 * mirror with a 30 s socket time-out: behind a firewall that drops packets that is minutes of waiting for nothing.
 */
export async function probeDownloadHosts(hosts: string[], timeoutMs = 3000): Promise<{ ok: boolean; seen: string[] }> {
  const seen = await Promise.all(hosts.map(async (h) => {
    const u = new URL(h);
    const port = Number(u.port) || (u.protocol === 'http:' ? 80 : 443);
    try {
      const { address } = await lookup(u.hostname);
      await new Promise<void>((res, rej) => {
        const s = connect({ host: address, port, timeout: timeoutMs });
        s.once('connect', () => { s.destroy(); res(); });
        s.once('timeout', () => { s.destroy(); rej(Object.assign(new Error('timeout'), { code: `no answer in ${timeoutMs} ms` })); });
        s.once('error', rej);
      });
      return { ok: true, line: `${u.host} answers` };
    } catch (e) {
      return { ok: false, line: `${u.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    }
  }));
  return { ok: seen.some((s) => s.ok), seen: seen.map((s) => s.line) };
}

interface Ran { code: number | null; out: string; timedOut: boolean }

/** A child process with its output kept (shown only when it fails), killed after `timeoutMs`. */
function runQuiet(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Ran> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); res({ code: 127, out: e.message, timedOut }); });
    child.on('close', (code) => { clearTimeout(timer); res({ code, out, timedOut }); });
  });
}

/** The lines of a tool's output that say what went wrong (not its stack traces), at most `n`. */
export function gist(text: string, n = 2): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^at\s|^[{}]|^\w+: ['\d-]/.test(l));
  const said = [...new Set(lines.filter((l) => /^E:|error|fail/i.test(l)))];
  return (said.length ? said.slice(0, n) : lines.slice(-n)).join(' | ');
}

/** `playwright install <browser>` through the project's own Playwright, when a download host answers. */
async function playwrightDownload(o: SetupOptions, log: (l: string) => void): Promise<boolean> {
  const browser = o.headed ? 'chromium' : 'chromium-headless-shell';
  const proxied = ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy'].some((k) => process.env[k]);
  if (!proxied) {
    const probe = await probeDownloadHosts(playwrightDownloadHosts());
    if (!probe.ok) {
      log(`${PREFIX} Playwright's download host cannot be reached (${probe.seen.join('; ')}): not downloading`);
      return false;
    }
  }
  const cli = createRequire(import.meta.url).resolve('@playwright/test/cli');
  log(`${PREFIX} downloading Playwright's ${browser} (playwright install ${browser})`);
  const env = { ...process.env, PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT: process.env.PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT ?? '15000' };
  const r = await runQuiet(process.execPath, [cli, 'install', browser], env, o.downloadTimeoutMs ?? 300_000);
  if (r.code === 0) return true;
  log(`${PREFIX} playwright install ${browser} failed${r.timedOut ? ' (stopped: took too long)' : ''}: ${gist(r.out)}`);
  return false;
}

/** Debian or Ubuntu (or a derivative), from /etc/os-release. */
export function isDebianLike(osRelease = '/etc/os-release'): boolean {
  try {
    const text = readFileSync(osRelease, 'utf8');
    const ids = /^(ID|ID_LIKE)=(.*)$/gm;
    for (let m = ids.exec(text); m; m = ids.exec(text)) if (/\b(debian|ubuntu)\b/.test(m[2].replace(/"/g, ''))) return true;
  } catch { /* not Linux, or no os-release */ }
  return false;
}

/** The Debian packages this run lacks: the headless shell (or chromium for headed runs) and certutil's package. */
function packagesFor(o: SetupOptions, needBrowser: boolean, needCertutil: boolean): string[] {
  return [
    ...(needBrowser ? [o.headed ? 'chromium' : 'chromium-headless-shell'] : []),
    ...(needCertutil ? ['libnss3-tools'] : []),
  ];
}

function aptCommand(pkgs: string[], sudo: boolean): string {
  const s = sudo ? 'sudo ' : '';
  return `${s}apt-get update && ${s}env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

/** apt-get update, then install, as Playwright's `install-deps` does (non-interactive, no recommends). */
async function aptInstall(pkgs: string[], aptGet: string, log: (l: string) => void): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`${PREFIX} apt-get update`);
  const up = await runQuiet(aptGet, ['update'], env, 300_000);
  if (up.code !== 0) {
    throw new BrowserSetupError(`${PREFIX} apt-get update failed (${gist(up.out)})`, aptCommand(pkgs, false));
  }
  log(`${PREFIX} apt-get install -y --no-install-recommends ${pkgs.join(' ')}`);
  const inst = await runQuiet(aptGet, ['install', '-y', '--no-install-recommends', ...pkgs], env, 600_000);
  if (inst.code !== 0) {
    throw new BrowserSetupError(`${PREFIX} apt-get install failed (${gist(inst.out)})`, aptCommand(pkgs, false));
  }
}

function tryPick(o: SetupOptions): ChromiumChoice | null {
  try { return pickChromium({}, { headless: !o.headed }); } catch (e) {
    if (e instanceof BrowserSetupError) return null;
    // A CHROMIUM_PATH that does not exist: nothing to install, the variable is wrong.
    throw new BrowserSetupError(`${PREFIX} ${(e as Error).message}`, 'point CHROMIUM_PATH at a Chromium, or unset it');
  }
}

function describe(c: ChromiumChoice): string {
  const what = { CHROMIUM_PATH: 'CHROMIUM_PATH', playwright: "Playwright's own", 'headless-shell': "Debian's headless shell", system: "Debian's chromium" }[c.source];
  return `${what} ${c.path}`;
}

/**
 * Makes sure a Chromium (and certutil when asked) exist, installing what is missing where this machine allows.
 * Throws BrowserSetupError (one line, with the command to run) where it cannot.
 */
export async function ensureBrowser(o: SetupOptions = {}): Promise<SetupResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const installed: string[] = [];
  let chromium = tryPick(o);
  let certutil = findCertutil();
  const wantCertutil = o.certutil ?? true;
  log(`${PREFIX} Chromium: ${chromium ? describe(chromium) : 'none found'}${wantCertutil ? `; certutil: ${certutil ?? 'none found'}` : ''}`);
  if (!chromium && (await playwrightDownload(o, log))) {
    chromium = tryPick(o);
    if (chromium) { installed.push(`playwright ${o.headed ? 'chromium' : 'chromium-headless-shell'}`); log(`${PREFIX} Chromium: ${describe(chromium)}`); }
  }
  const pkgs = packagesFor(o, !chromium, wantCertutil && !certutil);
  if (!pkgs.length) return { chromium: chromium!, certutil, installed };

  const aptGet = onPath('apt-get');
  const root = process.getuid?.() === 0;
  const debian = isDebianLike();
  const missing = [!chromium ? 'no Chromium' : '', wantCertutil && !certutil ? 'no certutil' : ''].filter(Boolean).join(' and ');
  if (!root || !aptGet || !debian) {
    const command = debian || aptGet ? aptCommand(pkgs, !root) : 'install Chromium and NSS certutil with your package manager, or set CHROMIUM_PATH';
    const why = [!root && 'not root', !aptGet && 'no apt-get on PATH', !debian && 'not Debian/Ubuntu'].filter(Boolean).join(', ');
    throw new BrowserSetupError(`${PREFIX} ${missing} on this machine, and the set-up cannot install here (${why})`, command);
  }
  log(`${PREFIX} ${missing}: installing Debian's ${pkgs.join(', ')} (running as root)`);
  await aptInstall(pkgs, aptGet, log);
  installed.push(...pkgs);
  chromium = tryPick(o);
  certutil = findCertutil();
  if (!chromium || (wantCertutil && !certutil)) {
    throw new BrowserSetupError(`${PREFIX} apt-get installed ${pkgs.join(' ')} but ${!chromium ? 'no Chromium' : 'no certutil'} is there`, aptCommand(pkgs, false));
  }
  log(`${PREFIX} ready: ${describe(chromium)}${wantCertutil ? `; certutil ${certutil}` : ''}`);
  return { chromium, certutil, installed };
}

/** The one line a set-up problem ends with. */
export function setupProblemLine(e: BrowserSetupError): string {
  return `${e.message.startsWith(PREFIX) ? e.message : `${PREFIX} ${e.message}`}. Run: ${e.command}`;
}

/** For entry points: ensureBrowser, or print the one line and exit 2 (a set-up problem, not a failed deployment). */
export async function ensureBrowserOrExit(o: SetupOptions = {}): Promise<SetupResult> {
  try {
    return await ensureBrowser(o);
  } catch (e) {
    if (!(e instanceof BrowserSetupError)) throw e;
    console.error(setupProblemLine(e));
    process.exit(2);
  }
}

/** Was a Chromium or certutil found missing later in the run (a worker's launch)? The recorded lines, if any. */
export function recordedSetupProblems(file: string): string[] {
  if (!existsSync(file)) return [];
  return [...new Set(readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()))];
}

const NO_BROWSER_PROJECTS = new Set(['infra', 'db']);

/**
 * What a run with these Playwright arguments needs: a browser unless every project named is API-level (infra, db),
 * certutil when a CA_FILE is trusted in the browser (always for the embedded deployment), a windowed one for --headed.
 */
export function browserNeeds(pwArgs: string[], env: NodeJS.ProcessEnv): { browser: boolean; certutil: boolean; headed: boolean } {
  const projects: string[] = [];
  pwArgs.forEach((a, i) => {
    if (a === '--project' && pwArgs[i + 1]) projects.push(pwArgs[i + 1]);
    else if (a.startsWith('--project=')) projects.push(a.slice('--project='.length));
  });
  const browser = !projects.length || projects.some((p) => !NO_BROWSER_PROJECTS.has(p));
  const embedded = !env.APP_URL?.trim();
  return { browser, certutil: browser && (embedded || !!env.CA_FILE?.trim()), headed: pwArgs.includes('--headed') };
}
