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

// A worker start costs about 1.5 s of CPU (Node loading Playwright), more than most projects' checks take, and
// Playwright never hands a worker to another project. So by default each project keeps one worker and the
// projects run side by side, two at a time: the API-level checks beside the sign-ins, auth beside crud.
// A disruptive run is serial: nothing else runs beside a redeploy or a maintenance window. An explicit
// `--workers N` (the flake hunt, the matrix) spreads each project's files over N workers as well.
const workersAsked = process.argv.some((a) => a === '--workers' || a === '-j' || a.startsWith('--workers='));
const oneWorkerEach = workersAsked ? {} : { workers: 1 };
const defaultWorkers = withDisruptive ? 1 : 2;

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

// Setup first: Playwright hands out workers in project order, and the sign-ins are the longest path (auth and
// crud wait for them), so they start at once while the API-level checks take the other worker.
const projects: NonNullable<PlaywrightTestConfig['projects']> = [
  { name: 'setup', testDir: './tests/setup', testMatch: /.*\.setup\.ts$/, use: browser, ...oneWorkerEach },
  { name: 'infra', testDir: './tests/infra', ...oneWorkerEach },
  { name: 'db', testDir: './tests/db', ...oneWorkerEach },
  { name: 'auth', testDir: './tests/auth', dependencies: ['setup'], use: browser, ...oneWorkerEach },
  { name: 'crud', testDir: './tests/crud', dependencies: ['setup'], use: browser, ...oneWorkerEach },
];
if (withDisruptive) projects.push({ name: 'disruptive', testDir: './tests/disruptive', dependencies: ['setup'], use: browser, ...oneWorkerEach });

export default defineConfig({
  testMatch: /.*\.spec\.ts$/,
  outputDir,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: defaultWorkers,
  reporter: reporters,
  globalSetup: './tests/global-setup.ts',
  globalTeardown: './tests/global-teardown.ts',
  use: {
    // Traces keep every action's DOM snapshot and the network, not the screencast: its frames cost about a tenth of
    // a gate run's CPU on every passing test, and the failing moment has its own screenshot.
    trace: { mode: 'retain-on-failure', screenshots: false },
    screenshot: 'only-on-failure',
    video: 'off',
    ignoreHTTPSErrors: false,
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
  projects,
});
