// Projects: infra and db need no browser; setup signs in once per user, auth and crud reuse that session;
// disruptive (redeploys, restarts) exists only when asked for, so a plain run can never break a deployment.
// The target comes from the environment (bin/verify.ts loaded `.env` into it; global setup adds the embedded
// stack's): this file reads no `.env`.
import { defineConfig, devices, type PlaywrightTestConfig, type ReporterDescription } from '@playwright/test';
import { join, resolve } from 'node:path';
import { generateRunId } from './helpers/config.ts';

const ROOT = import.meta.dirname;

// One run id for the runner and every worker (test data names, the run record): decided here, where the
// runner starts, and inherited by the workers, which load this file again with RUN_ID already set.
if (!process.env.RUN_ID?.trim()) process.env.RUN_ID = generateRunId();

/** `--project disruptive` / `--project=disruptive` on the command line (also globs naming it). */
function disruptiveRequested(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = a === '--project' ? argv[i + 1] : a.startsWith('--project=') ? a.slice('--project='.length) : undefined;
    if (v && /disrupt/i.test(v)) return true;
  }
  return false;
}
// Workers load this file again without the runner's argv: the runner's decision travels in the env.
if (disruptiveRequested(process.argv)) process.env.RUN_DISRUPTIVE = '1';
const withDisruptive = process.env.RUN_DISRUPTIVE === '1';

const reportsDir = resolve(ROOT, process.env.GBV_REPORTS_DIR ?? 'reports');
const outputDir = resolve(ROOT, process.env.GBV_OUTPUT_DIR ?? 'test-results');

const reporters: ReporterDescription[] = [
  ['list'],
  ['allure-playwright', { resultsDir: join(reportsDir, 'allure-results'), detail: true, suiteTitle: true }],
  // PLAYWRIGHT_JSON_OUTPUT_NAME (self-tests) wins over the default file.
  ['json', process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? {} : { outputFile: join(reportsDir, 'results.json') }],
  ['junit', { outputFile: join(reportsDir, 'junit.xml') }],
  ['./helpers/verdict-reporter.ts'],
];

const browser = { ...devices['Desktop Chrome'] };

const projects: NonNullable<PlaywrightTestConfig['projects']> = [
  { name: 'infra', testDir: './tests/infra' },
  { name: 'db', testDir: './tests/db' },
  { name: 'setup', testDir: './tests/setup', testMatch: /.*\.setup\.ts$/, use: browser },
  { name: 'auth', testDir: './tests/auth', dependencies: ['setup'], use: browser },
  { name: 'crud', testDir: './tests/crud', dependencies: ['setup'], use: browser },
];
if (withDisruptive) projects.push({ name: 'disruptive', testDir: './tests/disruptive', dependencies: ['setup'], use: browser });

export default defineConfig({
  testMatch: /.*\.spec\.ts$/,
  outputDir,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: process.env.CI ? 2 : undefined,
  reporter: reporters,
  globalSetup: './tests/global-setup.ts',
  globalTeardown: './tests/global-teardown.ts',
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    video: 'off',
    ignoreHTTPSErrors: false,
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
  projects,
});
