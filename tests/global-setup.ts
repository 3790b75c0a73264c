// Runs once in the runner process before any worker: picks the target (the configured one, or a fresh
// embedded stack), validates the configuration and proves the target is reachable, so a dead or
// misconfigured target fails the run in seconds with one clear line.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FullConfig } from '@playwright/test';
import { ConfigError, describeTarget, loadConfig, loadDotenv } from '../helpers/config.ts';
import { preflight, PreflightError } from '../helpers/preflight.ts';

const ROOT = resolve(import.meta.dirname, '..');

// The orchestrator's API as fixed in docs/CONTRACT.md.
interface StackHandle { env: Record<string, string>; dir: string; stop(): Promise<void> }
interface StackModule { startStack(opts?: { faults?: string[]; signInRateLimit?: boolean; log?: (line: string) => void }): Promise<StackHandle> }

declare global {
  // Shared with global-teardown.ts (same runner process).
  // eslint-disable-next-line no-var
  var __gbvStack: StackHandle | undefined;
}

/** Quote for a .env file: values are generated (no newlines), but may hold characters dotenv treats specially. */
function envLine(k: string, v: string): string {
  return `${k}=${/^[A-Za-z0-9_./:@,+-]*$/.test(v) ? v : `'${v.replace(/'/g, "'\\''")}'`}`;
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
  for (const [k, v] of Object.entries(handle.env)) process.env[k] = v;
  mkdirSync(join(ROOT, '.stack'), { recursive: true });
  const file = join(ROOT, '.stack', 'last-target.env');
  writeFileSync(file, `# embedded stack target, run folder ${handle.dir}\n${Object.entries(handle.env).map(([k, v]) => envLine(k, v)).join('\n')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // mode only applies when the file is created
  console.log(`[setup] embedded stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (target written to .stack/last-target.env)`);
  return handle;
}

async function stopStack(): Promise<void> {
  const h = globalThis.__gbvStack;
  globalThis.__gbvStack = undefined;
  if (h) await h.stop().catch((e) => console.error(`[setup] stopping the stack failed: ${(e as Error).message}`));
}

export default async function globalSetup(_config: FullConfig): Promise<void> {
  loadDotenv(join(ROOT, '.env'));
  if (!process.env.APP_URL?.trim()) await startEmbeddedStack();

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
  const d = describeTarget(target);
  console.log(`[setup] target ${d.TARGET_NAME} (run ${d.RUN_ID}): app ${d.APP_URL}, auth ${d.AUTH_URL}, deployer ${d.DEPLOYER_URL}`);
  // Workers must use the same run id (test data names), so pin it.
  process.env.RUN_ID = target.runId;

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
