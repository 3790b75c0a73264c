// Benchmark of the monitor (issue 16, point 7), against the embedded deployment started here:
//   - round time: N rounds of the API-level @smoke checks exactly as the monitor runs them (runRound), median ≤ 3 s;
//   - memory: the real `bin/monitor.ts` run for M rounds back to back (`--every 1ms`), its own RSS (the process,
//     not the Playwright runs it spawns) sampled every second: peak ≤ 150 MB, and flat (the last tenth of the run
//     against the second tenth).
//   npm run bench -- --only monitor [--runs N] [--monitor-rounds M]   or   npx tsx bin/bench/monitor.ts [same]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../../helpers/config.ts';
import { runRound } from '../../helpers/monitor/rounds.ts';
import { startStack } from '../../stack/index.ts';

interface Target { label: string; value: number; limit: number; unit: string }
interface BenchResult { rows: Record<string, string | number>[]; targets: Target[]; notes?: string[] }

const MB = 1024 * 1024;

function rssOf(pid: number): number | undefined {
  try { return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096; } catch { return undefined; }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function roundTimes(env: Record<string, string>, runs: number, log: (l: string) => void): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gbv-bench-monitor-'));
  const times: number[] = [];
  try {
    // One warm-up round: Playwright's transform cache and the OS page cache, as in a monitor that has run once.
    await runRound({ env, browser: false, workDir: dir, workers: 2 });
    for (let i = 0; i < runs; i++) {
      const r = await runRound({ env, browser: false, workDir: dir, workers: 2 });
      const failed = r.checks.filter((c) => c.outcome === 'fail').length;
      if (failed || r.errors.length) log(`bench monitor: round ${i + 1} had ${failed} failure(s) ${r.errors.join('; ')}`);
      times.push(r.ms);
      log(`bench monitor: round ${i + 1}/${runs}: ${(r.ms / 1000).toFixed(2)} s, ${r.checks.length} checks`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return times;
}

interface MemoryRun { samples: { round: number; rss: number }[]; rounds: number; code: number | null }

function memoryRun(env: Record<string, string>, rounds: number, log: (l: string) => void): Promise<MemoryRun> {
  const dir = mkdtempSync(join(tmpdir(), 'gbv-bench-monitor-'));
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^MONITOR_/.test(k)) childEnv[k] = v;
  Object.assign(childEnv, env, { GBV_NO_DOTENV: '1' });
  // tsx's CLI would be the process measured otherwise: node with the tsx loader is the monitor itself.
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'monitor.ts'), '--every', '1ms', '--rounds', String(rounds), '--browser-every', '0', '--dir', dir], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  const samples: { round: number; rss: number }[] = [];
  let round = 0;
  child.stdout!.on('data', (d: Buffer) => {
    for (const m of d.toString().matchAll(/^monitor: round (\d+) /gm)) {
      round = Number(m[1]);
      if (round % 25 === 0) log(`bench monitor: memory run at round ${round}/${rounds}, RSS ${((rssOf(child.pid!) ?? 0) / MB).toFixed(0)} MB`);
    }
  });
  const timer = setInterval(() => {
    const rss = rssOf(child.pid!);
    if (rss !== undefined) samples.push({ round, rss });
  }, 1000);
  return new Promise((res) => child.on('close', (code) => {
    clearInterval(timer);
    rmSync(dir, { recursive: true, force: true });
    res({ samples, rounds: round, code });
  }));
}

export async function benchMonitor(o: { runs: number; monitorRounds: number; log: (l: string) => void }): Promise<BenchResult> {
  const stack = await startStack({});
  try {
    const times = await roundTimes(stack.env, o.runs, o.log);
    const mem = o.monitorRounds > 0 ? await memoryRun(stack.env, o.monitorRounds, o.log) : undefined;
    const rows: Record<string, string | number>[] = times.map((ms, i) => ({ round: i + 1, 'round s': Number((ms / 1000).toFixed(2)) }));
    const targets: Target[] = [{ label: 'API-level round, median', value: Number((median(times) / 1000).toFixed(2)), limit: 3, unit: 's' }];
    const notes = [`round time min ${(Math.min(...times) / 1000).toFixed(2)} s, max ${(Math.max(...times) / 1000).toFixed(2)} s`];
    if (mem?.samples.length) {
      const peak = Math.max(...mem.samples.map((s) => s.rss));
      const tenth = Math.max(1, Math.floor(mem.rounds / 10));
      const avg = (from: number, to: number) => {
        const xs = mem.samples.filter((s) => s.round >= from && s.round < to).map((s) => s.rss);
        return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
      };
      const early = avg(tenth, 2 * tenth);
      const late = avg(mem.rounds - tenth, mem.rounds + 1);
      targets.push({ label: `monitor process RSS, peak over ${mem.rounds} rounds`, value: Math.round(peak / MB), limit: 150, unit: 'MB' });
      notes.push(`monitor RSS: rounds ${tenth}–${2 * tenth} average ${(early / MB).toFixed(1)} MB, last ${tenth} rounds ${(late / MB).toFixed(1)} MB (growth ${((late - early) / MB).toFixed(1)} MB); exit ${mem.code}`);
    }
    return { rows, targets, notes };
  } finally {
    await stack.stop();
  }
}

/** The entry the bench dispatcher lists (bin/bench.ts). */
export const monitorBenchmark = {
  name: 'monitor',
  description: 'monitor: API-level round time (≤ 3 s) and the monitor process memory over 500 rounds (≤ 150 MB, flat)',
  run: (o: { runs: number; log: (l: string) => void }) => benchMonitor({ runs: o.runs, monitorRounds: Number(process.env.GBV_BENCH_MONITOR_ROUNDS ?? 500), log: o.log }),
};

/**
 * The bench dispatcher's entry (bin/bench.ts imports this file and calls `run(args after 'monitor')`):
 * `--runs N` rounds timed (default 10), `--monitor-rounds M` for the memory run (default 500, 0 to skip), `--strict`
 * exits 1 when a target is missed.
 */
export async function run(argv: string[]): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? Number(argv[i + 1]) : fallback;
    return Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  const log = (l: string) => console.log(l);
  try {
    const r = await benchMonitor({ runs: Math.max(1, arg('--runs', 10)), monitorRounds: arg('--monitor-rounds', 500), log });
    console.log(`\n${new Date().toISOString()}, load average ${loadAverage()}`);
    let missed = 0;
    for (const t of r.targets) {
      if (t.value > t.limit) missed++;
      console.log(`${t.value <= t.limit ? 'OK  ' : 'OVER'} ${t.label}: ${t.value} ${t.unit} (target ≤ ${t.limit} ${t.unit})`);
    }
    for (const n of r.notes ?? []) console.log(`     ${n}`);
    process.exit(argv.includes('--strict') && missed ? 1 : 0);
  } catch (e) {
    console.error(`bench monitor: ${(e as Error).message}`);
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void run(process.argv.slice(2));

function loadAverage(): string {
  try { return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); } catch { return '?'; }
}
