// `npm run smoke [-- <playwright args>] [--no-report] [--strict]`: load `.env` (the one place that reads it:
// Playwright's runner and workers inherit this environment), validate the configuration (a bad value stops here,
// exit 2, before any stack or browser starts), run Playwright, build the Allure report, exit with Playwright's
// code. `--strict` (or STRICT=1) turns every warning (helpers/findings.ts) into a failure.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, loadDotenv, ROOT } from '../helpers/config.ts';

const DEFAULT_PROJECTS = ['infra', 'db', 'setup', 'auth', 'crud'];

// Values the embedded stack provides; stand-ins let the rest of the configuration be checked before it starts.
const STACK_PLACEHOLDERS: Record<string, string> = {
  APP_URL: 'https://gadgetbot.stack.test', AUTH_URL: 'https://gadgetbot-auth.stack.test',
  DEPLOYER_URL: 'https://gadgetbot-coolify.stack.test', ADMIN_USER: 'placeholder', ADMIN_PASSWORD: 'placeholder',
  VIEWER_USER: 'placeholder', VIEWER_PASSWORD: 'placeholder', CA_FILE: '', DATABASE_URL: '',
  DNS_SERVERS: '127.0.0.1:53', COOLIFY_TOKEN: 'placeholder', COOLIFY_APP_UUID: '', COOLIFY_AUTH_UUID: '',
};

function validate(): void {
  const embedded = !process.env.APP_URL?.trim();
  try {
    loadConfig(embedded ? { ...process.env, ...STACK_PLACEHOLDERS } : process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`verify: ${e.message}\n\nFix the variables above (see .env.example). Nothing was started.`);
    process.exit(2);
  }
}

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
    // Ctrl-C reaches the child through the terminal's process group; SIGTERM from a CI runner may not.
    const forward = (sig: NodeJS.Signals) => () => { try { child.kill(sig); } catch { /* gone */ } };
    const onTerm = forward('SIGTERM');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', () => undefined); // let the child handle Ctrl-C and finish its teardown
    child.on('error', (e) => { console.error(`verify: cannot start ${cmd}: ${e.message}`); res(127); });
    child.on('close', (code, signal) => {
      process.off('SIGTERM', onTerm);
      res(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1));
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const noReport = argv.includes('--no-report');
  if (argv.includes('--strict')) process.env.STRICT = '1';
  const pwArgs = argv.filter((a) => a !== '--no-report' && a !== '--strict');

  loadDotenv(join(ROOT, '.env'));
  process.env.GBV_DOTENV_LOADED = '1';
  validate();

  const hasProject = pwArgs.some((a) => a === '--project' || a.startsWith('--project='));
  if (!hasProject) for (const p of DEFAULT_PROJECTS) pwArgs.push('--project', p);

  const reportsDir = resolve(ROOT, process.env.GBV_REPORTS_DIR ?? 'reports');
  const results = join(reportsDir, 'allure-results');
  // Allure merges every file in the folder: results of an earlier run would show up as this run's.
  rmSync(results, { recursive: true, force: true });

  const require = createRequire(import.meta.url);
  const pwCli = require.resolve('@playwright/test/cli');
  let code = await run(process.execPath, [pwCli, 'test', ...pwArgs]);
  const gate = pwArgs.some((a) => /@smoke/.test(a));

  if (!noReport) {
    if (existsSync(results)) {
      // The allure package exports no CLI path: call its bin file directly, or npx as a fallback.
      const allureCli = join(ROOT, 'node_modules', 'allure', 'cli.js');
      const out = join(reportsDir, 'allure-report');
      const genArgs = ['generate', results, '-o', out];
      const rc = existsSync(allureCli) ? await run(process.execPath, [allureCli, ...genArgs]) : await run('npx', ['allure', ...genArgs]);
      if (rc === 0) console.log(`verify: Allure report in ${out} (npm run report to open it)`);
      else console.error(`verify: Allure report generation failed (exit ${rc}); test results are in ${results}`);
      if (gate && existsSync(allureCli)) {
        // The release gate: Allure's quality gate (allurerc.mjs) fails on any failed @smoke test.
        const qg = await run(process.execPath, [allureCli, 'quality-gate', results, '--config', join(ROOT, 'allurerc.mjs')]);
        if (qg !== 0 && code === 0) code = qg;
      }
    } else {
      console.error('verify: no Allure results were written; no report generated');
    }
  }
  process.exit(code);
}

main().catch((e) => {
  console.error(`verify: ${(e as Error).message}`);
  process.exit(1);
});
