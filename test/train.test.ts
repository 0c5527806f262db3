import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../src/model/llama.js';
import { createTrainer } from '../src/train/trainer.js';
import type { Batch } from '../src/model/llama.js';
import { initLora, loraTensors } from '../src/lora/adapter.js';
import { createRng } from '../src/util/random.js';
import { weightTensors } from '../src/model/weights.js';
import { at, defined } from '../src/util/checked.js';
import { kernelVariants, maxAbsDiff } from './helpers/kernel-variants.js';
import { tinyConfig, tinyWeights } from './helpers/tiny-model.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ';
const kernels = defined(kernelVariants().at(-1), 'kernels');

/** Character-level batches of a fixed text, B rows of length T at seeded offsets. */
function textBatch(rng: ReturnType<typeof createRng>, vocab: string[], B: number, T: number): Batch {
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = rng.int(TEXT.length);
    for (let t = 0; t < T; t++) ids[b * T + t] = vocab.indexOf(at(TEXT, (start + t) % TEXT.length, 'the text'));
  }
  return { ids, labels: Int32Array.from(ids), B, T };
}

test(`full-parameter training memorises a fixed text (${kernels.name})`, () => {
  const vocab = [...new Set(TEXT)].sort();
  const config = tinyConfig({ vocab_size: vocab.length, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2 });
  const model = createModel(config, tinyWeights(config, 3, 0.05), { kernels });
  const trainer = createTrainer(model, { mode: 'full', optimizer: { lr: 3e-3, weightDecay: 0.01 } });
  const rng = createRng(11);
  const first = trainer.step([textBatch(rng, vocab, 8, 24)]).loss;
  let last = first;
  for (let i = 0; i < 300; i++) last = trainer.step([textBatch(rng, vocab, 8, 24)]).loss;
  assert.ok(first > 2.8, `starts near ln(${vocab.length}) = ${Math.log(vocab.length).toFixed(2)}, got ${first}`);
  assert.ok(last < 0.6, `after 300 steps the loss is ${last}`);
});

test(`LoRA training lowers the loss and leaves the frozen base untouched (${kernels.name})`, () => {
  const vocab = [...new Set(TEXT)].sort();
  const config = tinyConfig({ vocab_size: vocab.length, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2 });
  const weights = tinyWeights(config, 5, 0.3);
  const before = [...weightTensors(config, weights).values()].map((x) => Float32Array.from(x));
  const lora = initLora(config, { rank: 8, alpha: 16, targets: ['q_proj', 'v_proj', 'gate_proj', 'up_proj', 'down_proj'] }, createRng(1));
  const model = createModel(config, weights, { lora, kernels });
  const trainer = createTrainer(model, { mode: 'lora', optimizer: { lr: 1e-2 } });
  assert.equal(trainer.grads.weights, null, 'no gradient buffers for frozen weights');
  assert.equal(trainer.parameters.length, loraTensors(lora).length, 'optimizer state only for adapter tensors');
  const rng = createRng(12);
  const first = trainer.step([textBatch(rng, vocab, 8, 24)]).loss;
  let last = first;
  for (let i = 0; i < 200; i++) last = trainer.step([textBatch(rng, vocab, 8, 24)]).loss;
  assert.ok(last < first - 1.0, `loss went from ${first} to ${last}`);
  const after = [...weightTensors(config, weights).values()];
  for (const [i, x] of after.entries()) assert.deepEqual(x, before[i]);
});

test('gradient accumulation over micro-batches equals one large batch', () => {
  const config = tinyConfig();
  const rng = createRng(3);
  const ids = Int32Array.from({ length: 4 * 10 }, () => rng.int(config.vocabSize));
  const labels = Int32Array.from(ids);
  labels.fill(-100, 0, 6); // a prompt that is not scored
  labels.fill(-100, 23, 27);
  const run = (batches: Batch[]): Float32Array[] => {
    const lora = initLora(config, { rank: 4, alpha: 8, targets: ['q_proj', 'o_proj', 'up_proj'] }, createRng(9));
    const model = createModel(config, tinyWeights(config), { lora, kernels });
    const trainer = createTrainer(model, { mode: 'lora', optimizer: { lr: 1e-2 }, maxGradNorm: 0 });
    trainer.step(batches);
    trainer.step(batches);
    return loraTensors(lora);
  };
  const whole = run([{ ids, labels, B: 4, T: 10 }]);
  const parts = run([
    { ids: ids.subarray(0, 10), labels: labels.subarray(0, 10), B: 1, T: 10 },
    { ids: ids.subarray(10, 40), labels: labels.subarray(10, 40), B: 3, T: 10 },
  ]);
  for (const [i, x] of whole.entries()) {
    const part = at(parts, i, 'tensors trained on micro-batches');
    assert.ok(maxAbsDiff(x, part) < 1e-6, `tensor ${i} differs by ${maxAbsDiff(x, part)}`);
  }
});

test('clipping scales the update of a large gradient to the norm bound', () => {
  const config = tinyConfig();
  const lora = initLora(config, { rank: 2, alpha: 4, targets: ['v_proj'] }, createRng(9));
  const model = createModel(config, tinyWeights(config), { lora, kernels });
  const trainer = createTrainer(model, { mode: 'lora', maxGradNorm: 1e-3 });
  const rng = createRng(4);
  const ids = Int32Array.from({ length: 12 }, () => rng.int(config.vocabSize));
  const r = trainer.step([{ ids, labels: ids, B: 1, T: 12 }]);
  assert.ok(r.gradNorm > 1e-3, `gradient norm before clipping ${r.gradNorm}`);
  let ss = 0;
  for (const p of trainer.parameters) for (const g of p.grad) ss += g * g;
  assert.ok(Math.abs(Math.sqrt(ss) - 1e-3) < 1e-5, `clipped norm ${Math.sqrt(ss)}`);
});

test('a step with no scored token is refused', () => {
  const config = tinyConfig();
  const lora = initLora(config, { rank: 2, alpha: 4, targets: ['v_proj'] }, createRng(9));
  const trainer = createTrainer(createModel(config, tinyWeights(config), { lora, kernels }), { mode: 'lora' });
  const ids = new Int32Array(6);
  assert.throws(() => trainer.step([{ ids, labels: new Int32Array(6).fill(-100), B: 1, T: 6 }]), /no labelled tokens/);
});
