/**
 * Independent oracles for aggregation and for Select-N-Fold.
 *
 * The FedAvg reference below is written over plain number arrays and imports
 * nothing from the project's aggregation code, so a bug in that shared code
 * (aggregateModules serves both FedIT and Fed-PLoRA) cannot hide itself by
 * being on both sides of the comparison. Client updates come from the real
 * path: configure -> client prepare -> local training -> upload -> aggregate.
 *
 * The second oracle checks zero initialization noise where it matters, in the
 * model's output: a client's starting model (folded weights plus its active
 * modules) gives the global model's logits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoraAdapter } from '../src/layers/lora-branch.js';
import { foldInactive } from '../src/lora/plora.js';
import { runClientJob, type ClientRunner } from '../src/federation/client-runner.js';
import type { LocalTrainingOptions } from '../src/federation/local-train.js';
import { sampleClients } from '../src/federation/sampling.js';
import { runSimulation } from '../src/federation/simulation.js';
import type { ClientData } from '../src/federation/client-data.js';
import { createFedPlora, type FedPloraOptions } from '../src/methods/fed-plora.js';
import { createFedIt } from '../src/methods/fedit.js';
import type { Method, MethodContext } from '../src/methods/method.js';
import type { Payload } from '../src/methods/payload.js';
import { createActivations } from '../src/model/activations.js';
import { createModel, forward } from '../src/model/llama.js';
import type { ModelWeights } from '../src/model/weights.js';
import { at, defined, got } from '../src/util/checked.js';
import { createRng } from '../src/util/random.js';
import { LOCAL, tinyClients, tinyContext } from './helpers/federation-setup.js';
import { exportedAdapter } from './helpers/lora-access.js';

// ---------------------------------------------------------------------------
// Plain-array view of adapters and uploads

/** Per "layer.target": A as (rank, in) row-major and B as (out, rank) row-major. */
type Factors = Map<string, { A: number[]; B: number[] }>;

interface Upload {
  clientId: number;
  /** the FedAvg weight: the client's example count, or 1 for uniform averaging */
  weight: number;
  /** global module ids the client trained, in the order of its compact A rows / B columns */
  ids: number[];
  factors: Factors;
}

function snapshotAdapter(a: LoraAdapter): Factors {
  const out: Factors = new Map();
  a.layers.forEach((layer, l) => {
    for (const t of a.targets) {
      const pair = defined(layer[t], `LoRA pair ${l}.${t}`);
      out.set(`${l}.${t}`, { A: Array.from(pair.A), B: Array.from(pair.B) });
    }
  });
  return out;
}

/** Reads the tensors a client sent, by their wire names, as plain arrays. */
function uploadFactors(p: Payload, keys: Iterable<string>): Factors {
  const out: Factors = new Map();
  for (const key of keys) {
    const A = p.tensors.get(`${key}.A`);
    const B = p.tensors.get(`${key}.B`);
    assert.ok(A && B, `upload carries ${key}.A and ${key}.B`);
    out.set(key, { A: Array.from(A.data), B: Array.from(B.data) });
  }
  return out;
}

// ---------------------------------------------------------------------------
// The reference: per module j, the weighted mean of the clients that trained j

interface ReferenceEntry {
  A: number[];
  B: number[];
  /** sum_i w_i |x_i| / sum_i w_i per element: bounds the float64 accumulation error */
  absA: number[];
  absB: number[];
}

interface Reference {
  factors: Map<string, ReferenceEntry>;
  /** how many clients trained each module */
  contributors: number[];
}

function fedAvgReference(previous: Factors, R: number, uploads: Upload[]): Reference {
  const contributors = Array.from({ length: R }, (_, j) => uploads.filter((u) => u.ids.includes(j)).length);
  const factors = new Map<string, ReferenceEntry>();
  for (const [key, prev] of previous) {
    const inF = prev.A.length / R;
    const out = prev.B.length / R;
    // a module nobody trained keeps its value
    const e: ReferenceEntry = { A: [...prev.A], B: [...prev.B], absA: prev.A.map(Math.abs), absB: prev.B.map(Math.abs) };
    for (let j = 0; j < R; j++) {
      const who = uploads.filter((u) => u.ids.includes(j));
      if (who.length === 0) continue;
      const total = who.reduce((s, u) => s + u.weight, 0);
      const mean = (value: (f: { A: number[]; B: number[] }, c: number, m: number) => number) => {
        let s = 0;
        let abs = 0;
        for (const u of who) {
          const v = value(got(u.factors, key, `upload of client ${u.clientId}`), u.ids.indexOf(j), u.ids.length);
          s += u.weight * v;
          abs += u.weight * Math.abs(v);
        }
        return [s / total, abs / total] as const;
      };
      for (let i = 0; i < inF; i++) [e.A[j * inF + i], e.absA[j * inF + i]] = mean((f, c) => at(f.A, c * inF + i, `uploaded ${key}.A`));
      for (let o = 0; o < out; o++) [e.B[o * R + j], e.absB[o * R + j]] = mean((f, c, m) => at(f.B, o * m + c, `uploaded ${key}.B`));
    }
    factors.set(key, e);
  }
  return { factors, contributors };
}

/**
 * Compares the global adapter with the reference. Untrained modules and
 * modules one client trained must match bit for bit: keeping a value, and
 * w*a/w, are exact. An averaged element must be the float32 rounding of the
 * true weighted mean: one rounding is at most half an ulp, <= 2^-24 |mean|;
 * the float64 sums on either side (ours and the implementation's, in any
 * order) add at most n * 2^-53 * sum w|a| / sum w each. Summing in float32
 * instead rounds every partial sum and misses this by about an ulp, which the
 * bound rejects on purpose: the stored value must be the mean, rounded once.
 * A weighting error shows up as a relative difference of 1e-3 or more
 * (checked in assertWeightingMatters), far above either.
 */
function assertMatchesReference(actual: Factors, ref: Reference, R: number, label: string): void {
  let averaged = 0;
  for (const [key, e] of ref.factors) {
    const g = got(actual, key, `${label} global adapter`);
    const inF = e.A.length / R;
    const check = (which: 'A' | 'B', idx: number, j: number) => {
      const x = at(g[which], idx, `${label} ${key}.${which}`);
      const r = at(e[which], idx, `reference ${key}.${which}`);
      const n = at(ref.contributors, j, 'contributors of a module');
      if (n <= 1) {
        assert.equal(x, r, `${label} ${key}.${which}[${idx}] (module ${j}, ${n === 0 ? 'untrained: keeps its value' : 'one client trained it'})`);
        return;
      }
      averaged++;
      const abs = at(which === 'A' ? e.absA : e.absB, idx, `reference |${key}.${which}|`);
      const tol = 2 ** -24 * Math.abs(r) + n * 2 ** -52 * abs + 2 ** -149;
      assert.ok(
        Math.abs(x - r) <= tol,
        `${label} ${key}.${which}[${idx}] (module ${j}, ${n} clients): ${x} vs reference ${r}, |diff| ${Math.abs(x - r)} > ${tol}`,
      );
    };
    for (let j = 0; j < R; j++) {
      for (let i = 0; i < inF; i++) check('A', j * inF + i, j);
      for (let o = 0; o < e.B.length / R; o++) check('B', o * R + j, j);
    }
  }
  if (ref.contributors.some((n) => n > 1)) assert.ok(averaged > 0);
}

// ---------------------------------------------------------------------------
// Running the real federation and recording what crossed the wire

interface Recorded {
  /** global adapter after each round; [0] is the initial one */
  globals: Factors[];
  /** uploads[t - 1]: every update aggregated in round t */
  uploads: Upload[][];
}

/**
 * Trains each job exactly as the in-process runner does (runClientJob:
 * prepare, local training, upload) and keeps a copy of every upload.
 */
function recordingRunner(
  method: Method,
  ctx: MethodContext,
  local: LocalTrainingOptions,
  keys: string[],
  weighting: FedPloraOptions['weighting'],
  rec: Recorded,
): ClientRunner {
  return {
    async run(jobs) {
      const results = jobs.map((job) => runClientJob(method.client, ctx, local, job));
      rec.uploads.push(
        results.map((r, i) => {
          const { info, examples } = at(jobs, i, 'client job').client;
          // FedIT sends no module list: every client trains all of its modules
          const modules = r.update.meta['modules'];
          const m = at(got(r.update.tensors, `${keys[0]}.A`, 'uploaded tensors').shape, 0, 'rows of the uploaded A');
          const ids = Array.isArray(modules) ? (modules as number[]) : Array.from({ length: m }, (_, j) => j);
          assert.equal(ids.length, m, 'one compact row of A per trained module');
          return { clientId: info.id, weight: weighting === 'examples' ? examples.length : 1, ids, factors: uploadFactors(r.update, keys) };
        }),
      );
      return results;
    },
    close: async () => {},
  };
}

async function runRecorded(
  method: Method,
  ctx: MethodContext,
  clients: ClientData[],
  rounds: number,
  perRound: number,
  weighting: FedPloraOptions['weighting'],
  local = LOCAL,
): Promise<Recorded> {
  const rec: Recorded = { globals: [], uploads: [] };
  const keys = [...snapshotAdapter(exportedAdapter(method)).keys()];
  const noEval = () => ({ metric: 'accuracy' as const, value: 0, scores: {}, examples: 0, seconds: 0 });
  const metrics = await runSimulation(
    method,
    ctx,
    clients,
    noEval,
    {
      rounds,
      clientsPerRound: perRound,
      evalEvery: 100,
      local,
      measureNoise: false,
      resume: false,
      runner: recordingRunner(method, ctx, local, keys, weighting, rec),
    },
    { onRound: () => rec.globals.push(snapshotAdapter(exportedAdapter(method))) },
  );
  assert.ok(metrics.slice(1).every((m) => m.aggregated && m.rejected.length === 0 && m.dropped.length === 0));
  assert.equal(rec.globals.length, rounds + 1);
  assert.equal(rec.uploads.length, rounds);
  return rec;
}

/** Checks every round's global adapter against the reference built from that round's uploads. */
function checkEveryRound(rec: Recorded, R: number, label: string): Reference[] {
  return rec.uploads.map((uploads, i) => {
    const ref = fedAvgReference(at(rec.globals, i, 'global adapter before the round'), R, uploads);
    assertMatchesReference(at(rec.globals, i + 1, 'global adapter after the round'), ref, R, `${label}, round ${i + 1}:`);
    return ref;
  });
}

/**
 * The comparison must be able to tell weightings apart: the uniform mean of an
 * example-weighted run is off by far more than the tolerance in some element.
 */
function assertWeightingMatters(rec: Recorded, R: number): void {
  const uploads = at(rec.uploads, 0, 'uploads of round 1');
  const swapped = uploads.map((u) => ({ ...u, weight: 1 }));
  const initial = at(rec.globals, 0, 'initial global adapter');
  const a = fedAvgReference(initial, R, uploads);
  const b = fedAvgReference(initial, R, swapped);
  let worst = 0;
  for (const [key, e] of a.factors) {
    const f = got(b.factors, key, 'uniform reference');
    for (const [i, x] of e.A.entries()) worst = Math.max(worst, Math.abs(x - at(f.A, i, `uniform reference ${key}.A`)) / (Math.abs(x) + 1e-30));
  }
  assert.ok(worst > 1e-3, `the two weightings differ by ${worst} (relative) at most, too little to detect`);
}

test('FedIT: after each round the global adapter is the example-weighted FedAvg of the uploaded A and B', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [4, 4, 4, 4]);
  const rec = await runRecorded(createFedIt(ctx, { rank: 4 }), ctx, clients, 2, 3, 'examples');
  const refs = checkEveryRound(rec, 4, 'FedIT');
  assert.ok(
    refs.every((r) => r.contributors.every((n) => n === 3)),
    'every sampled client trains every module',
  );
  assert.ok(
    rec.uploads.every((us) => new Set(us.map((u) => u.weight)).size > 1),
    'unequal example counts, so the weights matter',
  );
  assertWeightingMatters(rec, 4);
});

test('FedIT below the global rank: the rank-r adapter is the FedAvg of rank-r uploads', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [2, 3, 4, 2]);
  const rec = await runRecorded(createFedIt(ctx, { rank: 2 }), ctx, clients, 2, 3, 'examples');
  checkEveryRound(rec, 2, 'FedIT rank 2');
});

test('Fed-PLoRA with every client at rank R and example weights: the global adapter is the FedAvg reference', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [4, 4, 4, 4]);
  const rec = await runRecorded(createFedPlora(ctx, { weighting: 'examples' }), ctx, clients, 2, 3, 'examples');
  const refs = checkEveryRound(rec, 4, 'Fed-PLoRA at R');
  assert.ok(refs.every((r) => r.contributors.every((n) => n === 3)));
  assertWeightingMatters(rec, 4);
});

for (const weighting of ['uniform', 'examples'] as const) {
  test(`heterogeneous Fed-PLoRA (random selection, ${weighting} weights): per-module reference, untrained modules keep their value`, async () => {
    const R = 6;
    const ctx = tinyContext(R);
    // three of these per round select at most 2 + 2 + 1 = 5 of the 6 modules: some module is always left untrained
    const clients = tinyClients(ctx, [1, 2, 1, 2]);
    const rec = await runRecorded(createFedPlora(ctx, { selection: 'random', weighting }), ctx, clients, 2, 3, weighting);
    const refs = checkEveryRound(rec, R, `Fed-PLoRA ${weighting}`);
    refs.forEach((r, i) => {
      const untrained = r.contributors.flatMap((n, j) => (n === 0 ? [j] : []));
      assert.ok(untrained.length > 0, `round ${i + 1} leaves a module untrained`);
      // stated directly as well: bit-identical to the previous round's value
      for (const [key, now] of at(rec.globals, i + 1, 'global adapter after the round')) {
        const before = got(at(rec.globals, i, 'global adapter before the round'), key, 'global adapter before the round');
        const inF = now.A.length / R;
        for (const j of untrained) {
          assert.deepEqual(now.A.slice(j * inF, (j + 1) * inF), before.A.slice(j * inF, (j + 1) * inF), `round ${i + 1} ${key} module ${j} A`);
          for (let o = 0; o < now.B.length / R; o++) assert.equal(now.B[o * R + j], before.B[o * R + j]);
        }
      }
    });
    assert.ok(
      refs.some((r) => r.contributors.some((n) => n > 1)),
      'some module is averaged over several clients',
    );
    assert.ok(
      refs.some((r) => r.contributors.some((n) => n === 1)),
      'some module is trained by one client only',
    );
  });
}

// ---------------------------------------------------------------------------
// Zero initialization noise, measured on logits

function logitsOf(ctx: MethodContext, weights: ModelWeights, lora: LoraAdapter | null, ids: Int32Array, B: number, T: number): Float32Array {
  const model = createModel(ctx.config, weights, { lora, kernels: ctx.kernels });
  const act = createActivations(ctx.config, lora, B, T, false);
  forward(model, act, ids);
  return Float32Array.from(act.logits);
}

/** max |a - b| / max |b| */
function relMaxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (const [i, x] of a.entries()) {
    const y = at(b, i, 'reference logits');
    d = Math.max(d, Math.abs(x - y));
    n = Math.max(n, Math.abs(y));
  }
  return d / n;
}

for (const weighting of ['uniform', 'examples'] as const) {
  test(`Select-N-Fold: each client starts from the global model's logits (ranks 1..6, random selection, ${weighting} weights), and a wrong fold is caught`, async () => {
    const R = 6;
    const ctx = tinyContext(R);
    const clients = tinyClients(ctx, [1, 2, 3, 4, 5, 6]);
    const method = createFedPlora(ctx, { selection: 'random', weighting });
    // A larger step than the default, so two rounds move B well away from zero and every module changes the output.
    const local: LocalTrainingOptions = { ...LOCAL, steps: 3, optimizer: { lr: 2e-2 } };
    const rec = await runRecorded(method, ctx, clients, 2, 4, weighting, local);
    // the starting point itself is the reference average of real uploads
    checkEveryRound(rec, R, 'warm-up');

    const global = exportedAdapter(method);
    for (const [key, e] of snapshotAdapter(global)) {
      for (let j = 0; j < R; j++) {
        const col = e.B.filter((_, k) => k % R === j);
        assert.ok(
          col.some((x) => x !== 0),
          `${key}: module ${j} has a trained, non-zero b_j`,
        );
      }
    }

    const B = 3;
    const T = 8;
    const rng = createRng(23);
    const tokens = Int32Array.from({ length: B * T }, () => rng.int(ctx.config.vocabSize));
    const gm = method.server.globalModel();
    const reference = logitsOf(ctx, gm.weights, gm.adapter, tokens, B, T);
    const baseOnly = logitsOf(ctx, ctx.base, null, tokens, B, T);
    // The fold reassociates fp32 sums, W x + s B_in (A_in x) versus (W + s B_in A_in) x:
    // a few ulp of each partial sum, relative 1e-6 or so after two layers; 1e-5 leaves room.
    const tol = 1e-5;
    const adapterEffect = relMaxDiff(baseOnly, reference);
    assert.ok(adapterEffect > 1e3 * tol, `the global adapter changes the logits by ${adapterEffect} (relative): too little to test against`);

    const round = 3;
    const sampled = sampleClients(clients.length, 4, ctx.seed, round);
    let wrongChecked = 0;
    for (const id of sampled) {
      const info = at(clients, id, 'sampled client').info;
      const prepared = method.client.prepare(method.server.configure(round, info), info);
      const ids = prepared.meta['modules'] as number[];
      assert.equal(ids.length, info.rank);
      const start = logitsOf(ctx, prepared.weights, prepared.adapter, tokens, B, T);
      const err = relMaxDiff(start, reference);
      assert.ok(err <= tol, `client ${id} (rank ${info.rank}, modules [${ids}]): starting logits differ from the global model's by ${err} (relative)`);

      const [firstInactive] = Array.from({ length: R }, (_, j) => j).filter((j) => !ids.includes(j));
      if (firstInactive === undefined) continue;
      // Folding onto the already-folded weight counts the inactive modules twice.
      const twice = relMaxDiff(logitsOf(ctx, foldInactive(ctx.kernels, prepared.weights, global, ids), prepared.adapter, tokens, B, T), reference);
      // Leaving one inactive module out of the fold drops its b_j a_j^T.
      const dropped = foldInactive(
        ctx.kernels,
        ctx.base,
        global,
        [...ids, firstInactive].sort((a, b) => a - b),
      );
      const missing = relMaxDiff(logitsOf(ctx, dropped, prepared.adapter, tokens, B, T), reference);
      assert.ok(twice > 100 * tol, `client ${id}: folding twice moves the logits by only ${twice}`);
      assert.ok(missing > 100 * tol, `client ${id}: leaving module ${firstInactive} out moves the logits by only ${missing}`);
      wrongChecked++;
    }
    assert.ok(wrongChecked > 0, 'some sampled client folds at least one module');
  });
}
