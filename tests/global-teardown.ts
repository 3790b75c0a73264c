// Stops the embedded stack global setup started (nothing to do against a configured deployment), and removes the
// run record when no reporter of this run will read it (a monitor round with `--reporter=json`): only the verdict
// reporter (which redacts with it after teardown) and the report built from its verdict.json do.
import type { FullConfig } from '@playwright/test';
import { rmSync } from 'node:fs';
import { authDirFor } from '../fixtures/auth-state.ts';
import { RECORD_ENV } from '../helpers/run-record.ts';

function dropUnreadRecord(config: FullConfig): void {
  const file = process.env[RECORD_ENV];
  const read = (config.reporter ?? []).some(([name]) => /verdict-reporter/.test(name));
  if (file && !read) rmSync(file, { force: true });
}

export default async function globalTeardown(config: FullConfig): Promise<void> {
  dropUnreadRecord(config);
  const h = globalThis.__gbvStack;
  globalThis.__gbvStack = undefined;
  if (!h) return;
  const started = Date.now();
  // The stack's sessions die with it: its saved sign-ins (one folder per target) are only clutter now.
  try { rmSync(authDirFor({ appUrl: h.env.APP_URL }), { recursive: true, force: true }); } catch { /* nothing saved */ }
  try {
    await h.stop();
    console.log(`[teardown] embedded stack stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    console.error(`[teardown] stopping the embedded stack failed: ${(e as Error).message} (run folder ${h.dir})`);
    process.exitCode = process.exitCode || 1;
  }
}
