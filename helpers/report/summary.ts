// What a person reads at the end of a run: the warnings and the measurements per test (terminal, before the
// VERDICT line), the GitHub step summary, and verdict.json for CI and allurerc.mjs.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Verdict } from './verdict.ts';

const where = (f: { project: string; test: string }) => `[${f.project || '-'}] ${f.test}`;

/** Lines printed before the VERDICT line ('' when there is nothing to add). */
export function terminalSummary(v: Verdict): string {
  const out: string[] = [];
  if (v.figures.length) {
    out.push('Measurements:');
    for (const f of v.figures) {
      out.push(`  ${where(f)}${f.headline ? ` — ${f.headline}` : ''}`);
      for (const fig of f.figures) out.push(`    ${fig}`);
    }
  }
  if (v.warnings.length) {
    out.push(`Warnings (${v.warnings.length}; a missing second line of defence, not a failure unless --strict):`);
    for (const w of v.warnings) out.push(`  ${where(w)}: ${w.message}`);
  }
  return out.join('\n');
}

/** Markdown for $GITHUB_STEP_SUMMARY. */
export function stepSummary(v: Verdict): string {
  const lines = [`### ${v.status === 'PASSED' ? (v.warnings.length ? '⚠️' : '✅') : v.status === 'NO VERDICT' ? '⛔' : '❌'} ${v.line}`];
  if (v.warnings.length) lines.push('', '**Warnings**', '', ...v.warnings.map((w) => `- ${where(w)}: ${w.message}`));
  for (const f of v.figures) {
    lines.push('', `**${where(f)}**${f.headline ? `: ${f.headline}` : ''}`, '', ...f.figures.map((x) => `- ${x}`));
  }
  return `${lines.join('\n')}\n`;
}

/** Appends the step summary when GitHub Actions asks for one; never fails the run. */
export function appendStepSummary(v: Verdict, redact: (s: string) => string, file = process.env.GITHUB_STEP_SUMMARY): void {
  if (!file) return;
  try {
    appendFileSync(file, redact(stepSummary(v)));
  } catch {
    /* not fatal */
  }
}

export function writeVerdictFile(file: string, v: Verdict, redact: (s: string) => string): string | undefined {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, redact(JSON.stringify(v, null, 2)));
    return undefined;
  } catch (e) {
    return `could not write ${file}: ${(e as Error).message}`;
  }
}
