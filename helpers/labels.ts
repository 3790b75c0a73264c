// Allure labels so the report reads as a checklist: epic (area) → feature (component) → story (the check).
// The epic comes from the Playwright project, set for every test by the automatic fixture of fixtures/test.ts
// (labelTest); a spec adds feature/story/severity with label(). The same fixture carries the test's warnings,
// figures and headline (helpers/findings.ts, helpers/figures.ts) into Allure labels, which the reporter turns
// into the test's overview (helpers/report/allure-rewrite.ts) and allurerc.mjs into the warning category.
import * as allure from 'allure-js-commons';
import type { TestInfo } from '@playwright/test';
import { WARNING } from './findings.ts';
import { FIGURE, HEADLINE } from './figures.ts';

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

/** Epics by Playwright project, so the report groups the same way everywhere. */
export const EPIC = {
  infra: 'Infrastructure',
  db: 'Database',
  setup: 'Sign-in',
  auth: 'Sign-in',
  crud: 'Product management',
  disruptive: 'Resilience',
} as const;

/** The epic of a Playwright project (undefined for a project the suite does not define). */
export function epicFor(project: string): string | undefined {
  return Object.hasOwn(EPIC, project) ? EPIC[project as keyof typeof EPIC] : undefined;
}

/** Before a test: its epic. Fixture code (fixtures/test.ts), no browser involved. */
export async function labelTest(testInfo: Pick<TestInfo, 'project'>): Promise<void> {
  const epic = epicFor(testInfo.project.name);
  if (epic) await allure.epic(epic);
}

/** After a test (its afterEach hooks included): its warnings, figures and headline as Allure labels. */
export async function labelFindings(testInfo: Pick<TestInfo, 'annotations'>): Promise<void> {
  const calls: PromiseLike<void>[] = [];
  for (const a of testInfo.annotations) {
    if (!a.description) continue;
    if (a.type === WARNING || a.type === FIGURE || a.type === HEADLINE) calls.push(allure.label(a.type, a.description));
  }
  await Promise.all(calls);
}

/** Applies the labels to the running test. Call first thing in a test body (or a beforeEach). The epic is the
 *  project's already (labelTest); pass one only for a spec run outside the suite's projects. */
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
