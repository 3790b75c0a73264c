// Teardown: everything a run started, stopped front to back by stop(), or killed at once when the process
// exits; and the process-wide hooks that make SIGINT, SIGTERM and exit stop every live run.
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { DeployerHandle } from '../deployer/index.ts';
import type { Supervisor } from '../deployer/supervisor.ts';
import type { DnsHandle } from '../dns/index.ts';
import type { EdgeHandle } from '../edge/index.ts';
import type { PostgresHandle } from '../postgres/index.ts';
import { isAlive } from '../process.ts';

/** What a run has started so far; filled in by the phases as each piece comes up. */
export interface Parts {
  pg?: PostgresHandle;
  /** Known as soon as Postgres runs (before its handle), so that an exit can kill it. */
  pgPid: number;
  dns?: DnsHandle;
  edge?: EdgeHandle;
  deployer?: DeployerHandle;
  app?: Supervisor;
  auth?: Supervisor;
  /** The control socket for other processes (control.ts). */
  control?: { close(): Promise<void> };
}

interface Live {
  stop(): Promise<void>;
  killNow(): void;
}
const live = new Set<Live>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const onSignal = (sig: NodeJS.Signals) => {
    const stops = [...live].map((l) => l.stop().catch(() => undefined));
    void Promise.all(stops).then(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Someone else (a CLI, Playwright) handles this signal: let them decide. Otherwise die of it as if
      // we had not been listening.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const l of live) l.killNow();
  });
}

/** Registers a run for the process-wide hooks; returns its idempotent stop(). */
export function registerTeardown(parts: Parts, dir: string): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      live.delete(entry);
      const { control, deployer, edge, dns, app, auth } = parts;
      // Front to back: no new work, then the services, then the database they use.
      await Promise.all(
        [control?.close(), deployer?.close(), edge?.close(), dns?.close(), app?.stopAll(5000), auth?.stopAll(5000)].map((p) => p?.catch(() => undefined)),
      );
      await parts.pg?.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    })();
    return stopped;
  };
  const entry: Live = {
    stop,
    killNow() {
      // Synchronous: the process is exiting. Children die now; Postgres gets an immediate shutdown.
      parts.app?.killAllNow();
      parts.auth?.killAllNow();
      if (parts.pgPid > 0 && isAlive(parts.pgPid)) {
        try {
          process.kill(parts.pgPid, 'SIGQUIT');
        } catch {
          /* gone */
        }
      }
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* the next start sweeps it */
      }
    },
  };
  live.add(entry);
  installHooks();
  return stop;
}
