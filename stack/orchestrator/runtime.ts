// Switching faults while the stack runs: the live set, and how each kind reaches the service that reads it.
// DNS and edge run in this process and take the new set at once; certificates are re-issued by the run's CA and
// swapped at the edge; the app and auth processes get the whole set over their internal control route
// (stack/fault-control.ts) and read it per request; a new app or auth instance (a redeploy) is spawned with the
// live set in STACK_FAULTS (services.ts reads it at each spawn).
import { request } from 'node:http';
import { appLeafPlan, issueLeaf, type IssuedCert } from '../ca/index.ts';
import type { Instance, Supervisor } from '../deployer/supervisor.ts';
import { dnsAaaaFor, dnsRecordsFor, NAMESERVERS } from '../dns/index.ts';
import { describeFault, FAULT_IDS, FaultError, isFaultId, isRuntimeFault, RUNTIME_FAULTS, type FaultId } from '../faults.ts';
import { FAULT_CONTROL_PATH } from '../fault-control.ts';
import { PUBLIC_HOST } from '../postgres/index.ts';
import type { Front, Run } from './front.ts';
import { HOSTS } from './names.ts';
import { authHealthPath } from './services.ts';

const CERT_FAULTS: readonly FaultId[] = ['cert-expired', 'cert-wrong-host', 'cert-expiring-soon', 'cert-default-deployer'];
const HOUR = 3600_000;
// A child that is just starting (a redeploy) is retried until it listens; its env already had the older set.
const PUSH_RETRY_MS = 15_000;

export interface FaultSwitchDeps {
  run: Run;
  front: Front;
  app: Supervisor;
  auth: Supervisor;
  /** The run's control token (STACK_CONTROL_TOKEN of the children). */
  token: string;
}

/** PUTs the stack's whole fault list to one child instance; retries while it is alive but not listening yet. */
async function pushTo(inst: Instance, faults: readonly FaultId[], token: string): Promise<void> {
  const body = JSON.stringify({ faults });
  const deadline = Date.now() + PUSH_RETRY_MS;
  for (;;) {
    if (inst.proc.exitInfo) return;
    const status = await new Promise<number | NodeJS.ErrnoException>((resolve) => {
      const req = request(
        {
          host: inst.upstream.host,
          port: inst.port,
          method: 'PUT',
          path: FAULT_CONTROL_PATH,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: 5000,
        },
        (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.once('error', (e) => resolve(e));
      req.end(body);
    });
    if (status === 200) return;
    const refused = typeof status !== 'number' && status.code === 'ECONNREFUSED';
    if (!refused || Date.now() > deadline) {
      const what = typeof status === 'number' ? `answered ${status}` : (status.code ?? status.message);
      throw new Error(`fault switch: ${inst.proc.name} on port ${inst.port} ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class FaultSwitch {
  private queue: Promise<void> = Promise.resolve();
  private healthyDeployerLeaf: IssuedCert | undefined;

  constructor(private readonly d: FaultSwitchDeps) {
    this.healthyDeployerLeaf = d.front.pki.leaves.get(HOSTS.deployer.toLowerCase());
  }

  list(): FaultId[] {
    return [...this.d.run.live];
  }

  /**
   * Switches one fault; resolves once every service serves the new set (its next request sees it). Calls
   * are applied one after another. Rejects, changing nothing, for a fault that cannot switch while running;
   * rejects naming the service when one did not take the set (the set stays switched: a retry re-sends it).
   */
  set(id: string, on: boolean): Promise<void> {
    if (!isFaultId(id)) return Promise.reject(new FaultError(`Unknown fault id: ${id}. Valid ids: ${FAULT_IDS.join(', ')}`, [id]));
    const fault = id;
    if (!isRuntimeFault(fault)) {
      return Promise.reject(
        new FaultError(`Fault ${id} cannot be switched while the stack runs (start a stack with STACK_FAULTS=${id}). Switchable: ${RUNTIME_FAULTS.join(', ')}`, [id]),
      );
    }
    const next = this.queue.then(() => this.apply(fault, on));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async apply(id: FaultId, on: boolean): Promise<void> {
    const { run } = this.d;
    if (on) run.live.add(id);
    else run.live.delete(id);
    const faults = this.list();
    const owner = describeFault(id).owner;
    run.folder.log(`stack: fault ${id} ${on ? 'on' : 'off'} (now: ${faults.join(',') || 'none'})`);
    if (owner === 'dns') this.applyDns(faults);
    if (CERT_FAULTS.includes(id)) await this.applyCerts(faults);
    await this.d.front.edge.applyFaults(faults);
    if (owner === 'app' || owner === 'app/edge' || owner === 'auth') {
      this.d.auth.o.healthPath = authHealthPath(faults);
      const instances = [...this.d.app.instances, ...this.d.auth.instances];
      await Promise.all(instances.map((i) => pushTo(i, faults, this.d.token)));
    }
  }

  private applyDns(faults: readonly FaultId[]): void {
    this.d.front.dns.nameservers.forEach((ns, i) => {
      const records = dnsRecordsFor(HOSTS, faults, PUBLIC_HOST, NAMESERVERS[i]);
      ns.records.clear();
      for (const [name, addrs] of records) ns.records.set(name, addrs);
      // AAAA follows the A records (a name without A, e.g. dns-missing-auth, is NXDOMAIN, not NODATA).
      const aaaa = dnsAaaaFor(HOSTS, faults, undefined, NAMESERVERS[i]);
      ns.aaaa.clear();
      for (const [name, addrs] of aaaa) ns.aaaa.set(name, addrs);
    });
  }

  /** The app host's leaf as the cert faults now plan it; the deployer's certificate or the edge's default. */
  private async applyCerts(faults: readonly FaultId[]): Promise<void> {
    const { pki, edge } = this.d.front;
    const now = new Date();
    const app = await issueLeaf(pki.intermediate, appLeafPlan(HOSTS, faults, now));
    edge.setCert(HOSTS.app, app);
    if (faults.includes('cert-default-deployer')) return edge.setCert(HOSTS.deployer, null);
    this.healthyDeployerLeaf ??= await issueLeaf(pki.intermediate, {
      names: [HOSTS.deployer],
      notBefore: new Date(now.getTime() - HOUR),
      notAfter: new Date(now.getTime() + 90 * 24 * HOUR),
    });
    edge.setCert(HOSTS.deployer, this.healthyDeployerLeaf);
  }
}
