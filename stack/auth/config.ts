// Environment of the Zitadel stand-in (see docs/CONTRACT.md "Child-process services").
// Kept free of heavy imports: server.ts reads it before it starts listening.

export const AUTH_FAULTS = [
  'login-v1',
  'issuer-mismatch',
  'redirect-uri-unregistered',
  'auth-method-basic',
  'auth-not-ready',
  'wrong-password-accepted',
  'auth-healthz-failing',
  'auth-upgrade-changes-issuer',
  'auth-missing-security-headers',
  'no-pkce',
  'wrong-password-accepted-viewer',
  'id-token-nonce-dropped',
  'id-token-extra-audience',
  'id-token-foreign-key',
  'id-token-expired',
  'login-skips-password',
] as const;
export type AuthFault = (typeof AUTH_FAULTS)[number];

export interface SeedUser {
  username: string;
  password: string;
  displayName: string;
  givenName: string;
  familyName: string;
  email: string;
  roles: string[];
}

export interface AuthEnv {
  host: string;
  port: number;
  /** Issuer, without trailing slash. */
  authUrl: string;
  databaseUrl: string;
  /** App origin (+ optional path), without trailing slash. */
  appUrl: string;
  clientId: string;
  users: SeedUser[];
  faults: Set<AuthFault>;
}

export class AuthEnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`stack/auth: bad environment: ${problems.join('; ')}`);
    this.name = 'AuthEnvError';
  }
}

// The contract fixes the people behind the two accounts; only their login names and passwords vary per run.
const EMAIL_DOMAIN = 'gadgetbot.stack.test';

function trimSlash(u: string): string {
  return u.replace(/\/+$/, '');
}

/** Reads and checks the environment; problems name the variable, never a secret value. */
export function readAuthEnv(env: NodeJS.ProcessEnv = process.env): AuthEnv {
  const problems: string[] = [];
  const need = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === '') problems.push(`${name} is required`);
    return v ?? '';
  };
  const url = (name: string, protocols: string[]): string => {
    const v = need(name);
    if (!v) return '';
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) problems.push(`${name} must use ${protocols.join(' or ')}`);
      if (u.search || u.hash) problems.push(`${name} must not have a query or fragment`);
    } catch {
      problems.push(`${name} is not a URL`);
    }
    return trimSlash(v);
  };

  const host = need('HOST');
  const portRaw = need('PORT');
  const port = Number(portRaw);
  if (portRaw && (!Number.isInteger(port) || port < 0 || port > 65535)) problems.push('PORT must be an integer 0..65535');
  const authUrl = url('AUTH_URL', ['https:', 'http:']);
  const appUrl = url('APP_URL', ['https:', 'http:']);
  const databaseUrl = need('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL must be a postgresql:// URL');
  const clientId = need('ZITADEL_CLIENT_ID');
  if (clientId && !/^\d+$/.test(clientId)) problems.push('ZITADEL_CLIENT_ID must be numeric, as Zitadel client ids are');

  const users: SeedUser[] = [];
  const adminUser = need('ADMIN_USER');
  const adminPassword = need('ADMIN_PASSWORD');
  if (adminUser && adminPassword) {
    users.push({
      username: adminUser,
      password: adminPassword,
      displayName: 'Ada Admin',
      givenName: 'Ada',
      familyName: 'Admin',
      email: `${adminUser}@${EMAIL_DOMAIN}`,
      roles: ['admin'],
    });
  }
  const viewerUser = env.VIEWER_USER ?? '';
  const viewerPassword = env.VIEWER_PASSWORD ?? '';
  if (viewerUser || viewerPassword) {
    if (!viewerUser || !viewerPassword) problems.push('VIEWER_USER and VIEWER_PASSWORD go together');
    else if (viewerUser.toLowerCase() === adminUser.toLowerCase()) problems.push('VIEWER_USER must differ from ADMIN_USER');
    else
      users.push({
        username: viewerUser,
        password: viewerPassword,
        displayName: 'Victor Viewer',
        givenName: 'Victor',
        familyName: 'Viewer',
        email: `${viewerUser}@${EMAIL_DOMAIN}`,
        roles: [],
      });
  }

  // STACK_FAULTS is shared by every service: ids owned by others are simply not ours.
  const faults = new Set<AuthFault>();
  for (const f of (env.STACK_FAULTS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if ((AUTH_FAULTS as readonly string[]).includes(f)) faults.add(f as AuthFault);
  }

  if (problems.length) throw new AuthEnvError(problems);
  return { host, port, authUrl, databaseUrl, appUrl, clientId, users, faults };
}
