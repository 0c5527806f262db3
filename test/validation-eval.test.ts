/**
 * Learning rates are chosen on the validation split, never the test split:
 * evaluateValidation scores the task's validation examples (capped like the
 * test set by testExamples), and user data, which has no validation split,
 * is refused with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getTask } from '../src/data/tasks/index.js';
import { evaluate } from '../src/eval/evaluate.js';
import { buildExperiment } from '../src/experiment/build.js';
import { parseRunConfig } from '../src/experiment/config.js';
import { createModel } from '../src/model/llama.js';
import { BUNDLED_MODEL, bundledConfig } from './helpers/bundled-experiment.js';

test('evaluateValidation scores the first testExamples validation examples, not test ones', async () => {
  const c = bundledConfig({ clients: 2, maxExamplesPerClient: 2, testExamples: 3 });
  const e = await buildExperiment(c);
  const g = e.method.server.globalModel();
  const splits = getTask('sotu-party').load(c.seed);
  const ids = (xs: { id: string }[]) => new Set(xs.map((x) => x.id));
  const validation = splits.validation.slice(0, 3);
  const testSet = splits.test.slice(0, 3);
  assert.equal([...ids(validation)].filter((id) => ids(testSet).has(id)).length, 0, 'the two splits share no example');
  const direct = (examples: typeof validation) =>
    evaluate(createModel(e.ctx.config, g.weights, { lora: g.adapter, kernels: e.ctx.kernels }), e.tokenizer, e.task, examples, { maxLength: c.maxLength });
  const v = e.evaluateValidation(g);
  const t = e.evaluate(g);
  assert.equal(v.examples, 3);
  assert.equal(v.metric, 'accuracy', "the task's metric");
  // the mean gold-label log-likelihood pins down which examples were scored
  assert.deepEqual(v.scores, direct(validation).scores);
  assert.deepEqual(t.scores, direct(testSet).scores);
  assert.notEqual(v.scores['gold_log_likelihood'], t.scores['gold_log_likelihood']);
});

test('user data has no validation split: evaluateValidation says so, evaluate still works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-validation-'));
  const rows = (n: number) => `${Array.from({ length: n }, (_, i) => JSON.stringify({ instruction: `Repeat ${i}`, input: '', output: `${i}` })).join('\n')}\n`;
  writeFileSync(join(dir, 'train.jsonl'), rows(6));
  writeFileSync(join(dir, 'test.jsonl'), rows(2));
  const c = parseRunConfig({
    model: BUNDLED_MODEL,
    data: { train: join(dir, 'train.jsonl'), test: join(dir, 'test.jsonl'), layout: 'alpaca' },
    clients: 2,
    maxLength: 64,
    lora: { rank: 4, alpha: 8 },
  });
  const e = await buildExperiment(c);
  const g = e.method.server.globalModel();
  assert.throws(
    () => e.evaluateValidation(g),
    /train\.jsonl: this data has no validation split, .*give data\.validation \(a file\) or data\.validationFraction/,
  );
  assert.equal(e.evaluate(g).examples, 2);
  // with a validation share cut from train, there is one to evaluate
  const cut = await buildExperiment(parseRunConfig({ ...c, data: { ...c.data, validationFraction: 0.5 } }));
  assert.equal(cut.evaluateValidation(cut.method.server.globalModel()).examples, 3);
});
