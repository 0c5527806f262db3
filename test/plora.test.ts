import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActivations } from '../src/model/activations.js';
import { createModel, forward } from '../src/model/llama.js';
import { extractActive, foldInactive, mergeActive, complementIds } from '../src/lora/plora.js';
import { loraTensors } from '../src/lora/adapter.js';
import { TARGET_NAMES } from '../src/layers/projections.js';
import { denseWeight } from '../src/layers/linear.js';
import { at } from '../src/util/checked.js';
import { createRng } from '../src/util/random.js';
import { kernelVariants, maxAbsDiff } from './helpers/kernel-variants.js';
import { pairOf } from './helpers/lora-access.js';
import { randomAdapter, tinyConfig, tinyWeights } from './helpers/tiny-model.js';

const R = 6;

function logits(config: ReturnType<typeof tinyConfig>, model: ReturnType<typeof createModel>, ids: Int32Array): Float32Array {
  const act = createActivations(config, model.lora, 2, 9, false);
  forward(model, act, ids);
  return Float32Array.from(act.logits);
}

function randomSubset(rng: ReturnType<typeof createRng>, n: number): number[] {
  const ids = Array.from({ length: R }, (_, j) => j);
  for (let i = R - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [at(ids, j, 'module id'), at(ids, i, 'module id')];
  }
  return ids.slice(0, n);
}

for (const kernels of kernelVariants()) {
  test(`folding inactive modules leaves the output unchanged, for any selection (${kernels.name})`, () => {
    const config = tinyConfig();
    const base = tinyWeights(config);
    const global = randomAdapter(config, R, 12, [...TARGET_NAMES]);
    const rng = createRng(7);
    const ids = Int32Array.from({ length: 18 }, () => rng.int(config.vocabSize));
    const reference = logits(config, createModel(config, base, { lora: global, kernels }), ids);
    const baseOnly = logits(config, createModel(config, base, { kernels }), ids);
    assert.ok(maxAbsDiff(reference, baseOnly) > 1e-2, 'the adapter must change the output for the test to mean anything');
    for (const n of [0, 1, 3, 5, R]) {
      for (let trial = 0; trial < 3; trial++) {
        const active = randomSubset(rng, n);
        const folded = foldInactive(kernels, base, global, active);
        const client = extractActive(global, active);
        const out = logits(config, createModel(config, folded, { lora: n > 0 ? client : null, kernels }), ids);
        const err = maxAbsDiff(out, reference);
        assert.ok(err < 1e-5, `active ${active}: folded model differs by ${err}`);
      }
    }
  });
}

test('folding never writes the pristine weights, and extract/merge round-trips modules', () => {
  const config = tinyConfig();
  const base = tinyWeights(config);
  const before = Float32Array.from(denseWeight(at(base.layers, 0, 'base layer').proj.q_proj));
  const global = randomAdapter(config, R, 12, ['q_proj', 'v_proj']);
  const kernels = at(kernelVariants(), 0, 'kernel variant');
  const folded = foldInactive(kernels, base, global, [1, 4]);
  const baseLayer = at(base.layers, 0, 'base layer');
  const foldedLayer = at(folded.layers, 0, 'folded layer');
  assert.deepEqual(baseLayer.proj.q_proj.weight, before);
  assert.notDeepEqual(foldedLayer.proj.q_proj.weight, before);
  assert.equal(foldedLayer.proj.k_proj.weight, baseLayer.proj.k_proj.weight, 'untargeted weights are shared');

  const originalA = Float32Array.from(pairOf(global, 1, 'v_proj').A);
  const client = extractActive(global, [4, 1]);
  assert.equal(client.rank, 2);
  assert.equal(client.scale, global.scale, 'a client keeps the global scale alpha / R');
  // module 4 of q_proj in layer 0 is row 4 of A and column 4 of B
  const g = pairOf(global, 0, 'q_proj');
  const inF = g.A.length / R;
  assert.deepEqual(pairOf(client, 0, 'q_proj').A.subarray(0, inF), g.A.subarray(4 * inF, 5 * inF));
  assert.equal(pairOf(client, 0, 'q_proj').B[0], g.B[4]);
  for (const x of loraTensors(client)) x.fill(0.5);
  mergeActive(global, client, [4, 1]);
  const A = pairOf(global, 1, 'v_proj').A;
  assert.equal(A[4 * inF], 0.5);
  for (const j of complementIds([4, 1], R)) {
    assert.deepEqual(A.subarray(j * inF, (j + 1) * inF), originalA.subarray(j * inF, (j + 1) * inF), `module ${j} is unchanged`);
  }
});

test('bad module selections are refused with a clear message', () => {
  const config = tinyConfig();
  const global = randomAdapter(config, R, 12, ['q_proj']);
  assert.throws(() => extractActive(global, [0, 0]), /selected twice/);
  assert.throws(() => extractActive(global, [R]), /outside 0\.\.5/);
});
