// The run record: global setup writes, once, what the run's target is — what may be printed (describeTarget)
// and what must be redacted (every configured secret) — and everything after the run reads it instead of
// re-deriving the target from `.env` files: the verdict reporter (redaction), allurerc.mjs (environment panel),
// bin/audit-artifacts.ts and bin/merge-shards.ts (secrets to look for).
//
// It holds secrets, so it lives outside reports/ (never uploaded), in `.gbv/` (0700), one file per run
// (`run-<runId>.json`, 0600): runs side by side (the fault matrix runs two at a time) never read each other's.
// The newest 10 are kept; global teardown removes a record no reporter of its run reads (e.g. `--reporter=json`).
// verdict.json names the record of its run (`runRecord`), so a report built later finds the right one.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeTarget, labelledSecretsOf, ROOT, type Target } from './config.ts';
import type { Secret } from './redact.ts';

export const RECORD_DIR = resolve(ROOT, '.gbv');
/** The runner process learns its record's path from global setup through this variable (same process, and workers). */
export const RECORD_ENV = 'GBV_RUN_RECORD';
/** Records kept besides the newest ones: enough for the fault matrix and an audit afterwards. */
const KEEP = 10;

export interface RunRecord {
  version: 1;
  runId: string;
  writtenAt: string;
  /** true when global setup started the embedded stack for this run. */
  embedded: boolean;
  /** describeTarget(): printable, secrets-free by contract. */
  target: Record<string, string>;
  /** Every value that must never appear in an artifact, with a printable label. */
  redact: Secret[];
}

export function recordPath(runId: string, dir = RECORD_DIR): string {
  return join(dir, `run-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
}

/** Builds the record of a loaded target plus extra named secrets (e.g. the embedded stack's env). */
export function makeRunRecord(t: Target, opts: { embedded: boolean; extraSecrets?: Secret[] }): RunRecord {
  const seen = new Set<string>();
  const redact = [...labelledSecretsOf(t), ...(opts.extraSecrets ?? [])].filter((s) => {
    if (!s.value || seen.has(s.value)) return false;
    seen.add(s.value);
    return true;
  });
  return { version: 1, runId: t.runId, writtenAt: new Date().toISOString(), embedded: opts.embedded, target: describeTarget(t), redact };
}

/** Writes the record owner-only (atomically: a reader never sees half a file) and prunes old ones. Returns its path. */
export function writeRunRecord(rec: RunRecord, dir = RECORD_DIR): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = recordPath(rec.runId, dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  pruneRunRecords(dir, file);
  return file;
}

export function readRunRecord(file: string | undefined): RunRecord | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
    return r && r.version === 1 && Array.isArray(r.redact) && r.target && typeof r.target === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Every record in the folder, newest first. */
export function runRecordFiles(dir = RECORD_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^run-.*\.json$/.test(f))
    .map((f) => join(dir, f))
    .map((f) => ({ f, t: (() => { try { return statSync(f).mtimeMs; } catch { return 0; } })() }))
    .sort((a, b) => b.t - a.t)
    .map((x) => x.f);
}

function pruneRunRecords(dir: string, keep: string): void {
  for (const f of runRecordFiles(dir).slice(KEEP)) if (f !== keep) rmSync(f, { force: true });
}
