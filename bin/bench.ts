// `npm run bench [-- <benchmark>] [options]`: performance figures, never tests (the machine is shared and noisy).
//   stack (default)  cold start and peak memory of the embedded deployment   (bin/bench/stack.ts)
//   suite            gate and smoke runs: wall time, checks, sign-ins, 429 waits, limit on vs off (bin/bench/suite.ts)
//   monitor          the monitor's rounds (bin/bench/monitor.ts, when present)
// Each module exports `run(argv: string[]): Promise<void>` and gets the arguments after its name.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const BENCHES = ['stack', 'suite', 'monitor'] as const;
const DIR = join(import.meta.dirname, 'bench');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const named = (BENCHES as readonly string[]).includes(args[0] ?? '') ? args[0] : undefined;
  if (!named && args[0] && !args[0].startsWith('-')) {
    console.error(`no benchmark "${args[0]}"; known: ${BENCHES.filter((b) => existsSync(join(DIR, `${b}.ts`))).join(', ')}`);
    process.exit(2);
  }
  const name = named ?? 'stack';
  const file = join(DIR, `${name}.ts`);
  if (!existsSync(file)) {
    console.error(`benchmark "${name}" is not there (${file})`);
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(file).href)) as { run(argv: string[]): Promise<void> };
  await mod.run(named ? args.slice(1) : args);
}

void main();
