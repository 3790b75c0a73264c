// Before any test: can the suite reach the target at all? Resolve and TLS-connect each base URL in
// parallel, in ≤ 10 s. If NO host is reachable the run is pointless (wrong DNS server, wrong CA, stack
// down) and global setup stops it with ONE root-cause line instead of a hundred time-outs. A single
// broken host is a finding for the checks themselves (infra specs name it precisely), so it only warns.
import { lookup as systemLookup } from 'node:dns/promises';
import type { Target } from './config.ts';
import { resolveA, type DnsError } from './dns.ts';
import { caFor, describeNetError } from './http.ts';
import { chainProblem, expiryJudgement, hostnameProblem, probeTls } from './tls.ts';

export interface HostPreflight {
  role: 'app' | 'auth' | 'deployer';
  url: string;
  host: string;
  port: number;
  address?: string;
  ok: boolean;
  /** One line naming the host and what is wrong (resolution, connection or certificate). */
  problem?: string;
  ms: number;
}
export interface PreflightResult { hosts: HostPreflight[]; ms: number; warnings: string[] }

export class PreflightError extends Error {
  result: PreflightResult;
  constructor(line: string, result: PreflightResult) {
    super(line);
    this.name = 'PreflightError';
    this.result = result;
  }
}

async function checkHost(t: Target, role: HostPreflight['role'], url: string, deadline: number): Promise<HostPreflight> {
  const started = performance.now();
  const u = new URL(url);
  const host = u.hostname;
  const port = Number(u.port || 443);
  const base = { role, url, host, port };
  const left = () => Math.max(200, deadline - Date.now());
  let address: string;
  try {
    if (t.resolveViaDnsServers) {
      const addrs = await resolveA(host, t.dnsServers, Math.min(4000, left()));
      address = addrs[0];
    } else {
      address = (await systemLookup(host, { family: 4 })).address;
    }
  } catch (e) {
    const err = e as DnsError & NodeJS.ErrnoException;
    const problem = err.name === 'DnsError' ? err.message
      : `cannot resolve ${host} via the system resolver: ${err.code === 'ENOTFOUND' ? 'NXDOMAIN' : err.code ?? err.message}`;
    return { ...base, ok: false, problem, ms: Math.round(performance.now() - started) };
  }
  try {
    // Connect to the address just resolved so the message can name it; SNI still carries the host name.
    const p = await probeTls(address, port, { servername: host, ca: caFor(t), timeoutMs: left() });
    const leaf = p.chain[0];
    let problem: string | undefined;
    if (!p.authorized) {
      const exp = leaf ? expiryJudgement(leaf, 0) : undefined;
      problem = `${host}: certificate ` + (
        exp && (exp.level === 'expired' || exp.level === 'not-yet-valid') ? exp.message.replace(/^certificate /, '')
          : leaf && hostnameProblem(host, leaf) ? (hostnameProblem(host, leaf) ?? '').replace(/^certificate /, '')
            : (chainProblem(p) ?? 'not trusted'));
    }
    return { ...base, address, ok: !problem, problem, ms: Math.round(performance.now() - started) };
  } catch (e) {
    const cause = (e as Error & { cause?: unknown }).cause ?? e;
    const why = describeNetError(cause);
    const problem = (cause as NodeJS.ErrnoException).code === 'ECONNREFUSED'
      ? `connection refused to ${host} (${address}:${port})`
      : /timed out/.test((e as Error).message) ? `connection to ${host} (${address}:${port}) timed out`
        : `${host} (${address}:${port}): ${why}`;
    return { ...base, address, ok: false, problem, ms: Math.round(performance.now() - started) };
  }
}

/** The target's base URLs by role (deployer only when configured), one entry per distinct origin. */
export function baseUrls(t: Target): { role: HostPreflight['role']; url: string }[] {
  const all = [
    { role: 'app' as const, url: t.appUrl },
    { role: 'auth' as const, url: t.authUrl },
    ...(t.deployerUrl ? [{ role: 'deployer' as const, url: t.deployerUrl }] : []),
  ];
  const seen = new Set<string>();
  return all.filter((x) => (seen.has(x.url) ? false : (seen.add(x.url), true)));
}

/**
 * Checks every base URL in parallel within `timeoutMs` (≤ 10 s). Resolves with per-host results and
 * warnings when at least one host answers; throws PreflightError with one root-cause line when none does.
 */
export async function preflight(t: Target, opts: { timeoutMs?: number } = {}): Promise<PreflightResult> {
  const timeoutMs = Math.min(opts.timeoutMs ?? 10_000, 10_000);
  const started = performance.now();
  const deadline = Date.now() + timeoutMs - 250;
  const urls = baseUrls(t);
  const hosts = await Promise.all(urls.map(({ role, url }) =>
    Promise.race([
      checkHost(t, role, url, deadline),
      new Promise<HostPreflight>((res) => setTimeout(() => {
        const u = new URL(url);
        res({ role, url, host: u.hostname, port: Number(u.port || 443), ok: false, ms: timeoutMs,
          problem: `${u.hostname}: no answer within ${timeoutMs} ms (resolution or connection hangs)` });
      }, timeoutMs).unref()),
    ])));
  const result: PreflightResult = { hosts, ms: Math.round(performance.now() - started), warnings: [] };
  const bad = hosts.filter((h) => !h.ok);
  if (bad.length === hosts.length) throw new PreflightError(rootCause(bad), result);
  result.warnings = bad.map((h) => `preflight: ${h.role} ${h.problem} (its checks will fail; the run goes on)`);
  return result;
}

/** One line: the shared cause when all hosts fail alike (e.g. the DNS server is down), else the app's. */
function rootCause(bad: HostPreflight[]): string {
  const generic = (h: HostPreflight) => (h.problem ?? '').split(h.host).join('<host>').replace(/\(\d+\.\d+\.\d+\.\d+:\d+\)/, '');
  const first = bad[0];
  if (bad.every((h) => generic(h) === generic(first)) && bad.length > 1) {
    return `target unreachable: ${first.problem} (same for ${bad.slice(1).map((h) => h.host).join(', ')})`;
  }
  return `target unreachable: ${first.problem}`;
}
