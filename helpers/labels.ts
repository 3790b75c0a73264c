// Allure labels so the report reads as a checklist: epic (area) → feature (component) → story (the check).
import * as allure from 'allure-js-commons';

export type Severity = 'blocker' | 'critical' | 'normal' | 'minor' | 'trivial';

export interface Labels {
  epic?: string;
  feature?: string;
  story?: string;
  severity?: Severity;
  tags?: string[];
  owner?: string;
  description?: string;
  /** Extra key/value shown as Allure parameters (e.g. host). Never secrets. */
  parameters?: Record<string, string>;
}

/** Epics used across the suite, so the report groups the same way everywhere. */
export const EPIC = {
  infra: 'Infrastructure',
  db: 'Database',
  auth: 'Sign-in',
  crud: 'Product management',
  disruptive: 'Resilience',
} as const;

/** Applies the labels to the running test. Call first thing in a test body (or a beforeEach). */
export async function label(l: Labels): Promise<void> {
  const calls: PromiseLike<void>[] = [];
  if (l.epic) calls.push(allure.epic(l.epic));
  if (l.feature) calls.push(allure.feature(l.feature));
  if (l.story) calls.push(allure.story(l.story));
  if (l.severity) calls.push(allure.severity(l.severity));
  if (l.owner) calls.push(allure.owner(l.owner));
  if (l.tags?.length) calls.push(allure.tags(...l.tags.map((t) => t.replace(/^@/, ''))));
  if (l.description) calls.push(allure.description(l.description));
  for (const [k, v] of Object.entries(l.parameters ?? {})) calls.push(allure.parameter(k, v));
  await Promise.all(calls);
}

/** Shorthand for a group of checks sharing epic/feature: `const check = labeller(EPIC.infra, 'TLS')`. */
export function labeller(epic: string, feature: string) {
  return (story: string, severity: Severity = 'normal', extra: Omit<Labels, 'epic' | 'feature' | 'story' | 'severity'> = {}) =>
    label({ epic, feature, story, severity, ...extra });
}
