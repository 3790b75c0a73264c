// Run folders (`.stack/run-<pid>-<time>/`) and the sweep that makes a killed run never block the next: each
// folder records its children's pids, and a start removes folders whose owner is gone.
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stopLeftoverPostgres } from '../postgres/index.ts';
import { isAlive, processStartMs } from '../process.ts';
import { STACK_ROOT } from './names.ts';

const RUN_RE = /^run-(\d+)-(\d+)(?:-\d+)?$/;

interface RunRecord {
  pid: number;
  startedAt: number;
  children: { name: string; pid: number; startMs?: number }[];
}

function recordFile(dir: string): string {
  return join(dir, 'stack.json');
}

function readRecord(dir: string): RunRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(dir), 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

/** True when the run folder's owner (pid in its name) is still the process that created it. */
function ownerAlive(pid: number, createdAt: number): boolean {
  if (!isAlive(pid)) return false;
  const started = processStartMs(pid);
  // A recycled pid belongs to a process that started after the folder was made.
  return started === undefined || started <= createdAt + 1000;
}

/** Kills the children a dead run recorded, only while they are still the same processes (start time). */
function killRecordedChildren(rec: RunRecord | undefined): void {
  for (const c of rec?.children ?? []) {
    if (!isAlive(c.pid)) continue;
    const start = processStartMs(c.pid);
    if (c.startMs !== undefined && start !== undefined && Math.abs(start - c.startMs) > 50) continue;
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/**
 * Removes run folders whose creating process is gone: kills the children it recorded (only if still the
 * same processes), stops the Postgres it left (via postmaster.pid), deletes the folder. Also removes
 * half-built templates of dead processes.
 */
export async function sweepStaleRuns(stackRoot = STACK_ROOT, log: (l: string) => void = () => undefined): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(stackRoot);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    const dir = join(stackRoot, name);
    const run = RUN_RE.exec(name);
    if (run) {
      const pid = Number(run[1]);
      const createdAt = Number(run[2]);
      if (pid === process.pid || ownerAlive(pid, createdAt)) continue;
      killRecordedChildren(readRecord(dir));
      await stopLeftoverPostgres(join(dir, 'pg')).catch(() => false);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      log(`stack: removed stale run folder ${name}`);
      swept.push(dir);
      continue;
    }
    const build = /^template-pg17\.(?:build|old)-(\d+)-/.exec(name);
    if (build && !isAlive(Number(build[1]))) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      swept.push(dir);
    }
  }
  return swept;
}

/** Run folders whose owner is alive (this process's included), oldest first. */
export function liveRunDirs(stackRoot = STACK_ROOT): string[] {
  let names: string[];
  try {
    names = readdirSync(stackRoot);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, m: RUN_RE.exec(name) }))
    .filter(({ m }) => m && (Number(m[1]) === process.pid || ownerAlive(Number(m[1]), Number(m[2]))))
    .sort((a, b) => Number(a.m![2]) - Number(b.m![2]))
    .map(({ name }) => join(stackRoot, name));
}

async function makeRunDir(stackRoot: string): Promise<string> {
  await mkdir(stackRoot, { recursive: true, mode: 0o755 });
  const t = Date.now();
  for (let n = 0; n < 100; n++) {
    const dir = join(stackRoot, n === 0 ? `run-${process.pid}-${t}` : `run-${process.pid}-${t}-${n}`);
    try {
      // 0711: Postgres (another user) must traverse it; nobody else needs to list it.
      await mkdir(dir, { mode: 0o711 });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error('could not create a run folder');
}

/** This run's folder: its log, and the record of its children that a later sweep reads. */
export interface RunFolder {
  dir: string;
  logDir: string;
  log(line: string): void;
  /** Records a child process (pid and start time) for the sweep. */
  remember(name: string, pid: number): void;
}

export async function openRunFolder(stackRoot: string, startedAt: number, echo?: (line: string) => void): Promise<RunFolder> {
  const dir = await makeRunDir(stackRoot);
  const logDir = join(dir, 'logs');
  await mkdir(logDir, { mode: 0o755 });
  const stackLog = join(logDir, 'stack.log');
  const log = (line: string) => {
    try {
      appendFileSync(stackLog, `${new Date().toISOString()} ${line}\n`);
    } catch {
      /* folder gone during stop */
    }
    echo?.(line);
  };
  const record: RunRecord = { pid: process.pid, startedAt, children: [] };
  const saveRecord = () => {
    try {
      writeFileSync(recordFile(dir), JSON.stringify(record));
    } catch {
      /* folder gone during stop */
    }
  };
  saveRecord();
  const remember = (name: string, pid: number) => {
    if (pid <= 0) return;
    record.children.push({ name, pid, startMs: processStartMs(pid) });
    saveRecord();
  };
  return { dir, logDir, log, remember };
}
