// Merges the artifacts of sharded runs into one report set:
//   tsx bin/merge-shards.ts [--out reports] <shard-artifact-dir>...
// Each input folder (e.g. a downloaded CI artifact) may hold Playwright blob reports (any `*.zip` under a
// `blob-report` folder, or `report*.zip`) and Allure results (any `allure-results` folder). Blob reports go
// through `playwright merge-reports` with list + json + junit + the verdict reporter, so the merged run gets
// reports/results.json, reports/junit.xml, reports/verdict.json and one VERDICT line; Allure results are plain
// files and are copied into <out>/allure-results (then `npx allure generate` as usual).
// Exit code: 1 when any merged test failed unexpectedly (or nothing was merged), 0 otherwise.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { redactTree } from '../helpers/redact.ts';
import { collectSecrets } from '../helpers/secrets.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const VERDICT_REPORTER = join(ROOT, 'helpers', 'verdict-reporter.ts');

export interface MergeOptions {
  inputs: string[];
  outDir: string;
  /** Working directory for merge-reports (relative paths in the blobs resolve here). Default: ROOT. */
  cwd?: string;
  /** Extra env for the merge (e.g. GBV_* for the verdict reporter). */
  env?: Record<string, string>;
  /** Print merge-reports output (the list reporter and the VERDICT line). Default true. */
  echo?: boolean;
  timeoutMs?: number;
}

export interface MergeResult {
  exitCode: number;
  blobs: string[];
  allureFiles: number;
  allureResults: number;
  tests: number;
  unexpected: number;
  output: string;
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (!e.isDirectory()) continue;
    yield p;
    // Inside an Allure results folder there is nothing more to find (its zips are trace attachments).
    if (e.name !== 'allure-results') yield* walk(p);
  }
}

/** Blob zips and Allure results folders inside the given inputs. */
export function findShardArtifacts(inputs: string[]): { blobs: string[]; allureDirs: string[] } {
  const blobs: string[] = [];
  const allureDirs: string[] = [];
  const consider = (dir: string) => {
    const name = basename(dir);
    if (name === 'allure-results') {
      allureDirs.push(dir);
      return;
    }
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (!f.endsWith('.zip') || !statSync(p).isFile()) continue;
      if (name === 'blob-report' || /^report.*\.zip$/.test(f)) blobs.push(p);
    }
  };
  for (const input of inputs) {
    const abs = resolve(input);
    if (!existsSync(abs)) throw new Error(`merge-shards: input ${input} does not exist`);
    if (statSync(abs).isFile()) {
      if (abs.endsWith('.zip')) blobs.push(abs);
      continue;
    }
    consider(abs);
    if (basename(abs) !== 'allure-results') for (const d of walk(abs)) consider(d);
  }
  return { blobs: [...new Set(blobs)], allureDirs: [...new Set(allureDirs)] };
}

/** Copies Allure result files into one folder. Names are UUIDs; a clash of different content is kept under a new name. */
export function copyAllureResults(dirs: string[], dest: string): { files: number; results: number } {
  mkdirSync(dest, { recursive: true });
  let files = 0;
  let results = 0;
  dirs.forEach((dir, i) => {
    for (const f of readdirSync(dir)) {
      const from = join(dir, f);
      if (!statSync(from).isFile()) continue;
      let to = join(dest, f);
      if (existsSync(to)) {
        const same = readFileSync(to).equals(readFileSync(from));
        // environment.properties / categories.json are per run: the first shard's copy stands for all.
        if (same || /^(environment\.(properties|xml)|categories\.json|executor\.json)$/.test(f)) continue;
        to = join(dest, `shard${i + 1}-${f}`);
      }
      copyFileSync(from, to);
      files++;
      if (f.endsWith('-result.json')) results++;
    }
  });
  return { files, results };
}

function playwrightCli(): string {
  const require = createRequire(join(ROOT, 'package.json'));
  return join(resolve(require.resolve('@playwright/test/package.json'), '..'), 'cli.js');
}

export async function mergeShards(opts: MergeOptions): Promise<MergeResult> {
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const { blobs, allureDirs } = findShardArtifacts(opts.inputs);
  const allure = copyAllureResults(allureDirs, join(outDir, 'allure-results'));
  // No run happens here: the secrets are the environment's (CI passes them) and those of the runs recorded on
  // this machine (a local merge of local shards).
  const secrets = collectSecrets({ cwd: opts.cwd ?? ROOT, records: 'all' });
  await redactTree(join(outDir, 'allure-results'), secrets);

  const result: MergeResult = { exitCode: 0, blobs, allureFiles: allure.files, allureResults: allure.results, tests: 0, unexpected: 0, output: '' };
  if (!blobs.length) {
    result.exitCode = 1;
    result.output = 'merge-shards: no blob reports found\n';
    return result;
  }
  // merge-reports wants every blob in one folder; it unpacks attachments (traces, error context) next to
  // them and the merged json/junit point there, so the folder stays with the reports.
  const blobDir = join(outDir, 'blob-report');
  rmSync(blobDir, { recursive: true, force: true });
  mkdirSync(blobDir, { recursive: true });
  {
    blobs.forEach((b, i) => {
      const name = basename(b);
      copyFileSync(b, join(blobDir, existsSync(join(blobDir, name)) ? `shard${i + 1}-${name}` : name));
    });
    const jsonFile = join(outDir, 'results.json');
    const junitFile = join(outDir, 'junit.xml');
    rmSync(jsonFile, { force: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, {
      PLAYWRIGHT_JSON_OUTPUT_NAME: jsonFile,
      PLAYWRIGHT_JUNIT_OUTPUT_NAME: junitFile,
      GBV_REPORTS_DIR: outDir,
      FORCE_COLOR: '0',
      ...opts.env,
    });
    const args = [playwrightCli(), 'merge-reports', '--reporter', `list,json,junit,${VERDICT_REPORTER}`, blobDir];
    const child = spawn(process.execPath, args, { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (d: Buffer) => {
      result.output += d;
      if (opts.echo !== false) process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      result.output += d;
      if (opts.echo !== false) process.stderr.write(d);
    });
    const code: number | null = await new Promise((res) => child.on('close', (c) => res(c)));
    clearTimeout(timer);
    if (!existsSync(jsonFile)) {
      result.exitCode = 1;
      result.output += `merge-shards: merge-reports exited ${code} without ${jsonFile}\n`;
      return result;
    }
    const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as { stats?: { expected: number; unexpected: number; flaky: number; skipped: number } };
    const s = report.stats ?? { expected: 0, unexpected: 0, flaky: 0, skipped: 0 };
    result.tests = s.expected + s.unexpected + s.flaky + s.skipped;
    result.unexpected = s.unexpected;
    result.exitCode = code !== 0 || s.unexpected > 0 ? 1 : 0;
    return result;
  }
}

async function main(argv: string[]): Promise<number> {
  let outDir = process.env.GBV_REPORTS_DIR ?? 'reports';
  const inputs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') outDir = argv[++i];
    else if (argv[i] === '-h' || argv[i] === '--help') {
      console.log('usage: tsx bin/merge-shards.ts [--out reports] <shard-artifact-dir>...');
      return 0;
    } else inputs.push(argv[i]);
  }
  if (!inputs.length) inputs.push('all-shards');
  const r = await mergeShards({ inputs, outDir, cwd: process.cwd() });
  console.log(`merge-shards: ${r.blobs.length} blob report(s), ${r.tests} tests (${r.unexpected} failed); ${r.allureResults} Allure results copied to ${join(outDir, 'allure-results')}`);
  if (!r.blobs.length) console.error(r.output.trim());
  return r.exitCode;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((c) => process.exit(c), (e) => {
    console.error((e as Error).message);
    process.exit(2);
  });
}
