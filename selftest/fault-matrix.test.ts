// The fault matrix: proves the suite catches what it claims. For every fault of stack/faults.ts the rows of
// selftest/fault-matrix.ts run the suite on a stack with that fault on and require the named checks to fail with a
// message naming the problem while unrelated checks pass; a healthy stack must pass every project (incl.
// disruptive) without a retry; and every test of the suite must be expected to fail by some row. The healthy run and
// the `sharedStack` rows share one stack, signed in once by the healthy run (selftest/lib/matrix.ts runSharedRows).
// The flake hunt (healthy runs repeated, on 1, 2 and 4 workers) is `npm run selftest:healthy`
// (selftest/healthy-runs.ts): too dear for every CI run.
//
// GBV_MATRIX_CONCURRENCY (default 2): suite runs at once. GBV_MATRIX_ONLY: comma list of row-name fragments
// (development; skips the healthy run and the coverage of faults not selected). GBV_HEALTHY_REPEAT (default 1):
// --repeat-each of the healthy run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAULT_IDS, isRuntimeFault } from '../stack/faults.ts';
import { RULES } from '../helpers/diagnosis.ts';
import { faultRows, HINTS_OFF_STACK, NOT_FAULT_GUARDED, type MatrixRow } from './fault-matrix.ts';
import { formatTable, pool, runRow, runSharedRows, type RowResult } from './lib/matrix.ts';
import { listSuite } from './lib/run-suite.ts';

const ONLY = (process.env.GBV_MATRIX_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const CONCURRENCY = Math.max(1, Number(process.env.GBV_MATRIX_CONCURRENCY ?? 2) || 2);
const HEALTHY_REPEAT = Math.max(1, Number(process.env.GBV_HEALTHY_REPEAT ?? 1) || 1);


test('fault matrix: table and coverage', async (t) => {
  const rows = faultRows;
  const listed = listSuite();

  await t.test('rows are well formed', () => {
    const names = new Set<string>();
    for (const r of rows) {
      assert.ok(!names.has(r.name), `row name ${r.name} twice`);
      names.add(r.name);
      assert.ok(r.faults.length > 0, `${r.name}: no fault`);
      assert.ok(r.projects.length > 0, `${r.name}: no project`);
      assert.ok(r.mustFail.length + (r.mustWarn?.length ?? 0) > 0, `${r.name}: nothing is expected to fail or warn`);
      for (const e of r.mustWarn ?? []) assert.ok(e.message, `${r.name}: warning ${e.title} has no message pattern`);
      for (const e of r.mustFail) assert.ok(e.message && e.message.source !== '(?:)', `${r.name}: ${e.title} has no message pattern`);
      for (const f of r.faults) assert.ok((FAULT_IDS as readonly string[]).includes(f), `${r.name}: unknown fault ${f}`);
      if (r.sharedStack) {
        for (const f of r.faults) assert.ok(isRuntimeFault(f), `${r.name}: runs on the shared stack, but ${f} cannot switch while a stack runs`);
        assert.ok(!r.noDeps, `${r.name}: a shared-stack row runs on the shared sign-ins, not without them`);
      }
    }
  });

  await t.test('every fault of the catalogue has a row', () => {
    const covered = new Set(rows.flatMap((r) => r.faults));
    const missing = FAULT_IDS.filter((f) => !covered.has(f));
    assert.deepEqual(missing, [], `faults without a matrix row: ${missing.join(', ')}`);
  });

  await t.test('every test of the suite is expected to fail in some row', () => {
    assert.ok(listed.length > 20, `only ${listed.length} tests listed`);
    const unguarded: string[] = [];
    for (const l of listed) {
      if (l.project === 'setup') continue; // every browser row signs in through them
      if (rows.some((r) => r.mustFail.some((e) => e.title.test(l.title) && (!e.project || e.project === l.project)))) continue;
      if (NOT_FAULT_GUARDED.some((n) => n.title.test(l.title))) continue;
      unguarded.push(`${l.project} › ${l.title}`);
    }
    assert.deepEqual(unguarded, [], `tests no fault row expects to fail (add a fault, or list them with a reason):\n${unguarded.join('\n')}`);
    for (const n of NOT_FAULT_GUARDED) {
      assert.ok(n.reason.length > 20, `${n.title}: give a reason`);
      assert.ok(listed.some((l) => n.title.test(l.title)), `NOT_FAULT_GUARDED entry ${n.title} matches no test (stale)`);
    }
    for (const r of rows) for (const e of [...r.mustFail, ...r.mustPass]) {
      assert.ok(listed.some((l) => e.title.test(l.title)), `${r.name}: ${e.title} matches no test of the suite`);
    }
  });

  await t.test('every diagnosis hint is required on a real failure by some row, or listed with a reason', () => {
    const required = new Set(rows.flatMap((r) => r.mustFail.map((e) => e.hint).filter((h): h is string => !!h)));
    const ids = new Set(RULES.map((r) => r.id));
    for (const h of required) assert.ok(ids.has(h), `a row requires hint ${h}, which helpers/diagnosis.ts does not have`);
    for (const o of HINTS_OFF_STACK) {
      assert.ok(ids.has(o.id), `HINTS_OFF_STACK names ${o.id}, which helpers/diagnosis.ts does not have`);
      assert.ok(!required.has(o.id), `HINTS_OFF_STACK names ${o.id}, but a row requires it (stale entry)`);
      assert.ok(o.reason.length > 20, `${o.id}: give a reason`);
    }
    const unproven = RULES.map((r) => r.id).filter((id) => !required.has(id) && !HINTS_OFF_STACK.some((o) => o.id === id));
    assert.deepEqual(unproven, [], `diagnosis hints no row requires (add hint: to the failure that shows it, or list it with a reason): ${unproven.join(', ')}`);
  });

  const selected = ONLY.length ? rows.filter((r) => ONLY.some((o) => r.name.includes(o))) : rows;
  const started = Date.now();
  type Job = { kind: 'row'; row: MatrixRow } | { kind: 'shared'; rows: MatrixRow[]; healthy: boolean };
  // Longest first, so the pool ends evenly: the shared stack (the healthy run of every project, then the shared
  // rows one after another), then rows with browser journeys (the redeploy and sign-in rows), then the API-level rows.
  const weight = (r: MatrixRow) => (r.projects.some((p) => p === 'crud' || p === 'disruptive') ? 3 : r.projects.includes('auth') ? 2 : 1);
  const shared = selected.filter((r) => r.sharedStack);
  const healthy = !ONLY.length;
  const jobs: Job[] = [
    ...(shared.length || healthy ? [{ kind: 'shared' as const, rows: shared, healthy }] : []),
    ...selected.filter((r) => !r.sharedStack).sort((a, b) => weight(b) - weight(a)).map((row) => ({ kind: 'row' as const, row })),
  ];
  const results = (await pool(jobs, CONCURRENCY, async (j): Promise<RowResult[]> => (
    j.kind === 'shared' ? runSharedRows(j.rows, listed, j.healthy ? HEALTHY_REPEAT : undefined) : [await runRow(j.row, listed)]
  ))).flat();
  console.log(formatTable(results));
  console.log(`\nfault matrix: ${results.length} rows on ${jobs.length} stacks (${CONCURRENCY} jobs at a time, the ${shared.length} shared-stack rows one job) in ${Math.round((Date.now() - started) / 1000)} s`);

  for (const r of results) {
    await t.test(`${r.row.faults.length ? r.row.faults.join(' + ') : r.row.name}`, () => {
      assert.deepEqual(r.problems, [], r.problems.join('\n'));
    });
  }
});
