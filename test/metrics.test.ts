import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy,
  charErrorRate,
  corpusCharErrorRate,
  corpusExactMatch,
  corpusPhonemeErrorRate,
  corpusRougeL,
  corpusWordErrorRate,
  editDistance,
  exactMatch,
  lcsLength,
  lowerIsBetter,
  mean,
  normalizeText,
  perplexity,
  phonemeErrorRate,
  rougeL,
  rougeTokenize,
  scoreCorpus,
  tokenErrorRate,
  wordErrorRate,
} from '../src/metrics/index.js';

const close = (actual: number, expected: number, what = ''): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${what} ${actual} != ${expected}`);

test('edit distance classics', () => {
  const chars = (s: string): string[] => Array.from(s);
  assert.equal(editDistance(chars('kitten'), chars('sitting')), 3); // k->s, e->i, +g
  assert.equal(editDistance(chars('sitting'), chars('kitten')), 3);
  assert.equal(editDistance(chars('flaw'), chars('lawn')), 2); // -f, +n
  assert.equal(editDistance(chars('intention'), chars('execution')), 5);
  assert.equal(editDistance([], []), 0);
  assert.equal(editDistance([], chars('abc')), 3);
  assert.equal(editDistance(chars('abc'), []), 3);
  assert.equal(editDistance(chars('same'), chars('same')), 0);
  assert.equal(editDistance(['a', 'b'], ['b', 'a']), 2);
  assert.equal(editDistance([1, 2, 3, 4], [1, 3, 4, 5]), 2); // -2, +5
  assert.equal(editDistance('kitten', 'sitting'), 3); // strings are array-like too
  assert.equal(
    editDistance(['A', 'b'], ['a', 'B'], (x, y) => x.toLowerCase() === y.toLowerCase()),
    0,
  );
});

test('character error rate', () => {
  close(charErrorRate('helo world', 'hello world'), 1 / 11); // one deletion over 11 reference characters
  close(charErrorRate('hello world', 'hello world'), 0);
  close(charErrorRate('naive', 'naïve'), 1 / 5); // code points: ï is one character
  close(charErrorRate('a😃', 'a😀'), 1 / 2); // one substitution, not two UTF-16 units
  close(charErrorRate('abc', 'xyz'), 1);
  close(charErrorRate('abcdef', 'ab'), 2); // insertions can push the rate past 1
  close(charErrorRate('', ''), 0);
  close(charErrorRate('ab', ''), 2); // empty reference counted as length 1
  close(charErrorRate(' Hello  World ', 'hello world', { normalize: true, lowercase: true }), 0);
  // corpus: total edits / total reference length, not the mean of the rates
  // pair 1: 'kitten' vs ref 'sitting' = 3 edits / 7; pair 2: 'ab' vs ref 'abc' = 1 edit / 3
  close(corpusCharErrorRate(['kitten', 'ab'], ['sitting', 'abc']), 4 / 10);
  assert.notEqual(mean([3 / 7, 1 / 3]), 4 / 10);
});

test('phoneme and word error rates', () => {
  // cat /k æ t/ heard as /k ɑ t s/: substitute æ->ɑ, insert s = 2 edits over 3 phonemes
  const ref1 = ['k', 'æ', 't'];
  const pred1 = ['k', 'ɑ', 't', 's'];
  // hello /h ə l oʊ/ heard as /h ɛ l oʊ/: one substitution over 4
  const ref2 = ['h', 'ə', 'l', 'oʊ'];
  const pred2 = ['h', 'ɛ', 'l', 'oʊ'];
  close(phonemeErrorRate(pred1, ref1), 2 / 3);
  close(tokenErrorRate(pred2, ref2), 1 / 4);
  close(corpusPhonemeErrorRate([pred1, pred2], [ref1, ref2]), 3 / 7);
  close(mean([phonemeErrorRate(pred1, ref1), phonemeErrorRate(pred2, ref2)]), (2 / 3 + 1 / 4) / 2);
  close(scoreCorpus('phoneme_error_rate', ['k ɑ t s', 'h ɛ l oʊ'], ['k æ t', 'h ə  l oʊ ']), 3 / 7);
  close(wordErrorRate('the cat sat', 'the cat sat down'), 1 / 4);
  close(corpusWordErrorRate(['the cat sat', 'a dog'], ['the cat sat down', 'the dog']), 2 / 6);
  assert.throws(() => corpusPhonemeErrorRate([pred1], [ref1, ref2]), /1 predictions but 2 references/);
});

test('exact match with normalisation', () => {
  assert.equal(normalizeText('  New \t York\n'), 'New York');
  assert.equal(exactMatch('  Paris \n', 'Paris'), 1);
  assert.equal(exactMatch('New  York', 'New York'), 1);
  assert.equal(exactMatch('paris', 'Paris'), 0);
  assert.equal(exactMatch('paris', 'Paris', { lowercase: true }), 1);
  assert.equal(exactMatch('Paris ', 'Paris', { normalize: false }), 0);
  assert.equal(exactMatch('Paris', 'Paris', { normalize: false }), 1);
  assert.equal(exactMatch('Paris.', 'Paris'), 0); // punctuation is kept
  close(corpusExactMatch(['a', 'B ', 'c'], ['a', 'b', 'd'], { lowercase: true }), 2 / 3);
});

test('ROUGE-L against hand-computed LCS', () => {
  assert.deepEqual(rougeTokenize("Hello, World! It's 2024."), ['hello', 'world', 'it', 's', '2024']);
  assert.deepEqual(rougeTokenize('café au lait'), ['caf', 'au', 'lait']); // rouge-score keeps [a-z0-9] only

  // pred: the cat was found under the bed (7)   ref: the cat was under the bed (6)
  // LCS = the cat was under the bed = 6 -> P = 6/7, R = 6/6, F = 2(6/7)(1)/(6/7 + 1) = 12/13
  const a = rougeL('The cat was found under the bed.', 'the cat was under the bed');
  close(a.precision, 6 / 7);
  close(a.recall, 1);
  close(a.f, 12 / 13);

  // pred: the cat lay on a mat   ref: the cat sat on the mat
  // LCS = the cat on mat = 4 -> P = R = F = 4/6
  const b = rougeL('the cat lay on a mat', 'the cat sat on the mat');
  close(b.precision, 4 / 6);
  close(b.recall, 4 / 6);
  close(b.f, 4 / 6);

  // pred: the gunman kill police   ref: police killed the gunman
  // LCS = the gunman = 2 (order matters; 'police' alone is only 1) -> P = R = F = 1/2
  close(rougeL('the gunman kill police', 'police killed the gunman').f, 1 / 2);
  assert.equal(lcsLength(['the', 'gunman', 'kill', 'police'], ['police', 'killed', 'the', 'gunman']), 2);

  // pred: fox (1)   ref: the quick brown fox jumps (5)   LCS = 1 -> P = 1, R = 1/5, F = 2(1/5)/(6/5) = 1/3
  const c = rougeL('fox', 'the quick brown fox jumps');
  close(c.precision, 1);
  close(c.recall, 1 / 5);
  close(c.f, 1 / 3);

  assert.deepEqual(rougeL('', 'something'), { precision: 0, recall: 0, f: 0 });
  assert.deepEqual(rougeL('!!!', '...'), { precision: 0, recall: 0, f: 0 }); // no tokens on either side
  assert.deepEqual(rougeL('abc', 'xyz'), { precision: 0, recall: 0, f: 0 });
  assert.deepEqual(rougeL('Same words', 'same, words'), { precision: 1, recall: 1, f: 1 });

  const corpus = corpusRougeL(['The cat was found under the bed.', 'fox'], ['the cat was under the bed', 'the quick brown fox jumps']);
  close(corpus.precision, (6 / 7 + 1) / 2);
  close(corpus.recall, (1 + 1 / 5) / 2);
  close(corpus.f, (12 / 13 + 1 / 3) / 2);
  close(scoreCorpus('rouge_l', ['fox'], ['the quick brown fox jumps']), 1 / 3);
});

test('accuracy, perplexity, mean and the metric dispatcher', () => {
  close(accuracy(['a', 'b', 'c', 'a'], ['a', 'b', 'a', 'a']), 3 / 4);
  close(accuracy([1, 0, 1], [1, 1, 1]), 2 / 3);
  assert.throws(() => accuracy(['a'], ['a', 'b']), /1 predictions but 2 references/);
  assert.throws(() => accuracy([], []), /no examples/);
  close(perplexity(10 * Math.log(4), 10), 4); // mean NLL ln 4 nats -> perplexity 4
  close(perplexity(0, 5), 1);
  assert.throws(() => perplexity(1, 0), /tokens must be > 0/);
  close(mean([1, 2, 3, 4]), 2.5);
  assert.throws(() => mean([]), /no scores/);
  close(scoreCorpus('accuracy', [' positive', 'negative'], ['positive', 'positive']), 1 / 2);
  close(scoreCorpus('exact_match', ['New  York '], ['New York']), 1);
  close(scoreCorpus('char_error_rate', ['kitten'], ['sitting']), 3 / 7);
  assert.equal(lowerIsBetter('char_error_rate'), true);
  assert.equal(lowerIsBetter('perplexity'), true);
  assert.equal(lowerIsBetter('rouge_l'), false);
});
