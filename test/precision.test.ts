import assert from 'node:assert/strict';
import { test } from 'node:test';
import { embeddingLookup, headLinear } from '../src/layers/embedding.js';
import { denseWeight } from '../src/layers/linear.js';
import type { LoraAdapter } from '../src/layers/lora-branch.js';
import { TARGET_NAMES } from '../src/layers/projections.js';
import { loraTensors, zerosLike } from '../src/lora/adapter.js';
import { foldInactive } from '../src/lora/plora.js';
import { createActivations } from '../src/model/activations.js';
import type { ModelConfig } from '../src/model/config.js';
import { backward, createModel, forward, setTargets } from '../src/model/llama.js';
import { baseWeightBytes, type Precision, withPrecision } from '../src/model/precision.js';
import type { ModelWeights } from '../src/model/weights.js';
import { at } from '../src/util/checked.js';
import { createRng } from '../src/util/random.js';
import { kernelVariants, maxAbs, maxAbsDiff } from './helpers/kernel-variants.js';
import { randomAdapter, tinyConfig, tinyWeights } from './helpers/tiny-model.js';

const TINY = { hidden_size: 64, intermediate_size: 96, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 53 };
const config = tinyConfig(TINY);

/** The same model with every projection's weight replaced by the fp32 value of its lower-precision copy. */
function denseOf(weights: ModelWeights): ModelWeights {
  const head = denseWeight(headLinear(weights, config.vocabSize, config.hiddenSize));
  const tied = weights.embed === null || weights.embed === weights.lmHead;
  return {
    ...weights,
    embed: tied ? head : weights.embed,
    lmHead: head,
    frozenHead: undefined,
    layers: weights.layers.map((layer) => {
      const proj = { ...layer.proj };
      for (const t of TARGET_NAMES)
        proj[t] = { weight: denseWeight(proj[t]), bias: proj[t].bias, outFeatures: proj[t].outFeatures, inFeatures: proj[t].inFeatures };
      return { ...layer, proj };
    }),
  };
}

function run(c: ModelConfig, weights: ModelWeights, adapter: LoraAdapter, kernels: ReturnType<typeof kernelVariants>[number]) {
  const model = createModel(c, weights, { lora: adapter, kernels });
  const act = createActivations(c, adapter, 2, 12, true);
  const rng = createRng(5);
  const ids = Int32Array.from({ length: 24 }, () => rng.int(c.vocabSize));
  forward(model, act, ids);
  const logits = Float32Array.from(act.logits);
  const counted = setTargets(act, ids, c.vocabSize);
  const grads = { weights: null, lora: zerosLike(adapter) };
  backward(model, act, grads, 1 / counted);
  return { logits, grads: loraTensors(grads.lora) };
}

/** ‖a - b‖ / ‖b‖ */
function relativeL2(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  b.forEach((y, i) => {
    d += (at(a, i, 'compared tensor') - y) ** 2;
    n += y ** 2;
  });
  return Math.sqrt(d / n);
}

test('bf16 halves the projections and the head, int8 quarters them (plus a scale per channel); an untied embedding and the norms stay fp32', () => {
  const w = tinyWeights(config);
  const fp32 = baseWeightBytes(w);
  // the head: V rows of C, one channel per row
  let frozen = config.vocabSize * config.hiddenSize;
  let channels = config.vocabSize;
  for (const layer of w.layers) {
    for (const t of TARGET_NAMES) {
      frozen += layer.proj[t].outFeatures * layer.proj[t].inFeatures;
      channels += layer.proj[t].outFeatures;
    }
  }
  assert.equal(baseWeightBytes(withPrecision(w, 'bf16')), fp32 - 2 * frozen);
  assert.equal(baseWeightBytes(withPrecision(w, 'int8')), fp32 - 3 * frozen + 4 * channels);
  assert.equal(withPrecision(w, 'fp32'), w);
  assert.throws(() => withPrecision(withPrecision(w, 'bf16'), 'int8'), /already held as bf16 cannot be converted to int8/);
  // tied: the embedding table is the frozen head, looked up from it
  const tiedConfig = tinyConfig({ ...TINY, tie_word_embeddings: true });
  const tied = withPrecision(tinyWeights(tiedConfig), 'bf16');
  assert.equal(tied.embed, null);
  assert.equal(tied.lmHead, null);
  assert.equal(tied.frozenHead?.format, 'bf16');
  for (const kernels of kernelVariants()) {
    const adapter = randomAdapter(tiedConfig, 4, 8, ['q_proj', 'v_proj']);
    const got = run(tiedConfig, tied, adapter, kernels);
    const same = run(tiedConfig, denseOf(tied), adapter, kernels);
    assert.ok(maxAbsDiff(got.logits, same.logits) <= 2e-2 * maxAbs(same.logits), `tied logits (${kernels.name})`);
  }
  // the lookup from a frozen table reads exactly the widened rows, and refuses an id outside the table
  const [k] = kernelVariants();
  assert.ok(k);
  const C = tiedConfig.hiddenSize;
  const rows = new Float32Array(2 * C);
  embeddingLookup(k, rows, Int32Array.from([5, 0]), tied, 2, C);
  const table = denseWeight(headLinear(tied, tiedConfig.vocabSize, C));
  assert.deepEqual(rows, Float32Array.from([...table.subarray(5 * C, 6 * C), ...table.subarray(0, C)]));
  assert.throws(() => embeddingLookup(k, rows, Int32Array.from([0, tiedConfig.vocabSize]), tied, 2, C), /ids\[1\] = 53 is outside \[0, 53\)/);
});

for (const kernels of kernelVariants()) {
  for (const [precision, logitTol, gradTol] of [
    ['bf16', 2e-2, 3e-2],
    ['int8', 2e-2, 3e-2],
  ] as [Precision, number, number][]) {
    test(`${precision} base (${kernels.name}): logits and LoRA gradients match fp32 on the same weights within bf16 rounding of the activations`, () => {
      const weights = tinyWeights(config, 3, 0.1);
      const adapter = randomAdapter(config, 4, 8, [...TARGET_NAMES]);
      const low = withPrecision(weights, precision);
      const got = run(config, low, adapter, kernels);
      // the oracle: fp32 products with the very weights the low-precision model holds
      const same = run(config, denseOf(low), adapter, kernels);
      assert.ok(maxAbsDiff(got.logits, same.logits) <= logitTol * maxAbs(same.logits), `logits: ${maxAbsDiff(got.logits, same.logits)}`);
      for (const [i, g] of got.grads.entries()) {
        const want = at(same.grads, i, 'gradient tensor');
        assert.ok(relativeL2(g, want) <= gradTol, `gradient tensor ${i}: relative error ${relativeL2(g, want)}`);
      }
      // and against the original fp32 model, the weights' own rounding included
      const full = run(config, weights, adapter, kernels);
      assert.ok(relativeL2(got.logits, full.logits) <= 2 * logitTol, `logits vs the fp32 model: ${relativeL2(got.logits, full.logits)}`);
    });
  }
}

test('full-parameter gradients need fp32 weights: a bf16 base refuses them by name', () => {
  const [kernels] = kernelVariants();
  assert.ok(kernels);
  const low = withPrecision(tinyWeights(config), 'bf16');
  const model = createModel(config, low, { lora: null, kernels });
  const act = createActivations(config, null, 1, 4, true);
  forward(model, act, Int32Array.from([1, 2, 3, 4]));
  setTargets(act, Int32Array.from([1, 2, 3, 4]), config.vocabSize);
  const grads = { weights: tinyWeights(config), lora: null };
  assert.throws(() => backward(model, act, grads, 1), /full-parameter training needs fp32 weights; this projection holds its weight as bf16/);
});

test('Select-N-Fold on a bf16 base keeps the folded modules beside the frozen weight: the effective weight is the fp32 fold of the widened one', () => {
  const [kernels] = kernelVariants();
  assert.ok(kernels);
  const low = withPrecision(tinyWeights(config), 'bf16');
  const global = randomAdapter(config, 8, 16, ['q_proj', 'v_proj']);
  const folded = foldInactive(kernels, low, global, [0, 3, 5]);
  const reference = foldInactive(kernels, denseOf(low), global, [0, 3, 5]);
  for (const [l, layer] of folded.layers.entries()) {
    for (const t of ['q_proj', 'v_proj'] as const) {
      const lin = layer.proj[t];
      // the frozen weight is shared with the base, never copied; the five inactive modules sit beside it
      assert.equal(lin.frozen, at(low.layers, l, 'base layer').proj[t].frozen);
      assert.equal(lin.weight, null);
      assert.equal(lin.folded?.A.length, 5 * lin.inFeatures);
      const want = at(reference.layers, l, 'reference layer').proj[t].weight;
      assert.ok(want);
      assert.ok(maxAbsDiff(denseWeight(lin), want) <= 1e-6 * maxAbs(want), `${l}.${t}`);
    }
    assert.equal(layer.proj.k_proj, at(low.layers, l, 'base layer').proj.k_proj);
  }
  // the forward and backward see the folded modules: the same as fp32 products with the effective weights, within bf16 rounding
  const adapter = randomAdapter(config, 3, 16, ['q_proj', 'v_proj'], 9);
  const got = run(config, folded, adapter, kernels);
  const same = run(config, denseOf(folded), adapter, kernels);
  assert.ok(maxAbsDiff(got.logits, same.logits) <= 2e-2 * maxAbs(same.logits));
  for (const [i, g] of got.grads.entries()) assert.ok(relativeL2(g, at(same.grads, i, 'gradient tensor')) <= 3e-2, `gradient tensor ${i}`);
  // a second fold (FLoRA merges every round) turns the projection into an fp32 copy holding both
  const twice = foldInactive(kernels, folded, global, [1, 2, 4, 6, 7]);
  const both = foldInactive(kernels, denseOf(folded), global, [1, 2, 4, 6, 7]);
  const q = at(twice.layers, 0, 'layer').proj.q_proj;
  assert.ok(q.weight && !q.folded && !q.frozen);
  const bothQ = at(both.layers, 0, 'layer').proj.q_proj.weight;
  assert.ok(bothQ);
  assert.ok(maxAbsDiff(q.weight, bothQ) <= 1e-6 * maxAbs(bothQ));
});
