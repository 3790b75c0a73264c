// The independent pieces, started in parallel: the run's PKI (CA file), the nameservers, Postgres, and the
// edge (which needs the PKI's certificates).
import { createStackPki, writeCaFile, type StackPki } from '../ca/index.ts';
import { startNameservers, type DnsHandle } from '../dns/index.ts';
import { startEdge, type EdgeHandle } from '../edge/index.ts';
import type { FaultId } from '../faults.ts';
import { startPostgres, PUBLIC_HOST, type DbRoleName, type PostgresHandle } from '../postgres/index.ts';
import { PortInUseError } from '../process.ts';
import { HOSTS } from './names.ts';
import type { RunFolder } from './sweep.ts';
import type { Parts } from './teardown.ts';

/** What every phase of one start shares. */
export interface Run {
  folder: RunFolder;
  stackRoot: string;
  /** The faults the stack was started with: what shapes how each piece is built. */
  faults: FaultId[];
  /** The faults on now (runtime.ts switches them); what a new app or auth instance is spawned with. */
  live: Set<FaultId>;
  parts: Parts;
  /** Records the ms since the start at which `phase` finished. */
  mark(phase: string): void;
}

export interface Front {
  pki: StackPki;
  caFile: string;
  dns: DnsHandle;
  edge: EdgeHandle;
}

export const portHint = (v: string) => `Stop whatever listens there (another \`npm run stack\`?), or pick another port: ${v}=<port> npm run stack.`;

function startPki(run: Run): Promise<{ pki: StackPki; caFile: string }> {
  return createStackPki(HOSTS, run.faults).then(async (pki) => {
    const caFile = await writeCaFile(run.folder.dir, pki);
    run.mark('ca');
    return { pki, caFile };
  });
}

function startDns(run: Run): Promise<DnsHandle> {
  return startNameservers({ hosts: HOSTS, faults: run.faults, ip: PUBLIC_HOST, log: run.folder.log }).then((d) => {
    run.parts.dns = d;
    run.mark('dns');
    return d;
  });
}

function startDatabase(run: Run, port: number, passwords: Record<DbRoleName, string>): Promise<PostgresHandle> {
  const { folder, faults } = run;
  return startPostgres({ stackRoot: run.stackRoot, runDir: folder.dir, port, faults, log: folder.log, passwords }).then((p) => {
    run.parts.pg = p;
    run.parts.pgPid = p.pid;
    folder.remember('postgres', p.pid);
    run.mark('postgres');
    return p;
  });
}

async function startEdgeWith(run: Run, pki: StackPki, wantPorts: { https: number; http: number }): Promise<EdgeHandle> {
  const certs = new Map([...pki.leaves].map(([h, l]) => [h, { keyPem: l.keyPem, chainPem: l.chainPem }]));
  try {
    run.parts.edge = await startEdge({
      httpsPort: wantPorts.https,
      httpPort: wantPorts.http,
      certs,
      defaultCert: { keyPem: pki.defaultCert.keyPem, chainPem: pki.defaultCert.chainPem },
      hosts: HOSTS,
      faults: run.faults,
      log: run.folder.log,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      const port = (e as { port?: number }).port ?? wantPorts.https;
      const which = port === wantPorts.http ? 'STACK_HTTP_PORT' : 'STACK_HTTPS_PORT';
      throw new PortInUseError(PUBLIC_HOST, port, portHint(which));
    }
    throw e;
  }
  run.mark('edge');
  return run.parts.edge;
}

/**
 * Starts the four pieces and resolves once the services can be spawned: they need the CA file, the DNS server
 * and the edge's port, not Postgres (whose failure ends this wait too). `all` settles with Postgres as well.
 */
export async function startFront(
  run: Run,
  wantPorts: { https: number; http: number },
  pgPort: number,
  passwords: Record<DbRoleName, string>,
): Promise<{ front: Front; pg: Promise<PostgresHandle>; all: Promise<unknown> }> {
  const pkiP = startPki(run);
  const dnsP = startDns(run);
  const pgP = startDatabase(run, pgPort, passwords);
  const edgeP = pkiP.then(({ pki }) => startEdgeWith(run, pki, wantPorts));
  // Surface the first failure at once; the others are awaited (and cleaned up) by stop().
  const settle = Promise.allSettled([pkiP, dnsP, pgP, edgeP]);
  const all = Promise.all([pkiP, dnsP, pgP, edgeP]);
  all.catch(() => undefined);
  const front = Promise.all([pkiP, dnsP, edgeP]);
  const [{ pki, caFile }, dns, edge] = await Promise.race([front, pgP.then(() => front)]).catch(async (e) => {
    await settle;
    throw e;
  });
  return { front: { pki, caFile, dns, edge }, pg: pgP, all };
}
