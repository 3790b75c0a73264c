// Severity between pass and fail. A weakness that is exploitable fails its check; a missing second line of
// defence is a *warning*: an annotation the verdict reporter counts ("PASSED with 2 warnings: …") and Allure shows
// in its own category. `--strict` (STRICT=1) turns every warning into a failure, for a gate that wants that.
import { test } from '@playwright/test';

export const WARNING = 'warning';

export function isStrict(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env.STRICT?.trim() ?? '');
}

/** Records a warning on the running test (message: the observed fact first); fails it instead under --strict. */
export function warn(message: string): void {
  if (isStrict()) throw new Error(`${message} (a warning, failing because of --strict)`);
  test.info().annotations.push({ type: WARNING, description: message });
}
