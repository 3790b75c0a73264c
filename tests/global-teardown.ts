// Stops the embedded stack global setup started (nothing to do against a configured deployment).
import type { FullConfig } from '@playwright/test';
import { rmSync } from 'node:fs';
import { authDirFor } from '../fixtures/auth-state.ts';

export default async function globalTeardown(_config: FullConfig): Promise<void> {
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
