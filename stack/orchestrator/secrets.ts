// The credentials generated for each run: never fixed, never printed (bin/stack.ts writes them to a 0600 file).
import { randomBytes, randomInt } from 'node:crypto';
import { cuid } from '../deployer/index.ts';
import type { DbRoleName } from '../postgres/index.ts';

export function secret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** Strong enough for any password policy (upper, lower, digit, symbol), and safe in dotenv files. */
function userPassword(): string {
  return `${secret(12)}Aa1-`;
}

function clientId(): string {
  let s = String(randomInt(1, 10));
  for (let i = 0; i < 17; i++) s += String(randomInt(0, 10));
  return s;
}

function coolifyToken(): string {
  // Sanctum's shape: "<id>|<40 random characters>".
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const b = randomBytes(40);
  let s = '';
  for (let i = 0; i < 40; i++) s += alphabet[b[i] % alphabet.length];
  return `1|${s}`;
}

export interface RunSecrets {
  adminPassword: string;
  viewerPassword: string;
  clientId: string;
  /** Mutable: fault redeploy-loses-sessions rotates it on a redeploy. */
  betterAuthSecret: string;
  coolifyToken: string;
  appUuid: string;
  authUuid: string;
}

export function runSecrets(): RunSecrets {
  return {
    adminPassword: userPassword(),
    viewerPassword: userPassword(),
    clientId: clientId(),
    betterAuthSecret: secret(32),
    coolifyToken: coolifyToken(),
    appUuid: cuid(24),
    authUuid: cuid(24),
  };
}

/** The database roles' passwords, chosen before Postgres runs so that the services can be spawned meanwhile. */
export function dbPasswords(): Record<DbRoleName, string> {
  return { gadgetbot: secret(18), zitadel: secret(18), reader: secret(18) };
}
