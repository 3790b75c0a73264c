// The flake hunt's own parts that need no deployment: its arguments (a bad one is named, never replaced by a
// default) and the seeded shuffle (the same seed replays the same order; every test is kept exactly once).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from './healthy-runs.ts';
import { shuffled } from './lib/shuffled-run.ts';

test('parseArgs: the defaults, and every bad argument named at once', () => {
  const ok = parseArgs(['--seed', '7']);
  assert.deepEqual(ok, { runs: 5, workers: [1, 2, 4], repeat: 1, shuffle: false, seed: 7 });
  assert.deepEqual(parseArgs(['--shuffle', '--runs', '0', '--seed', '3']), { runs: 0, workers: [1, 2, 4], repeat: 1, shuffle: true, seed: 3 });
  const bad = parseArgs(['--runs', '0', '--workers', '1,x', '--repeat', '-1', '--fast']);
  assert.ok(Array.isArray(bad));
  assert.deepEqual(bad, [
    'unknown or incomplete argument "--fast"',
    '--runs "0" is not a whole number ≥ 1',
    '--repeat "-1" is not a whole number ≥ 1',
    '--workers "x" is not a whole number ≥ 1',
  ]);
  assert.deepEqual(parseArgs(['--runs']), ['unknown or incomplete argument "--runs"']);
});

test('shuffled: a permutation, the same for the same seed, another for another seed', () => {
  const items = Array.from({ length: 60 }, (_, i) => i);
  const a = shuffled(items, 42);
  assert.deepEqual([...a].sort((x, y) => x - y), items, 'every item exactly once');
  assert.deepEqual(shuffled(items, 42), a, 'the same seed replays the same order');
  assert.notDeepEqual(a, items, 'not the declared order');
  assert.notDeepEqual(shuffled(items, 43), a, 'another seed, another order');
  assert.deepEqual(items, Array.from({ length: 60 }, (_, i) => i), 'the input is left as it was');
});
