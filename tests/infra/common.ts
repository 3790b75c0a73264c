// Shared bits of the infra specs: the hosts of the target, and a failure message that lists every observed
// problem on its own line (each names the host), so one failing check reads as a complete finding.
import type { TestInfo } from '@playwright/test';
import type { Target } from '../../helpers/config.ts';

export interface HostRole { role: 'app' | 'auth' | 'deployer'; url: string; host: string; port: number }

export const ROLES = ['app', 'auth', 'deployer'] as const;

/** The role's host on the target; undefined for the deployer when DEPLOYER_URL is not set. */
export function hostOf(t: Target, role: HostRole['role']): HostRole | undefined {
  return hostsOf(t).find((h) => h.role === role);
}

export function hostsOf(t: Target): HostRole[] {
  const of = (role: HostRole['role'], url: string): HostRole => {
    const u = new URL(url);
    return { role, url, host: u.hostname, port: Number(u.port || 443) };
  };
  const out: HostRole[] = [of('app', t.appUrl), of('auth', t.authUrl)];
  if (t.deployerUrl) out.push(of('deployer', t.deployerUrl));
  return out;
}

export async function attachJson(info: TestInfo, name: string, value: unknown): Promise<void> {
  await info.attach(name, { body: JSON.stringify(value, null, 2), contentType: 'application/json' });
}

export function note(info: TestInfo, type: string, description: string): void {
  info.annotations.push({ type, description });
}

/** `[v6]:port` or `v4:port`. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
