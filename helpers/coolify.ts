// Client for the deployer's HTTP API (Coolify v4 shapes, see the interface reference "Deployer (Coolify) API").
// The disruptive checks use it to trigger a deployment (POST, as Coolify requires since v4.3.9; accepted since
// v4.0.0-beta) and learn when it ended, the backups check to read schedules and executions. Every answer is
// validated against the project's schemas (coolify-schemas.ts). A 401/403/405 is reported as what it is (bad
// token, missing ability, another API version), never as a failed deployment. Nothing here retries blindly:
// only 429 (with Retry-After, bounded) and transient failures while *polling* are retried.
import { request as undiciRequest, type Dispatcher } from 'undici';
import type { Target } from './config.ts';
import type { z } from 'zod';
import * as S from './coolify-schemas.ts';
import { firstIssue, type BackupExecutionT, type DeploymentRecordT } from './coolify-schemas.ts';
import { describeNetError, dispatcherFor } from './http.ts';
import { parseRetryAfter, retryAfterMs } from './retry-after.ts';

export type DeploymentStatus = 'queued' | 'in_progress' | 'finished' | 'failed' | 'cancelled-by-user';
export type FinalStatus = 'finished' | 'failed' | 'cancelled-by-user';
export const FINAL_STATUSES: readonly FinalStatus[] = ['finished', 'failed', 'cancelled-by-user'];

export interface DeployTrigger {
  message: string;
  resourceUuid: string;
  /** Compose services (the Zitadel stack) may be queued without one: then there is nothing to poll. */
  deploymentUuid?: string;
}

export interface LogLine { output: string; type?: string; hidden?: boolean }

export interface Deployment {
  deploymentUuid: string;
  /** As the API says it; usually one of DeploymentStatus, kept open so an unknown status is shown, not hidden. */
  status: string;
  /** The commit (image tag) the deployment rolls out; "HEAD" when Coolify resolves it while building. */
  commit?: string;
  rollback: boolean;
  restartOnly: boolean;
  /** The deployment log's visible lines (Coolify stores them as JSON text). */
  log: LogLine[];
  createdAt?: string;
  /** The whole answer (Coolify sends more fields: application_name, logs, created_at, ...). */
  raw: Record<string, unknown>;
}

export interface RollbackImage { tag: string; createdAt: string; isCurrent: boolean }
export interface RollbackImages { current: string | null; images: RollbackImage[] }

export interface BackupExecution {
  uuid: string;
  status: string;
  createdAt: string;
  filename?: string;
  /** Bytes; undefined when Coolify did not record it. */
  size?: number;
  message?: string;
}

export interface BackupSchedule {
  uuid: string;
  enabled: boolean;
  frequency: string;
  saveS3: boolean;
  retentionAmountLocally: number;
  retentionDaysLocally: number;
  executions: BackupExecution[];
}

/** Token abilities of Coolify's API (middleware `api.ability:<x>`). */
export type Ability = 'read' | 'deploy' | 'write' | 'read:sensitive' | 'root';

export type CoolifyErrorKind =
  | 'unauthorized' // 401 or Coolify's 400 "Invalid token.": the token is wrong, expired or revoked
  | 'forbidden' // 403: the token lacks the ability the call needs
  | 'method-not-allowed' // 405: this Coolify speaks another version of the API than the suite
  | 'not-found'
  | 'rate-limited' // 429 beyond the retry budget, or Retry-After longer than allowed
  | 'timeout'
  | 'network'
  | 'http' // any other non-2xx
  | 'bad-response'; // 2xx that is not the documented shape

/** Errors never carry the token or request headers: only method, path, status and the API's own message. */
export class CoolifyError extends Error {
  constructor(
    message: string,
    readonly kind: CoolifyErrorKind,
    readonly path: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CoolifyError';
  }
  /** A problem of access or of the API's version, not of the deployment: say so, never "the deploy failed". */
  get isAccessProblem(): boolean {
    return this.kind === 'unauthorized' || this.kind === 'forbidden' || this.kind === 'method-not-allowed';
  }
}

export interface CoolifyOptions {
  /** Base URL of the deployer, e.g. https://gadgetbot-coolify.example (no trailing /api). */
  baseUrl: string;
  token?: string;
  dispatcher?: Dispatcher;
  /** Per request, connect to end of body. Default 15 s. */
  timeoutMs?: number;
  /** How often a 429 is retried before giving up. Default 3. */
  maxRetries?: number;
  /** A Retry-After longer than this is not waited for. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Optional event log (one line per event, never secrets). */
  log?: (line: string) => void;
}

export interface WaitOptions {
  /** Total budget for the deployment to reach a final status. Default 10 min. */
  timeoutMs?: number;
  /** Poll interval. Default 1 s. */
  pollMs?: number;
  /** Called on each status change (including the first status seen). */
  onStatus?: (status: string, deployment: Deployment) => void;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface Call {
  method: 'GET' | 'POST';
  path: string;
  /** The ability the call needs, named in a 403. */
  ability: Ability;
  body?: unknown;
  auth?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retry-After is either delta-seconds or an HTTP date; unparseable → undefined (the suite's one parser). */
export { parseRetryAfter };

export class CoolifyClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #maxRetryAfterMs: number;
  readonly #log: (line: string) => void;
  /** The version this Coolify reported (GET /api/v1/version), once asked: errors and reports name it. */
  seenVersion: string | undefined;

  constructor(opts: CoolifyOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#dispatcher = opts.dispatcher;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#maxRetries = opts.maxRetries ?? 3;
    this.#maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.#log = opts.log ?? (() => {});
  }

  // Keep the token out of util.inspect / console.log of the client object.
  toJSON() {
    return { baseUrl: this.baseUrl, token: this.#token ? '[redacted]' : undefined };
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `CoolifyClient(${this.baseUrl})`;
  }

  #redact(s: string): string {
    const t = this.#token;
    if (!t) return s;
    let out = s.split(t).join('[redacted]');
    // A token of the form "<id>|<secret>" (Coolify/Sanctum) could leak by halves.
    for (const part of t.split('|')) if (part.length >= 8) out = out.split(part).join('[redacted]');
    return out;
  }

  async #once(c: Call): Promise<Answer> {
    const { method, path } = c;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (c.auth !== false) {
      if (!this.#token) throw new CoolifyError(`${method} ${path}: no deployer token configured (COOLIFY_TOKEN)`, 'unauthorized', path);
      headers.authorization = `Bearer ${this.#token}`;
    }
    let body: string | undefined;
    if (c.body !== undefined) {
      body = JSON.stringify(c.body);
      headers['content-type'] = 'application/json';
    }
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const res = await undiciRequest(this.baseUrl + path, {
        method, headers, body, dispatcher: this.#dispatcher, signal,
        headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (e) {
      const err = e as { name?: string; code?: string; message?: string };
      const timedOut = signal.aborted || err.name === 'TimeoutError' || /Timeout/.test(err.name ?? '') || /TIMEOUT/.test(err.code ?? '');
      if (timedOut) throw new CoolifyError(`${method} ${path}: no answer within ${this.#timeoutMs} ms`, 'timeout', path);
      throw new CoolifyError(`${method} ${path}: ${this.#redact(describeNetError(e))}`, 'network', path);
    }
  }

  /** What a refusal means, for the operator: access and API version problems are named as such. */
  #refusal(c: Call, a: Answer): CoolifyError {
    const { method, path } = c;
    const apiMessage = this.#redact(messageOf(a.text)).slice(0, 300);
    const said = apiMessage ? ` "${apiMessage}"` : '';
    const version = this.seenVersion ? `Coolify ${this.seenVersion}` : 'this Coolify';
    if (a.status === 401 || (a.status === 400 && /invalid token/i.test(apiMessage))) {
      return new CoolifyError(`${method} ${path}: HTTP ${a.status}${said}: Coolify does not accept COOLIFY_TOKEN (wrong, expired or revoked; ` +
        'create a new API token in Coolify → Keys & Tokens). Nothing was deployed or judged.', 'unauthorized', path, a.status);
    }
    if (a.status === 403) {
      return new CoolifyError(`${method} ${path}: HTTP 403${said}: COOLIFY_TOKEN lacks the "${c.ability}" ability this call needs ` +
        `(give the token "${c.ability}" in Coolify → Keys & Tokens). Nothing was ${c.ability === 'deploy' ? 'deployed' : 'read'}.`, 'forbidden', path, 403);
    }
    if (a.status === 405) {
      const allow = [a.headers.allow].flat().filter(Boolean).join(', ');
      return new CoolifyError(`${method} ${path}: HTTP 405${said}${allow ? ` (Allow: ${allow})` : ''}: ${version} speaks another version of the API ` +
        'than this suite expects (Coolify v4.3.9 made state-changing endpoints POST-only): not a failed deployment.', 'method-not-allowed', path, 405);
    }
    const kind: CoolifyErrorKind = a.status === 404 ? 'not-found' : 'http';
    return new CoolifyError(`${method} ${path}: HTTP ${a.status}${said}`, kind, path, a.status);
  }

  /** One API call with the 429 policy; non-2xx becomes a CoolifyError naming the status and the API's message. */
  async #call(c: Call): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      const a = await this.#once(c);
      if (a.status === 429) {
        const wait = retryAfterMs(a.headers) ?? 1000;
        if (attempt >= this.#maxRetries) {
          throw new CoolifyError(`${c.method} ${c.path}: 429 Too Many Requests after ${attempt + 1} attempts (deployment queue full?)`, 'rate-limited', c.path, 429);
        }
        if (wait > this.#maxRetryAfterMs) {
          throw new CoolifyError(
            `${c.method} ${c.path}: 429 with Retry-After ${Math.round(wait / 1000)} s, longer than the allowed ${Math.round(this.#maxRetryAfterMs / 1000)} s`,
            'rate-limited', c.path, 429);
        }
        this.#log(JSON.stringify({ event: 'coolify-retry', path: c.path, status: 429, waitMs: wait, attempt: attempt + 1 }));
        await sleep(wait);
        continue;
      }
      if (a.status >= 200 && a.status < 300) return a;
      throw this.#refusal(c, a);
    }
  }

  /** The call's JSON answer, validated against the project's schema of it; a changed shape names its field. */
  async #parsed<S extends z.ZodType>(c: Call, schema: S): Promise<z.infer<S>> {
    const a = await this.#call(c);
    let v: unknown;
    try {
      v = JSON.parse(a.text);
    } catch {
      throw new CoolifyError(`${c.method} ${c.path}: answer is not JSON (${this.#redact(a.text.trim().slice(0, 80))})`, 'bad-response', c.path, a.status);
    }
    const r = schema.safeParse(v);
    if (!r.success) {
      throw new CoolifyError(`${c.method} ${c.path}: the answer does not have the shape this suite relies on: ${firstIssue(r.error)}`, 'bad-response', c.path, a.status);
    }
    return r.data;
  }

  /** Trigger a deployment of a resource (application, service, database). Returns one entry per deployment queued. */
  async deploy(uuid: string, opts: { force?: boolean } = {}): Promise<DeployTrigger[]> {
    const path = `/api/v1/deploy?uuid=${encodeURIComponent(uuid)}&force=${opts.force ? 'true' : 'false'}`;
    const body = await this.#parsed({ method: 'POST', path, ability: 'deploy' }, S.DeployAnswer);
    const out = body.deployments.map((d) => ({ message: d.message, resourceUuid: d.resource_uuid, deploymentUuid: d.deployment_uuid }));
    this.#log(JSON.stringify({ event: 'coolify-deploy', resource: uuid, deployments: out.map((d) => d.deploymentUuid ?? null) }));
    return out;
  }

  /** Restart without a build. Coolify answers {message, deployment_uuid}. */
  async restart(uuid: string): Promise<{ message: string; deploymentUuid: string }> {
    const path = `/api/v1/applications/${encodeURIComponent(uuid)}/restart`;
    const body = await this.#parsed({ method: 'POST', path, ability: 'deploy' }, S.QueuedAnswer);
    this.#log(JSON.stringify({ event: 'coolify-restart', resource: uuid, deployment: body.deployment_uuid }));
    return { message: body.message, deploymentUuid: body.deployment_uuid };
  }

  async deployment(deploymentUuid: string): Promise<Deployment> {
    const path = `/api/v1/deployments/${encodeURIComponent(deploymentUuid)}`;
    return toDeployment(await this.#parsed({ method: 'GET', path, ability: 'read' }, S.DeploymentRecord));
  }

  /** Deployment history of an application, newest first as Coolify returns it. */
  async deploymentsOf(appUuid: string, opts: { take?: number } = {}): Promise<Deployment[]> {
    const path = `/api/v1/deployments/applications/${encodeURIComponent(appUuid)}?skip=0&take=${opts.take ?? 10}`;
    const body = await this.#parsed({ method: 'GET', path, ability: 'read' }, S.AppDeployments);
    return body.deployments.map(toDeployment);
  }

  /** The images an application can roll back to, and the one it runs (`current`; null when Coolify cannot tell). */
  async rollbackImages(appUuid: string): Promise<RollbackImages> {
    const path = `/api/v1/applications/${encodeURIComponent(appUuid)}/rollback-images`;
    const body = await this.#parsed({ method: 'GET', path, ability: 'read' }, S.RollbackImages);
    return { current: body.current, images: body.images.map((i) => ({ tag: i.tag, createdAt: i.created_at, isCurrent: i.is_current })) };
  }

  /** Queue a rollback to an earlier image (a deployment to poll like any other). */
  async rollback(appUuid: string, tag: string): Promise<{ message: string; deploymentUuid: string }> {
    const path = `/api/v1/applications/${encodeURIComponent(appUuid)}/rollback`;
    const body = await this.#parsed({ method: 'POST', path, ability: 'deploy', body: { commit: tag } }, S.QueuedAnswer);
    this.#log(JSON.stringify({ event: 'coolify-rollback', resource: appUuid, tag, deployment: body.deployment_uuid }));
    return { message: body.message, deploymentUuid: body.deployment_uuid };
  }

  /** The scheduled backups of a database resource, each with its executions (newest first). */
  async backups(dbUuid: string): Promise<BackupSchedule[]> {
    const path = `/api/v1/databases/${encodeURIComponent(dbUuid)}/backups`;
    const list = await this.#parsed({ method: 'GET', path, ability: 'read' }, S.BackupSchedules);
    return list.map((b) => ({
      uuid: b.uuid, enabled: b.enabled, frequency: b.frequency, saveS3: b.save_s3 ?? false,
      retentionAmountLocally: b.database_backup_retention_amount_locally,
      retentionDaysLocally: b.database_backup_retention_days_locally,
      executions: (b.executions ?? []).map(toExecution),
    }));
  }

  /** All executions of one scheduled backup, newest first. */
  async backupExecutions(dbUuid: string, backupUuid: string): Promise<BackupExecution[]> {
    const path = `/api/v1/databases/${encodeURIComponent(dbUuid)}/backups/${encodeURIComponent(backupUuid)}/executions`;
    const body = await this.#parsed({ method: 'GET', path, ability: 'read' }, S.BackupExecutions);
    return body.executions.map(toExecution);
  }

  /**
   * Poll until the deployment reaches a final status and return it. Transient trouble while polling (network error,
   * time-out, 5xx) is retried until the deadline, since a deployer under load may stumble; 401/403/404 end the wait.
   * Rejects with a CoolifyError of kind 'timeout' naming the last status seen when the deadline passes.
   */
  async waitForDeployment(deploymentUuid: string, opts: WaitOptions = {}): Promise<FinalStatus> {
    return (await this.waitForDeploymentRecord(deploymentUuid, opts)).status as FinalStatus;
  }

  /** As waitForDeployment, returning the final record (its commit and log are the evidence of what happened). */
  async waitForDeploymentRecord(deploymentUuid: string, opts: WaitOptions = {}): Promise<Deployment> {
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const pollMs = opts.pollMs ?? 1000;
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    let lastTrouble: string | undefined;
    for (;;) {
      try {
        const d = await this.deployment(deploymentUuid);
        lastTrouble = undefined;
        if (d.status !== last) {
          last = d.status;
          opts.onStatus?.(d.status, d);
          this.#log(JSON.stringify({ event: 'coolify-status', deployment: deploymentUuid, status: d.status }));
        }
        if ((FINAL_STATUSES as readonly string[]).includes(d.status)) return d;
      } catch (e) {
        if (!(e instanceof CoolifyError)) throw e;
        const transient = e.kind === 'network' || e.kind === 'timeout' || (e.kind === 'http' && (e.status ?? 0) >= 500);
        if (!transient) throw e;
        lastTrouble = e.message;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new CoolifyError(
          `deployment ${deploymentUuid} did not reach a final status within ${Math.round(timeoutMs / 1000)} s ` +
            `(last status: ${last ?? 'none seen'}${lastTrouble ? `; last error: ${lastTrouble}` : ''})`,
          'timeout', `/api/v1/deployments/${deploymentUuid}`);
      }
      await sleep(Math.min(pollMs, left));
    }
  }

  /** `GET /api/health` (no auth). Coolify answers 200 "OK". */
  async health(): Promise<{ ok: boolean; status: number; body: string }> {
    const a = await this.#once({ method: 'GET', path: '/api/health', ability: 'read', auth: false });
    return { ok: a.status === 200, status: a.status, body: a.text.trim().slice(0, 200) };
  }

  /** `GET /api/v1/version` → e.g. "4.3.10" (a bare text; some proxies JSON-quote it). Remembered in seenVersion. */
  async version(): Promise<string> {
    const path = '/api/v1/version';
    const a = await this.#call({ method: 'GET', path, ability: 'read' });
    let t = a.text.trim();
    try {
      const v = JSON.parse(t) as unknown;
      if (typeof v === 'string') t = v;
    } catch { /* bare text */ }
    const r = S.VersionText.safeParse(t);
    if (!r.success) throw new CoolifyError(`GET ${path}: "${this.#redact(t.slice(0, 60))}" ${firstIssue(r.error).replace(/^\(the whole answer\): /, '')}`, 'bad-response', path, a.status);
    this.seenVersion = r.data.replace(/^v/, '');
    return this.seenVersion;
  }
}

function toDeployment(d: DeploymentRecordT): Deployment {
  return {
    deploymentUuid: d.deployment_uuid,
    status: d.status,
    commit: d.commit ?? undefined,
    rollback: d.rollback ?? false,
    restartOnly: d.restart_only ?? false,
    log: logLines(d.logs),
    createdAt: d.created_at ?? undefined,
    raw: d as Record<string, unknown>,
  };
}

/** Coolify's `logs` is JSON text of entries; hidden ones are Coolify's own commands, not shown to users either. */
export function logLines(logs: string | null | undefined): LogLine[] {
  if (!logs) return [];
  try {
    const v = JSON.parse(logs) as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter((e): e is LogLine => !!e && typeof (e as LogLine).output === 'string' && !(e as LogLine).hidden)
      .map((e) => ({ output: e.output, type: e.type }));
  } catch {
    return [];
  }
}

function toExecution(e: BackupExecutionT): BackupExecution {
  return {
    uuid: e.uuid, status: e.status, createdAt: e.created_at,
    filename: e.filename ?? undefined,
    size: e.size === null || e.size === undefined ? undefined : Number(e.size),
    message: e.message ?? undefined,
  };
}

function messageOf(text: string): string {
  try {
    const v = JSON.parse(text) as { message?: unknown };
    if (v && typeof v.message === 'string') return v.message;
  } catch { /* not JSON */ }
  return text.trim().replace(/\s+/g, ' ');
}

/**
 * The client for a configured target: its deployer URL, token and dispatcher (DNS via DNS_SERVERS, CA_FILE trust).
 * Throws when no token is configured: disruptive checks should skip before calling this (see `t.coolify`).
 */
export function coolifyFor(t: Target, opts: Partial<Omit<CoolifyOptions, 'baseUrl' | 'token' | 'dispatcher'>> = {}): CoolifyClient {
  if (!t.coolify?.token) throw new Error('no deployer token configured (COOLIFY_TOKEN): the disruptive checks need one');
  return new CoolifyClient({ ...opts, baseUrl: t.deployerUrl, token: t.coolify.token, dispatcher: dispatcherFor(t) });
}
