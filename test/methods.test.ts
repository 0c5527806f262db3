import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { loraTensors } from '../src/lora/adapter.js';
import type { LoraAdapter, LoraPair } from '../src/layers/lora-branch.js';
import { foldInactive } from '../src/lora/plora.js';
import { runSimulation, type RoundMetrics } from '../src/federation/simulation.js';
import { adapterTensors } from '../src/methods/adapter-payload.js';
import { createFlexLora } from '../src/methods/flexlora.js';
import { createFlora } from '../src/methods/flora.js';
import { createHetLora, productNorm } from '../src/methods/hetlora.js';
import { createLocal } from '../src/methods/local.js';
import type { ClientInfo, ClientUpdate, Method, MethodContext } from '../src/methods/method.js';
import { encodePayload, payload, payloadBytes, type Payload } from '../src/methods/payload.js';
import { createMethod, METHOD_NAMES } from '../src/methods/registry.js';
import { projectionShape, type ModelWeights } from '../src/model/weights.js';
import { denseWeight } from '../src/layers/linear.js';
import { at, defined, got } from '../src/util/checked.js';
import { tinyClients, tinyContext, noEval, tinySimulation } from './helpers/federation-setup.js';
import { exportedAdapter, pairOf } from './helpers/lora-access.js';
import { randomAdapter } from './helpers/tiny-model.js';

const options = tinySimulation;

const info = (id: number, rank: number, numExamples = 1): ClientInfo => ({ id, rank, numExamples });

/** A rank-r adapter with non-zero B, sent as a client's update with meta {rank}. */
function handMade(ctx: MethodContext, r: number, seed: number): LoraAdapter {
  return randomAdapter(ctx.config, r, ctx.alpha, ctx.targets, seed);
}
const update = (client: ClientInfo, a: LoraAdapter, meta: Record<string, unknown> = {}): ClientUpdate => ({
  client,
  payload: payload({ rank: a.rank, ...meta }, adapterTensors(a)),
});

/** w * B A in float64, (out, in) row-major. */
function product(pair: LoraPair, r: number, w = 1): Float64Array {
  const inF = pair.A.length / r;
  const out = pair.B.length / r;
  const d = new Float64Array(out * inF);
  for (let o = 0; o < out; o++) {
    for (let j = 0; j < r; j++) {
      const b = w * at(pair.B, o * r + j, 'B');
      for (let i = 0; i < inF; i++) d[o * inF + i] = at(d, o * inF + i, 'product') + b * at(pair.A, j * inF + i, 'A');
    }
  }
  return d;
}

function relative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const y = at(b, i, 'reference');
    d += (at(a, i, 'value') - y) ** 2;
    n += y ** 2;
  }
  return Math.sqrt(d) / Math.sqrt(n);
}

function weightDelta(ctx: MethodContext, w: ModelWeights, l: number, t: MethodContext['targets'][number]): Float64Array {
  const a = denseWeight(at(w.layers, l, 'layer').proj[t]);
  const b = denseWeight(at(ctx.base.layers, l, 'base layer').proj[t]);
  return Float64Array.from(a, (x, i) => x - at(b, i, `base ${l}.${t}`));
}

const stateBytes = (m: Method): Buffer => encodePayload(m.server.saveState());

test('registry: every method is created by name', async () => {
  const ctx = tinyContext(4);
  for (const name of METHOD_NAMES) assert.equal(createMethod({ name }, ctx, [1, 2, 4]).server.name, name);
});

// [4, 4, 4]: the stacked rank 12 exceeds v_proj's 8 outputs (the QR of that side is the identity)
for (const ranks of [
  [1, 2, 4],
  [4, 4, 4],
]) {
  test(`FlexLoRA: each client receives the best rank-r approximation of the weighted average of products (ranks ${ranks})`, async () => {
    const ctx = tinyContext(4);
    const method = createFlexLora(ctx);
    const n = [3, 5, 8];
    const K = ranks.reduce((a, b) => a + b, 0);
    const clients = ranks.map((r, i) => ({ client: info(i, r, n[i]), adapter: handMade(ctx, r, 11 + i) }));
    const stats = method.server.aggregate(
      1,
      clients.map((c) => update(c.client, c.adapter)),
    );
    assert.ok(stats.aggregationNoise !== null && stats.aggregationNoise < 1e-5, `stacking is exact up to fp32: ${stats.aggregationNoise}`);
    assert.deepEqual(stats.rejected, []);
    assert.equal(exportedAdapter(method).rank, K, 'the global LoRA is the stack of every client rank');
    const p = n.map((x) => x / 16);
    for (const r of [1, 2, 3, 4]) {
      const msg = method.server.configure(2, info(9, r));
      const local = method.client.prepare(msg, info(9, r));
      assert.equal(local.adapter.rank, r);
      for (let l = 0; l < ctx.config.numLayers; l++) {
        for (const t of ctx.targets) {
          const [out, inF] = projectionShape(ctx.config, t);
          const M = new Float64Array(out * inF);
          for (const [i, c] of clients.entries()) {
            for (const [k, x] of product(pairOf(c.adapter, l, t), c.adapter.rank, p[i]).entries()) M[k] = at(M, k, 'M') + x;
          }
          const svd = new SingularValueDecomposition(Matrix.from1DArray(out, inF, Array.from(M)), { autoTranspose: true });
          const U = svd.leftSingularVectors;
          const V = svd.rightSingularVectors;
          const s = svd.diagonal;
          const best = new Float64Array(out * inF);
          for (let c = 0; c < r; c++) {
            const sc = at(s, c, 'singular value');
            for (let o = 0; o < out; o++) {
              for (let i = 0; i < inF; i++) best[o * inF + i] = at(best, o * inF + i, 'best') + ctx.scale * U.get(o, c) * sc * V.get(i, c);
            }
          }
          const prepared = product(pairOf(local.adapter, l, t), r, ctx.scale);
          assert.ok(relative(prepared, best) < 1e-4, `layer ${l} ${t} rank ${r}: ${relative(prepared, best)}`);
          // What the evaluation of received models uses is what the client receives; deployable is rank R = 4.
          const received = product(pairOf(defined(method.server.receivedModel?.(r).adapter, 'received adapter'), l, t), r, ctx.scale);
          assert.ok(relative(received, best) < 1e-4, `received model, layer ${l} ${t} rank ${r}: ${relative(received, best)}`);
          if (r === ctx.rank) {
            const deployable = defined(method.server.deployableModel?.().adapter, 'deployable adapter');
            assert.equal(deployable.rank, ctx.rank);
            assert.ok(relative(product(pairOf(deployable, l, t), r, ctx.scale), best) < 1e-4, `deployable, layer ${l} ${t}`);
          }
          // A has orthonormal rows, so the column norms of B are the singular values of M
          const B = pairOf(local.adapter, l, t).B;
          const s0 = at(s, 0, 'largest singular value');
          for (let c = 0; c < r; c++) {
            let sq = 0;
            for (let o = 0; o < out; o++) sq += at(B, o * r + c, 'B') ** 2;
            assert.ok(Math.abs(Math.sqrt(sq) - at(s, c, 'singular value')) <= 1e-4 * s0, `singular value ${c}: ${Math.sqrt(sq)} vs ${s[c]}`);
          }
        }
      }
    }
    // the redistributions above are reported as this round's truncation error
    const truncation = method.server.aggregate(2, []).extra?.['truncation_error'];
    assert.ok(truncation !== undefined && truncation > 0 && truncation < 1, `truncation error ${truncation}`);
    assert.equal(exportedAdapter(method).rank, K, 'a round without updates keeps the global product');
  });
}

test('FlexLoRA: before the first round a client gets the first r_i initial modules; missing directions stay trainable', async () => {
  const ctx = tinyContext(4);
  const method = createFlexLora(ctx);
  const init = exportedAdapter(method);
  const first = method.client.prepare(method.server.configure(1, info(0, 2)), info(0, 2));
  const initQ = pairOf(init, 0, 'q_proj');
  const firstQ = pairOf(first.adapter, 0, 'q_proj');
  const inF = initQ.A.length / 4;
  assert.deepEqual(firstQ.A, initQ.A.subarray(0, 2 * inF));
  assert.ok(firstQ.B.every((x) => x === 0));
  // only one rank-1 client: M has rank 1, a rank-4 client gets it plus 3 modules with B = 0 and a non-zero A
  method.server.aggregate(1, [update(info(0, 1), handMade(ctx, 1, 5))]);
  const wide = pairOf(method.client.prepare(method.server.configure(2, info(1, 4)), info(1, 4)).adapter, 1, 'down_proj');
  const [out, inD] = projectionShape(ctx.config, 'down_proj');
  for (let c = 1; c < 4; c++) {
    for (let o = 0; o < out; o++) assert.equal(wide.B[o * 4 + c], 0);
    assert.ok(wide.A.subarray(c * inD, (c + 1) * inD).some((x) => x !== 0));
  }
});

test('FLoRA: the stack is exactly the weighted sum of client products, merged into the base', async () => {
  const ctx = tinyContext(4);
  const method = createFlora(ctx);
  const ranks = [1, 2, 4];
  const n = [3, 5, 8];
  const clients = ranks.map((r, i) => ({ client: info(i, r, n[i]), adapter: handMade(ctx, r, 21 + i) }));
  for (const c of clients) method.server.configure(1, c.client);
  const stats = method.server.aggregate(
    1,
    clients.map((c) => update(c.client, c.adapter)),
  );
  assert.ok(stats.aggregationNoise !== null && stats.aggregationNoise < 1e-5, `stacking is exact up to fp32: ${stats.aggregationNoise}`);
  const g = method.server.globalModel();
  assert.equal(g.adapter, null);
  const stack = exportedAdapter(method);
  assert.equal(stack.rank, 7);
  for (let l = 0; l < ctx.config.numLayers; l++) {
    for (const t of ctx.targets) {
      const [out, inF] = projectionShape(ctx.config, t);
      const want = new Float64Array(out * inF);
      for (const c of clients) {
        const weighted = product(pairOf(c.adapter, l, t), c.adapter.rank, (ctx.scale * c.client.numExamples) / 16);
        for (const [k, x] of weighted.entries()) want[k] = at(want, k, 'want') + x;
      }
      assert.ok(relative(product(pairOf(stack, l, t), 7, ctx.scale), want) < 1e-5, `stack ${l} ${t}`);
      assert.ok(relative(weightDelta(ctx, g.weights, l, t), want) < 1e-5, `merged ${l} ${t}: ${relative(weightDelta(ctx, g.weights, l, t), want)}`);
    }
  }
  // the base itself is never written
  assert.notEqual(at(g.weights.layers, 0, 'merged layer').proj.q_proj.weight, at(ctx.base.layers, 0, 'base layer').proj.q_proj.weight);
});

test('FLoRA: a client receives every stack merged since it last took part, and merging them reproduces the server', async () => {
  const ctx = tinyContext(4);
  const method = createFlora(ctx);
  const { server, client } = method;
  // round 1: clients 0 and 1 take part (nothing merged yet: empty downlink)
  const empty = [server.configure(1, info(0, 2)), server.configure(1, info(1, 1))];
  assert.deepEqual(
    empty.map((m) => m.tensors.size),
    [0, 0],
  );
  server.aggregate(1, [update(info(0, 2), handMade(ctx, 2, 1)), update(info(1, 1), handMade(ctx, 1, 2))]);
  // round 2: only client 1 (receives stack 0)
  const m1r2 = server.configure(2, info(1, 1));
  assert.deepEqual(m1r2.meta['stackRanks'], [3]);
  server.aggregate(2, [update(info(1, 1), handMade(ctx, 1, 3))]);
  // round 3: client 1 missed 1 stack, client 0 missed 2, client 5 is new (whole history: 2)
  const m1 = server.configure(3, info(1, 1));
  const m0 = server.configure(3, info(0, 2));
  const m5 = server.configure(3, info(5, 4));
  assert.deepEqual([m1.meta['from'], m1.meta['stackRanks']], [1, [1]]);
  assert.deepEqual([m0.meta['from'], m0.meta['stackRanks']], [0, [3, 1]]);
  assert.deepEqual([m5.meta['from'], m5.meta['stackRanks']], [0, [3, 1]]);
  const [b1, b0, b5, be] = [payloadBytes(m1), payloadBytes(m0), payloadBytes(m5), payloadBytes(at(empty, 0, 'empty message'))];
  assert.ok(be < b1 && b1 < b0, `bytes: none ${be}, one stack ${b1}, two stacks ${b0}`);
  assert.ok(Math.abs(b0 - b5) < 16, 'a new client receives the whole history');
  // client 0 kept the base (it received nothing in round 1) and now merges stacks 0 and 1 in order
  let own = ctx.base;
  const ranks = m0.meta['stackRanks'] as number[];
  ranks.forEach((K, k) => {
    const stack = randomAdapter(ctx.config, K, ctx.alpha, ctx.targets);
    for (const [name, t] of adapterTensors(stack, `s${k}.`)) {
      const sent = got(m0.tensors, name, 'stack tensors');
      t.data.set(sent.data);
    }
    own = foldInactive(ctx.kernels, own, { ...stack, scale: ctx.scale }, []);
  });
  const local = client.prepare(m0, info(0, 2));
  for (let l = 0; l < ctx.config.numLayers; l++) {
    for (const t of ctx.targets) assert.deepEqual(at(local.weights.layers, l, 'client layer').proj[t].weight, at(own.layers, l, 'merged layer').proj[t].weight);
  }
  assert.ok(
    pairOf(local.adapter, 0, 'q_proj').B.every((x) => x === 0),
    'a fresh LoRA every round: B zero',
  );
  assert.equal(local.adapter.rank, 2);
});

test("HetLoRA (default: the paper's aggregation): truncated messages, zero padding and per-layer ||B_i A_i||_F weights over all clients", async () => {
  const ctx = tinyContext(3);
  const method = createHetLora(ctx);
  const { server, client } = method;
  const m2 = server.configure(1, info(1, 2));
  const m3 = server.configure(1, info(2, 3));
  const [outQ, inQ] = projectionShape(ctx.config, 'q_proj');
  assert.deepEqual(got(m2.tensors, '0.q_proj.A', 'message tensors').shape, [2, inQ]);
  assert.deepEqual(got(m2.tensors, '0.q_proj.B', 'message tensors').shape, [outQ, 2]);
  assert.ok(payloadBytes(m2) < payloadBytes(m3), 'only the first r_i modules are sent');
  const c0 = client.prepare(server.configure(1, info(0, 1)), info(0, 1));
  const c1 = client.prepare(m2, info(1, 2));
  for (const x of loraTensors(c0.adapter)) x.fill(1);
  pairOf(c0.adapter, 1, 'v_proj').B.fill(3);
  for (const x of loraTensors(c1.adapter)) x.fill(1);
  for (const layer of c1.adapter.layers) for (const t of ctx.targets) defined(layer[t], `LoRA pair ${t}`).A.fill(2);
  // ||B A||_F: client 0 = sqrt(out in) (3 sqrt(out in) in layer 1 v_proj), client 1 = 4 sqrt(out in)
  const [outV, inV] = projectionShape(ctx.config, 'v_proj');
  assert.ok(Math.abs(productNorm(pairOf(c1.adapter, 0, 'v_proj'), 2) - 4 * Math.sqrt(outV * inV)) < 1e-9);
  const stats = server.aggregate(1, [
    { client: info(0, 1), payload: client.upload(c0, info(0, 1)) },
    { client: info(1, 2), payload: client.upload(c1, info(1, 2)) },
  ]);
  assert.deepEqual(stats.rejected, []);
  assert.ok((stats.aggregationNoise ?? 0) > 0);
  const g = exportedAdapter(method);
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);
  const q = pairOf(g, 0, 'q_proj');
  close(at(q.A, 0, 'q_proj A'), 0.2 * 1 + 0.8 * 2, 'index 0: weights 1/5 and 4/5');
  close(at(q.B, 0, 'q_proj B'), 1, 'index 0 B');
  close(at(q.A, inQ, 'q_proj A'), 0.8 * 2, 'index 1: only client 1 has it; client 0 contributes its zero padding with weight 1/5');
  close(at(q.B, 1, 'q_proj B'), 0.8 * 1, 'index 1 B');
  assert.ok(
    q.A.subarray(2 * inQ).every((x) => x === 0),
    'index 2: nobody trained it, so the padded sum is zero',
  );
  assert.equal(q.B[2], 0);
  const v = pairOf(g, 1, 'v_proj');
  close(at(v.A, 0, 'v_proj A'), (3 / 7) * 1 + (4 / 7) * 2, 'layer 1 v_proj index 0: weights 3/7 and 4/7');
  close(at(v.B, 0, 'v_proj B'), (3 / 7) * 3 + (4 / 7) * 1, 'layer 1 v_proj index 0 B');
  close(at(pairOf(g, 0, 'v_proj').A, 0, 'v_proj A'), 1.8, 'layer 0 v_proj keeps weights 1/5 and 4/5');
});

test('HetLoRA self-pruning: a client whose tail shrank in training sends floor(gamma r) modules; the server remembers its rank', async () => {
  const ctx = tinyContext(4);
  const method = createHetLora(ctx, { selfPruning: { gamma: 0.75 } });
  const { server, client } = method;
  // round 1 gives the global a non-zero B, so the tail received in round 2 is not zero
  server.aggregate(1, [update(info(0, 4), handMade(ctx, 4, 7))]);
  const c = client.prepare(server.configure(2, info(0, 4)), info(0, 4));
  // "training" halves the last rank's A (floor(0.75 * 4) = 3 ranks stay): its tail is now smaller than as received
  for (const layer of c.adapter.layers) {
    for (const t of ctx.targets) {
      const p = defined(layer[t], `LoRA pair ${t}`);
      for (let i = 3 * (p.A.length / 4); i < p.A.length; i++) p.A[i] = at(p.A, i, 'A') * 0.5;
    }
  }
  const up = client.upload(c, info(0, 4));
  assert.equal(up.meta['rank'], 3);
  const stats = server.aggregate(2, [{ client: info(0, 4), payload: up }]);
  assert.equal(stats.extra?.['pruned_clients'], 1);
  assert.equal(server.configure(3, info(0, 4)).meta['rank'], 3);
  assert.equal(server.configure(3, info(1, 4)).meta['rank'], 4, 'other clients keep their rank');
  const restored = createHetLora(ctx, { selfPruning: { gamma: 0.75 } });
  restored.server.loadState(server.saveState());
  assert.equal(restored.server.configure(3, info(0, 4)).meta['rank'], 3);
  // an update at the old rank is now rejected
  const stale = restored.server.aggregate(3, [update(info(0, 4), handMade(ctx, 4, 1))]);
  assert.match(at(stale.rejected, 0, 'rejected update').reason, /sent rank 4 but was given rank 3/);
});

test("local: every client keeps its own adapter; evaluation averages the clients' models", async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [1, 2, 4, 2]);
  const method = createLocal(ctx, { evalClients: 2 });
  // value = the rank of the evaluated adapter (0 for the base), so the average is checkable
  const evaluate = (g: { adapter: LoraAdapter | null }) => ({ ...noEval(), value: g.adapter?.rank ?? 0, scores: { r: g.adapter?.rank ?? 0 } });
  const m = await runSimulation(method, ctx, clients, evaluate, options({ rounds: 2, clientsPerRound: 2, evalEvery: 1 }));
  assert.equal(at(m, 0, 'round 0 metrics').test_metric, 0, 'before training: the base model');
  const trained = [...new Set(m.slice(1).flatMap((r) => r.sampled))].sort((a, b) => a - b);
  const models = defined(method.server.evaluationModels?.(), 'evaluation models');
  const modelAdapter = (i: number) => defined(at(models, i, 'evaluation model').adapter, `adapter of evaluation model ${i}`);
  assert.equal(models.length, Math.min(2, trained.length));
  const expected = trained.slice(0, 2).map((id) => at(clients, id, 'trained client').info.rank);
  assert.deepEqual(
    models.map((g) => defined(g.adapter, 'adapter of an evaluation model').rank),
    expected,
  );
  const round2 = at(m, 2, 'round 2 metrics');
  assert.equal(round2.test_metric, expected.reduce((a, b) => a + b, 0) / expected.length);
  assert.equal(round2.scores?.['r'], round2.test_metric);
  assert.notDeepEqual(loraTensors(modelAdapter(0))[1], loraTensors(modelAdapter(1))[1], 'separate adapters');
  assert.ok(
    m.slice(1).every((r) => r.bytes_up < 100 * r.sampled.length && r.bytes_down < 100 * r.sampled.length),
    'no tensors are sent',
  );
  assert.equal(method.server.exportAdapter(), null);
  // a client continues from its own adapter
  const info0 = at(clients, at(trained, 0, 'first trained client'), 'trained client').info;
  const again = method.client.prepare(method.server.configure(3, info0), info0);
  for (const [i, x] of loraTensors(again.adapter).entries()) assert.deepEqual(x, loraTensors(modelAdapter(0))[i]);
  // and a trained adapter with NaN is rejected, keeping the previous one
  at(loraTensors(again.adapter), 0, 'first tensor')[0] = NaN;
  const stats = method.server.aggregate(3, [{ client: info0, payload: method.client.upload(again, info0) }]);
  assert.match(at(stats.rejected, 0, 'rejected update').reason, /update from client \d+: tensor "0\.q_proj\.A" holds a non-finite value \(NaN\) at index 0/);
  const firstModel = at(defined(method.server.evaluationModels?.(), 'evaluation models'), 0, 'evaluation model');
  assert.ok(Number.isFinite(pairOf(defined(firstModel.adapter, 'adapter of evaluation model 0'), 0, 'q_proj').A[0]));
});

const factories: Record<string, (ctx: MethodContext) => Method> = {
  hetlora: (ctx) => createHetLora(ctx, { selfPruning: { gamma: 0.5 } }),
  flexlora: (ctx) => createFlexLora(ctx),
  flora: (ctx) => createFlora(ctx),
  local: (ctx) => createLocal(ctx),
};

/** A round's metrics without wall-clock time and memory. */
const comparable = (r: RoundMetrics) => ({ ...r, seconds: 0, local_seconds: 0, prepare_seconds: 0, peak_rss_mb: 0 });

for (const [name, make] of Object.entries(factories)) {
  test(`${name}: 2 rounds with ranks [1, 2, 4] and R = 4, then a resumed third round is bit-exact`, async () => {
    const ctx = tinyContext(4);
    const clients = tinyClients(ctx, [1, 2, 4]);
    const dir = mkdtempSync(join(tmpdir(), `fedplora-${name}-`));
    const two = await runSimulation(make(ctx), ctx, clients, noEval, options({ runDir: dir, evalEvery: 1 }));
    assert.deepEqual(
      two.map((r) => r.round),
      [0, 1, 2],
    );
    assert.ok(two.slice(1).every((r) => Number.isFinite(r.train_loss) && r.rejected.length === 0 && r.sampled.length === 3));
    const whole = make(ctx);
    const a = await runSimulation(whole, ctx, clients, noEval, options({ rounds: 3, evalEvery: 1 }));
    const resumed = make(ctx);
    const b = await runSimulation(resumed, ctx, clients, noEval, options({ rounds: 3, evalEvery: 1, runDir: dir, resume: true }));
    assert.deepEqual(b.map(comparable), a.map(comparable));
    assert.ok(stateBytes(whole).equals(stateBytes(resumed)), 'same server state, bit for bit');
    const gw = whole.server.globalModel().weights;
    const gr = resumed.server.globalModel().weights;
    gw.layers.forEach((layer, l) => {
      for (const t of ctx.targets) assert.deepEqual(layer.proj[t].weight, at(gr.layers, l, 'resumed layer').proj[t].weight);
    });
  });
}

/** Replaces one tensor of a valid update by one of a wrong shape. */
function wrongShape(u: ClientUpdate): ClientUpdate {
  const tensors = new Map(u.payload.tensors);
  const A = got(tensors, '1.v_proj.A', 'update tensors');
  const rows = at(A.shape, 0, 'rows of 1.v_proj.A');
  const cols = at(A.shape, 1, 'columns of 1.v_proj.A');
  tensors.set('1.v_proj.A', { data: new Float32Array(A.data.length - rows), shape: [rows, cols - 1] });
  return { client: u.client, payload: { meta: u.payload.meta, tensors } as Payload };
}

for (const name of ['hetlora', 'flexlora', 'flora'] as const) {
  test(`${name}: an update with NaN or a wrong shape is rejected with its reason; the valid one is used`, async () => {
    const ctx = tinyContext(4);
    const method = createMethod({ name }, ctx, [1, 2, 4]);
    const good = update(info(0, 2), handMade(ctx, 2, 1));
    const nan = update(info(1, 2), handMade(ctx, 2, 2));
    got(nan.payload.tensors, '0.down_proj.B', 'update tensors').data[5] = NaN;
    const bad = wrongShape(update(info(2, 2), handMade(ctx, 2, 3)));
    const before = stateBytes(method);
    const stats = method.server.aggregate(1, [good, nan, bad]);
    assert.deepEqual(
      stats.rejected.map((r) => r.clientId),
      [1, 2],
    );
    assert.match(at(stats.rejected, 0, 'rejected update').reason, /update from client 1: tensor "0\.down_proj\.B" holds a non-finite value \(NaN\) at index 5/);
    assert.match(at(stats.rejected, 1, 'rejected update').reason, /update from client 2: tensor "1\.v_proj\.A" has shape \[2,23\], expected \[2,24\]/);
    assert.ok(!stateBytes(method).equals(before), 'the valid update was aggregated');
    // only rejected updates: the state is kept
    const kept = stateBytes(method);
    const all = method.server.aggregate(2, [nan, bad]);
    assert.equal(all.rejected.length, 2);
    assert.ok(stateBytes(method).equals(kept));
  });
}
