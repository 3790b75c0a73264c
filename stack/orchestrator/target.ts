// The target: the suite's configuration variables (docs/CONTRACT.md) describing this run, and their dotenv form.
import type { Supervisor } from '../deployer/supervisor.ts';
import { has, type FaultId } from '../faults.ts';
import { PUBLIC_HOST, type PostgresHandle } from '../postgres/index.ts';
import type { Front } from './front.ts';
import { USERS, type StackUrls } from './names.ts';
import type { RunSecrets } from './secrets.ts';

export interface TargetInputs {
  faults: FaultId[];
  urls: StackUrls;
  secrets: RunSecrets;
  front: Front;
  pg: PostgresHandle;
  app: Supervisor;
  auth: Supervisor;
}

export function targetEnv({ faults, urls, secrets, front, pg, app, auth }: TargetInputs): Record<string, string> {
  const { edge, dns, caFile } = front;
  const dbScheme = has(faults, 'db-url-postgres-scheme') ? 'postgres' : 'postgresql';
  return {
    TARGET_NAME: 'embedded',
    APP_URL: urls.app,
    AUTH_URL: urls.auth,
    DEPLOYER_URL: urls.deployer,
    HTTP_PORT: String(edge.httpPort),
    EXPECTED_IPS: PUBLIC_HOST,
    DNS_SERVERS: dns.servers.join(','),
    RESOLVE_VIA_DNS_SERVERS: 'true',
    CA_FILE: caFile,
    EXPECTED_CERT_ISSUER: 'gadgetbot-verify',
    ADMIN_USER: USERS.admin,
    ADMIN_PASSWORD: secrets.adminPassword,
    VIEWER_USER: USERS.viewer,
    VIEWER_PASSWORD: secrets.viewerPassword,
    DATABASE_URL: pg.url('gadgetbot', 'reader', dbScheme),
    COOLIFY_TOKEN: secrets.coolifyToken,
    COOLIFY_APP_UUID: secrets.appUuid,
    COOLIFY_AUTH_UUID: secrets.authUuid,
    SERVER_ADDRESS: PUBLIC_HOST,
    EXPECTED_OPEN_PORTS: `${edge.httpsPort},${edge.httpPort}`,
    FORBIDDEN_PORTS: `${pg.port},${app.current!.port},${auth.current!.port}`,
    // Its deployer does real rolling updates: any outage at all is a finding here (a probe interval is ~250 ms).
    BUDGET_REDEPLOY_DOWNTIME_MS: '1000',
  };
}

/**
 * dotenv lines for a target env. Values that a POSIX shell would not take literally (the Coolify token has
 * a `|`) are single-quoted, so the file works both with dotenv and with `set -a; . target.env`.
 */
export function toDotenv(env: Record<string, string>): string {
  return (
    Object.entries(env)
      .map(([k, v]) => (/^[A-Za-z0-9_./:@,+=%-]*$/.test(v) ? `${k}=${v}` : `${k}='${v.replace(/'/g, `'\\''`)}'`))
      .join('\n') + '\n'
  );
}
