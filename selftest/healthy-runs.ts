// `npm run selftest:healthy [-- --runs 5] [--workers 1,2,4] [--repeat 1]`: the flake hunt. Runs the whole suite
// (every project, disruptive included) on a fresh healthy embedded deployment, again and again, cycling through the
// worker counts, with retries off and the sign-in rate limit on (production's). Every run must pass every test on
// the first try with no warning (the same judgement as the matrix's healthy row); a verdict that depends on the
// worker count or on which tests share a worker shows here. Prints one line per run and exits 1 on any problem.
import { NOT_FAULT_GUARDED } from './fault-matrix.ts';
import { judgeHealthy } from './lib/matrix.ts';
import { ALL_PROJECTS, listSuite, runSuite } from './lib/run-suite.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<number> {
  const runs = Math.max(1, Number(arg('runs', '5')) || 5);
  const workers = arg('workers', '1,2,4').split(',').map((w) => Math.max(1, Number(w) || 1));
  const repeat = Math.max(1, Number(arg('repeat', '1')) || 1);
  const listed = listSuite();
  console.log(`healthy runs: ${runs}, workers cycling ${workers.join(', ')}, each test ${repeat}×, ${listed.length} tests (${new Date().toISOString()})`);
  let bad = 0;
  for (let i = 0; i < runs; i++) {
    const w = workers[i % workers.length]!;
    const run = await runSuite({ projects: ALL_PROJECTS, extraArgs: [`--workers=${w}`, `--repeat-each=${repeat}`], timeoutMs: 900_000 });
    const problems = judgeHealthy(run.outcomes, NOT_FAULT_GUARDED, run.verdictLine, listed, repeat);
    const passed = run.outcomes.filter((o) => o.result === 'passed').length;
    console.log(`run ${i + 1}/${runs}, --workers=${w}: ${problems.length ? 'FAIL' : 'ok'}, ${passed}/${run.outcomes.length} passed in ${Math.round(run.durationMs / 1000)} s — ${run.verdictLine.slice(0, 160)}`);
    for (const p of problems) console.log(`    ${p.slice(0, 400)}`);
    if (problems.length) bad++;
  }
  console.log(bad ? `${bad} of ${runs} healthy runs had problems` : `all ${runs} healthy runs passed cleanly`);
  return bad ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
