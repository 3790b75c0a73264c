// Stops the embedded stack global setup started (nothing to do against a configured deployment).
import type { FullConfig } from '@playwright/test';

export default async function globalTeardown(_config: FullConfig): Promise<void> {
  const h = globalThis.__gbvStack;
  globalThis.__gbvStack = undefined;
  if (!h) return;
  const started = Date.now();
  try {
    await h.stop();
    console.log(`[teardown] embedded stack stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    console.error(`[teardown] stopping the embedded stack failed: ${(e as Error).message} (run folder ${h.dir})`);
    process.exitCode = process.exitCode || 1;
  }
}
