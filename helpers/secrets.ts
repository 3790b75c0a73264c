// Finding what to redact (helpers/redact.ts is the engine that does it): the run record's list (the target as
// global setup loaded it), variables of the environment that name secrets, and the session tokens of saved
// Playwright storage states. Nothing here reads `.env` or re-runs loadConfig: the record is the target.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { normalise, walk, type Secret } from './redact.ts';
import { readRunRecord, RECORD_DIR, RECORD_ENV, runRecordFiles, type RunRecord } from './run-record.ts';

/** Variables that hold secrets whatever the config says (partial environments, CI secrets). */
const SECRET_VAR = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|MASTERKEY)$/;

/** Secrets an env map names: every *_PASSWORD/_SECRET/_TOKEN and URL password. */
export function namedSecretsFromEnv(env: Record<string, string | undefined>, source = 'env'): Secret[] {
  const out: Secret[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!v) continue;
    if (SECRET_VAR.test(k)) out.push({ kind: `${k} (${source})`, value: v });
    if (/^[a-z][\w+.-]*:\/\/[^/\s]*@/i.test(v)) {
      try {
        const u = new URL(v);
        if (u.password) {
          out.push({ kind: `${k} password (${source})`, value: decodeURIComponent(u.password) });
          out.push({ kind: `${k} password (${source})`, value: u.password });
          out.push({ kind: `${k} (${source})`, value: v });
        }
      } catch {
        /* not a URL after all */
      }
    }
  }
  return out;
}

/** The record's list, labelled with where it came from. */
export function secretsOfRecord(rec: RunRecord | undefined, source = 'run record'): Secret[] {
  return (rec?.redact ?? []).map((s) => ({ kind: `${s.kind} (${source})`, value: s.value }));
}

/** Cookie values and token-like storage entries of Playwright storage states (`.auth/**.json`). */
export function secretsFromStorageStates(authDir: string): Secret[] {
  const out: Secret[] = [];
  if (!existsSync(authDir)) return out;
  for (const file of walk(authDir)) {
    if (!file.endsWith('.json')) continue;
    let state: { cookies?: { name: string; value: string }[]; origins?: { localStorage?: { name: string; value: string }[] }[] };
    try {
      state = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const where = relative(resolve(authDir, '..'), file);
    for (const c of state.cookies ?? []) out.push(...cookieSecrets(c, where));
    for (const o of state.origins ?? []) {
      for (const item of o.localStorage ?? []) {
        if (/token|session|secret|auth/i.test(item.name) && item.value?.length >= 8) {
          out.push({ kind: `localStorage ${item.name} (${where})`, value: item.value });
        }
      }
    }
  }
  return out;
}

function cookieSecrets(c: { name: string; value: string }, where: string): Secret[] {
  if (!c.value || c.value.length < 8) return [];
  const out: Secret[] = [{ kind: `cookie ${c.name} (${where})`, value: c.value }];
  let decoded = c.value;
  try {
    decoded = decodeURIComponent(c.value);
  } catch {
    /* keep raw */
  }
  if (decoded !== c.value) out.push({ kind: `cookie ${c.name} (${where})`, value: decoded });
  // Better Auth signs as "<token>.<signature>": the bare token shows up in get-session answers and DB rows.
  const dot = decoded.indexOf('.');
  if (dot >= 16) out.push({ kind: `session token ${c.name} (${where})`, value: decoded.slice(0, dot) });
  return out;
}

export interface CollectOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Run records to read: 'current' (the env's GBV_RUN_RECORD only, default) or 'all' (every record kept). */
  records?: 'current' | 'all';
  /** Where the records are (default `<repo>/.gbv`). */
  recordDir?: string;
  includeStorageStates?: boolean;
}

/** Every secret known for this run (or, with records 'all', this checkout): env names, run record(s), storage states. */
export function collectSecrets(opts: CollectOptions = {}): Secret[] {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const out = namedSecretsFromEnv(env);
  const files = opts.records === 'all' ? runRecordFiles(opts.recordDir ?? RECORD_DIR) : [env[RECORD_ENV]].filter((f): f is string => !!f);
  for (const f of files) out.push(...secretsOfRecord(readRunRecord(f), relative(cwd, f) || f));
  if (opts.includeStorageStates !== false) out.push(...secretsFromStorageStates(join(cwd, '.auth')));
  return normalise(out);
}

/**
 * The secrets of the running process, for redaction while the run goes on: the env's named ones at once,
 * the run record's as soon as global setup has written it (GBV_RUN_RECORD appears in this process's env).
 * `current()` is cheap: it is called on every write to stdout.
 */
export class LiveSecrets {
  #list: Secret[];
  #recordSeen: string | undefined;
  constructor(private readonly env: Record<string, string | undefined> = process.env) {
    this.#list = normalise(namedSecretsFromEnv(env));
  }

  current(): Secret[] {
    const f = this.env[RECORD_ENV];
    if (f && f !== this.#recordSeen) {
      const rec = readRunRecord(f);
      if (rec) {
        this.#recordSeen = f;
        this.#list = normalise([...this.#list, ...secretsOfRecord(rec), ...namedSecretsFromEnv(this.env)]);
      }
    }
    return this.#list;
  }

  /** Adds secrets found late (storage states written by the setup project). */
  add(more: Secret[]): Secret[] {
    this.#list = normalise([...this.current(), ...more]);
    return this.#list;
  }
}
