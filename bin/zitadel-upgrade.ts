// `npx tsx bin/zitadel-upgrade.ts [--watch <minutes>] [--trigger] [--settle <seconds>] [--no-report]`
//
// Measures a Zitadel upgrade with the @zitadel-upgrade check (tests/disruptive/zitadel-upgrade.spec.ts).
// Watch mode (default when no COOLIFY_AUTH_UUID is configured): the check records the "before" state, then this
// script tells the operator to upgrade Zitadel in Coolify and waits; Enter says "done" (otherwise the watch ends
// by itself once auth has been back for --settle seconds, or when the window runs out). Trigger mode: the check
// deploys the auth resource through the Coolify API itself. Either way the check first proves the auth service
// restarted (Zitadel's process start time in /debug/metrics changed, or an auth outage was seen): a watch in
// which nothing was upgraded fails "the auth service did not restart" rather than passing on nothing. The
// measurements (auth downtime against the window, the app session's fate, issuer, JWKS) are printed at the end
// and carried on the VERDICT line; the report holds the timeline and samples.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDotenv, ROOT } from '../helpers/config.ts';
import { SIGNAL_DONE, SIGNAL_WATCHING, hasSignal, signal } from '../tests/disruptive/lib.ts';

const USAGE = `usage: npx tsx bin/zitadel-upgrade.ts [--watch <minutes>] [--trigger] [--settle <seconds>] [--no-report]
  --watch <minutes>   watch for the operator's upgrade (default 30); Enter when the upgrade is done
  --trigger           deploy the auth resource through the Coolify API (needs COOLIFY_TOKEN, COOLIFY_AUTH_UUID)
  --settle <seconds>  after an auth outage, how long auth must be back before the watch ends by itself (default 15)
  --no-report         skip the Allure report`;

function parse(argv: string[]) {
  const o = { mode: undefined as 'watch' | 'trigger' | undefined, watchMin: 30, settleS: 15, noReport: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (name: string) => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) { console.error(`zitadel-upgrade: ${name} needs a positive number\n${USAGE}`); process.exit(2); }
      return v;
    };
    if (a === '--watch') { o.mode = 'watch'; if (argv[i + 1] && !argv[i + 1].startsWith('--')) o.watchMin = num('--watch'); }
    else if (a === '--trigger') o.mode = 'trigger';
    else if (a === '--settle') o.settleS = num('--settle');
    else if (a === '--no-report') o.noReport = true;
    else if (a === '-h' || a === '--help') { console.log(USAGE); process.exit(0); }
    else { console.error(`zitadel-upgrade: unknown argument ${a}\n${USAGE}`); process.exit(2); }
  }
  return o;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  loadDotenv(join(ROOT, '.env'));
  const mode = o.mode ?? (process.env.COOLIFY_AUTH_UUID?.trim() ? 'trigger' : 'watch');
  if (mode === 'watch' && !process.env.APP_URL?.trim()) {
    console.error('zitadel-upgrade: watch mode measures a real deployment: set APP_URL, AUTH_URL and the rest in .env ' +
      '(the embedded stack has nobody to upgrade it; use --trigger there)');
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gbv-upgrade-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    UPGRADE_MODE: mode,
    UPGRADE_SIGNAL_DIR: dir,
    UPGRADE_SETTLE_MS: String(Math.round(o.settleS * 1000)),
    ...(mode === 'watch' ? { UPGRADE_WATCH_MS: String(Math.round(o.watchMin * 60_000)) } : {}),
  };
  const args = ['--import', 'tsx', join(ROOT, 'bin', 'verify.ts'), '--project', 'disruptive', '--grep', '@zitadel-upgrade'];
  if (o.noReport) args.push('--no-report');
  console.log(`zitadel-upgrade: ${mode === 'watch' ? `watch mode, up to ${o.watchMin} min` : 'trigger mode (deploys the auth resource through Coolify)'}`);

  // stdin stays here (for Enter); the check's output goes straight to the terminal.
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const onTerm = () => { try { child.kill('SIGTERM'); } catch { /* gone */ } };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', () => undefined); // Ctrl-C reaches the child through the process group; let it tear down

  let prompted = false;
  const onLine = () => {
    if (!prompted || hasSignal(dir, SIGNAL_DONE)) return;
    signal(dir, SIGNAL_DONE);
    console.log('zitadel-upgrade: noted: upgrade done; waiting for auth to be ready, then checking');
  };
  const watcher = setInterval(() => {
    if (prompted || !hasSignal(dir, SIGNAL_WATCHING)) return;
    prompted = true;
    if (mode === 'watch') {
      console.log('\n' + [
        'zitadel-upgrade: baseline recorded, probing auth and app every 200 ms.',
        '  Upgrade Zitadel now: Coolify → the zitadel-stack resource → set the new image tags → Deploy.',
        process.stdin.isTTY
          ? '  Press Enter when the deployment has finished'
          : '  (no terminal: the watch ends by itself)',
        `  The watch also ends once auth has been back for ${o.settleS} s after an outage, at the latest after ${o.watchMin} min.`,
      ].join('\n') + '\n');
      if (process.stdin.isTTY) {
        process.stdin.setEncoding('utf8');
        process.stdin.on('data', onLine);
        process.stdin.resume();
      }
    }
  }, 500);

  const code: number = await new Promise((res) => {
    child.on('error', (e) => { console.error(`zitadel-upgrade: cannot start the check: ${e.message}`); res(127); });
    child.on('close', (c, sig) => res(c ?? (sig ? 128 + (sig === 'SIGINT' ? 2 : 15) : 1)));
  });
  clearInterval(watcher);
  process.off('SIGTERM', onTerm);
  process.stdin.pause();
  process.stdin.off('data', onLine);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  if (mode === 'watch' && !prompted && code !== 0) {
    console.error('zitadel-upgrade: the check ended before the baseline was recorded: see the messages above');
  }
  return code;
}

main().then((c) => process.exit(c), (e) => {
  console.error(`zitadel-upgrade: ${(e as Error).message}`);
  process.exit(1);
});
