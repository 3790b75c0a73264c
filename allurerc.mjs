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
// The target is read from the run's record (helpers/run-record.ts), which verdict.json names: its printable
// part (describeTarget(), secrets-free by contract) fills the environment panel. Nothing here reads `.env` or
// loads the config again. Without a record (shards merged on another machine) the panel shows the few
// URL/name variables the environment carries.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

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

function readJson(file) {
  try {
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  } catch {
    return undefined;
  }
}

// The project's diagnosis table through tsx, so categories use the very
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

const PRINTABLE = ['TARGET_NAME', 'APP_URL', 'AUTH_URL', 'DEPLOYER_URL', 'RUN_ID'];

const verdict = readJson(join(reportsDir, 'verdict.json')) ?? {};
// Only the printable part is kept: the record's redaction list is not this file's business.
const recordTarget = typeof verdict.runRecord === 'string' ? readJson(verdict.runRecord)?.target : undefined;

/** The printable target: the record's description, else the few printable variables of the environment. */
function describe() {
  if (recordTarget && typeof recordTarget === 'object') return { ...recordTarget };
  const out = {};
  for (const k of PRINTABLE) if (process.env[k]) out[k] = process.env[k];
  return out;
}

function browserVersion() {
  const chosen = recordTarget?.CHROMIUM_PATH;
  const candidates = [chosen && chosen.startsWith('/') ? chosen : undefined, '/usr/bin/chromium-headless-shell', '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean);
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
// Optional, secrets-free facts other parts learn during the run (e.g. APP_VERSION, ZITADEL_VERSION, COOLIFY_VERSION).
const extra = readJson(join(reportsDir, 'environment.json')) ?? {};

const target = describe();
const targetName = target.TARGET_NAME ?? verdict.targetName ?? 'unconfigured target';
const runTime = (verdict.startedAt ? new Date(verdict.startedAt) : new Date()).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

const variables = {
  ...target,
  APP_VERSION: String(extra.APP_VERSION ?? process.env.APP_VERSION ?? 'unknown'),
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

// A warning (helpers/findings.ts) is a passed check with a missing second line of defence: its own category,
// grouped by the warning's text. It is no failure, so the quality gate below never counts it.
const warningCategory = {
  id: 'gbv-warning',
  name: 'warning',
  matchers: (d) => !isProblem(d) && d.labels.some((l) => l.name === 'warning'),
  groupBy: [{ label: 'warning' }],
  groupByMessage: false,
  expand: true,
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
  categories: [
    ...categoryNames.map((name) => ({
      id: `gbv-${name.toLowerCase()}`,
      name,
      matchers: (d) => isProblem(d) && categoryOf(d) === name,
      groupByMessage: true,
      expand: true,
    })),
    warningCategory,
  ],
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
