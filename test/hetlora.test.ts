/**
 * HetLoRA against hand-computed cases. Client factors are constant per rank
 * index (A row j = a_j, B column j = b_j), so B A = (sum_j a_j b_j) * ones and
 * ||B A||_F = |sum_j a_j b_j| sqrt(out in): the weights and the aggregated
 * factors follow by hand, independently of the code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLora, loraTensors, zerosLike } from '../src/lora/adapter.js';
import type { LoraAdapter } from '../src/layers/lora-branch.js';
import { trainLocally } from '../src/federation/local-train.js';
import { runSimulation, type RoundMetrics, type SimulationOptions } from '../src/federation/simulation.js';
import { adapterTensors } from '../src/methods/adapter-payload.js';
import { createHetLora, hetLoraMethod, pruneTarget, tailNorm, tailRegularizer, type HetLoraSpec } from '../src/methods/hetlora.js';
import type { ClientInfo, ClientUpdate, LocalModel, MethodContext } from '../src/methods/method.js';
import { encodePayload, payload } from '../src/methods/payload.js';
import { createModel } from '../src/model/llama.js';
import { projectionShape } from '../src/model/weights.js';
import type { TargetName } from '../src/layers/projections.js';
import { createTrainer } from '../src/train/trainer.js';
import { at, defined, got } from '../src/util/checked.js';
import { LOCAL, tinyClients, tinyContext } from './helpers/federation-setup.js';
import { exportedAdapter, pairOf } from './helpers/lora-access.js';
import { randomAdapter } from './helpers/tiny-model.js';

const info = (id: number, rank: number, numExamples = 1): ClientInfo => ({ id, rank, numExamples });
const update = (client: ClientInfo, a: LoraAdapter): ClientUpdate => ({ client, payload: payload({ rank: a.rank }, adapterTensors(a)) });

/** A rank-r adapter with A row j = a_j and B column j = b_j in every layer and target (`f` gives them). */
function constant(ctx: MethodContext, r: number, f: (l: number, t: TargetName) => { a: number[]; b: number[] }): LoraAdapter {
  return buildLora(ctx.config, { rank: r, alpha: ctx.alpha, targets: ctx.targets, scale: ctx.scale }, (l, t, which, [rows, cols]) => {
    const { a, b } = f(l, t);
    const x = new Float32Array(rows * cols);
    if (which === 'A') for (let j = 0; j < r; j++) x.fill(at(a, j, `a of ${l}.${t}`), j * cols, (j + 1) * cols);
    else for (let o = 0; o < rows; o++) for (let j = 0; j < r; j++) x[o * r + j] = at(b, j, `b of ${l}.${t}`);
    return x;
  });
}

/** Asserts every entry of A row j and B column j of a rank-R pair against the hand values. */
function expectIndex(g: LoraAdapter, l: number, t: TargetName, j: number, a: number, b: number, what: string): void {
  const R = g.rank;
  const p = pairOf(g, l, t);
  const inF = p.A.length / R;
  const out = p.B.length / R;
  for (let i = 0; i < inF; i++) assert.ok(Math.abs(at(p.A, j * inF + i, `${what}: A`) - a) < 1e-6, `${what}: A[${j}] = ${p.A[j * inF + i]}, expected ${a}`);
  for (let o = 0; o < out; o++) assert.ok(Math.abs(at(p.B, o * R + j, `${what}: B`) - b) < 1e-6, `${what}: B[:, ${j}] = ${p.B[o * R + j]}, expected ${b}`);
}

/**
 * Three clients, R = 4. Per matrix, sum_j a_j b_j is 2, 4 and 4 (client 0
 * has 6 in layer 1 down_proj), so the weights are 2:4:4, or 6:4:4 there.
 */
const THREE = [
  { rank: 1, n: 1, f: (l: number, t: TargetName) => ({ a: [1], b: [l === 1 && t === 'down_proj' ? 6 : 2] }) },
  { rank: 2, n: 2, f: () => ({ a: [1, 3], b: [1, 1] }) },
  { rank: 4, n: 3, f: () => ({ a: [2, 2, 2, 2], b: [0.5, 0.5, 0.5, 0.5] }) },
];

function aggregateThree(spec: HetLoraSpec): LoraAdapter {
  const ctx = tinyContext(4);
  const method = createHetLora(ctx, spec);
  const stats = method.server.aggregate(
    1,
    THREE.map((c, i) => update(info(i, c.rank, c.n), constant(ctx, c.rank, c.f))),
  );
  assert.deepEqual(stats.rejected, []);
  return exportedAdapter(method);
}

test('HetLoRA paper aggregation: zero padding to R, weights normalised over all sampled clients', () => {
  const g = aggregateThree({});
  // weights 0.2, 0.4, 0.4: index j = sum over the clients with r_i > j of w_i a_ij
  expectIndex(g, 0, 'q_proj', 0, 0.2 * 1 + 0.4 * 1 + 0.4 * 2, 0.2 * 2 + 0.4 * 1 + 0.4 * 0.5, 'index 0');
  expectIndex(g, 0, 'q_proj', 1, 0.4 * 3 + 0.4 * 2, 0.4 * 1 + 0.4 * 0.5, 'index 1: client 0 pads with zero');
  expectIndex(g, 0, 'q_proj', 2, 0.4 * 2, 0.4 * 0.5, 'index 2: only client 2, at its weight 0.4');
  expectIndex(g, 1, 'v_proj', 3, 0.4 * 2, 0.4 * 0.5, 'index 3');
  // layer 1 down_proj: weights 6/14, 4/14, 4/14 (per layer and target)
  expectIndex(g, 1, 'down_proj', 0, (6 * 1 + 4 * 1 + 4 * 2) / 14, (6 * 6 + 4 * 1 + 4 * 0.5) / 14, 'down_proj index 0');
  expectIndex(g, 1, 'down_proj', 1, (4 * 3 + 4 * 2) / 14, (4 * 1 + 4 * 0.5) / 14, 'down_proj index 1');
  expectIndex(g, 1, 'down_proj', 3, (4 * 2) / 14, (4 * 0.5) / 14, 'down_proj index 3');
});

test('HetLoRA present-clients (our variant, the earlier behaviour): index j is normalised over the clients that have it', () => {
  const g = aggregateThree({ aggregation: 'present-clients' });
  expectIndex(g, 0, 'q_proj', 0, 1.4, 1.0, 'index 0: all three clients, as in the paper');
  expectIndex(g, 0, 'q_proj', 1, 0.5 * 3 + 0.5 * 2, 0.5 * 1 + 0.5 * 0.5, 'index 1: clients 1 and 2, 4:4');
  expectIndex(g, 0, 'q_proj', 3, 2, 0.5, 'index 3: client 2 alone keeps its own value');
  expectIndex(g, 1, 'down_proj', 1, 2.5, 0.75, 'down_proj index 1: client 0 does not take part');
  // the paper's padding pulls the high index down to 0.4 of client 2's value
  const paper = aggregateThree({ aggregation: 'paper' });
  const rowStart = (a: LoraAdapter, j: number) => {
    const A = pairOf(a, 0, 'q_proj').A;
    return at(A, j * (A.length / 4), 'q_proj A');
  };
  assert.ok(rowStart(paper, 3) < rowStart(g, 3) - 1, `paper ${rowStart(paper, 3)} vs present-clients ${rowStart(g, 3)}`);
});

test('HetLoRA weighting: examples multiplies each sparsity weight by n_i; uniform ignores n_i', () => {
  // c = n_i * sum_j a_j b_j = 1*2, 2*4, 3*4 = 2, 8, 12 (sum 22)
  const g = aggregateThree({ weighting: 'examples' });
  expectIndex(g, 0, 'q_proj', 0, (2 * 1 + 8 * 1 + 12 * 2) / 22, (2 * 2 + 8 * 1 + 12 * 0.5) / 22, 'index 0');
  expectIndex(g, 0, 'q_proj', 3, (12 * 2) / 22, (12 * 0.5) / 22, 'index 3');
  const p = aggregateThree({ weighting: 'examples', aggregation: 'present-clients' });
  expectIndex(p, 0, 'q_proj', 1, (8 * 3 + 12 * 2) / 20, (8 * 1 + 12 * 0.5) / 20, 'present-clients index 1: 8:12');
});

test('HetLoRA sparsity: model takes one norm over every layer and target', () => {
  const ctx = tinyContext(4);
  // ||S_i||^2 = sum over matrices of (sum_j a_j b_j)^2 out in
  let total = 0;
  for (let l = 0; l < ctx.config.numLayers; l++) for (const t of ctx.targets) total += projectionShape(ctx.config, t).reduce((a, b) => a * b, 1);
  const down = projectionShape(ctx.config, 'down_proj').reduce((a, b) => a * b, 1);
  const s = [Math.sqrt(4 * (total - down) + 36 * down), 4 * Math.sqrt(total), 4 * Math.sqrt(total)] as const;
  const sum = s[0] + s[1] + s[2];
  const w = [s[0] / sum, s[1] / sum, s[2] / sum] as const;
  const g = aggregateThree({ sparsity: 'model' });
  for (const [l, t] of [
    [0, 'q_proj'],
    [1, 'down_proj'],
  ] as const) {
    expectIndex(g, l, t, 0, w[0] + w[1] + 2 * w[2], w[0] * (l === 1 ? 6 : 2) + w[1] + 0.5 * w[2], `${l} ${t} index 0`);
    expectIndex(g, l, t, 3, 2 * w[2], 0.5 * w[2], `${l} ${t} index 3`);
  }
});

test('HetLoRA paper: an index no sampled client reaches becomes zero and gets no gradient afterwards; present-clients keeps it', () => {
  const ctx = tinyContext(4);
  const two = [
    { c: info(0, 1), f: () => ({ a: [1], b: [2] }) },
    { c: info(1, 2), f: () => ({ a: [1, 3], b: [1, 1] }) },
  ];
  const paper = createHetLora(ctx);
  const kept = createHetLora(ctx, { aggregation: 'present-clients' });
  const initial = Float32Array.from(pairOf(exportedAdapter(kept), 0, 'q_proj').A);
  for (const m of [paper, kept])
    m.server.aggregate(
      1,
      two.map((x) => update(x.c, constant(ctx, x.c.rank, x.f))),
    );
  const [, inQ] = projectionShape(ctx.config, 'q_proj');
  const gp = exportedAdapter(paper);
  for (const j of [2, 3]) expectIndex(gp, 0, 'q_proj', j, 0, 0, `paper index ${j}`);
  // weights 2/6 and 4/6 (sum_j a_j b_j = 2 and 4)
  expectIndex(gp, 0, 'q_proj', 1, (4 / 6) * 3, 4 / 6, 'paper index 1');
  const gk = pairOf(exportedAdapter(kept), 0, 'q_proj');
  assert.deepEqual(gk.A.subarray(2 * inQ), initial.subarray(2 * inQ), 'present-clients: untrained indices keep A');
  // A = 0 and B = 0 at an index: both gradients vanish, so a rank-4 client trains it not at all
  const client = at(tinyClients(ctx, [4]), 0, 'rank-4 client');
  const local = paper.client.prepare(paper.server.configure(2, client.info), client.info);
  trainLocally(ctx.config, ctx.kernels, local, client.examples, LOCAL, ctx.seed, 2, 0);
  const q = pairOf(local.adapter, 0, 'q_proj');
  assert.ok(
    q.A.subarray(2 * inQ).every((x) => x === 0),
    'index 2 and 3 of A stay zero',
  );
  assert.ok(
    q.B.every((x, k) => k % 4 < 2 || x === 0),
    'index 2 and 3 of B stay zero',
  );
  const gq = pairOf(gp, 0, 'q_proj');
  assert.ok(
    q.A.subarray(0, inQ).some((x, i) => x !== gq.A[i]),
    'index 0 does train',
  );
});

test('HetLoRA: when every product is zero the sampled clients are averaged uniformly, padding included (paper)', () => {
  const ctx = tinyContext(4);
  const clients = [
    { c: info(0, 1), f: () => ({ a: [1], b: [0] }) },
    { c: info(1, 2), f: () => ({ a: [3, 5], b: [0, 0] }) },
  ];
  const run = (spec: HetLoraSpec) => {
    const m = createHetLora(ctx, spec);
    m.server.aggregate(
      1,
      clients.map((x) => update(x.c, constant(ctx, x.c.rank, x.f))),
    );
    return exportedAdapter(m);
  };
  expectIndex(run({}), 0, 'q_proj', 1, 5 / 2, 0, 'paper: 1/2 each, client 0 pads');
  expectIndex(run({ aggregation: 'present-clients' }), 0, 'q_proj', 1, 5, 0, 'present-clients: client 1 alone');
});

test('HetLoRA pruneTarget: floor(gamma r), at least minRank, at most r', () => {
  const o = (gamma: number, minRank = 1) => ({ gamma, lambda: 0, minRank });
  assert.equal(pruneTarget(16, o(0.99)), 15);
  assert.equal(pruneTarget(4, o(0.5)), 2);
  assert.equal(pruneTarget(3, o(0.5)), 1);
  assert.equal(pruneTarget(1, o(0.99)), 1, 'rank 1 cannot prune');
  assert.equal(pruneTarget(4, o(0.5, 3)), 3);
  assert.equal(pruneTarget(2, o(0.5, 3)), 2);
  assert.equal(pruneTarget(100, o(0.29)), 29, '0.29 * 100 is 28.999999999999996 in floating point');
});

test('HetLoRA tail regulariser: value by hand, gradient against a central finite difference of its value', () => {
  const ctx = tinyContext(4);
  const o = { gamma: 0.5, lambda: 0.7, minRank: 1 };
  const adapter = randomAdapter(ctx.config, 4, ctx.alpha, ctx.targets, 5);
  const reg = tailRegularizer(o);
  // by hand: p = 2, tail = ranks 2 and 3
  let want = 0;
  for (const layer of adapter.layers) {
    for (const t of ctx.targets) {
      const [out, inF] = projectionShape(ctx.config, t);
      const p = defined(layer[t], `LoRA pair ${t}`);
      let a = 0;
      let b = 0;
      for (let i = 2 * inF; i < 4 * inF; i++) a += at(p.A, i, `${t} A`) ** 2;
      for (let q = 0; q < out; q++) for (const j of [2, 3]) b += at(p.B, q * 4 + j, `${t} B`) ** 2;
      want += Math.sqrt(a * b);
    }
  }
  want *= o.lambda;
  const grad = zerosLike(adapter);
  for (const g of loraTensors(grad)) g.fill(0.25);
  const value = reg(adapter, grad);
  assert.ok(Math.abs(value - want) < 1e-12 * want, `R = ${value}, by hand ${want}`);
  assert.ok(Math.abs(tailNorm(adapter, o) * o.lambda - value) < 1e-12 * value);
  const fn = () => reg(adapter, zerosLike(adapter));
  const check = (l: number, t: TargetName, which: 'A' | 'B', k: number, tail: boolean) => {
    const x = pairOf(adapter, l, t)[which];
    const orig = at(x, k, `${l} ${t} ${which}`);
    const h = 1e-3;
    x[k] = orig + h;
    const up = fn();
    const hp = at(x, k, `${l} ${t} ${which}`) - orig;
    x[k] = orig - h;
    const down = fn();
    const hm = orig - at(x, k, `${l} ${t} ${which}`);
    x[k] = orig;
    const fd = (up - down) / (hp + hm);
    const analytic = at(pairOf(grad, l, t)[which], k, `gradient of ${l} ${t} ${which}`) - 0.25;
    assert.ok(Math.abs(fd - analytic) < 1e-5 * Math.max(1, Math.abs(fd)), `${l} ${t} ${which}[${k}]: finite difference ${fd}, gradient ${analytic}`);
    if (tail) assert.ok(Math.abs(analytic) > 1e-4, `${which}[${k}] is in the tail and must move`);
    else assert.equal(analytic, 0, `${which}[${k}] is a leading rank: no gradient`);
  };
  for (const [l, t] of [
    [0, 'q_proj'],
    [1, 'down_proj'],
    [1, 'v_proj'],
  ] as const) {
    const [out, inF] = projectionShape(ctx.config, t);
    check(l, t, 'A', 2 * inF + 1, true);
    check(l, t, 'A', 4 * inF - 1, true);
    check(l, t, 'A', inF + 3, false);
    check(l, t, 'B', (out - 1) * 4 + 3, true);
    check(l, t, 'B', 2, true);
    check(l, t, 'B', 5, false);
  }
  // a zero tail of B (as in round 1): value 0 and the zero subgradient, no NaN
  for (const layer of adapter.layers) for (const t of ctx.targets) defined(layer[t], `LoRA pair ${t}`).B.fill(0);
  const g0 = zerosLike(adapter);
  assert.equal(reg(adapter, g0), 0);
  assert.ok(loraTensors(g0).every((x) => x.every((v) => v === 0)));
});

test('HetLoRA self-pruning decision: prune to floor(gamma r) only when the tail is smaller after training than as received', () => {
  const ctx = tinyContext(4);
  const spec = { selfPruning: { gamma: 0.5, lambda: 0.1 } };
  const method = createHetLora(ctx, spec);
  const { server, client } = method;
  const tail = (a: LoraAdapter, f: (which: 'A' | 'B', x: Float32Array, k: number) => void) => {
    for (const layer of a.layers) {
      for (const t of ctx.targets) {
        const p = defined(layer[t], `LoRA pair ${t}`);
        const inF = p.A.length / 4;
        for (let k = 2 * inF; k < 4 * inF; k++) f('A', p.A, k);
        for (let k = 0; k < p.B.length; k++) if (k % 4 >= 2) f('B', p.B, k);
      }
    }
  };
  // round 1: B = 0 as received, so the tail can only grow; no pruning
  const first = client.prepare(server.configure(1, info(0, 4)), info(0, 4));
  assert.equal(first.meta['tailBefore'], 0);
  assert.ok(first.regularizer, 'a prunable client trains with the penalty');
  assert.equal(client.upload(first, info(0, 4)).meta['rank'], 4, 'a tail equal to the one received is not smaller');
  for (const x of loraTensors(first.adapter)) x.fill(0.01);
  assert.equal(client.upload(first, info(0, 4)).meta['rank'], 4);
  server.aggregate(1, [update(info(0, 4), randomAdapter(ctx.config, 4, ctx.alpha, ctx.targets, 8))]);
  // round 2: a grown tail keeps rank 4, a shrunk one prunes to 2 and sends exactly the leading two modules
  const grown = client.prepare(server.configure(2, info(0, 4)), info(0, 4));
  tail(grown.adapter, (w, x, k) => {
    if (w === 'B') x[k] = at(x, k, 'tail of B') * 1.01;
  });
  assert.equal(client.upload(grown, info(0, 4)).meta['rank'], 4);
  const same = client.prepare(server.configure(2, info(0, 4)), info(0, 4));
  assert.ok((same.meta['tailBefore'] as number) > 0);
  assert.equal(client.upload(same, info(0, 4)).meta['rank'], 4, 'an unchanged tail keeps the rank');
  const shrunk = client.prepare(server.configure(2, info(0, 4)), info(0, 4));
  tail(shrunk.adapter, (w, x, k) => {
    if (w === 'A') x[k] = at(x, k, 'tail of A') * 0.99;
  });
  const up = client.upload(shrunk, info(0, 4));
  assert.equal(up.meta['rank'], 2);
  const [outV, inV] = projectionShape(ctx.config, 'v_proj');
  const v = pairOf(shrunk.adapter, 1, 'v_proj');
  assert.deepEqual(got(up.tensors, '1.v_proj.A', 'uploaded tensors').data, v.A.subarray(0, 2 * inV));
  const B = got(up.tensors, '1.v_proj.B', 'uploaded tensors').data;
  for (let q = 0; q < outV; q++) for (let j = 0; j < 2; j++) assert.equal(B[q * 2 + j], v.B[q * 4 + j]);
  // the server accepts r or floor(gamma r) and nothing else
  server.validate(2, { client: info(0, 4), payload: up });
  assert.throws(
    () => server.validate(2, update(info(0, 4), randomAdapter(ctx.config, 3, ctx.alpha, ctx.targets))),
    /sent rank 3 but was given rank 4 \(2 after self-pruning\)/,
  );
  // rank 1 (and a rank at minRank) cannot prune: no penalty, no test
  const one = client.prepare(server.configure(2, info(1, 1)), info(1, 1));
  assert.equal(one.regularizer, undefined);
  assert.equal(client.upload(one, info(1, 1)).meta['rank'], 1);
  const floor2 = createHetLora(ctx, { selfPruning: { gamma: 0.5, minRank: 2 } });
  assert.equal(floor2.client.prepare(floor2.server.configure(1, info(2, 2)), info(2, 2)).regularizer, undefined);
  // without self-pruning nothing of this runs
  const off = createHetLora(ctx);
  const plain = off.client.prepare(off.server.configure(1, info(0, 4)), info(0, 4));
  assert.equal(plain.regularizer, undefined);
  assert.deepEqual(plain.meta, { rank: 4 });
});

test("local training calls the local model's regulariser once per step, after backward and before clipping", () => {
  const ctx = tinyContext(4);
  const c = at(tinyClients(ctx, [4]), 0, 'rank-4 client');
  const start = () => randomAdapter(ctx.config, 4, ctx.alpha, ctx.targets, 3);
  // a regulariser that adds nothing leaves training bit for bit as without one, and its values are averaged
  let calls = 0;
  const counted: LocalModel = { weights: ctx.base, adapter: start(), meta: {}, regularizer: () => ++calls };
  const plain: LocalModel = { weights: ctx.base, adapter: start(), meta: {} };
  const opts = { ...LOCAL, steps: 3 };
  const r = trainLocally(ctx.config, ctx.kernels, counted, c.examples, opts, ctx.seed, 1, 0);
  const p = trainLocally(ctx.config, ctx.kernels, plain, c.examples, opts, ctx.seed, 1, 0);
  assert.equal(calls, 3);
  assert.equal(r.regularizer, (1 + 2 + 3) / 3);
  assert.equal(p.regularizer, undefined);
  assert.equal(r.loss, p.loss);
  for (const [i, x] of loraTensors(counted.adapter).entries()) assert.deepEqual(x, loraTensors(plain.adapter)[i]);
  // a huge gradient added by the regulariser is in the norm that clipping sees, and AdamW moves that entry by -lr
  const adapter = start();
  const trainer = createTrainer(createModel(ctx.config, ctx.base, { lora: adapter, kernels: ctx.kernels }), {
    mode: 'lora',
    optimizer: { lr: 1e-3 },
    maxGradNorm: 1,
    regularizer: (_a, g) => {
      const A = pairOf(g, 0, 'q_proj').A;
      A[7] = at(A, 7, 'gradient of q_proj A') + 1e4;
      return 42;
    },
  });
  const before = at(pairOf(adapter, 0, 'q_proj').A, 7, 'q_proj A');
  const ids = Int32Array.from({ length: 10 }, (_, i) => (i * 7) % ctx.config.vocabSize);
  const step = trainer.step([{ ids, labels: ids, B: 1, T: 10 }]);
  assert.equal(step.regularizer, 42);
  assert.ok(step.gradNorm >= 1e4 - 10, `gradient norm before clipping ${step.gradNorm}`);
  const after = at(pairOf(adapter, 0, 'q_proj').A, 7, 'q_proj A');
  assert.ok(Math.abs(after - (before - 1e-3)) < 1e-6, `moved by ${after - before}`);
});

const noEval = () => ({ metric: 'accuracy' as const, value: 0, scores: {}, examples: 0, seconds: 0 });
const sim = (extra: Partial<SimulationOptions> = {}): SimulationOptions => ({
  rounds: 2,
  clientsPerRound: 3,
  evalEvery: 1,
  local: { ...LOCAL, steps: 4 },
  measureNoise: true,
  resume: false,
  ...extra,
});
const comparable = (r: RoundMetrics) => ({ ...r, seconds: 0, local_seconds: 0, prepare_seconds: 0, peak_rss_mb: 0 });

test('HetLoRA paper aggregation with self-pruning: clients prune during a run, and a resumed run is bit-exact', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [1, 2, 4]);
  const make = () => createHetLora(ctx, { selfPruning: { gamma: 0.5, lambda: 5 } });
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-hetlora-'));
  await runSimulation(make(), ctx, clients, noEval, sim({ runDir: dir }));
  const whole = make();
  const a = await runSimulation(whole, ctx, clients, noEval, sim({ rounds: 4 }));
  const resumed = make();
  const b = await runSimulation(resumed, ctx, clients, noEval, sim({ rounds: 4, runDir: dir, resume: true }));
  assert.deepEqual(b.map(comparable), a.map(comparable));
  assert.ok(encodePayload(whole.server.saveState()).equals(encodePayload(resumed.server.saveState())), 'same server state, bit for bit');
  const pruned = a.reduce((n, r) => n + (r.extra['pruned_clients'] ?? 0), 0);
  assert.ok(pruned > 0, `some client pruned in 4 rounds (${a.map((r) => r.extra['pruned_clients'])})`);
  assert.ok(a.slice(1).every((r) => r.rejected.length === 0));
});

test("config: the hetlora method defaults to the paper's aggregation, uniform weighting and no self-pruning", () => {
  // the method's own schema: what a config's method section is checked against (methods/registry.ts)
  const parse = ({ name: _name, ...options }: Record<string, unknown>) => hetLoraMethod.options.parse(options);
  assert.deepEqual(parse({ name: 'hetlora' }), { aggregation: 'paper', weighting: 'uniform', sparsity: 'per-matrix', selfPruning: null });
  assert.deepEqual(parse({ name: 'hetlora', selfPruning: {} }).selfPruning, { gamma: 0.99, lambda: 0.01, minRank: 1 });
  assert.equal(parse({ name: 'hetlora', aggregation: 'present-clients', weighting: 'examples' }).aggregation, 'present-clients');
  assert.throws(() => parse({ name: 'hetlora', aggregation: 'mean' }));
  assert.throws(() => parse({ name: 'hetlora', selfPruning: { gamma: 1 } }));
  assert.throws(() => parse({ name: 'hetlora', selfPruning: { lambda: -1 } }));
  assert.throws(() => parse({ name: 'hetlora', nextRank: 3 }), 'unknown keys are refused');
});
