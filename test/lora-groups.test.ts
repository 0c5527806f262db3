import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contiguousSpan } from '../src/layers/lora-groups.js';
import { loraTensors, zerosLike } from '../src/lora/adapter.js';
import type { LoraAdapter } from '../src/layers/lora-branch.js';
import { createActivations } from '../src/model/activations.js';
import { backward, createModel, forward, setTargets } from '../src/model/llama.js';
import { TARGET_NAMES, type TargetName } from '../src/layers/projections.js';
import { at } from '../src/util/checked.js';
import { createRng } from '../src/util/random.js';
import { kernelVariants, maxAbsDiff } from './helpers/kernel-variants.js';
import { pairOf } from './helpers/lora-access.js';
import { randomAdapter, tinyConfig, tinyWeights } from './helpers/tiny-model.js';

/** The same adapter with every tensor in its own allocation: the ungrouped path. */
function unpacked(a: LoraAdapter): LoraAdapter {
  return {
    ...a,
    layers: a.layers.map((layer) => Object.fromEntries(Object.entries(layer).map(([t, p]) => [t, { A: Float32Array.from(p.A), B: Float32Array.from(p.B) }]))),
  };
}

function run(adapter: LoraAdapter, kernels: ReturnType<typeof kernelVariants>[number]) {
  const config = tinyConfig();
  const model = createModel(config, tinyWeights(config), { lora: adapter, kernels });
  const act = createActivations(config, adapter, 2, 8, true);
  const rng = createRng(5);
  const ids = Int32Array.from({ length: 16 }, () => rng.int(config.vocabSize));
  forward(model, act, ids);
  const logits = Float32Array.from(act.logits);
  const counted = setTargets(act, ids, config.vocabSize);
  const grads = { weights: null, lora: zerosLike(adapter) };
  backward(model, act, grads, 1 / counted);
  return { logits, grads: loraTensors(grads.lora) };
}

test('packed adapters keep each shared-input group side by side', () => {
  const a = randomAdapter(tinyConfig(), 3, 6, [...TARGET_NAMES]);
  const A = (t: TargetName) => pairOf(a, 1, t).A;
  assert.ok(contiguousSpan([A('q_proj'), A('k_proj'), A('v_proj')]));
  assert.ok(contiguousSpan([A('gate_proj'), A('up_proj')]));
  assert.equal(contiguousSpan([A('q_proj'), A('v_proj')]), null, 'q and v are not adjacent when k sits between');
  assert.equal(contiguousSpan([Float32Array.from(A('q_proj')), A('k_proj')]), null);
});

for (const kernels of kernelVariants()) {
  test(`grouped and one-by-one LoRA branches agree (${kernels.name})`, () => {
    for (const targets of [[...TARGET_NAMES], ['q_proj', 'v_proj', 'up_proj'] as const]) {
      const packed = randomAdapter(tinyConfig(), 3, 6, [...targets]);
      const a = run(packed, kernels);
      const b = run(unpacked(packed), kernels);
      assert.ok(maxAbsDiff(a.logits, b.logits) < 1e-5, 'logits');
      for (const [i, g] of a.grads.entries()) assert.ok(maxAbsDiff(g, at(b.grads, i, 'gradient tensor')) < 1e-5, `gradient tensor ${i} (${targets})`);
    }
  });
}
