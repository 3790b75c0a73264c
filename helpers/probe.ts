// Availability probe for disruptive checks: polls a few endpoints on a fixed schedule while something is being
// redeployed, records every answer, and turns the record into outage windows. The arithmetic is pure and separate
// (outages/summarize) so it can be checked on hand-built samples.
import { request as undiciRequest, type Dispatcher } from 'undici';
import { describeNetError } from './http.ts';
import { retryAfterMs } from './retry-after.ts';

export interface ProbeEndpoint {
  name: string;
  url: string;
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Sent as the Cookie header; kept out of every recorded error. */
  cookie?: string;
  /** Judges one answer. A throw counts as a failed sample. */
  ok: (status: number, body: string) => boolean;
}

export interface ProbeOptions {
  endpoints: ProbeEndpoint[];
  /** Schedule per endpoint, 100–250 ms. Default 200. */
  intervalMs?: number;
  dispatcher?: Dispatcher;
  /** Per request (connect to end of body). Default 2000. A hanging endpoint is polled only after this. */
  timeoutMs?: number;
  /** The probe stops itself after this long, even if nobody calls stop(). Default 15 min. */
  maxDurationMs?: number;
  /** Optional strings to blank out of recorded errors (tokens, passwords) besides the endpoints' cookies. */
  secrets?: string[];
  /** Longest pause honoured after a 429's Retry-After (per endpoint). Default 15 s. */
  maxBackoffMs?: number;
}

export interface Sample {
  endpoint: string;
  /** When the request was sent, ms since the probe started. */
  t: number;
  status?: number;
  /** Short, secret-free reason when there was no answer or the check threw. */
  error?: string;
  latencyMs: number;
  ok: boolean;
  /**
   * The server answered 429: the probe itself was throttled (Better Auth rate-limits /api/auth/* per client IP,
   * and its counter only resets after a pause as long as its window). Says nothing about availability: such
   * samples are left out of the outage arithmetic (the gap they leave shows in longestGapMs).
   */
  throttled?: boolean;
}

export interface Mark {
  label: string;
  t: number;
}

export interface ProbeResult {
  /** Wall-clock start (ISO) so the timeline can be lined up with logs. */
  startedAt: string;
  intervalMs: number;
  timeoutMs: number;
  endpoints: string[];
  /** Ordered by t (send time). */
  samples: Sample[];
  marks: Mark[];
  durationMs: number;
  stoppedBy: 'stop' | 'max-duration';
}

export interface Probe {
  /** Record a labelled instant (e.g. "deploy triggered", "deploy finished"); returns its t. */
  mark(label: string): number;
  /** Ms since start. */
  now(): number;
  /** Samples so far (copy), for watching progress without stopping. */
  snapshot(): Sample[];
  /** Ends polling (in-flight requests are aborted and not recorded) and returns everything recorded. Idempotent. */
  stop(): Promise<ProbeResult>;
}

export function startProbe(opts: ProbeOptions): Probe {
  const intervalMs = opts.intervalMs ?? 200;
  if (!(intervalMs >= 100 && intervalMs <= 250)) throw new RangeError(`probe intervalMs must be 100–250, got ${intervalMs}`);
  if (opts.endpoints.length === 0) throw new RangeError('probe needs at least one endpoint');
  const names = new Set<string>();
  for (const e of opts.endpoints) {
    if (names.has(e.name)) throw new RangeError(`probe endpoint name "${e.name}" used twice`);
    names.add(e.name);
  }
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxDurationMs = opts.maxDurationMs ?? 15 * 60_000;
  const maxBackoffMs = opts.maxBackoffMs ?? 15_000;
  const secrets = [...(opts.secrets ?? []), ...opts.endpoints.map((e) => e.cookie ?? '')].filter((s) => s.length >= 4);
  const redact = (s: string) => secrets.reduce((acc, sec) => acc.split(sec).join('[redacted]'), s);

  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const now = () => Math.round(performance.now() - t0);
  const samples: Sample[] = [];
  const marks: Mark[] = [];
  const stopCtl = new AbortController();
  let stoppedBy: ProbeResult['stoppedBy'] = 'stop';
  let endT: number | undefined;

  const maxTimer = setTimeout(() => {
    stoppedBy = 'max-duration';
    endT = now();
    stopCtl.abort();
  }, maxDurationMs);

  // Waits until `ms` passes or the probe stops, whichever first.
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopCtl.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stopCtl.signal.removeEventListener('abort', done);
        resolve();
      }
      stopCtl.signal.addEventListener('abort', done, { once: true });
    });

  async function once(ep: ProbeEndpoint): Promise<{ sample?: Sample; backoffMs?: number }> {
    const headers: Record<string, string> = { 'cache-control': 'no-cache', ...(ep.headers ?? {}) };
    if (ep.cookie) headers.cookie = ep.cookie;
    const t = now();
    const sent = performance.now();
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, stopCtl.signal]);
    const latency = () => Math.round(performance.now() - sent);
    let status: number | undefined;
    try {
      const res = await undiciRequest(ep.url, {
        method: ep.method ?? 'GET',
        headers,
        dispatcher: opts.dispatcher,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      const body = await res.body.text();
      if (status === 429) {
        const waitMs = retryAfterMs(res.headers);
        const sec = waitMs !== undefined ? Math.round(waitMs / 100) / 10 : undefined;
        const backoffMs = Math.min(maxBackoffMs, waitMs ?? 1000);
        return {
          sample: { endpoint: ep.name, t, status, latencyMs: latency(), ok: false, throttled: true, error: `HTTP 429 rate limited${sec !== undefined ? ` (Retry-After ${sec} s)` : ''}` },
          backoffMs,
        };
      }
      let ok: boolean;
      try {
        ok = ep.ok(status, body) === true;
      } catch (e) {
        return { sample: { endpoint: ep.name, t, status, latencyMs: latency(), ok: false, error: redact(`check threw: ${(e as Error).message}`).slice(0, 200) } };
      }
      return ok
        ? { sample: { endpoint: ep.name, t, status, latencyMs: latency(), ok } }
        : { sample: { endpoint: ep.name, t, status, latencyMs: latency(), ok, error: `HTTP ${status} judged not ok` } };
    } catch (e) {
      if (stopCtl.signal.aborted && !timeout.aborted) return {}; // cut short by stop(): not an observation
      const err = e as { name?: string; code?: string; message?: string };
      const error = timeout.aborted || /Timeout/i.test(err.name ?? '') || /TIMEOUT/.test(err.code ?? '')
        ? `timeout after ${timeoutMs} ms`
        : redact(describeNetError(e)).slice(0, 200);
      return { sample: { endpoint: ep.name, t, status, latencyMs: latency(), ok: false, error } };
    }
  }

  // One loop per endpoint: a request is sent every intervalMs, or right after the previous one if it took longer,
  // so there is never more than one in flight per endpoint. A 429 pauses that endpoint as long as Retry-After says.
  async function loop(ep: ProbeEndpoint) {
    while (!stopCtl.signal.aborted) {
      const begun = performance.now();
      const { sample, backoffMs } = await once(ep);
      if (sample) samples.push(sample);
      const wait = Math.max(intervalMs, backoffMs ?? 0) - (performance.now() - begun);
      if (wait > 0) await pause(wait);
    }
  }

  const loops = Promise.all(opts.endpoints.map(loop));
  let result: Promise<ProbeResult> | undefined;

  return {
    mark(label: string) {
      const t = now();
      marks.push({ label, t });
      return t;
    },
    now,
    snapshot: () => samples.slice(),
    stop() {
      result ??= (async () => {
        if (endT === undefined) endT = now();
        clearTimeout(maxTimer);
        stopCtl.abort();
        await loops;
        return {
          startedAt,
          intervalMs,
          timeoutMs,
          endpoints: opts.endpoints.map((e) => e.name),
          samples: samples.slice().sort((a, b) => a.t - b.t),
          marks: marks.slice(),
          durationMs: endT,
          stoppedBy,
        };
      })();
      return result;
    },
  };
}

// ---------------------------------------------------------------- arithmetic (pure)

/**
 * An outage is a maximal run of consecutive failed samples of one endpoint (ordered by send time t).
 *
 * - `start` is the t of the last good sample before the run; `end` is the t of the first good sample after it.
 *   So `durationMs = end - start` is an upper bound of the real unavailability: the truth lies somewhere between
 *   `lowerBoundMs` (first to last failed sample) and `durationMs`. The uncertainty on each side is one probe step:
 *   the interval when the endpoint answers fast (refused, 502), but up to the request time-out when it hangs.
 * - A run at the very beginning has no good sample before it: `start` is its first failed sample and
 *   `openStart` is true (the outage may have begun before the probe). A run still going at the last sample has
 *   no good sample after it: `end` is its last failed sample and `openEnd` is true (not over when the probe stopped).
 * - A single failed sample between two good ones is an outage of failedCount 1 and duration = the gap between
 *   its neighbours (about two intervals): a blip is reported, not hidden.
 */
export interface Outage {
  endpoint: string;
  start: number;
  end: number;
  durationMs: number;
  lowerBoundMs: number;
  failedCount: number;
  firstFailedT: number;
  lastFailedT: number;
  firstError?: string;
  lastError?: string;
  openStart: boolean;
  openEnd: boolean;
}

function describeFailure(s: Sample): string {
  return s.error ?? (s.status !== undefined ? `HTTP ${s.status}` : 'failed');
}

export function outages(samples: readonly Sample[], endpoint: string): Outage[] {
  const mine = samples.filter((s) => s.endpoint === endpoint && !s.throttled).sort((a, b) => a.t - b.t);
  const out: Outage[] = [];
  let i = 0;
  while (i < mine.length) {
    if (mine[i].ok) { i++; continue; }
    const first = i;
    while (i < mine.length && !mine[i].ok) i++;
    const last = i - 1;
    const before = first > 0 ? mine[first - 1] : undefined;
    const after = i < mine.length ? mine[i] : undefined;
    const start = before ? before.t : mine[first].t;
    const end = after ? after.t : mine[last].t;
    out.push({
      endpoint,
      start,
      end,
      durationMs: end - start,
      lowerBoundMs: mine[last].t - mine[first].t,
      failedCount: last - first + 1,
      firstFailedT: mine[first].t,
      lastFailedT: mine[last].t,
      firstError: describeFailure(mine[first]),
      lastError: describeFailure(mine[last]),
      openStart: !before,
      openEnd: !after,
    });
  }
  return out;
}

export interface EndpointSummary {
  endpoint: string;
  samples: number;
  /** Failed samples, throttled ones not counted. */
  failed: number;
  /** 429 answers: the probe was throttled (not counted as failed). */
  throttled: number;
  outages: Outage[];
  /** Sum of outage durations (upper bounds). */
  totalDowntimeMs: number;
  longestOutageMs: number;
  /** Longest time between two consecutive samples: the resolution actually achieved. */
  longestGapMs: number;
  /** Largest latency of a successful sample. */
  maxOkLatencyMs: number;
}

export function summarizeEndpoint(samples: readonly Sample[], endpoint: string): EndpointSummary {
  const mine = samples.filter((s) => s.endpoint === endpoint).sort((a, b) => a.t - b.t);
  const os = outages(mine, endpoint);
  // Between observations: throttled answers observe nothing, so they do not shorten a gap.
  const seen = mine.filter((s) => !s.throttled);
  let longestGapMs = 0;
  for (let i = 1; i < seen.length; i++) longestGapMs = Math.max(longestGapMs, seen[i].t - seen[i - 1].t);
  return {
    endpoint,
    samples: mine.length,
    failed: mine.filter((s) => !s.ok && !s.throttled).length,
    throttled: mine.filter((s) => s.throttled).length,
    outages: os,
    totalDowntimeMs: os.reduce((a, o) => a + o.durationMs, 0),
    longestOutageMs: os.reduce((a, o) => Math.max(a, o.durationMs), 0),
    longestGapMs,
    maxOkLatencyMs: mine.filter((s) => s.ok).reduce((a, s) => Math.max(a, s.latencyMs), 0),
  };
}

export function summarize(result: Pick<ProbeResult, 'samples' | 'endpoints'>): EndpointSummary[] {
  return result.endpoints.map((e) => summarizeEndpoint(result.samples, e));
}

/** Samples of one endpoint with t in [from, to] (inclusive), e.g. between two marks. */
export function samplesBetween(samples: readonly Sample[], endpoint: string, from: number, to: number): Sample[] {
  return samples.filter((s) => s.endpoint === endpoint && s.t >= from && s.t <= to);
}

/** t of the first mark with this label (or undefined). */
export function markT(result: Pick<ProbeResult, 'marks'>, label: string): number | undefined {
  return result.marks.find((m) => m.label === label)?.t;
}

/** One line per endpoint, for test output and failure messages. */
export function describeSummary(s: EndpointSummary): string {
  const thr = s.throttled ? `, ${s.throttled} throttled (429, not counted)` : '';
  if (s.outages.length === 0) return `${s.endpoint}: ${s.samples} samples${thr}, no outage (longest gap ${s.longestGapMs} ms)`;
  const parts = s.outages.map((o) =>
    `${(o.start / 1000).toFixed(2)}s–${(o.end / 1000).toFixed(2)}s ${o.durationMs} ms (${o.failedCount} failed: ${o.firstError}${o.lastError !== o.firstError ? ` … ${o.lastError}` : ''})${o.openStart ? ' [from start]' : ''}${o.openEnd ? ' [not over at end]' : ''}`);
  return `${s.endpoint}: ${s.failed}/${s.samples} failed${thr}, ${s.outages.length} outage(s), total ${s.totalDowntimeMs} ms, longest ${s.longestOutageMs} ms: ${parts.join('; ')}`;
}
