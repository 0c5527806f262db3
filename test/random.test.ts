import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, mixSeed } from '../src/util/random.js';
import { sampleClients } from '../src/federation/sampling.js';
import { selectModules } from '../src/methods/selection.js';

test('the seeded generator is reproducible, restorable and roughly uniform', () => {
  const a = createRng(42);
  const b = createRng(42);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b.next()),
  );
  const resumed = createRng(0, a.state());
  assert.equal(resumed.next(), a.next(), 'a saved state continues the same sequence');
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.03, `mean ${mean}`);
  const n = Array.from({ length: 20000 }, () => a.normal());
  const m = n.reduce((s, x) => s + x, 0) / n.length;
  const v = n.reduce((s, x) => s + (x - m) ** 2, 0) / n.length;
  assert.ok(Math.abs(m) < 0.03 && Math.abs(v - 1) < 0.05, `normal mean ${m}, variance ${v}`);
  assert.notEqual(mixSeed(1, 2, 3), mixSeed(1, 3, 2));
  assert.notEqual(mixSeed(1, 2), mixSeed(1, 2 + 2 ** 32), 'seeds above 2^32 are not truncated');
});

test('client sampling and module selection: seeded, valid, and every choice equally likely', () => {
  const counts = new Array(8).fill(0);
  for (let round = 1; round <= 4000; round++) {
    const s = sampleClients(8, 3, 7, round);
    assert.equal(new Set(s).size, 3);
    for (const c of s) counts[c]++;
  }
  for (const c of counts) assert.ok(Math.abs(c / 4000 - 3 / 8) < 0.03, `client share ${c / 4000}`);
  assert.deepEqual(sampleClients(8, 3, 7, 5), sampleClients(8, 3, 7, 5));
  const picked = new Array(6).fill(0);
  for (let round = 0; round < 3000; round++) for (const j of selectModules('random', 6, 2, 1, round, 4)) picked[j]++;
  for (const p of picked) assert.ok(Math.abs(p / 3000 - 2 / 6) < 0.03, `module share ${p / 3000}`);
  assert.deepEqual(selectModules('first', 6, 3, 0, 9, 9), [0, 1, 2]);
  assert.deepEqual(selectModules('cyclic', 6, 2, 0, 1, 0), [2, 3]);
  assert.deepEqual(selectModules('cyclic', 6, 2, 0, 2, 1), [0, 5]);
  assert.throws(() => selectModules('random', 4, 5, 0, 0, 0), /a client rank of 5 cannot select from 4 modules/);
});
