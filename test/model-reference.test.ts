/**
 * The whole model against the independent PyTorch reference
 * (scripts/reference/make_reference.py): logits within 1e-4 absolute,
 * adapter and full-parameter gradients within 1e-3 relative to each tensor's
 * largest entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelFolder } from '../src/model/checkpoint.js';
import { loadPeftAdapter, peftTensors } from '../src/lora/peft.js';
import { zerosLike } from '../src/lora/adapter.js';
import { createModel, forward, backward, setTargets, lossSum } from '../src/model/llama.js';
import { createActivations } from '../src/model/activations.js';
import { weightTensors, zeroWeights } from '../src/model/weights.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { at, defined, got } from '../src/util/checked.js';
import { kernelVariants, maxAbs, maxAbsDiff } from './helpers/kernel-variants.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/reference');
const CASES = ['llama_gqa_tied_bias', 'qwen2_bias', 'llama_headdim', 'mistral_plain'];

for (const kernels of kernelVariants()) {
  for (const name of CASES) {
    test(`${name} matches the PyTorch reference (${kernels.name} kernels)`, () => {
      const dir = join(FIXTURES, name);
      const { config, weights } = loadModelFolder(dir);
      const hasAdapter = existsSync(join(dir, 'adapter'));
      const lora = hasAdapter ? loadPeftAdapter(join(dir, 'adapter'), config) : null;
      const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as { ids: number[][]; labels: number[][] };
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { loss: number };
      const ref = readSafetensors(join(dir, 'expected.safetensors')).tensors;
      const B = inputs.ids.length;
      const T = at(inputs.ids, 0, 'input rows').length;
      const model = createModel(config, weights, { lora, kernels });
      const act = createActivations(config, lora, B, T, true);
      forward(model, act, Int32Array.from(inputs.ids.flat()));
      const logitErr = maxAbsDiff(act.logits, got(ref, 'logits', 'reference tensors'));
      assert.ok(logitErr < 1e-4, `logits differ by ${logitErr}`);
      const counted = setTargets(act, Int32Array.from(inputs.labels.flat()), config.vocabSize);
      const loss = lossSum(model, act) / counted;
      assert.ok(Math.abs(loss - expected.loss) < 1e-5 * Math.max(1, expected.loss), `loss ${loss} vs ${expected.loss}`);

      const grads = lora ? { weights: null, lora: zerosLike(lora) } : { weights: zeroWeights(config), lora: null };
      backward(model, act, grads, 1 / counted);
      const ours = grads.lora
        ? new Map([...peftTensors(grads.lora)].map(([k, v]) => [k, v.data]))
        : weightTensors(config, defined(grads.weights, 'weight gradients'));
      let checked = 0;
      for (const [key, g] of ours) {
        const r = ref.get(key);
        assert.ok(r, `reference has no gradient for ${key}`);
        const rel = maxAbsDiff(g, r) / Math.max(maxAbs(r), 1e-12);
        assert.ok(rel < 1e-3, `gradient ${key} differs by ${rel} relative`);
        checked++;
      }
      assert.equal(checked, ref.size - 1, 'every reference gradient was compared');
    });
  }
}
