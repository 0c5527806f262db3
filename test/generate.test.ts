import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, forward } from '../src/model/llama.js';
import { createActivations } from '../src/model/activations.js';
import { createKvCache, forwardCached } from '../src/model/kv-cache.js';
import { generate } from '../src/model/generate.js';
import { candidateDistribution, sampleToken } from '../src/model/sampling.js';
import { createRng } from '../src/util/random.js';
import { TARGET_NAMES } from '../src/layers/projections.js';
import { at, defined } from '../src/util/checked.js';
import { kernelVariants, maxAbsDiff } from './helpers/kernel-variants.js';
import { randomAdapter, tinyConfig, tinyWeights } from './helpers/tiny-model.js';

const kernels = defined(kernelVariants().at(-1), 'kernels');

function tinyModel() {
  const config = tinyConfig({ rope_theta: 5e5, tie_word_embeddings: true });
  return createModel(config, tinyWeights(config, 4, 0.5), { lora: randomAdapter(config, 2, 4, [...TARGET_NAMES]), kernels });
}

test('the KV cache gives the logits of a full forward, fed in chunks', () => {
  const model = tinyModel();
  const rng = createRng(2);
  const B = 2;
  const T = 11;
  const ids = Int32Array.from({ length: B * T }, () => rng.int(model.config.vocabSize));
  const act = createActivations(model.config, model.lora, B, T, false);
  forward(model, act, ids);
  const V = model.config.vocabSize;
  const cache = createKvCache(model, B, T);
  let start = 0;
  for (const len of [4, 1, 3, 3]) {
    const chunk = new Int32Array(B * len);
    for (let b = 0; b < B; b++) chunk.set(ids.subarray(b * T + start, b * T + start + len), b * len);
    const logits = forwardCached(model, cache, chunk);
    start += len;
    for (let b = 0; b < B; b++) {
      const full = act.logits.subarray((b * T + start - 1) * V, (b * T + start) * V);
      assert.ok(maxAbsDiff(logits.subarray(b * V, (b + 1) * V), full) < 1e-4, `row ${b} at position ${start - 1}`);
    }
  }
  assert.throws(() => forwardCached(model, cache, Int32Array.of(1, 2)), /the KV cache holds 11 positions; 12 requested/);
});

test('generation with the cache gives the same tokens as without', () => {
  const model = tinyModel();
  const prompt = [3, 1, 4, 1, 5];
  for (const opts of [{ temperature: 0 }, { temperature: 0.9, topK: 10, topP: 0.9, seed: 7 }]) {
    const cached = generate(model, prompt, { ...opts, maxNewTokens: 20 });
    const plain = generate(model, prompt, { ...opts, maxNewTokens: 20, useCache: false });
    assert.equal(cached.length, 20);
    assert.deepEqual(cached, plain);
  }
  const greedy = generate(model, prompt, { maxNewTokens: 20 });
  const stop = at(greedy, 5, 'greedy tokens');
  const stopped = generate(model, prompt, { maxNewTokens: 20, stopTokens: [stop] });
  assert.deepEqual(stopped, greedy.slice(0, greedy.indexOf(stop) + 1), 'stops after the first stop token');
});

test('top-k and top-p keep the right candidates', () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
  const all = candidateDistribution(logits, { temperature: 1, topK: 0, topP: 1 });
  assert.deepEqual(all.ids, [0, 1, 2, 3]);
  assert.ok(maxAbsDiff(all.probs, [0.5, 0.3, 0.15, 0.05]) < 1e-12);
  const k2 = candidateDistribution(logits, { temperature: 1, topK: 2, topP: 1 });
  assert.ok(maxAbsDiff(k2.probs, [0.625, 0.375]) < 1e-12);
  const p = candidateDistribution(logits, { temperature: 1, topK: 0, topP: 0.79 });
  assert.deepEqual(p.ids, [0, 1], 'the smallest set reaching 0.79 is {0.5, 0.3}');
  const cold = candidateDistribution(logits, { temperature: 0.5, topK: 0, topP: 1 });
  assert.ok(Math.abs(at(cold.probs, 0, 'probabilities') - 0.25 / (0.25 + 0.09 + 0.0225 + 0.0025)) < 1e-12, 'temperature 0.5 squares the odds');
  const rng = createRng(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    const token = sampleToken(logits, { temperature: 1, topK: 0, topP: 1 }, rng);
    counts[token] = at(counts, token, 'token counts') + 1;
  }
  const frequency = at(counts, 1, 'token counts') / 20000;
  assert.ok(Math.abs(frequency - 0.3) < 0.015, `sampled frequency of token 1: ${frequency}`);
});
