// `npm run selftest:healthy [-- --runs 5] [--workers 1,2,4] [--repeat 1] [--shuffle [--seed N]]`: the flake hunt.
// Runs the whole suite (every project, disruptive included) on a fresh healthy embedded deployment, again and again,
// cycling through the worker counts, with retries off and the sign-in rate limit on (production's). Every run must
// pass every test on the first try with no warning (the same judgement as the matrix's healthy row); a verdict that
// depends on the worker count or on which tests share a worker shows here. `--shuffle` adds one run of every test on
// its own, in a seeded random order (selftest/lib/shuffled-run.ts). One line per run; exit 1 on any problem, 2 on
// bad arguments.
import { resolve } from 'node:path';
import { NOT_FAULT_GUARDED } from './fault-matrix.ts';
import { judgeHealthy } from './lib/matrix.ts';
import { ALL_PROJECTS, listSuite, runSuite } from './lib/run-suite.ts';
import { runShuffled } from './lib/shuffled-run.ts';

const USAGE = 'usage: npm run selftest:healthy -- [--runs N] [--workers 1,2,4] [--repeat N] [--shuffle [--seed N]]';

interface Args { runs: number; workers: number[]; repeat: number; shuffle: boolean; seed: number }

/** The arguments, or every bad one named (an unknown flag, a count that is not a whole number ≥ the minimum). */
export function parseArgs(argv: string[]): Args | string[] {
  const bad: string[] = [];
  const values = new Map<string, string>();
  let shuffle = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--shuffle') shuffle = true;
    else if (['--runs', '--workers', '--repeat', '--seed'].includes(a) && argv[i + 1] !== undefined) values.set(a.slice(2), argv[++i]!);
    else bad.push(`unknown or incomplete argument "${a}"`);
  }
  const whole = (name: string, fallback: string, min: number): number => {
    const raw = values.get(name) ?? fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min) bad.push(`--${name} "${raw}" is not a whole number ≥ ${min}`);
    return Number(raw);
  };
  const runs = whole('runs', '5', shuffle ? 0 : 1);
  const repeat = whole('repeat', '1', 1);
  const seed = whole('seed', String(Date.now() % 1_000_000), 0);
  const workers = (values.get('workers') ?? '1,2,4').split(',').map((w) => {
    if (!/^\d+$/.test(w) || Number(w) < 1) bad.push(`--workers "${w}" is not a whole number ≥ 1`);
    return Number(w);
  });
  return bad.length ? bad : { runs, workers, repeat, shuffle, seed };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (Array.isArray(args)) {
    for (const b of args) console.error(b);
    console.error(USAGE);
    return 2;
  }
  const listed = listSuite();
  console.log(`healthy runs: ${args.runs}, workers cycling ${args.workers.join(', ')}, each test ${args.repeat}×, ${listed.length} tests${args.shuffle ? `, then every test on its own in a shuffled order (--seed ${args.seed})` : ''} (${new Date().toISOString()})`);
  let bad = 0;
  for (let i = 0; i < args.runs; i++) {
    const w = args.workers[i % args.workers.length]!;
    const run = await runSuite({ projects: ALL_PROJECTS, extraArgs: [`--workers=${w}`, `--repeat-each=${args.repeat}`], timeoutMs: 900_000 });
    const problems = judgeHealthy(run.outcomes, NOT_FAULT_GUARDED, run.verdictLine, listed, args.repeat);
    const passed = run.outcomes.filter((o) => o.result === 'passed').length;
    console.log(`run ${i + 1}/${args.runs}, --workers=${w}: ${problems.length ? 'FAIL' : 'ok'}, ${passed}/${run.outcomes.length} passed in ${Math.round(run.durationMs / 1000)} s — ${run.verdictLine.slice(0, 160)}`);
    for (const p of problems) console.log(`    ${p.slice(0, 400)}`);
    if (problems.length) bad++;
  }
  if (args.shuffle) {
    console.log(`shuffled run (--seed ${args.seed}): setup once, then each test on its own Playwright run (--no-deps)`);
    const r = await runShuffled(listed, args.seed, NOT_FAULT_GUARDED, (l) => console.log(l));
    const passed = r.outcomes.filter((o) => o.result === 'passed').length;
    console.log(`shuffled run: ${r.problems.length ? 'FAIL' : 'ok'}, ${passed}/${r.outcomes.length} passed in ${Math.round(r.ms / 1000)} s`);
    for (const p of r.problems) console.log(`    ${p.slice(0, 400)}`);
    if (r.problems.length) bad++;
  }
  const total = args.runs + (args.shuffle ? 1 : 0);
  console.log(bad ? `${bad} of ${total} healthy runs had problems` : `all ${total} healthy runs passed cleanly`);
  return bad ? 1 : 0;
}

// Run as the script, not when a self-test imports parseArgs.
if (resolve(process.argv[1] ?? '') === import.meta.filename) {
  main().then((code) => process.exit(code), (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  });
}
