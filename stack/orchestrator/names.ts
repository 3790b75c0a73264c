// Fixed names of the embedded deployment, shared by the orchestrator's phases and its callers.
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const STACK_ROOT = join(ROOT, '.stack');
export const HOSTS = {
  app: 'gadgetbot.stack.test',
  auth: 'gadgetbot-auth.stack.test',
  deployer: 'gadgetbot-coolify.stack.test',
} as const;
export const USERS = { admin: 'gbv-admin', viewer: 'gbv-viewer' } as const;

export function baseUrl(host: string, port: number): string {
  return port === 443 ? `https://${host}` : `https://${host}:${port}`;
}

export interface StackUrls {
  app: string;
  auth: string;
  deployer: string;
}

export function stackUrls(httpsPort: number): StackUrls {
  return {
    app: baseUrl(HOSTS.app, httpsPort),
    auth: baseUrl(HOSTS.auth, httpsPort),
    deployer: baseUrl(HOSTS.deployer, httpsPort),
  };
}
