// Shared bits of the infra specs: the hosts of the target, and a failure message that lists every
// problem on its own line (each names the host), so one failing check reads as a complete finding.
import { expect, type TestInfo } from '@playwright/test';
import { getConfig, type Target } from '../../helpers/config.ts';

export interface HostRole { role: 'app' | 'auth' | 'deployer'; url: string; host: string }

export const ROLES = ['app', 'auth', 'deployer'] as const;

/** The configuration, or undefined where none exists yet (e.g. `--list` before a stack is up). */
export function maybeConfig(): Target | undefined {
  try { return getConfig(); } catch { return undefined; }
}

/** The role's host on the target; undefined for the deployer when DEPLOYER_URL is not set. */
export function hostOf(t: Target, role: HostRole['role']): HostRole | undefined {
  return hostsOf(t).find((h) => h.role === role);
}

export function hostsOf(t: Target): HostRole[] {
  const out: HostRole[] = [
    { role: 'app', url: t.appUrl, host: new URL(t.appUrl).hostname },
    { role: 'auth', url: t.authUrl, host: new URL(t.authUrl).hostname },
  ];
  if (t.deployerUrl) out.push({ role: 'deployer', url: t.deployerUrl, host: new URL(t.deployerUrl).hostname });
  return out;
}

/** Fails with all problems at once; passes only when there are none. */
export function expectNoProblems(problems: string[]): void {
  expect(problems, problems.join('\n')).toEqual([]);
}

export async function attachJson(info: TestInfo, name: string, value: unknown): Promise<void> {
  await info.attach(name, { body: JSON.stringify(value, null, 2), contentType: 'application/json' });
}

export function note(info: TestInfo, type: string, description: string): void {
  info.annotations.push({ type, description });
}
