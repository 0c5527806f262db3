import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, forward, lossSum, setTargets, IGNORE_INDEX } from '../src/model/llama.js';
import { createActivations } from '../src/model/activations.js';
import { evaluate } from '../src/eval/evaluate.js';
import { streamLoss } from '../src/eval/perplexity.js';
import { generate } from '../src/model/generate.js';
import type { Example } from '../src/data/example.js';
import { at, defined } from '../src/util/checked.js';
import { tinyConfig, tinyWeights } from './helpers/tiny-model.js';

/** A character-level tokenizer over a small alphabet, for tests. */
const ALPHABET = ' abcdefghijklmnopqrstuvwxyz.:?\n';
const tok = {
  eosId: ALPHABET.length,
  padId: ALPHABET.length + 1,
  encode: (s: string) => [...s].map((c) => ALPHABET.indexOf(c)),
  decode: (ids: readonly number[]) => ids.map((i) => ALPHABET[i] ?? '').join(''),
};
const config = tinyConfig({ vocab_size: ALPHABET.length + 2 });
const model = createModel(config, tinyWeights(config, 21, 0.6));

function sequenceLogLikelihood(prompt: string, target: string): number {
  const p = tok.encode(prompt);
  const t = tok.encode(target);
  const act = createActivations(config, null, 1, p.length + t.length, false);
  setTargets(act, Int32Array.from([...p.map(() => IGNORE_INDEX), ...t]), config.vocabSize);
  forward(model, act, Int32Array.from([...p, ...t]));
  return -lossSum(model, act);
}

test('classification accuracy is the share of examples whose label scores highest', () => {
  const labels = ['yes', 'no', 'maybe'];
  const examples: Example[] = ['is it so?', 'what now?', 'a b c?', 'hello?', 'zz top?', 'why not?'].map((p, i) => {
    const label = at(labels, i % 3, 'labels');
    return { id: `e${i}`, prompt: p, target: ` ${label}`, label };
  });
  const expected =
    examples.filter((e) => {
      const s = labels.map((l) => sequenceLogLikelihood(e.prompt, ` ${l}`));
      return s.indexOf(Math.max(...s)) === labels.indexOf(defined(e.label, `label of ${e.id}`));
    }).length / examples.length;
  const r = evaluate(model, tok, { kind: 'classification', metric: 'accuracy', labels }, examples);
  assert.equal(r.value, expected);
  assert.equal(r.examples, 6);
  assert.throws(
    () => evaluate(model, tok, { kind: 'classification', metric: 'accuracy', labels }, [{ ...at(examples, 0, 'examples'), label: 'other' }]),
    /label "other" is not one of yes, no, maybe/,
  );
});

test('generation metrics: a reference equal to the greedy output scores perfectly, another does not', () => {
  const prompts = ['word: cat\nsay:', 'word: dog\nsay:'];
  // With a character tokenizer and extraNewTokens 0, evaluation generates exactly as many tokens as the reference has.
  const own = prompts.map((p) => tok.decode(generate(model, tok.encode(p), { maxNewTokens: 6, stopTokens: [tok.eosId] }).filter((i) => i !== tok.eosId)));
  assert.ok(
    own.every((o) => o.trim().length > 0),
    'the tiny model says something',
  );
  const task = { kind: 'generation' as const, metric: 'exact_match' as const };
  const same = evaluate(
    model,
    tok,
    task,
    prompts.map((p, i) => ({ id: `s${i}`, prompt: p, target: at(own, i, 'greedy outputs') })),
    { extraNewTokens: 0 },
  );
  assert.equal(same.value, 1);
  assert.equal(same.scores['char_error_rate'], 0);
  assert.equal(same.scores['phoneme_error_rate'], 0);
  assert.equal(same.scores['rouge_l'], 1);
  const wrong = evaluate(
    model,
    tok,
    task,
    prompts.map((p, i) => ({ id: `w${i}`, prompt: p, target: 'qqqq qqqq' })),
  );
  assert.equal(wrong.value, 0);
  assert.ok(defined(wrong.scores['char_error_rate'], 'char_error_rate') > 0);
});

test('held-out perplexity is the mean token loss over consecutive windows', () => {
  const stream = Int32Array.from(tok.encode('the quick brown fox jumps over the lazy dog and runs away quickly'));
  const { loss, tokens } = streamLoss(model, stream, 16, 2);
  const windows = Math.floor(stream.length / 16);
  assert.equal(tokens, windows * 15);
  let sum = 0;
  for (let w = 0; w < windows; w++) {
    const ids = stream.subarray(w * 16, w * 16 + 16);
    const act = createActivations(config, null, 1, 16, false);
    setTargets(act, ids, config.vocabSize);
    forward(model, act, ids);
    sum += lossSum(model, act);
  }
  assert.ok(Math.abs(loss - sum / tokens) < 1e-5);
});
