// Client for the deployer's HTTP API (Coolify v4 shapes, see the interface reference "Deployer (Coolify) API").
// The disruptive checks use it to trigger a deployment and learn when it ended; nothing here retries blindly:
// only 429 (with Retry-After, bounded) and transient failures while *polling* are retried.
import { request as undiciRequest, type Dispatcher } from 'undici';
import type { Target } from './config.ts';
import { describeNetError, dispatcherFor } from './http.ts';
import { parseRetryAfter, retryAfterMs } from './retry-after.ts';

export type DeploymentStatus = 'queued' | 'in_progress' | 'finished' | 'failed' | 'cancelled-by-user';
export type FinalStatus = 'finished' | 'failed' | 'cancelled-by-user';
export const FINAL_STATUSES: readonly FinalStatus[] = ['finished', 'failed', 'cancelled-by-user'];

export interface DeployTrigger {
  message: string;
  resourceUuid: string;
  deploymentUuid: string;
}

export interface Deployment {
  deploymentUuid: string;
  /** As the API says it; usually one of DeploymentStatus, kept open so an unknown status is shown, not hidden. */
  status: string;
  /** The whole answer (Coolify sends more fields: application_name, commit, logs, created_at, ...). */
  raw: Record<string, unknown>;
}

export type CoolifyErrorKind =
  | 'unauthorized' // 401/403 or Coolify's 400 "Invalid token."
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

  async #once(method: string, path: string, auth: boolean): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth) {
      if (!this.#token) throw new CoolifyError(`${method} ${path}: no deployer token configured (COOLIFY_TOKEN)`, 'unauthorized', path);
      headers.authorization = `Bearer ${this.#token}`;
    }
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const res = await undiciRequest(this.baseUrl + path, {
        method: method as Dispatcher.HttpMethod,
        headers,
        dispatcher: this.#dispatcher,
        signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (e) {
      const err = e as { name?: string; code?: string; message?: string };
      const timedOut =
        signal.aborted ||
        err.name === 'TimeoutError' ||
        /Timeout/.test(err.name ?? '') ||
        /TIMEOUT/.test(err.code ?? '');
      if (timedOut) {
        throw new CoolifyError(`${method} ${path}: no answer within ${this.#timeoutMs} ms`, 'timeout', path);
      }
      const why = this.#redact(describeNetError(e));
      throw new CoolifyError(`${method} ${path}: ${why}`, 'network', path);
    }
  }

  /** One API call with the 429 policy; non-2xx becomes a CoolifyError naming the status and the API's message. */
  async #call(method: string, path: string, auth = true): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      const a = await this.#once(method, path, auth);
      if (a.status === 429) {
        const wait = retryAfterMs(a.headers) ?? 1000;
        if (attempt >= this.#maxRetries) {
          throw new CoolifyError(
            `${method} ${path}: 429 Too Many Requests after ${attempt + 1} attempts (deployment queue full?)`,
            'rate-limited', path, 429);
        }
        if (wait > this.#maxRetryAfterMs) {
          throw new CoolifyError(
            `${method} ${path}: 429 with Retry-After ${Math.round(wait / 1000)} s, longer than the allowed ${Math.round(this.#maxRetryAfterMs / 1000)} s`,
            'rate-limited', path, 429);
        }
        this.#log(JSON.stringify({ event: 'coolify-retry', path, status: 429, waitMs: wait, attempt: attempt + 1 }));
        await sleep(wait);
        continue;
      }
      if (a.status >= 200 && a.status < 300) return a;
      const apiMessage = this.#redact(messageOf(a.text)).slice(0, 300);
      const kind: CoolifyErrorKind =
        a.status === 401 || a.status === 403 || (a.status === 400 && /invalid token/i.test(apiMessage))
          ? 'unauthorized'
          : a.status === 404
            ? 'not-found'
            : 'http';
      throw new CoolifyError(`${method} ${path}: HTTP ${a.status}${apiMessage ? ` "${apiMessage}"` : ''}`, kind, path, a.status);
    }
  }

  #json(a: Answer, path: string): Record<string, unknown> {
    try {
      const v = JSON.parse(a.text) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* fall through */ }
    throw new CoolifyError(`${path}: answer is not a JSON object`, 'bad-response', path, a.status);
  }

  /** Trigger a deployment of a resource (application, service, database). Returns one entry per deployment queued. */
  async deploy(uuid: string, opts: { force?: boolean } = {}): Promise<DeployTrigger[]> {
    const path = `/api/v1/deploy?uuid=${encodeURIComponent(uuid)}&force=${opts.force ? 'true' : 'false'}`;
    const body = this.#json(await this.#call('GET', path), path);
    const list = body.deployments;
    if (!Array.isArray(list) || list.length === 0) {
      throw new CoolifyError(`${path}: answer has no "deployments" (message: ${this.#redact(messageOf(JSON.stringify(body)))})`, 'bad-response', path);
    }
    const out = list.map((d: Record<string, unknown>) => ({
      message: String(d.message ?? ''),
      resourceUuid: String(d.resource_uuid ?? ''),
      deploymentUuid: String(d.deployment_uuid ?? ''),
    }));
    if (out.some((d) => !d.deploymentUuid)) {
      throw new CoolifyError(`${path}: a deployment entry has no deployment_uuid`, 'bad-response', path);
    }
    this.#log(JSON.stringify({ event: 'coolify-deploy', resource: uuid, deployments: out.map((d) => d.deploymentUuid) }));
    return out;
  }

  /** Restart without a build. Coolify answers {message, deployment_uuid}. */
  async restart(uuid: string): Promise<{ message: string; deploymentUuid?: string }> {
    const path = `/api/v1/applications/${encodeURIComponent(uuid)}/restart`;
    const body = this.#json(await this.#call('GET', path), path);
    const deploymentUuid = typeof body.deployment_uuid === 'string' ? body.deployment_uuid : undefined;
    this.#log(JSON.stringify({ event: 'coolify-restart', resource: uuid, deployment: deploymentUuid }));
    return { message: String(body.message ?? ''), deploymentUuid };
  }

  async deployment(deploymentUuid: string): Promise<Deployment> {
    const path = `/api/v1/deployments/${encodeURIComponent(deploymentUuid)}`;
    const body = this.#json(await this.#call('GET', path), path);
    if (typeof body.status !== 'string') {
      throw new CoolifyError(`${path}: answer has no "status"`, 'bad-response', path);
    }
    return { deploymentUuid: String(body.deployment_uuid ?? deploymentUuid), status: body.status, raw: body };
  }

  /** Deployment history of an application, newest first as Coolify returns it. */
  async deploymentsOf(appUuid: string): Promise<Deployment[]> {
    const path = `/api/v1/deployments/applications/${encodeURIComponent(appUuid)}`;
    const a = await this.#call('GET', path);
    let v: unknown;
    try { v = JSON.parse(a.text); } catch { throw new CoolifyError(`${path}: answer is not JSON`, 'bad-response', path, a.status); }
    // Coolify has answered both a bare array and {count, deployments: [...]} across versions.
    const list = Array.isArray(v) ? v : (v as { deployments?: unknown })?.deployments;
    if (!Array.isArray(list)) throw new CoolifyError(`${path}: answer has no deployment list`, 'bad-response', path, a.status);
    return list.map((d: Record<string, unknown>) => ({
      deploymentUuid: String(d.deployment_uuid ?? ''),
      status: String(d.status ?? ''),
      raw: d,
    }));
  }

  /**
   * Poll until the deployment reaches a final status and return it. Transient trouble while polling (network error,
   * time-out, 5xx) is retried until the deadline, since a deployer under load may stumble; 401/404 end the wait at once.
   * Rejects with a CoolifyError of kind 'timeout' naming the last status seen when the deadline passes.
   */
  async waitForDeployment(deploymentUuid: string, opts: WaitOptions = {}): Promise<FinalStatus> {
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
        if ((FINAL_STATUSES as readonly string[]).includes(d.status)) return d.status as FinalStatus;
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
    const path = '/api/health';
    const a = await this.#once('GET', path, false);
    return { ok: a.status === 200, status: a.status, body: a.text.trim().slice(0, 200) };
  }

  /** `GET /api/v1/version` → e.g. "4.0.0-beta.420" (Coolify answers a bare string, sometimes JSON-quoted). */
  async version(): Promise<string> {
    const a = await this.#call('GET', '/api/v1/version');
    const t = a.text.trim();
    try {
      const v = JSON.parse(t) as unknown;
      if (typeof v === 'string') return v;
      if (v && typeof v === 'object' && typeof (v as { version?: unknown }).version === 'string') return (v as { version: string }).version;
    } catch { /* bare text */ }
    return t;
  }
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
