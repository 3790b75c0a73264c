// `tsx bin/check-allure.ts [allure-results dir]`: after a healthy run, a report must read green everywhere.
// Fails (exit 1, one line per offence) when
// - a step anywhere inside a passed test has status failed or broken (a red line in a green report: a retried
//   poll, a swallowed error, an expectation phrased as a failure), or
// - a test that ran carries no epic label (the report groups by epic; the automatic fixture of fixtures/test.ts
//   sets it from the Playwright project). Tests skipped before they ran carry none and are only counted.
// Default folder: <GBV_REPORTS_DIR or reports>/allure-results.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Step { name?: string; status?: string; steps?: Step[] }
interface Result extends Step { fullName?: string; labels?: { name: string; value: string }[]; parameters?: { name: string; value: string }[] }

export interface AllureCheck { results: number; problems: string[]; skippedWithoutEpic: number }

const RED = new Set(['failed', 'broken']);

function redSteps(steps: Step[] | undefined, path: string[] = []): string[] {
  const out: string[] = [];
  for (const s of steps ?? []) {
    const here = [...path, s.name ?? '(unnamed step)'];
    if (s.status && RED.has(s.status)) out.push(`${here.join(' › ')} (${s.status})`);
    out.push(...redSteps(s.steps, here));
  }
  return out;
}

function nameOf(r: Result): string {
  const project = r.parameters?.find((p) => p.name === 'Project')?.value;
  return `${project ? `[${project}] ` : ''}${r.name ?? r.fullName ?? '(unnamed test)'}`;
}

export function checkAllureResults(dir: string): AllureCheck {
  const res: AllureCheck = { results: 0, problems: [], skippedWithoutEpic: 0 };
  if (!existsSync(dir)) return { ...res, problems: [`${dir} does not exist`] };
  for (const f of readdirSync(dir).filter((n) => n.endsWith('-result.json')).sort()) {
    let r: Result;
    try {
      r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    } catch (e) {
      res.problems.push(`${f}: unreadable (${(e as Error).message})`);
      continue;
    }
    res.results++;
    if (r.status === 'passed') for (const s of redSteps(r.steps)) res.problems.push(`${nameOf(r)}: passed, but its step ${s}`);
    if (!(r.labels ?? []).some((l) => l.name === 'epic' && l.value)) {
      if (r.status === 'skipped') res.skippedWithoutEpic++;
      else res.problems.push(`${nameOf(r)}: no epic label`);
    }
  }
  if (!res.results) res.problems.push(`${dir}: no Allure results`);
  return res;
}

function main(argv: string[]): number {
  const dir = resolve(argv[0] ?? join(process.env.GBV_REPORTS_DIR ?? 'reports', 'allure-results'));
  const r = checkAllureResults(dir);
  if (r.problems.length) {
    console.error(`check-allure: FAILED — ${r.problems.length} problem(s) in ${r.results} results of ${dir}:`);
    for (const p of r.problems) console.error(`  ${p}`);
    return 1;
  }
  const skipped = r.skippedWithoutEpic ? ` (${r.skippedWithoutEpic} skipped before running, without labels)` : '';
  console.log(`check-allure: OK — ${r.results} results: no failed or broken step in a passed test, every test that ran has an epic${skipped}`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(main(process.argv.slice(2)));
