// Measurements a person reads in the terminal, not only in attachments: a test records figures ("downtime app:
// 0.0 s of 10 s") and at most one headline ("redeploy: 0.0 s downtime of 10 s, sessions kept"); the verdict
// reporter prints the figures after the run and carries the headlines on the VERDICT line; Allure shows both.
import { test } from '@playwright/test';

export const FIGURE = 'figure';
export const HEADLINE = 'headline';

/** One measurement of the running test, as "name: value" (never a secret). */
export function figure(name: string, value: string): void {
  test.info().annotations.push({ type: FIGURE, description: `${name}: ${value}` });
}

/** The one-line summary of the running test's measurements, for the VERDICT line. */
export function headline(text: string): void {
  const annotations = test.info().annotations;
  const i = annotations.findIndex((a) => a.type === HEADLINE);
  if (i >= 0) annotations.splice(i, 1);
  annotations.push({ type: HEADLINE, description: text });
}
