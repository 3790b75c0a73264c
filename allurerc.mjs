// Allure 3 configuration for gadgetbot-verify.
//
//   npx allure generate                 reads reports/allure-results, writes reports/allure-report
//   npx allure quality-gate             exits 1 when any @smoke test failed (rules below)
//   npx allure open reports/allure-report
//
// All paths live under GBV_REPORTS_DIR (default ./reports, relative to the working directory).
// History: reports/history/history.jsonl, one line per generated report. In CI cache the folder
// `reports/history` between runs (actions/cache, see .github/workflows/smoke.yml) so trends and
// "new failure / fixed" transitions survive; delete it to start the history afresh.
//
// Nothing here may print or embed a secret: the environment block takes describeTarget() (secrets-free by
// contract) or, when the config does not load, a whitelist of URL/name variables only.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';

// Allure 3.18's quality gate calls Iterator.prototype.toArray (Node 22+); on Node 20 `allure quality-gate`
// would crash with a TypeError and fail every run. This is the standard method, added only when missing.
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
if (typeof IteratorPrototype.toArray !== 'function') {
  Object.defineProperty(IteratorPrototype, 'toArray', {
    value: function toArray() {
      return Array.from({ [Symbol.iterator]: () => this });
    },
    writable: true,
    configurable: true,
  });
}

const here = new URL('.', import.meta.url);
const reportsDir = resolve(process.env.GBV_REPORTS_DIR ?? 'reports');

function readEnvFile(file) {
  try {
    return existsSync(file) ? parseDotenv(readFileSync(file)) : {};
  } catch {
    return {};
  }
}

function readJson(file) {
  try {
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  } catch {
    return undefined;
  }
}

// The target as the run saw it: the process env wins, then the embedded stack's last target, then .env.
const targetEnv = {
  ...readEnvFile(resolve('.env')),
  ...readEnvFile(resolve('.stack', 'last-target.env')),
  ...Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)),
};

// The project's TypeScript helpers (diagnosis table, describeTarget) through tsx, so categories use the very
// same signatures as the verdict hint. A failure here degrades to plain-regex categories, never to no report.
let tsImport;
try {
  ({ tsImport } = await import('tsx/esm/api'));
} catch {
  tsImport = undefined;
}
async function helper(path) {
  if (!tsImport) return undefined;
  try {
    return await tsImport(new URL(path, here).href, import.meta.url);
  } catch {
    return undefined;
  }
}
const diagnosis = await helper('./helpers/diagnosis.ts');
const configModule = await helper('./helpers/config.ts');

const PRINTABLE = ['TARGET_NAME', 'APP_URL', 'AUTH_URL', 'DEPLOYER_URL', 'RUN_ID', 'CA_FILE'];

function describe() {
  if (configModule?.loadConfig && configModule?.describeTarget) {
    // The report is built after the run: the embedded stack may be gone with its CA file. Variables the
    // config rejects now (each problem line starts with the variable's name) are left out and named.
    const env = { ...targetEnv };
    const dropped = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const d = configModule.describeTarget(configModule.loadConfig(env));
        for (const k of dropped) if (PRINTABLE.includes(k) && targetEnv[k]) d[k] = `${targetEnv[k]} (no longer valid)`;
        // loadConfig invents a run id when none is set: that would be the report's time, not the run's.
        if (!targetEnv.RUN_ID) delete d.RUN_ID;
        return d;
      } catch (e) {
        const names = (e?.problems ?? []).map((p) => String(p).split(/[\s:]/)[0]).filter((k) => k in env);
        if (!names.length) break;
        for (const k of names) {
          delete env[k];
          dropped.push(k);
        }
      }
    }
  }
  const out = {};
  for (const k of PRINTABLE) if (targetEnv[k]) out[k] = targetEnv[k];
  return out;
}

function browserVersion() {
  const candidates = [targetEnv.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean);
  for (const bin of candidates) {
    if (!existsSync(bin)) continue;
    try {
      return execFileSync(bin, ['--version'], { timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      /* next */
    }
  }
  return 'unknown';
}

const pkg = readJson(new URL('./package.json', here)) ?? {};
const playwrightPkg = readJson(new URL('./node_modules/@playwright/test/package.json', here)) ?? {};
const verdict = readJson(join(reportsDir, 'verdict.json')) ?? {};
// Optional, secrets-free facts other parts learn during the run (e.g. APP_VERSION, ZITADEL_VERSION, COOLIFY_VERSION).
const extra = readJson(join(reportsDir, 'environment.json')) ?? {};

const target = describe();
const targetName = target.TARGET_NAME ?? verdict.targetName ?? targetEnv.TARGET_NAME ?? 'unconfigured target';
const runTime = (verdict.startedAt ? new Date(verdict.startedAt) : new Date()).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

const variables = {
  ...target,
  APP_VERSION: String(extra.APP_VERSION ?? targetEnv.APP_VERSION ?? 'unknown'),
  SUITE_VERSION: `${pkg.name ?? 'gadgetbot-verify'} ${pkg.version ?? '?'}`,
  PLAYWRIGHT: playwrightPkg.version ?? 'unknown',
  BROWSER: browserVersion(),
  NODE: process.version,
  RUN_STARTED: runTime,
};
for (const [k, v] of Object.entries(extra)) if (typeof v === 'string' || typeof v === 'number') variables[k] = String(v);
for (const [k, v] of Object.entries(variables)) if (typeof v !== 'string') variables[k] = String(v);

const isProblem = (d) => d.status === 'failed' || d.status === 'broken';
const fallbackPatterns = {
  certificate: /certificate|CERT_|ERR_CERT|TLS|self[- ]signed|issuer/i,
  DNS: /ENOTFOUND|NXDOMAIN|ERR_NAME_NOT_RESOLVED|resolve|A record/i,
  availability: /ECONNREFUSED|ETIMEDOUT|timed out|\b404\b|\b5\d\d\b|unhealthy|health/i,
  authentication: /Login V2|\/ui\/login|redirect[_ ]uri|invalid_client|issuer|\/debug\/ready|sign[- ]?in/i,
  data: /relation .* does not exist|migration|table|database|row/i,
  authorization: /admin|viewer|forbidden|403|callbackURL|state|sign[- ]?out|session cookie/i,
  redeploy: /redeploy|downtime|BETTER_AUTH_SECRET|No available server/i,
};
const categoryNames = diagnosis?.CATEGORIES ?? Object.keys(fallbackPatterns);
const categoryOf = (d) => {
  const text = [d.message, d.trace].filter(Boolean).join('\n');
  if (diagnosis?.categorize) return diagnosis.categorize(d.message ?? '') ?? diagnosis.categorize(text);
  return categoryNames.find((c) => fallbackPatterns[c].test(text));
};

const isSmoke = (tr) => (tr.labels ?? []).some((l) => l.name === 'tag' && String(l.value).replace(/^@/, '') === 'smoke');

// `allure generate` into a folder that holds an earlier report writes the new one to <output>/awesome/ and
// leaves the old index.html/summary.json at the top (it flattens only into an empty folder), so
// `npm run report` would show the previous run. Like Allure 2's --clean: remove the earlier report first,
// but only when generating, and only a folder that is recognisably an Allure report.
const output = join(reportsDir, 'allure-report');
if (process.argv.includes('generate')) {
  const i = process.argv.findIndex((a) => a === '-o' || a === '--output');
  const eq = process.argv.find((a) => a.startsWith('--output='));
  const target = i >= 0 ? resolve(process.argv[i + 1] ?? output) : eq ? resolve(eq.slice('--output='.length)) : output;
  if (existsSync(join(target, 'summary.json')) && existsSync(join(target, 'index.html'))) rmSync(target, { recursive: true, force: true });
}

// A plain object (what defineConfig returns): importing 'allure' here would run its CLI entry point
// whenever something other than the allure CLI loads this file.
/** @type {import('allure').AllureConfig} */
export default {
  name: `GadgetBot verify — ${targetName} — ${runTime}`,
  output,
  resultsDir: join(reportsDir, 'allure-results'),
  historyPath: join(reportsDir, 'history', 'history.jsonl'),
  historyLimit: 50,
  variables,
  categories: categoryNames.map((name) => ({
    id: `gbv-${name.toLowerCase()}`,
    name,
    matchers: (d) => isProblem(d) && categoryOf(d) === name,
    groupByMessage: true,
    expand: true,
  })),
  qualityGate: {
    rules: [{ id: 'smoke', maxFailures: 0, filter: isSmoke }],
  },
  plugins: {
    awesome: {
      options: {
        reportName: `GadgetBot verify — ${targetName} — ${runTime}`,
        reportLanguage: 'en',
        singleFile: false,
        groupBy: ['parentSuite', 'epic', 'feature'],
      },
    },
  },
};
