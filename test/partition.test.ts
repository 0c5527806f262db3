import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPartitioner,
  DirichletPartitioner,
  exampleKeyOf,
  formatPartitionSummary,
  NaturalPartitioner,
  PathologicalPartitioner,
  SizeSkewPartitioner,
  type PartitionSpec,
  type Partitioner,
} from '../src/data/partition/index.js';
import type { Example } from '../src/data/example.js';
import { at } from '../src/util/checked.js';

interface Item {
  label: string;
  group: string;
}

/** `counts[label]` items of each label, interleaved (a b c d a b c d ...), groups cycling over `groups` names. */
function makeItems(counts: Record<string, number>, groups = ['g0']): Item[] {
  const left = { ...counts };
  const out: Item[] = [];
  while (Object.values(left).some((c) => c > 0)) {
    for (const [label, c] of Object.entries(left)) {
      if (c > 0) {
        left[label] = c - 1;
        out.push({ label, group: at(groups, out.length % groups.length, 'group names') });
      }
    }
  }
  return out;
}

const byLabel = (it: Item): string => it.label;
const byGroup = (it: Item): string => it.group;

function assertExactCover(p: Partitioner<unknown>, n: number): void {
  const seen = new Array<number>(n).fill(0);
  // an index outside 0..n-1 adds an entry to seen, which the comparison below reports
  for (let c = 0; c < p.numPartitions; c++) for (const i of p.loadPartition(c)) seen[i] = (seen[i] ?? 0) + 1;
  assert.deepEqual(seen, new Array<number>(n).fill(1), 'every index in exactly one partition');
}

/** the label histogram of each client */
function histograms<T>(p: Partitioner<T>, keyOf: (it: T) => string): Record<string, number>[] {
  return p.summary((it) => keyOf(it)).clients.map((c) => c.labels);
}

const ITEMS = makeItems({ a: 30, b: 25, c: 20, d: 15 }, ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6']);
const SPECS: PartitionSpec[] = [
  { kind: 'iid', clients: 4 },
  { kind: 'dirichlet', clients: 4, alpha: 0.5, minPartitionSize: 2 },
  { kind: 'pathological', clients: 4, labelsPerClient: 2 },
  { kind: 'pathological', clients: 6, labelsPerClient: 2, assignment: 'first-deterministic' },
  { kind: 'pathological', clients: 8, labelsPerClient: 2, assignment: 'random' },
  { kind: 'natural' },
  { kind: 'natural', clients: 3 },
  { kind: 'size-skew', clients: 5 },
  { kind: 'size-skew', clients: 5, exponent: 1.5 },
];
const specName = (s: PartitionSpec): string => JSON.stringify(s);
const keyFor = (s: PartitionSpec): ((it: Item) => string) => (s.kind === 'natural' ? byGroup : byLabel);

test('every partitioner puts every index in exactly one client', () => {
  for (const spec of SPECS) {
    const p = createPartitioner(spec, ITEMS, keyFor(spec), 7);
    assertExactCover(p, ITEMS.length);
    const sizes = p.summary().sizes;
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      ITEMS.length,
      specName(spec),
    );
    if (spec.kind !== 'natural') assert.equal(p.numPartitions, spec.clients, specName(spec));
  }
});

test('same seed gives the same split; a different seed a different one (natural has no seed)', () => {
  for (const spec of SPECS) {
    const a = createPartitioner(spec, ITEMS, keyFor(spec), 1).partitions();
    const b = createPartitioner(spec, ITEMS, keyFor(spec), 1).partitions();
    const c = createPartitioner(spec, ITEMS, keyFor(spec), 2).partitions();
    assert.deepEqual(a, b, specName(spec));
    if (spec.kind === 'natural') assert.deepEqual(a, c, specName(spec));
    else assert.notDeepEqual(a, c, specName(spec));
  }
});

test('loadPartition returns ascending copies and rejects bad ids', () => {
  const p = createPartitioner({ kind: 'iid', clients: 3 }, ITEMS, undefined, 0);
  const part = p.loadPartition(1);
  assert.deepEqual(
    part,
    [...part].sort((x, y) => x - y),
  );
  part.push(-1);
  assert.notDeepEqual(p.loadPartition(1), part);
  assert.throws(() => p.loadPartition(3), /partition id 3 out of range/);
  assert.throws(() => p.loadPartition(-1), /out of range/);
  // 90 items into 3 equal parts
  assert.deepEqual(p.summary().sizes, [30, 30, 30]);
  const q = createPartitioner({ kind: 'iid', clients: 4 }, ITEMS, undefined, 0);
  assert.deepEqual(q.summary().sizes, [23, 23, 22, 22]);
});

test('dirichlet with alpha 0.01 gives near one-label clients', () => {
  // Each label's Dirichlet(0.01) proportions put nearly all of it on one client; the minimum of
  // 30 (of 40 per label) accepts only draws where every client got (most of) some label.
  const items = makeItems({ a: 40, b: 40, c: 40, d: 40 });
  const perSeed: number[] = [];
  for (let seed = 1; seed <= 10; seed++) {
    const p = new DirichletPartitioner(items, { clients: 4, alpha: 0.01, keyOf: byLabel, seed, minPartitionSize: 30, maxRetries: 300 });
    assertExactCover(p, items.length);
    const shares = histograms(p, byLabel).map((h) => {
      const counts = Object.values(h);
      return Math.max(...counts) / counts.reduce((x, y) => x + y, 0);
    });
    perSeed.push(shares.reduce((x, y) => x + y, 0) / shares.length);
  }
  const overall = perSeed.reduce((x, y) => x + y, 0) / perSeed.length;
  assert.ok(overall > 0.9, `mean majority-label share ${overall.toFixed(3)} (per seed ${perSeed.map((s) => s.toFixed(2)).join(' ')})`);
  assert.ok(Math.min(...perSeed) > 0.75, `per seed ${perSeed.map((s) => s.toFixed(2)).join(' ')}`);
});

test('dirichlet with alpha 1000 gives near-uniform label shares', () => {
  const items = makeItems({ a: 100, b: 100, c: 100, d: 100 });
  for (const seed of [1, 2, 3]) {
    const p = new DirichletPartitioner(items, { clients: 4, alpha: 1000, keyOf: byLabel, seed });
    assertExactCover(p, items.length);
    let maxDev = 0;
    for (const h of histograms(p, byLabel)) {
      const size = Object.values(h).reduce((x, y) => x + y, 0);
      for (const label of ['a', 'b', 'c', 'd']) maxDev = Math.max(maxDev, Math.abs((h[label] ?? 0) / size - 0.25));
    }
    assert.ok(maxDev < 0.05, `seed ${seed}: max deviation from the global share ${maxDev.toFixed(3)}`);
  }
});

test('dirichlet retries, then names alpha, clients and the smallest size', () => {
  // two labels at alpha 0.01 go (almost) whole to one client each: five clients of >= 10 cannot happen
  const items = makeItems({ a: 50, b: 50 });
  assert.throws(
    () => new DirichletPartitioner(items, { clients: 5, alpha: 0.01, keyOf: byLabel, seed: 3, minPartitionSize: 10 }),
    (e: Error) =>
      /after 11 draws \(maxRetries 10\)/.test(e.message) &&
      /smallest partition still has \d+ items, below minPartitionSize 10/.test(e.message) &&
      /alpha 0\.01, clients 5/.test(e.message),
  );
  // a loose minimum is met, and says how many draws it took
  const ok = new DirichletPartitioner(items, { clients: 2, alpha: 1, keyOf: byLabel, seed: 3, minPartitionSize: 1 });
  assert.ok(ok.attempts >= 1);
  assert.throws(
    () => new DirichletPartitioner(items, { clients: 5, alpha: 1, keyOf: byLabel, seed: 3, minPartitionSize: 21 }),
    /minPartitionSize 21 x clients 5 = 105 is more than the 100 items/,
  );
});

test('pathological clients hold exactly k labels, each label split evenly among its holders', () => {
  const items = makeItems({ a: 12, b: 12, c: 12, d: 12, e: 12, f: 12 });
  const cases = [
    { clients: 3, labelsPerClient: 2, assignment: 'round-robin' as const }, // 3 x 2 = 6 labels: each held once
    { clients: 4, labelsPerClient: 3, assignment: 'round-robin' as const },
    { clients: 6, labelsPerClient: 1, assignment: 'first-deterministic' as const },
    { clients: 8, labelsPerClient: 2, assignment: 'first-deterministic' as const },
    { clients: 6, labelsPerClient: 3, assignment: 'random' as const },
  ];
  for (const c of cases) {
    const p = new PathologicalPartitioner(items, { ...c, keyOf: byLabel, seed: 5 });
    assertExactCover(p, items.length);
    const hs = histograms(p, byLabel);
    hs.forEach((h, i) => {
      assert.equal(Object.keys(h).length, c.labelsPerClient, `${JSON.stringify(c)} client ${i}: ${JSON.stringify(h)}`);
      assert.deepEqual(Object.keys(h).sort(), p.labelsOf[i]);
    });
    for (const label of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const shares = hs.map((h) => h[label]).filter((x): x is number => x !== undefined);
      assert.ok(Math.max(...shares) - Math.min(...shares) <= 1, `${label} split ${shares}`);
    }
  }
  assert.deepEqual(new PathologicalPartitioner(items, { clients: 3, labelsPerClient: 2, keyOf: byLabel, seed: 5 }).summary().sizes, [24, 24, 24]);
});

test('pathological errors: k > labels, too few slots, first-deterministic gaps, labels with too few items', () => {
  const items = makeItems({ a: 12, b: 12, c: 12, d: 12, e: 12, f: 12 });
  assert.throws(
    () => new PathologicalPartitioner(items, { clients: 3, labelsPerClient: 7, keyOf: byLabel, seed: 0 }),
    /labelsPerClient \(7\) is larger than the number of labels \(6\)/,
  );
  assert.throws(
    () => new PathologicalPartitioner(items, { clients: 2, labelsPerClient: 2, keyOf: byLabel, seed: 0 }),
    /clients \(2\) x labelsPerClient \(2\) = 4 is less than the 6 labels/,
  );
  assert.throws(
    () => new PathologicalPartitioner(items, { clients: 3, labelsPerClient: 2, keyOf: byLabel, seed: 0, assignment: 'first-deterministic' }),
    /left label '.' with no client/,
  );
  assert.throws(
    () => new PathologicalPartitioner(items, { clients: 3, labelsPerClient: 0, keyOf: byLabel, seed: 0 }),
    /labelsPerClient must be an integer >= 1/,
  );
  const few = makeItems({ a: 2, b: 30 });
  assert.throws(
    () => new PathologicalPartitioner(few, { clients: 6, labelsPerClient: 1, keyOf: byLabel, seed: 0 }),
    /label 'a' has 2 items but 3 clients hold it/,
  );
});

test('natural gives one client per key in sorted order, or merges keys greedily', () => {
  const p = createPartitioner({ kind: 'natural' }, ITEMS, byGroup, 0);
  assert.equal(p.numPartitions, 7);
  const hs = histograms(p, byGroup);
  for (const [i, h] of hs.entries()) assert.deepEqual(Object.keys(h), [`g${i}`]);

  // sizes A 9, B 7, C 5, D 4, E 3, F 2 into 3 clients, largest first into the smallest:
  // A->0 (9), B->1 (7), C->2 (5), D->2 (9), E->1 (10), F->0 (tie 9/9, lowest id; 11)
  const sized = makeItems({ A: 9, B: 7, C: 5, D: 4, E: 3, F: 2 });
  const merged = new NaturalPartitioner(sized, { keyOf: byLabel, clients: 3 });
  assertExactCover(merged, sized.length);
  assert.deepEqual(merged.keysOf, [
    ['A', 'F'],
    ['B', 'E'],
    ['C', 'D'],
  ]);
  assert.deepEqual(merged.summary().sizes, [11, 10, 9]);

  // more clients than keys: each key keeps its own clients, one more at a time to the key with the most items per client
  // (A 9 -> 2, B 7 -> 2, C 5 against A's 4.5 -> 2), each group cut into contiguous runs
  const divided = new NaturalPartitioner(sized, { keyOf: byLabel, clients: 9 });
  assertExactCover(divided, sized.length);
  assert.deepEqual(
    divided.keysOf.map((k) => k.join()),
    ['A', 'A', 'B', 'B', 'C', 'C', 'D', 'E', 'F'],
  );
  assert.deepEqual(divided.summary().sizes, [4, 5, 3, 4, 2, 3, 4, 3, 2]);
  for (const [i, h] of histograms(divided, byLabel).entries()) assert.equal(Object.keys(h).length, 1, `client ${i} holds one key`);
  assert.throws(() => new NaturalPartitioner(sized, { keyOf: byLabel, clients: sized.length + 1 }), /natural/);
});

test('size-skew sizes are unequal, at least the minimum, and sum to n', () => {
  const items = makeItems({ a: 100, b: 100 });
  for (const options of [{}, { sigma: 2 }, { exponent: 1 }, { minPartitionSize: 10 }]) {
    const p = new SizeSkewPartitioner(items, { clients: 6, seed: 11, ...options });
    assertExactCover(p, items.length);
    const sizes = p.summary().sizes;
    assert.equal(
      sizes.reduce((x, y) => x + y, 0),
      200,
    );
    assert.ok(new Set(sizes).size > 1, `sizes ${sizes}`);
    assert.ok(Math.max(...sizes) >= 1.5 * Math.min(...sizes), `sizes ${sizes}`);
    assert.ok(Math.min(...sizes) >= ('minPartitionSize' in options ? 10 : 1), `sizes ${sizes}`);
  }
  assert.deepEqual(new SizeSkewPartitioner(items, { clients: 4, seed: 1, sigma: 0 }).summary().sizes, [50, 50, 50, 50]);
  assert.throws(() => new SizeSkewPartitioner(items, { clients: 4, seed: 1, sigma: -1 }), /sigma must be a finite number >= 0/);
});

test('option errors name the option', () => {
  const spec = (s: PartitionSpec) => () => createPartitioner(s, ITEMS, byLabel, 0);
  assert.throws(spec({ kind: 'iid', clients: 0 }), /iid partitioner: clients must be an integer >= 1, got 0/);
  assert.throws(spec({ kind: 'size-skew', clients: 91 }), /clients \(91\) is larger than the number of items \(90\)/);
  assert.throws(spec({ kind: 'dirichlet', clients: 3, alpha: 0 }), /alpha must be a finite number > 0, got 0/);
  assert.throws(spec({ kind: 'dirichlet', clients: 3, alpha: -1 }), /alpha must be a finite number > 0, got -1/);
  assert.throws(spec({ kind: 'dirichlet', clients: 100, alpha: 1 }), /clients \(100\) is larger than the number of items \(90\)/);
  assert.throws(spec({ kind: 'pathological', clients: 4, labelsPerClient: 5 }), /labelsPerClient \(5\) is larger than the number of labels \(4\)/);
  assert.throws(() => createPartitioner({ kind: 'dirichlet', clients: 3, alpha: 1 }, ITEMS, undefined, 0), /needs a key function/);
  const examples: Example[] = [
    { id: 'x1', prompt: 'p', target: 't', label: 'pos' },
    { id: 'x2', prompt: 'p', target: 't' },
  ];
  assert.throws(() => createPartitioner({ kind: 'natural' }, examples, exampleKeyOf('label'), 0), /example 1 \('x2'\) has no label/);
});

test('summary and its text table', () => {
  const items = makeItems({ neg: 6, pos: 4 });
  const p = new NaturalPartitioner(items, { keyOf: byLabel });
  const s = p.summary();
  assert.deepEqual(s.sizes, [6, 4]);
  assert.deepEqual(s.labels, ['neg', 'pos']);
  assert.deepEqual(s.clients[1], { id: 1, size: 4, labels: { pos: 4 } });
  const text = formatPartitionSummary(s);
  assert.equal(
    text,
    [
      'natural: 10 items over 2 clients; size min 4 / mean 5.0 / max 6',
      'split sizes: 6 4',
      'client  size  neg  pos',
      '0          6    6    0',
      '1          4    0    4',
      'total     10    6    4',
    ].join('\n'),
  );
  const many = createPartitioner({ kind: 'iid', clients: 2 }, ITEMS, byGroup, 0);
  const narrow = formatPartitionSummary(many.summary(), { maxLabels: 3 });
  const lines = narrow.split('\n');
  assert.match(at(lines, 2, 'summary lines'), /^client\s+size(\s+g\d){3}\s+\(other\)$/);
  assert.match(at(lines, lines.length - 1, 'summary lines'), /^total\s+90\s/);
});
