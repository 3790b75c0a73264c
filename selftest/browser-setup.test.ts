// The browser set-up (helpers/browser-setup.ts) as a user meets it: real child processes of bin/setup.ts and
// bin/verify.ts on this machine, with the places it looks (GBV_SYSTEM_ROOT, PLAYWRIGHT_BROWSERS_PATH, PATH,
// PLAYWRIGHT_DOWNLOAD_HOST) pointed at folders made here, so each branch meets the machine it is for:
// a browser already there; nothing there and not root (exit 2, the command, no check run); root without apt-get;
// root with apt-get (a stand-in that records how it is called); Playwright's download from a local mirror.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import JSZip from 'jszip';
import { browserNeeds, isDebianLike, playwrightDownloadHosts, probeDownloadHosts } from '../helpers/browser-setup.ts';
import { HEADLESS_SHELL_PATH, playwrightHeadlessShellPath } from '../helpers/browser.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BROWSERS = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'playwright-core', 'browsers.json'), 'utf8')) as {
  browsers: { name: string; revision: string; browserVersion?: string }[];
};

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: string[], env: Record<string, string>, asNobody = false): Promise<Run> {
  const cmd = asNobody ? '/usr/bin/setpriv' : process.execPath;
  const argv = asNobody
    ? ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '--import', 'tsx', ...args]
    : ['--import', 'tsx', ...args];
  return new Promise((res, rej) => {
    // env -i style: only what is given, so nothing of this machine's own set-up leaks in.
    const child = spawn(cmd, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

let dir: string;
let closedPort: number;
/** A folder of this run, open to `nobody` too. */
function folder(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  chmodSync(d, 0o777);
  return d;
}

/** A PATH holding only node (and what `extra` adds): no apt-get, no certutil. */
function barePath(name: string, extra: Record<string, string> = {}): string {
  const bin = folder(name);
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const [file, body] of Object.entries(extra)) {
    writeFileSync(join(bin, file), body);
    chmodSync(join(bin, file), 0o755);
  }
  return bin;
}

/** The environment of a machine with nothing: empty system root and Playwright cache, an unreachable mirror. */
function emptyMachine(name: string, over: Record<string, string> = {}): Record<string, string> {
  const home = folder(`${name}-home`);
  return {
    PATH: barePath(`${name}-bin`),
    HOME: home,
    GBV_SYSTEM_ROOT: folder(`${name}-root`),
    PLAYWRIGHT_BROWSERS_PATH: folder(`${name}-pw`),
    PLAYWRIGHT_DOWNLOAD_HOST: `http://127.0.0.1:${closedPort}`,
    GBV_REPORTS_DIR: folder(`${name}-reports`),
    ...over,
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gbv-setup-selftest-'));
  chmodSync(dir, 0o755);
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
});
after(() => { rmSync(dir, { recursive: true, force: true }); });

describe('what a run needs', () => {
  test('a browser unless only API-level projects run; certutil with it for the embedded stack or a CA_FILE; --headed', () => {
    assert.deepEqual(browserNeeds(['--project', 'infra', '--project=db'], {}), { browser: false, certutil: false, headed: false });
    assert.deepEqual(browserNeeds(['--project', 'infra', '--project', 'crud'], {}), { browser: true, certutil: true, headed: false });
    assert.deepEqual(browserNeeds(['--grep', '@smoke', '--headed'], {}), { browser: true, certutil: true, headed: true });
    assert.deepEqual(browserNeeds([], { APP_URL: 'https://gadgetbot.example' }), { browser: true, certutil: false, headed: false });
    assert.equal(browserNeeds([], { APP_URL: 'https://gadgetbot.example', CA_FILE: '/x/ca.pem' }).certutil, true);
  });
  test("Playwright's download hosts: its mirrors, or the one its variables name", () => {
    assert.deepEqual(playwrightDownloadHosts({}), ['https://cdn.playwright.dev', 'https://playwright.download.prss.microsoft.com']);
    assert.deepEqual(playwrightDownloadHosts({ PLAYWRIGHT_DOWNLOAD_HOST: 'https://m.example' }), ['https://m.example']);
    assert.deepEqual(playwrightDownloadHosts({ PLAYWRIGHT_DOWNLOAD_HOST: 'https://m.example', PLAYWRIGHT_CHROMIUM_DOWNLOAD_HOST: 'https://c.example' }), ['https://c.example']);
  });
  test('the reachability probe says what it met: refused, unresolvable, answering', async () => {
    const s = createServer((_q, r) => r.end());
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const open = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
      const p = await probeDownloadHosts([`http://127.0.0.1:${closedPort}`, 'https://no-such-host.invalid', open], 2000);
      assert.equal(p.ok, true);
      assert.deepEqual(p.seen, [`127.0.0.1:${closedPort}: ECONNREFUSED`, 'no-such-host.invalid: ENOTFOUND', `${new URL(open).host} answers`]);
      assert.equal((await probeDownloadHosts([`http://127.0.0.1:${closedPort}`])).ok, false);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
  test('Debian is recognised from os-release (ID or ID_LIKE), other systems are not', () => {
    const f = join(dir, 'os-release');
    writeFileSync(f, 'ID=ubuntu\nID_LIKE=debian\n');
    assert.equal(isDebianLike(f), true);
    writeFileSync(f, 'ID=linuxmint\nID_LIKE="ubuntu debian"\n');
    assert.equal(isDebianLike(f), true);
    writeFileSync(f, 'ID=fedora\n');
    assert.equal(isDebianLike(f), false);
    assert.equal(isDebianLike(join(dir, 'none')), false);
  });
  test("Playwright's headless shell lies beside its Chromium build", () => {
    assert.equal(playwrightHeadlessShellPath('/c/ms-playwright/chromium-1255/chrome-linux64/chrome'),
      '/c/ms-playwright/chromium_headless_shell-1255/chrome-headless-shell-linux64/chrome-headless-shell');
    assert.equal(playwrightHeadlessShellPath('/usr/bin/chromium'), null);
  });
});

describe('the set-up on this machine', () => {
  test('a browser and certutil already there: found, said, nothing installed (exit 0)', async () => {
    assert.ok(existsSync(HEADLESS_SHELL_PATH) && existsSync('/usr/bin/certutil'), 'this machine has been set up (the first smoke run did)');
    const r = await run(['bin/setup.ts'], { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^set-up: Chromium: .+\/(chrome-headless-shell|chromium-headless-shell|chrome); certutil: \/usr\/bin\/certutil$/m);
    assert.doesNotMatch(r.stdout, /apt-get|download/);
  });
});

describe('a machine without a browser', () => {
  test('not root: npm run smoke stops before any check, exit 2, one line with the command, no verdict', async () => {
    // Debian's own apt-get is on PATH, as on any Debian machine: only being root is missing.
    const env = emptyMachine('nobody');
    symlinkSync('/usr/bin/apt-get', join(env.PATH, 'apt-get'));
    const r = await run(['bin/verify.ts'], env, true);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(lines[0], 'set-up: no Chromium and no certutil on this machine, and the set-up cannot install here (not root). '
      + 'Run: sudo apt-get update && sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium-headless-shell libnss3-tools');
    assert.match(r.stdout, /^set-up: Chromium: none found; certutil: none found$/m);
    assert.match(r.stdout, new RegExp(`^set-up: Playwright's download host cannot be reached \\(127\\.0\\.0\\.1:${closedPort}: ECONNREFUSED\\): not downloading$`, 'm'));
    assert.doesNotMatch(r.stdout + r.stderr, /VERDICT|\[setup\]|Running \d+ test/, 'no stack started, no Playwright run, no verdict');
    assert.deepEqual(readdirSync(env.GBV_REPORTS_DIR), [], 'nothing written to the reports folder');
  });

  test('not root, headed: the command names Debian\'s chromium (the headless shell has no window)', async () => {
    const env = emptyMachine('headed');
    symlinkSync('/usr/bin/apt-get', join(env.PATH, 'apt-get'));
    const r = await run(['bin/setup.ts', '--headed', '--no-certutil'], env, true);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^set-up: no Chromium on this machine, .*\(not root\)\. Run: sudo apt-get update && .*--no-install-recommends chromium$/m);
  });

  test('root without apt-get: exit 2 naming why and the command', async () => {
    const r = await run(['bin/setup.ts'], emptyMachine('noapt'));
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /^set-up: no Chromium and no certutil on this machine, and the set-up cannot install here \(no apt-get on PATH\)\. Run: apt-get update && env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium-headless-shell libnss3-tools$/m);
  });

  test('root with apt-get: update first, then a non-interactive install without recommends of exactly what lacks', async () => {
    const base = emptyMachine('apt');
    const calls = join(dir, 'apt-calls');
    const sysRoot = base.GBV_SYSTEM_ROOT;
    // Stands in for apt-get (this machine's real one must not install anything twice): records how it is called and
    // puts the files the packages would install where the set-up looks.
    const aptGet = `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> ${calls}\n`
      + `if [ "$1" = install ]; then /bin/mkdir -p ${sysRoot}/usr/bin; for p in "$@"; do case "$p" in\n`
      + `  chromium-headless-shell) : > ${sysRoot}${HEADLESS_SHELL_PATH};;\n  chromium) : > ${sysRoot}/usr/bin/chromium;;\n`
      + `  libnss3-tools) : > ${sysRoot}/usr/bin/certutil;; esac; done; fi\n`;
    const env = { ...base, PATH: barePath('apt-tools', { 'apt-get': aptGet }) };
    const r = await run(['bin/setup.ts'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(readFileSync(calls, 'utf8').trim().split('\n'), [
      'noninteractive update',
      'noninteractive install -y --no-install-recommends chromium-headless-shell libnss3-tools',
    ]);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'set-up: Chromium: none found; certutil: none found',
      `set-up: Playwright's download host cannot be reached (127.0.0.1:${closedPort}: ECONNREFUSED): not downloading`,
      "set-up: no Chromium and no certutil: installing Debian's chromium-headless-shell, libnss3-tools (running as root)",
      'set-up: apt-get update',
      'set-up: apt-get install -y --no-install-recommends chromium-headless-shell libnss3-tools',
      `set-up: ready: Debian's headless shell ${sysRoot}${HEADLESS_SHELL_PATH}; certutil ${sysRoot}/usr/bin/certutil`,
    ]);

    // Run again: everything is there now, so nothing is installed (a second call to apt-get would show).
    const again = await run(['bin/setup.ts'], env);
    assert.equal(again.code, 0);
    assert.equal(readFileSync(calls, 'utf8').trim().split('\n').length, 2);
    assert.match(again.stdout, /^set-up: Chromium: Debian's headless shell .+; certutil: .+certutil$/m);
  });

  test('root, apt-get fails: exit 2 with its last words and the command', async () => {
    const env = { ...emptyMachine('aptfail'), PATH: barePath('aptfail-tools', { 'apt-get': '#!/bin/sh\necho "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2\nexit 100\n' }) };
    const r = await run(['bin/setup.ts'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^set-up: apt-get update failed \(E: Could not get lock \/var\/lib\/dpkg\/lock-frontend\)\. Run: apt-get update && /m);
  });

  test("Playwright's download where its host answers: the set-up uses the browser it installed", async () => {
    const shell = BROWSERS.browsers.find((b) => b.name === 'chromium-headless-shell')!;
    // A mirror serving the zips Playwright asks for (the shell, and ffmpeg, which it installs with any Chromium),
    // each holding an executable where the real build has it.
    const zipOf = async (file: string) => {
      const zip = new JSZip();
      zip.file(file, '#!/bin/sh\necho stand-in\n', { unixPermissions: 0o755 });
      return zip.generateAsync({ type: 'nodebuffer', platform: 'UNIX' });
    };
    const zips: Record<string, Buffer> = {
      'chrome-headless-shell-linux64.zip': await zipOf('chrome-headless-shell-linux64/chrome-headless-shell'),
      'ffmpeg-linux.zip': await zipOf('ffmpeg-linux'),
    };
    const asked: string[] = [];
    const mirror: Server = createServer((req, res) => {
      asked.push(req.url ?? '');
      const body = zips[(req.url ?? '').split('/').pop()!];
      if (body) {
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length });
        res.end(body);
      } else { res.writeHead(404); res.end(); }
    });
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
    try {
      const env = emptyMachine('download', { PLAYWRIGHT_DOWNLOAD_HOST: `http://127.0.0.1:${(mirror.address() as AddressInfo).port}` });
      const r = await run(['bin/setup.ts', '--no-certutil'], env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(asked[0], `/builds/cft/${shell.browserVersion}/linux64/chrome-headless-shell-linux64.zip`);
      const installed = join(env.PLAYWRIGHT_BROWSERS_PATH, `chromium_headless_shell-${shell.revision}`, 'chrome-headless-shell-linux64', 'chrome-headless-shell');
      assert.deepEqual(r.stdout.trim().split('\n'), [
        'set-up: Chromium: none found',
        "set-up: downloading Playwright's chromium-headless-shell (playwright install chromium-headless-shell)",
        `set-up: Chromium: Playwright's own ${installed}`,
      ]);
    } finally {
      await new Promise<void>((r) => mirror.close(() => r()));
    }
  });
});

describe('a browser gone missing after the set-up (a worker launching one)', () => {
  test('launchOptionsFor fails with the set-up line and records it for bin/verify.ts (exit 2, not a failed check)', async () => {
    const env = emptyMachine('late');
    const script = [
      "import { launchOptionsFor, setupProblemFile } from './helpers/browser.ts';",
      "import { recordedSetupProblems } from './helpers/browser-setup.ts';",
      "import { loadConfig } from './helpers/config.ts';",
      "const t = loadConfig({ APP_URL: 'https://a.test', AUTH_URL: 'https://b.test', ADMIN_USER: 'u', ADMIN_PASSWORD: 'p' });",
      "try { await launchOptionsFor(t); console.log('launched?'); } catch (e) { console.log(`${e.name}: ${e.message}`); }",
      "await launchOptionsFor(t).catch(() => undefined);",
      "console.log(JSON.stringify(recordedSetupProblems(setupProblemFile())));",
    ].join('\n');
    const r = await run(['--input-type=module', '-e', script], env);
    assert.equal(r.code, 0, r.stderr);
    const [first, recorded] = r.stdout.trim().split('\n');
    assert.equal(first, 'BrowserSetupError: no Chromium: `npm run setup` installs one (as root), or set CHROMIUM_PATH');
    assert.deepEqual(JSON.parse(recorded), ['no Chromium: `npm run setup` installs one (as root), or set CHROMIUM_PATH'],
      'recorded once however many workers meet it');
    assert.ok(existsSync(join(env.GBV_REPORTS_DIR, 'setup-problem.txt')));
  });
});

describe('bin/verify.ts when the browser vanishes after the set-up', () => {
  test('the run ends as a set-up problem: exit 2 and the line, not a failed deployment', async () => {
    const base = emptyMachine('vanish');
    const shell = join(base.GBV_SYSTEM_ROOT, HEADLESS_SHELL_PATH);
    mkdirSync(join(base.GBV_SYSTEM_ROOT, 'usr', 'bin'), { recursive: true });
    writeFileSync(shell, '');
    symlinkSync('/usr/bin/certutil', join(base.GBV_SYSTEM_ROOT, 'usr', 'bin', 'certutil'));
    const env = {
      ...base, PATH: process.env.PATH!, GBV_NO_DOTENV: '1', STACK_SIGNIN_RATE_LIMIT: 'off',
      GBV_OUTPUT_DIR: folder('vanish-results'),
    };
    const r = await new Promise<Run>((res, rej) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/verify.ts', '--no-report', '--project', 'setup'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        // The set-up found it; the stack is starting: now it goes, before any worker launches a browser.
        if (/\[setup\] no APP_URL configured/.test(stdout)) rmSync(shell, { force: true });
      });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('error', rej);
      child.on('close', (code) => res({ code, stdout, stderr }));
    });
    assert.match(r.stdout, /^set-up: Chromium: Debian's headless shell .+chromium-headless-shell; certutil: .+certutil$/m);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^verify: set-up problem during the run, not a deployment failure: no Chromium: `npm run setup` installs one \(as root\), or set CHROMIUM_PATH$/m);
    // The checks it stopped are not findings: no FAILED verdict blames the deployment.
    assert.match(r.stdout, /^VERDICT: NO VERDICT — .*first root cause: set-up problem on this machine, not a deployment failure: no Chromium: `npm run setup` installs one/m);
    assert.doesNotMatch(r.stdout, /^VERDICT: FAILED/m);
  });
});
