// Rewrites allure-playwright's result files after the run, adding only what the run itself recorded:
// - on a failed/broken test, the likely cause and fix (helpers/diagnosis.ts) on top of its description and a
//   `diagnosis` label;
// - on any test, its measurements (figure/headline labels) and warnings (warning labels) as the first lines of
//   its overview. The labels come from the automatic fixture in fixtures/test.ts (helpers/labels.ts), which also
//   sets the epic from the Playwright project: nothing here guesses a label.
// Idempotent (it runs in onEnd and again in onExit), and exact duplicate labels are dropped.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnose, hintLine } from '../diagnosis.ts';
import { WARNING } from '../findings.ts';
import { FIGURE, HEADLINE } from '../figures.ts';

interface AllureLabel { name: string; value: string }
interface AllureResult {
  status?: string; name?: string; description?: string; descriptionHtml?: string;
  statusDetails?: { message?: string }; labels?: AllureLabel[];
}

export const DIAG_MARK = '**Likely cause:**';
export const FIGURES_MARK = '**Measurements**';
export const WARNINGS_MARK = '**Warnings**';

const html = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function prepend(tr: AllureResult, md: string, htmlBlock: string): void {
  tr.description = tr.description ? `${md}\n\n---\n\n${tr.description}` : md;
  if (tr.descriptionHtml) tr.descriptionHtml = `${htmlBlock}<hr/>${tr.descriptionHtml}`;
}

function addDiagnosis(tr: AllureResult): boolean {
  if (tr.status !== 'failed' && tr.status !== 'broken') return false;
  if (tr.description?.includes(DIAG_MARK)) return false;
  const d = diagnose(tr.statusDetails?.message ?? '');
  if (!d) return false;
  prepend(tr, `${DIAG_MARK} ${d.cause}\n\n**Fix:** ${d.fix}\n\n_(diagnosis \`${d.id}\`)_`,
    `<p><b>Likely cause:</b> ${html(d.cause)}</p><p><b>Fix:</b> ${html(d.fix)}</p>`);
  tr.labels = [...(tr.labels ?? []), { name: 'diagnosis', value: d.id }];
  return true;
}

const valuesOf = (tr: AllureResult, name: string) => (tr.labels ?? []).filter((l) => l.name === name).map((l) => l.value);

function addFindings(tr: AllureResult): boolean {
  let changed = false;
  const warnings = valuesOf(tr, WARNING);
  if (warnings.length && !tr.description?.includes(WARNINGS_MARK)) {
    const list = warnings.map((w) => `- ${w}`).join('\n');
    prepend(tr, `${WARNINGS_MARK} (a second line of defence is missing; \`--strict\` fails on it)\n\n${list}`,
      `<p><b>Warnings</b></p><ul>${warnings.map((w) => `<li>${html(w)}</li>`).join('')}</ul>`);
    changed = true;
  }
  const headline = valuesOf(tr, HEADLINE)[0];
  const figures = valuesOf(tr, FIGURE);
  if ((headline || figures.length) && !tr.description?.includes(FIGURES_MARK)) {
    const md = [`${FIGURES_MARK}${headline ? `: ${headline}` : ''}`, '', ...figures.map((f) => `- ${f}`)].join('\n').trim();
    prepend(tr, md, `<p><b>Measurements</b>${headline ? `: ${html(headline)}` : ''}</p><ul>${figures.map((f) => `<li>${html(f)}</li>`).join('')}</ul>`);
    changed = true;
  }
  return changed;
}

function dedupeLabels(tr: AllureResult): boolean {
  const seen = new Set<string>();
  const before = tr.labels?.length ?? 0;
  tr.labels = (tr.labels ?? []).filter((l) => {
    const k = `${l.name}\0${l.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return tr.labels.length !== before;
}

/** Rewrites every result file under `dir`; returns how many changed. */
export function rewriteAllureResults(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('-result.json')) continue;
    const file = join(dir, name);
    let tr: AllureResult;
    try {
      tr = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue; // being written: the second pass (onExit) gets it
    }
    const changed = [dedupeLabels(tr), addFindings(tr), addDiagnosis(tr)].some(Boolean);
    if (!changed) continue;
    writeFileSync(file, JSON.stringify(tr));
    n++;
  }
  return n;
}

/** The line a Playwright annotation of a diagnosed failure carries (reporters after ours, merged reports). */
export function diagnosisAnnotation(errorText: string): { type: 'diagnosis'; description: string } | undefined {
  const d = diagnose(errorText);
  return d ? { type: 'diagnosis', description: `${d.id}: ${hintLine(d)}` } : undefined;
}
