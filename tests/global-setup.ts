// Runs once in the runner process before any worker: picks the target (the configured one, or a fresh
// embedded stack), validates the configuration, writes the run record (helpers/run-record.ts: what may be
// printed, what must be redacted) and proves the target is reachable, so a dead or misconfigured target fails
// the run in seconds with one clear line. `.env` is not read here: bin/verify.ts loaded it into the environment.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FullConfig } from '@playwright/test';
import { BROWSER_HOME_ENV, findCertutil, nssHomeFor } from '../helpers/browser.ts';
import { ConfigError, describeTarget, loadConfig, type Target } from '../helpers/config.ts';
import { preflight, PreflightError } from '../helpers/preflight.ts';
import { makeRunRecord, RECORD_ENV, writeRunRecord } from '../helpers/run-record.ts';
import { namedSecretsFromEnv } from '../helpers/secrets.ts';

const ROOT = resolve(import.meta.dirname, '..');

// The orchestrator's API as fixed in docs/CONTRACT.md.
interface StackHandle { env: Record<string, string>; dir: string; stop(): Promise<void> }
interface StackModule { startStack(opts?: { faults?: string[]; signInRateLimit?: boolean; log?: (line: string) => void }): Promise<StackHandle> }

declare global {
  // Shared with global-teardown.ts (same runner process).
  // eslint-disable-next-line no-var
  var __gbvStack: StackHandle | undefined;
}

export async function startEmbeddedStack(): Promise<StackHandle> {
  const faults = (process.env.STACK_FAULTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const started = Date.now();
  console.log(`[setup] no APP_URL configured: starting the embedded stack${faults.length ? ` with faults ${faults.join(',')}` : ''}`);
  // Resolved at run time so that a suite pointed at a real deployment never loads the stack code.
  const mod = (await import(pathToFileURL(join(ROOT, 'stack', 'index.ts')).href)) as StackModule;
  const handle = await mod.startStack({
    faults,
    signInRateLimit: process.env.STACK_SIGNIN_RATE_LIMIT !== 'off',
    log: process.env.GBV_STACK_LOG === '1' ? (line) => console.log(`[stack] ${line}`) : undefined,
  });
  globalThis.__gbvStack = handle;
  // The workers are forked after global setup: the environment is how they get the target.
  for (const [k, v] of Object.entries(handle.env)) process.env[k] = v;
  console.log(`[setup] embedded stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (run folder ${handle.dir})`);
  return handle;
}

async function stopStack(): Promise<void> {
  const h = globalThis.__gbvStack;
  globalThis.__gbvStack = undefined;
  if (h) await h.stop().catch((e) => console.error(`[setup] stopping the stack failed: ${(e as Error).message}`));
}

/** The one record of this run's target; its path travels to the reporter (same process) in the environment. */
function recordRun(target: Target, embedded: boolean): void {
  const stackSecrets = embedded ? namedSecretsFromEnv(globalThis.__gbvStack?.env ?? {}, 'embedded stack') : [];
  const file = writeRunRecord(makeRunRecord(target, { embedded, extraSecrets: stackSecrets }));
  process.env[RECORD_ENV] = file;
}

/**
 * One browser HOME trusting CA_FILE for the whole run, made here and removed when the runner exits: each worker
 * would otherwise run certutil twice at its start, browser or not (Playwright resolves launch options in every
 * worker). Without certutil nothing is shared: a worker that needs a browser then reports the set-up problem.
 */
function shareBrowserHome(target: Target): void {
  if (!target.caFile || !findCertutil()) return;
  try {
    process.env[BROWSER_HOME_ENV] = nssHomeFor(target.caFile);
  } catch (e) {
    console.warn(`[setup] no shared browser trust store (each worker makes its own): ${(e as Error).message}`);
  }
}

export default async function globalSetup(_config: FullConfig): Promise<void> {
  const embedded = !process.env.APP_URL?.trim();
  if (embedded && process.env.GBV_NO_DOTENV !== '1' && !process.env.GBV_DOTENV_LOADED && existsSync(join(ROOT, '.env'))) {
    console.warn('[setup] .env is read by bin/verify.ts (npm run smoke), not by a bare `playwright test`: using the embedded stack');
  }
  if (embedded) await startEmbeddedStack();

  let target;
  try {
    target = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`\n${e.message}\n\nFix the variables above (see .env.example). No test was run.`);
      await stopStack();
      process.exit(2);
    }
    throw e;
  }
  recordRun(target, embedded);
  shareBrowserHome(target);
  const d = describeTarget(target);
  console.log(`[setup] target ${d.TARGET_NAME} (run ${d.RUN_ID}): app ${d.APP_URL}, auth ${d.AUTH_URL}, deployer ${d.DEPLOYER_URL}`);

  try {
    const r = await preflight(target);
    for (const w of r.warnings) console.warn(`[setup] ${w}`);
    console.log(`[setup] preflight: ${r.hosts.filter((h) => h.ok).length}/${r.hosts.length} hosts reachable in ${r.ms} ms`);
  } catch (e) {
    if (e instanceof PreflightError) {
      await stopStack();
      // One line, no stack trace: it is a finding about the target, not a bug in the suite.
      const err = new Error(`preflight failed: ${e.message}`);
      err.stack = err.message;
      throw err;
    }
    throw e;
  }
}
