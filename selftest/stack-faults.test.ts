import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULTS, FAULT_IDS, FaultError, describeFault, has, parseFaults } from '../stack/faults.ts';

const ROOT = join(import.meta.dirname, '..');

test('the catalogue is exactly the fault table of docs/CONTRACT.md (ids and owners)', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'CONTRACT.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Fault catalogue'));
  const rows = [...section.matchAll(/^\| `([a-z0-9-]+)` \| ([a-z/]+) \|/gm)].map((m) => ({ id: m[1], owner: m[2] }));
  assert.ok(rows.length >= 20, `found only ${rows.length} rows in the contract's table`);
  assert.deepEqual(
    FAULTS.map((f) => ({ id: f.id, owner: f.owner })),
    rows,
  );
  assert.deepEqual([...FAULT_IDS], rows.map((r) => r.id));
  for (const f of FAULTS) {
    assert.ok(f.breaks.length > 5 && f.promise.length > 5, `${f.id} describes what breaks and which promise`);
  }
});

test('parseFaults: comma list, blanks and duplicates ignored, arrays accepted', () => {
  assert.deepEqual(parseFaults(undefined), []);
  assert.deepEqual(parseFaults(''), []);
  assert.deepEqual(parseFaults(' cert-expired , ,dns-wrong-a,cert-expired '), ['cert-expired', 'dns-wrong-a']);
  assert.deepEqual(parseFaults(['login-v1', ' auth-not-ready ']), ['login-v1', 'auth-not-ready']);
});

test('parseFaults rejects unknown ids and lists every valid one', () => {
  assert.throws(
    () => parseFaults('cert-expired,not-a-fault,also-bad'),
    (e: unknown) => {
      assert.ok(e instanceof FaultError);
      assert.deepEqual(e.unknown, ['not-a-fault', 'also-bad']);
      assert.match(e.message, /not-a-fault, also-bad/);
      for (const id of FAULT_IDS) assert.ok(e.message.includes(id), `message lists ${id}`);
      return true;
    },
  );
});

test('has() and describeFault()', () => {
  const faults = parseFaults('redeploy-stop-start');
  assert.equal(has(faults, 'redeploy-stop-start'), true);
  assert.equal(has(faults, 'redeploy-loses-sessions'), false);
  assert.equal(has(new Set(faults), 'redeploy-stop-start'), true);
  assert.equal(has(undefined, 'cert-expired'), false);
  assert.equal(describeFault('db-port-exposed').owner, 'postgres');
});
