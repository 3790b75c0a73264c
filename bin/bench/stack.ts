// `npm run bench [-- stack] [--runs N] [--only stack-cold-start] [--strict]`: cold start and peak memory of the
// embedded deployment.
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { ROOT, startStackDetailed, STACK_ROOT } from '../../stack/index.ts';
import { compiledEntry } from '../../stack/deployer/supervisor.ts';
import { ensureTemplate } from '../../stack/postgres/index.ts';
import { argOf, loadavg, median, runBenchmarks, runsOf, type Benchmark } from './common.ts';

// --- process tree memory -----------------------------------------------------------------------------------

const PAGE = 4096;

/** Sum of RSS (bytes) of `root` and every descendant, and how many processes that is, read from /proc. */
export function treeRss(root = process.pid): { bytes: number; processes: number } {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  let bytes = 0;
  let processes = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
      bytes += resident * PAGE;
      processes++;
    } catch {
      /* exited meanwhile */
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return { bytes, processes };
}

/** Samples the tree every `intervalMs` until stopped; returns the peak. */
export function sampleRss(intervalMs = 50): { stop(): { peakBytes: number; peakProcesses: number } } {
  let peakBytes = 0;
  let peakProcesses = 0;
  const take = () => {
    const s = treeRss();
    if (s.bytes > peakBytes) peakBytes = s.bytes;
    if (s.processes > peakProcesses) peakProcesses = s.processes;
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakBytes, peakProcesses };
    },
  };
}

// --- benchmarks -----------------------------------------------------------------------------------------------

const stackColdStart: Benchmark = {
  name: 'stack-cold-start',
  description: 'whole embedded stack: time from startStack() to ready, peak RSS of the process tree',
  async run({ runs, log }) {
    // The template cluster and the services' bundles are one-time caches (like pulled images); build them
    // outside the measurement.
    await ensureTemplate(STACK_ROOT, log);
    await Promise.all(['auth', 'app'].map((s) => compiledEntry(join(ROOT, 'stack', s, 'server.ts'))));
    const loadBefore = loadavg();
    const rows: Record<string, string | number>[] = [];
    const ready: number[] = [];
    const peaks: number[] = [];
    for (let i = 1; i <= runs; i++) {
      const sampler = sampleRss(50);
      const t0 = Date.now();
      const stack = await startStackDetailed({});
      const readyMs = Date.now() - t0;
      // Serve one round of requests (as the suite's first checks would) before reading the peak.
      const resolver = new Resolver({ timeout: 1000, tries: 2 });
      resolver.setServers(stack.env.DNS_SERVERS.split(','));
      const agent = new Agent({
        connect: {
          ca: readFileSync(stack.env.CA_FILE, 'utf8'),
          lookup: (host, _o, cb) =>
            void resolver.resolve4(host).then(
              (a) => (cb as (e: null, x: { address: string; family: number }[]) => void)(null, a.map((address) => ({ address, family: 4 }))),
              (e: Error) => cb(e, '', 4),
            ),
        },
      });
      let served = 0;
      for (const url of [`${stack.env.APP_URL}/`, `${stack.env.AUTH_URL}/.well-known/openid-configuration`, `${stack.env.DEPLOYER_URL}/api/health`]) {
        try {
          const r = await request(url, { dispatcher: agent });
          await r.body.text();
          if (r.statusCode < 400) served++;
        } catch {
          /* counted as not served */
        }
      }
      await agent.close();
      const t1 = Date.now();
      await stack.stop();
      const stopMs = Date.now() - t1;
      const { peakBytes, peakProcesses } = sampler.stop();
      ready.push(readyMs);
      peaks.push(peakBytes);
      const t = stack.timings;
      rows.push({
        run: i,
        'ready ms': readyMs,
        'edge ms': t.edge ?? '',
        'postgres ms': t.postgres ?? '',
        'migrations ms': t.migrations ?? '',
        'app ms': t.app ?? '',
        'auth ms': t.auth ?? '',
        'stop ms': stopMs,
        'peak RSS MB': Math.round(peakBytes / 1048576),
        processes: peakProcesses,
        served: `${served}/3`,
      });
      log(`run ${i}/${runs}: ready in ${readyMs} ms, peak ${Math.round(peakBytes / 1048576)} MB`);
    }
    return {
      rows,
      targets: [
        { label: 'median time to ready', value: median(ready), limit: 3000, unit: 'ms' },
        { label: 'peak RSS (process tree)', value: Math.round(Math.max(...peaks) / 1048576), limit: 600, unit: 'MB' },
      ],
      notes: [
        `ready ms: min ${Math.min(...ready)}, median ${median(ready)}, max ${Math.max(...ready)} over ${runs} cold starts`,
        'RSS is summed per process, so memory shared between Postgres backends counts more than once (an upper bound).',
        `load average (1, 5, 15 min) before: ${loadBefore}, after: ${loadavg()} (other work on the machine slows every number)`,
        'phase columns are ms from the start call: edge = TLS edge up (CA, DNS before it), postgres = accepting logins, ' +
          'app / auth = routed (healthy); auth and app are spawned when the edge is up, alongside Postgres',
      ],
    };
  },
};

export const BENCHMARKS: Benchmark[] = [stackColdStart];


export async function run(args: string[]): Promise<void> {
  const runs = runsOf(args, 5);
  const only = argOf(args, '--only');
  const chosen = BENCHMARKS.filter((b) => !only || b.name === only);
  if (!chosen.length) {
    console.error(`no benchmark named "${only}"; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  const missed = await runBenchmarks(chosen, runs);
  process.exit(args.includes('--strict') && missed ? 1 : 0);
}
