/** Choosing the next token from logits: greedy, or sampled with temperature, top-k and top-p. */
import { at } from '../util/checked.js';
import type { Rng } from '../util/random.js';

export interface SamplingOptions {
  /** 0 means greedy (argmax) */
  temperature: number;
  /** keep the k most likely tokens; 0 keeps all */
  topK: number;
  /** keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all */
  topP: number;
}

export const GREEDY: SamplingOptions = { temperature: 0, topK: 0, topP: 1 };

export function argmax(x: Iterable<number>): number {
  let best = 0;
  let max: number | undefined;
  let i = 0;
  for (const v of x) {
    if (max === undefined || v > max) {
      best = i;
      max = v;
    }
    i++;
  }
  return best;
}

/** The candidate tokens and their renormalised probabilities after temperature, top-k and top-p. */
export function candidateDistribution(logits: ArrayLike<number>, o: SamplingOptions): { ids: number[]; probs: number[] } {
  const order = Array.from(logits, (logit, id) => ({ id, logit })).sort((a, b) => b.logit - a.logit || a.id - b.id);
  const kept = o.topK > 0 ? order.slice(0, o.topK) : order;
  const [first] = kept;
  if (!first) return { ids: [], probs: [] };
  const max = first.logit;
  let weights = kept.map((c) => Math.exp((c.logit - max) / o.temperature));
  let sum = weights.reduce((a, b) => a + b, 0);
  let ids = kept.map((c) => c.id);
  if (o.topP < 1) {
    let cumulative = 0;
    let n = 0;
    for (const w of weights) {
      if (!(cumulative < o.topP * sum)) break;
      cumulative += w;
      n++;
    }
    ids = ids.slice(0, Math.max(1, n));
    weights = weights.slice(0, ids.length);
    sum = weights.reduce((a, b) => a + b, 0);
  }
  return { ids, probs: weights.map((w) => w / sum) };
}

export function sampleToken(logits: ArrayLike<number> & Iterable<number>, o: SamplingOptions, rng: Rng): number {
  if (o.temperature <= 0) return argmax(logits);
  const { ids, probs } = candidateDistribution(logits, o);
  let u = rng.next();
  for (const [i, id] of ids.entries()) {
    u -= at(probs, i, 'candidate probabilities');
    if (u < 0) return id;
  }
  return at(ids, ids.length - 1, 'candidate tokens');
}
