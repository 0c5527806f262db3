import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, forward, lossSum, setTargets, IGNORE_INDEX } from '../src/model/llama.js';
import { createActivations } from '../src/model/activations.js';
import { scoreContinuations } from '../src/eval/score.js';
import { TARGET_NAMES } from '../src/layers/projections.js';
import { at } from '../src/util/checked.js';
import { randomAdapter, tinyConfig, tinyWeights } from './helpers/tiny-model.js';

test('continuation scores equal minus the masked loss of a full forward', () => {
  const config = tinyConfig();
  const model = createModel(config, tinyWeights(config, 8, 0.4), { lora: randomAdapter(config, 2, 4, [...TARGET_NAMES]) });
  const prompt = [4, 8, 15, 16, 23];
  const continuations = [[33], [1, 2, 3], [7, 7], [30, 0, 5, 9]];
  const scores = scoreContinuations(model, prompt, continuations);
  continuations.forEach((c, i) => {
    const ids = Int32Array.from([...prompt, ...c]);
    const labels = Int32Array.from([...prompt.map(() => IGNORE_INDEX), ...c]);
    const act = createActivations(config, model.lora, 1, ids.length, false);
    setTargets(act, labels, config.vocabSize);
    forward(model, act, ids);
    const expected = -lossSum(model, act);
    assert.ok(Math.abs(at(scores, i, 'scores') - expected) < 1e-4, `continuation ${i}: ${scores[i]} vs ${expected}`);
  });
  assert.throws(() => scoreContinuations(model, [], [[1]]), /prompt of at least one token/);
});
