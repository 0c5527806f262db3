/**
 * Log-likelihood of continuations given a prompt: the prompt runs once, its
 * keys and values are copied to one cache row per continuation, and the
 * continuations run together. No gradient state is kept.
 */
import { createKvCache, forwardCached, repeatCache } from '../model/kv-cache.js';
import type { Model } from '../model/llama.js';
import { at } from '../util/checked.js';

function logSoftmaxAt(logits: Float32Array, offset: number, V: number, token: number): number {
  const row = logits.subarray(offset, offset + V);
  if (row.length !== V) throw new Error(`no row of ${V} logits at offset ${offset} of ${logits.length}`);
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return at(row, token, 'logit of the scored token') - max - Math.log(sum);
}

/** Sum of log p(continuation tokens | prompt) for each continuation. */
export function scoreContinuations(model: Model, prompt: readonly number[], continuations: readonly (readonly number[])[]): number[] {
  if (prompt.length === 0) throw new Error('scoring needs a prompt of at least one token');
  if (continuations.some((c) => c.length === 0)) throw new Error('every continuation needs at least one token');
  const V = model.config.vocabSize;
  for (const c of continuations) {
    for (const id of c) if (!(id >= 0 && id < V)) throw new Error(`continuation token ${id} is outside the vocabulary (size ${V})`);
  }
  const longest = Math.max(...continuations.map((c) => c.length));
  const total = prompt.length + longest;
  const cache = createKvCache(model, 1, total);
  const first = forwardCached(model, cache, Int32Array.from(prompt));
  const scores = continuations.map((c) => logSoftmaxAt(first, 0, V, at(c, 0, 'continuation')));
  if (longest === 1) return scores;
  // Tokens 0..longest-2 of each continuation predict tokens 1..longest-1; shorter ones are padded and ignored.
  const rows = continuations.length;
  const T = longest - 1;
  const ids = new Int32Array(rows * T);
  continuations.forEach((c, r) => {
    for (let t = 0; t < T; t++) ids[r * T + t] = at(c, Math.min(t, c.length - 1), 'continuation');
  });
  const logits = forwardCached(model, repeatCache(model, cache, rows, total), ids, true);
  return continuations.map((c, r) => {
    let score = at(scores, r, 'first-token scores');
    // token t + 1 is predicted at position t
    for (const [t, token] of c.slice(1).entries()) score += logSoftmaxAt(logits, (r * T + t) * V, V, token);
    return score;
  });
}
