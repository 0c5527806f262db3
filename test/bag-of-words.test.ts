/**
 * The bag-of-words baseline: it finds a label that one word decides, its
 * vocabulary comes from the training split only, it is deterministic, and on
 * the real spam task it clears the majority-class share.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Example, TaskSplits } from '../src/data/example.js';
import { getTask } from '../src/data/tasks/index.js';
import { BagOfWordsClassifier, majorityClass, runBagOfWordsBaseline } from '../src/baselines/bag-of-words.js';
import { TfIdfVectorizer, tokenize } from '../src/baselines/features.js';
import { createRng } from '../src/util/random.js';
import { at, defined } from '../src/util/checked.js';

const FILLER = ['the', 'a', 'report', 'of', 'weather', 'today', 'said', 'that', 'house', 'river', 'green', 'table', 'went', 'over', 'under'];

/** Sentences of filler words in which one key word, the label's own, decides the label. */
function keyed(labels: readonly string[], n: number, seed: number, prefix: string): Example[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = at(labels, i % labels.length, 'labels');
    const words = Array.from({ length: 8 }, () => at(FILLER, rng.int(FILLER.length), 'filler words'));
    words.splice(rng.int(words.length + 1), 0, `key${label}`);
    return { id: `${prefix}-${i}`, prompt: words.join(' '), target: ` ${label}`, label };
  });
}

function keyedSplits(labels: readonly string[], seed = 1): TaskSplits {
  return { train: keyed(labels, 60, seed, 'train'), validation: keyed(labels, 20, seed + 1, 'val'), test: keyed(labels, 30, seed + 2, 'test') };
}

test('tokenize: lowercase runs of letters and digits', () => {
  assert.deepEqual(tokenize('Subject: FREE $$$ Money!!\nCall 555-1234, café'), ['subject', 'free', 'money', 'call', '555', '1234', 'café']);
});

test('a word that decides the label is found: 100% test accuracy, two classes and three', () => {
  for (const labels of [
    ['ham', 'spam'],
    ['red', 'green', 'blue'],
  ]) {
    const r = runBagOfWordsBaseline(keyedSplits(labels));
    assert.equal(r.test_accuracy, 1, `labels ${labels.join('/')}: ${JSON.stringify(r)}`);
    assert.equal(r.validation_accuracy, 1);
    assert.ok(Math.abs(r.majority_share - 1 / labels.length) < 0.05, `balanced classes: majority share ${r.majority_share}`);
  }
});

test('the vocabulary comes from the training split only', () => {
  const splits = keyedSplits(['ham', 'spam']);
  // A word seen only in validation and test, many times, must not become a feature.
  const leak = (e: Example): Example => ({ ...e, prompt: `${e.prompt} zebra zebra` });
  const leaky = { ...splits, validation: splits.validation.map(leak), test: splits.test.map(leak) };
  const c = BagOfWordsClassifier.fit(leaky.train, 1e-3);
  assert.equal(c.vectorizer.indexOf('zebra'), undefined);
  assert.equal(c.vectorizer.transform('zebra zebra zebra').indices.length, 0, 'a text of unseen words has no features');
  assert.equal(c.predict('zebra'), c.predict(''), 'an unseen word changes nothing');
  assert.deepEqual(runBagOfWordsBaseline(leaky), runBagOfWordsBaseline(splits), 'test and validation words leave features, choice and scores alone');
  // The cap keeps the words found in the most training texts, ties in code-point order.
  assert.deepEqual(TfIdfVectorizer.fit(['c b a', 'b a', 'a', 'd e'], { maxSize: 2, minDocuments: 1 }).words, ['a', 'b']);
  assert.deepEqual(TfIdfVectorizer.fit(['y x', 'x y z'], { maxSize: 1, minDocuments: 1 }).words, ['x']);
  assert.deepEqual(TfIdfVectorizer.fit(['y x', 'x y z'], { minDocuments: 2 }).words, ['x', 'y']);
});

test('deterministic: the same splits give the same report and the same probabilities', () => {
  const splits = keyedSplits(['red', 'green', 'blue'], 7);
  assert.deepEqual(runBagOfWordsBaseline(splits), runBagOfWordsBaseline(splits));
  const a = BagOfWordsClassifier.fit(splits.train, 1e-4);
  const b = BagOfWordsClassifier.fit(splits.train, 1e-4);
  for (const e of splits.test)
    assert.deepEqual(a.model.probabilities(a.vectorizer.transform(e.prompt)), b.model.probabilities(b.vectorizer.transform(e.prompt)));
});

test('the fit lowers the objective from the uniform model, and more so with a weaker penalty', () => {
  const splits = keyedSplits(['red', 'green', 'blue']);
  const objective = (l2: number): number => {
    const c = BagOfWordsClassifier.fit(splits.train, l2);
    const rows = splits.train.map((e) => c.vectorizer.transform(e.prompt));
    return c.model.objective(
      rows,
      splits.train.map((e) => c.labels.indexOf(defined(e.label, `label of ${e.id}`))),
      l2,
    );
  };
  const strong = objective(1e-1);
  const weak = objective(1e-4);
  assert.ok(strong < Math.log(3), `objective ${strong} is below ln 3, the zero model's`);
  assert.ok(weak < strong, `weaker penalty fits closer: ${weak} < ${strong}`);
});

test('majorityClass: the most common training label, ties to the first in sort order', () => {
  const ex = (label: string, i: number): Example => ({ id: `${label}${i}`, prompt: '', target: ` ${label}`, label });
  assert.equal(majorityClass([ex('b', 0), ex('a', 1), ex('b', 2)]), 'b');
  assert.equal(majorityClass([ex('b', 0), ex('a', 1)]), 'a');
});

test('spam: the baseline beats the majority-class share', () => {
  const task = getTask('spam');
  const r = runBagOfWordsBaseline(task.load(0), { labels: defined(task.labels, 'spam labels'), l2Grid: [1e-4], iterations: 100 });
  assert.equal(r.majority_class, 'ham');
  assert.ok(r.test_accuracy > r.majority_share + 0.15, `test accuracy ${r.test_accuracy} vs majority share ${r.majority_share}`);
});
