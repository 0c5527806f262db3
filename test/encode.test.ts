import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeExample, packedBatches, paddedBatches } from '../src/data/encode.js';
import { createRng } from '../src/util/random.js';
import { at } from '../src/util/checked.js';

// one token per character: 'a' = 1, 'b' = 2, ...; eos 0, pad 99
const tok = { eosId: 0, padId: 99, encode: (s: string) => [...s].map((c) => c.charCodeAt(0) - 96) };
const ex = (prompt: string, target: string) => ({ id: prompt, prompt, target });

test('the prompt is masked out of the loss, the target ends with end-of-text', () => {
  const e = encodeExample(tok, ex('abc', 'de'), { maxLength: 16, truncation: 'prompt-start', appendEos: true });
  assert.deepEqual(e.ids, [1, 2, 3, 4, 5, 0]);
  assert.deepEqual(e.labels, [-100, -100, -100, 4, 5, 0]);
});

test('truncation drops prompt tokens from the chosen end and never the target', () => {
  const start = encodeExample(tok, ex('abcdef', 'xy'), { maxLength: 5, truncation: 'prompt-start', appendEos: false });
  assert.deepEqual(start.ids, [4, 5, 6, 24, 25]);
  const end = encodeExample(tok, ex('abcdef', 'xy'), { maxLength: 5, truncation: 'prompt-end', appendEos: false });
  assert.deepEqual(end.ids, [1, 2, 3, 24, 25]);
  assert.throws(
    () => encodeExample(tok, ex('a', 'xyz'), { maxLength: 3, truncation: 'prompt-start', appendEos: false }),
    /example a: its target alone has 3 tokens/,
  );
});

test('padded batches pad on the right with ignored labels; the seed fixes the order', () => {
  const data = ['ab', 'abcd', 'a', 'abc', 'abcde'].map((p) => encodeExample(tok, ex(p, 'z'), { maxLength: 16, truncation: 'prompt-start', appendEos: false }));
  const batches = paddedBatches(data, 2, 99, null);
  assert.deepEqual(
    batches.map((b) => [b.B, b.T]),
    [
      [2, 5],
      [2, 4],
      [1, 6],
    ],
  );
  const first = at(batches, 0, 'padded batches');
  assert.deepEqual(Array.from(first.ids), [1, 2, 26, 99, 99, 1, 2, 3, 4, 26]);
  assert.deepEqual(Array.from(first.labels), [-100, -100, 26, -100, -100, -100, -100, -100, -100, 26]);
  const a = paddedBatches(data, 2, 99, createRng(3)).map((b) => Array.from(b.ids));
  assert.deepEqual(
    a,
    paddedBatches(data, 2, 99, createRng(3)).map((b) => Array.from(b.ids)),
  );
});

test('packed batches fill rows of exactly maxLength tokens, padding only the last', () => {
  const data = ['ab', 'abc', 'a'].map((p) => encodeExample(tok, ex(p, 'z'), { maxLength: 16, truncation: 'prompt-start', appendEos: false }));
  const b = at(packedBatches(data, 4, 4, 99, null), 0, 'packed batches');
  assert.equal(b.B, 3);
  assert.equal(b.T, 4);
  assert.deepEqual(Array.from(b.ids), [1, 2, 26, 1, 2, 3, 26, 1, 26, 99, 99, 99]);
  assert.deepEqual(Array.from(b.labels), [-100, -100, 26, -100, -100, -100, 26, -100, 26, -100, -100, -100]);
});
