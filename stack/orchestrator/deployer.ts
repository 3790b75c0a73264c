// The deployer's wiring: the Coolify-compatible API over the two supervisors, routed at the edge.
import { join } from 'node:path';
import { startDeployer } from '../deployer/index.ts';
import type { Supervisor } from '../deployer/supervisor.ts';
import { has } from '../faults.ts';
import { INTERNAL_HOST } from '../postgres/index.ts';
import type { Front, Run } from './front.ts';
import { HOSTS } from './names.ts';
import type { RunSecrets } from './secrets.ts';

export interface DeployerInputs {
  front: Front;
  secrets: RunSecrets;
  app: Supervisor;
  auth: Supervisor;
  authPauseMs: number;
  redeployGapMs: number;
  healthTimeoutMs: number;
  /** Owner URLs of the two databases, for the deployer's scheduled backups. */
  dbUrl(database: 'gadgetbot' | 'zitadel'): string;
  /** Settles when the databases are up and migrated (the first backups run then). */
  databasesReady: Promise<unknown>;
}

export async function wireDeployer(run: Run, d: DeployerInputs): Promise<void> {
  const { faults, folder } = run;
  const { secrets, front } = d;
  const deployer = await startDeployer({
    host: INTERNAL_HOST,
    token: secrets.coolifyToken,
    edge: front.edge,
    app: {
      uuid: secrets.appUuid,
      name: 'gadgetbot',
      host: HOSTS.app,
      supervisor: d.app,
      rotateSecret: has(faults, 'redeploy-loses-sessions'),
      stopStart: has(faults, 'redeploy-stop-start'),
      redeployGapMs: d.redeployGapMs,
      onSecretRotated: (s) => (secrets.betterAuthSecret = s),
    },
    auth: { uuid: secrets.authUuid, name: 'zitadel-stack', host: HOSTS.auth, supervisor: d.auth, pauseMs: d.authPauseMs },
    healthTimeoutMs: d.healthTimeoutMs,
    healthFailing: has(faults, 'deployer-health-failing'),
    // The live set: the deploy engine reads redeploy-noop, rollback-no-switch and auth-upgrade-no-restart per call.
    faults: run.live,
    databases: [
      { uuid: secrets.appDbUuid, name: 'gadgetbot-db', database: 'gadgetbot', url: d.dbUrl('gadgetbot') },
      { uuid: secrets.authDbUuid, name: 'zitadel-db', database: 'zitadel', url: d.dbUrl('zitadel') },
    ],
    backupDir: join(folder.dir, 'backups'),
    backupsAfter: d.databasesReady,
    log: folder.log,
  });
  run.parts.deployer = deployer;
  front.edge.routes.setUpstream(HOSTS.deployer, { host: INTERNAL_HOST, port: deployer.port });
  run.mark('deployer');
}
