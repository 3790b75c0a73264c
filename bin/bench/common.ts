// What every benchmark of `npm run bench` shares: the result shape, medians, the printed table and verdict lines.
import { readFileSync } from 'node:fs';

/** A target of a benchmark (never of a test): printed as measured vs limit. */
export interface Target {
  label: string;
  /** Printed as measured vs limit. */
  value: number;
  limit: number;
  unit: string;
}

export interface BenchResult {
  /** One row per run: column -> value. */
  rows: Record<string, string | number>[];
  targets: Target[];
  notes?: string[];
}

export interface Benchmark {
  name: string;
  description: string;
  run(o: { runs: number; log: (l: string) => void }): Promise<BenchResult>;
}

export function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}


export function table(rows: Record<string, string | number>[]): string {
  if (!rows.length) return '(no rows)';
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(width[i])).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ''))))].join('\n');
}

/** `--name value` from argv. */
export function argOf(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** `--runs N` (or BENCH_RUNS), 1..100; exits 2 on anything else. */
export function runsOf(args: string[], fallback: number): number {
  const runs = Number(argOf(args, '--runs') ?? process.env.BENCH_RUNS ?? fallback);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
    console.error('--runs must be a whole number in 1..100');
    process.exit(2);
  }
  return runs;
}

/** Runs the benchmarks, prints rows, targets and notes; the number of targets missed. */
export async function runBenchmarks(chosen: Benchmark[], runs: number): Promise<number> {
  let missed = 0;
  for (const b of chosen) {
    console.log(`\n== ${b.name}: ${b.description} (${runs} run${runs > 1 ? 's' : ''})`);
    const r = await b.run({ runs, log: (l) => console.log(`   ${l}`) });
    console.log(`\n${table(r.rows)}\n`);
    for (const t of r.targets) {
      const ok = t.value <= t.limit;
      if (!ok) missed++;
      console.log(`${ok ? 'PASS' : 'MISS'}  ${t.label}: ${t.value} ${t.unit} (target <= ${t.limit} ${t.unit})`);
    }
    for (const n of r.notes ?? []) console.log(`      ${n}`);
  }
  return missed;
}
