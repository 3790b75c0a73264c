// Child processes, ports and waiting, for the embedded stack.
// Children run in their own process group (so a stop reaches everything they spawned) and, where
// util-linux's setpriv exists, with a parent-death signal: if the orchestrator is killed with SIGKILL,
// the kernel still takes its children down instead of leaving servers listening.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly hint: string,
  ) {
    super(`Port ${port} on ${host} is already in use. ${hint}`);
    this.name = 'PortInUseError';
  }
}

function listenOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port, exclusive: true }, () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

/** The low end of the kernel's range for the local ports of outgoing connections (ip_local_port_range), read once. */
let ephemeralLow: number | undefined;
function ephemeralStart(): number {
  if (ephemeralLow !== undefined) return ephemeralLow;
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo! > 0 && hi! >= lo!) return (ephemeralLow = lo!);
  } catch { /* not Linux */ }
  return (ephemeralLow = 32768);
}

/**
 * A candidate port below the ephemeral range when there is room (10000 up to it), else 0 (the kernel's pick). A
 * port picked here is bound later by a child (Postgres, an app instance); one from the ephemeral range can be taken
 * meanwhile as the local port of any outgoing connection on the machine (seen: Postgres "Address already in use").
 */
function candidatePort(): number {
  const lo = ephemeralStart();
  return lo > 11_000 ? 10_000 + Math.floor(Math.random() * (lo - 10_000)) : 0;
}

/** A port that is free on `host` (and on every address in `alsoFreeOn`) right now, outside the ephemeral range. */
export async function freePort(host: string, alsoFreeOn: string[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(host, attempt < 40 ? candidatePort() : 0).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES') return 0; // taken: the next candidate
      throw e;
    });
    if (!port) continue;
    let ok = true;
    for (const other of alsoFreeOn) {
      try {
        await listenOnce(other, port);
      } catch {
        ok = false;
        break;
      }
    }
    if (ok) return port;
  }
  throw new Error(`no free port found on ${[host, ...alsoFreeOn].join(', ')}`);
}

/** Throws one PortInUseError naming the port and the way out when `port` is taken on `host`. */
export async function assertPortFree(host: string, port: number, hint: string): Promise<void> {
  try {
    await listenOnce(host, port);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new PortInUseError(host, port, hint);
    throw e;
  }
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); treat it as dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

let bootTimeMs: number | undefined;
/** Wall-clock start time of a process (ms since epoch, ±10 ms), from /proc; undefined when unknown. */
export function processStartMs(pid: number): number | undefined {
  try {
    if (bootTimeMs === undefined) {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
      if (!btime) return undefined;
      bootTimeMs = Number(btime[1]) * 1000;
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 overall: starttime in clock ticks (USER_HZ = 100 on Linux)
    return bootTimeMs + (ticks * 1000) / 100;
  } catch {
    return undefined;
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  readonly exitInfo: ExitInfo | undefined;
  exited: Promise<ExitInfo>;
  /** SIGTERM to the process group, then SIGKILL after `timeoutMs`. Resolves when the process is gone. */
  stop(opts?: { signal?: NodeJS.Signals; timeoutMs?: number }): Promise<ExitInfo>;
  /** Synchronous last resort (process 'exit' handlers): SIGKILL to the whole group. */
  killNow(): void;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr are appended to this file; never to the terminal. */
  logFile: string;
  /** Run as this user (root cannot run Postgres). */
  user?: { uid: number; gid: number };
  /** Signal the kernel sends the child when this process dies; default SIGTERM. */
  parentDeathSignal?: 'TERM' | 'INT' | 'KILL' | 'QUIT';
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export function spawnService(o: SpawnOptions): ServiceProcess {
  const fd = openSync(o.logFile, 'a', 0o640);
  let command = o.command;
  let args = o.args;
  const extra: { uid?: number; gid?: number } = {};
  if (SETPRIV) {
    const pre = [`--pdeathsig=${o.parentDeathSignal ?? 'TERM'}`];
    // setpriv changes the ids itself, so the death signal is set after the credential change
    // (the kernel clears it on a uid change).
    if (o.user) pre.push(`--reuid=${o.user.uid}`, `--regid=${o.user.gid}`, '--clear-groups');
    args = [...pre, '--', command, ...args];
    command = SETPRIV;
  } else if (o.user) {
    extra.uid = o.user.uid;
    extra.gid = o.user.gid;
  }
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: o.cwd,
      env: o.env,
      stdio: ['ignore', fd, fd],
      detached: true,
      ...extra,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT etc.): the 'error' event carries the reason.
    const err = new Promise<never>((_, reject) => child.once('error', reject));
    err.catch(() => undefined);
  }
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.once('error', () => {
      if (!exitInfo) {
        exitInfo = { code: -1, signal: null };
        resolve(exitInfo);
      }
    });
  });
  const pid = child.pid ?? -1;
  const handle: ServiceProcess = {
    name: o.name,
    pid,
    child,
    get exitInfo() {
      return exitInfo;
    },
    exited,
    async stop({ signal = 'SIGTERM', timeoutMs = 5000 } = {}) {
      if (exitInfo) {
        // The leader is gone; make sure nothing it started survives it.
        if (pid > 0) signalGroup(pid, 'SIGKILL');
        return exitInfo;
      }
      if (pid > 0) signalGroup(pid, signal);
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (pid > 0) signalGroup(pid, 'SIGKILL');
          resolve();
        }, timeoutMs);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      const info = await exited;
      if (pid > 0) signalGroup(pid, 'SIGKILL');
      return info;
    },
    killNow() {
      if (pid > 0 && !exitInfo) signalGroup(pid, 'SIGKILL');
    },
  };
  return handle;
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 15_000, intervalMs = 25, abort }: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = abort?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** One plain-HTTP GET to an internal service; resolves with the status, rejects on connection errors. */
export function probeHttp(host: string, port: number, path: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`GET http://${host}:${port}${path} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

/** The environment a child starts from: no inherited secrets or target config, only what a process needs. */
export function baseChildEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'TERM']) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  out.NODE_ENV = 'production';
  out.NO_COLOR = '1';
  return out;
}

export function tail(file: string, lines = 20): string {
  try {
    const all = readFileSync(file, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '';
  }
}
