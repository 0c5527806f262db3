import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16ToF32, f32ToBf16 } from '../src/io/float16.js';
import { TARGET_NAMES } from '../src/layers/projections.js';
import { withBf16Compute } from '../src/model/mixed-precision.js';
import type { ModelWeights } from '../src/model/weights.js';
import { createModel } from '../src/model/llama.js';
import { createTrainer } from '../src/train/trainer.js';
import { at, defined } from '../src/util/checked.js';
import { createRng } from '../src/util/random.js';
import { kernelVariants } from './helpers/kernel-variants.js';
import { tinyConfig, tinyWeights } from './helpers/tiny-model.js';

const config = tinyConfig({ hidden_size: 64, intermediate_size: 96, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 53 });

/** The same weights with every projection and the head replaced by its bf16 value, as fp32 arrays of their own. */
function roundedWeights(w: ModelWeights): ModelWeights {
  const round = (x: Float32Array): Float32Array => bf16ToF32(f32ToBf16(x));
  const head = round(defined(w.lmHead, 'the head'));
  return {
    ...w,
    embed: w.embed === w.lmHead ? head : w.embed && Float32Array.from(w.embed),
    lmHead: head,
    finalNorm: Float32Array.from(w.finalNorm),
    layers: w.layers.map((layer) => {
      const proj = { ...layer.proj };
      for (const t of TARGET_NAMES) proj[t] = { ...proj[t], weight: round(defined(proj[t].weight, 'a projection')) };
      return { ...layer, inputNorm: Float32Array.from(layer.inputNorm), postNorm: Float32Array.from(layer.postNorm), proj };
    }),
  };
}

function batch(seed: number) {
  const rng = createRng(seed);
  const ids = Int32Array.from({ length: 2 * 12 }, () => rng.int(config.vocabSize));
  return { ids, labels: ids, B: 2, T: 12 };
}

/** ‖a - b‖ / ‖b‖ over every tensor together */
function relativeL2(a: Float32Array[], b: Float32Array[]): number {
  let d = 0;
  let n = 0;
  for (const [i, y] of b.entries()) {
    const x = at(a, i, 'compared tensors');
    y.forEach((v, j) => {
      d += (at(x, j, 'compared tensor') - v) ** 2;
      n += v ** 2;
    });
  }
  return Math.sqrt(d / n);
}

for (const kernels of kernelVariants()) {
  test(`bf16 compute (${kernels.name}): loss and weight gradients agree with fp32 products on the bf16-rounded weights; the copies follow every update`, () => {
    // the oracle: fp32 products on weights already rounded to bf16, so only the activations' rounding is left to differ
    const oracle = createTrainer(createModel(config, roundedWeights(tinyWeights(config)), { kernels }), { mode: 'full', optimizer: { lr: 0 } });
    const mixedWeights = withBf16Compute(roundedWeights(tinyWeights(config)));
    const mixed = createTrainer(createModel(config, mixedWeights, { kernels }), { mode: 'full', optimizer: { lr: 0 } });
    const b = batch(3);
    const lo = oracle.step([b]);
    const lm = mixed.step([b]);
    assert.ok(Math.abs(lm.loss - lo.loss) / lo.loss < 1e-2, `loss ${lm.loss} vs ${lo.loss}`);
    const go = oracle.parameters.map((p) => p.grad);
    const gm = mixed.parameters.map((p) => p.grad);
    const rel = relativeL2(gm, go);
    // activations rounded to 8 bits of mantissa before each product: about 2^-8 relative, compounded over the layers
    assert.ok(rel < 2e-2, `weight gradients differ by ${rel} relative`);
    assert.ok(rel > 0, 'the bf16 path was not taken: gradients are bit-identical to fp32');

    // a real update: every copy must be the rounding of its updated weight, or the next step would use stale weights
    const trainer = createTrainer(createModel(config, mixedWeights, { kernels }), { mode: 'full', optimizer: { lr: 1e-2 } });
    const before = Uint16Array.from(defined(mixedWeights.layers[0]?.proj.q_proj.bf16Copy, 'the q copy'));
    trainer.step([batch(4)]);
    const layer0 = defined(mixedWeights.layers[0], 'layer 0');
    for (const t of TARGET_NAMES) {
      const lin = layer0.proj[t];
      assert.deepEqual(lin.bf16Copy, f32ToBf16(defined(lin.weight, t)), `${t}'s copy after the update`);
    }
    assert.deepEqual(mixedWeights.headBf16Copy, f32ToBf16(defined(mixedWeights.lmHead, 'the head')), "the head's copy after the update");
    assert.notDeepEqual(layer0.proj.q_proj.bf16Copy, before, 'the update changed nothing');
  });
}

test('bf16 compute refuses weights already held frozen, naming them', () => {
  const w = tinyWeights(config);
  const frozenHead = { ...w, lmHead: null, frozenHead: { format: 'bf16' as const, bits: f32ToBf16(defined(w.lmHead, 'the head')) } };
  assert.throws(() => withBf16Compute(frozenHead), /bf16 compute trains fp32 weights; the head is held as bf16/);
});
