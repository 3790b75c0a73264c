// The order-free proof Playwright cannot give by itself: it always runs files in path order and tests in the order
// they are declared. Here every test of the suite runs on its own Playwright run, in a seeded random order, against
// one healthy embedded deployment signed in once (the setup project first, then `--no-deps`), so no check can lean
// on what another happened to do before it on the same worker. Same judgement as the healthy runs.
import { startStack } from '../../stack/index.ts';
import { judgeHealthy, type ListedTest } from './matrix.ts';
import { runSuite, type Outcome } from './run-suite.ts';

/** Fisher–Yates with a seeded PRNG (mulberry32): the same seed gives the same order, so a failure can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface ShuffledResult {
  order: ListedTest[];
  outcomes: Outcome[];
  problems: string[];
  ms: number;
}

/**
 * Runs `listed` (setup first, the rest shuffled by `seed`) one test per Playwright run; `allowedSkips` as for
 * judgeHealthy; `log` gets one line per run.
 */
export async function runShuffled(
  listed: ListedTest[], seed: number, allowedSkips: Parameters<typeof judgeHealthy>[1], log: (line: string) => void,
): Promise<ShuffledResult> {
  const started = Date.now();
  const order = shuffled(listed.filter((l) => l.project !== 'setup'), seed);
  // Production's sign-in rate limit stays on: a check that signs in itself must cope with it in any position.
  const stack = await startStack({ signInRateLimit: true });
  const outcomes: Outcome[] = [];
  const problems: string[] = [];
  try {
    const runs: { project: string; testList?: string[]; extraArgs: string[] }[] = [
      { project: 'setup', extraArgs: ['--workers=1'] },
      ...order.map((l) => ({ project: l.project, testList: [`[${l.project}] › ${l.title}`], extraArgs: ['--workers=1', '--no-deps'] })),
    ];
    for (const [i, r] of runs.entries()) {
      const run = await runSuite({ target: stack.env, projects: [r.project], testList: r.testList, extraArgs: r.extraArgs, timeoutMs: 300_000 });
      outcomes.push(...run.outcomes);
      if (!/^VERDICT: PASSED/.test(run.verdictLine)) problems.push(`run ${i + 1} (${r.testList?.[0] ?? r.project}): ${run.verdictLine || `no VERDICT line, exit ${run.code}`}`);
      const bad = run.outcomes.filter((o) => o.result !== 'passed').length;
      log(`  ${String(i + 1).padStart(3)}/${runs.length} ${bad ? 'FAIL' : 'ok  '} ${Math.round(run.durationMs / 1000)} s ${r.testList?.[0] ?? `[${r.project}] (both sign-ins)`}`.slice(0, 200));
    }
  } finally {
    await stack.stop();
  }
  problems.push(...judgeHealthy(outcomes, allowedSkips, undefined, listed, 1));
  return { order, outcomes, problems, ms: Date.now() - started };
}
