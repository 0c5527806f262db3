/** Choosing the next token from logits: greedy, or sampled with temperature, top-k and top-p. */
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

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** The candidate tokens and their renormalised probabilities after temperature, top-k and top-p. */
export function candidateDistribution(logits: ArrayLike<number>, o: SamplingOptions): { ids: number[]; probs: number[] } {
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const kept = o.topK > 0 ? order.slice(0, o.topK) : order;
  const max = logits[kept[0]!]!;
  let weights = kept.map((i) => Math.exp((logits[i]! - max) / o.temperature));
  let sum = weights.reduce((a, b) => a + b, 0);
  let ids = kept;
  if (o.topP < 1) {
    let cumulative = 0;
    let n = 0;
    while (n < weights.length && cumulative < o.topP * sum) cumulative += weights[n++]!;
    ids = kept.slice(0, Math.max(1, n));
    weights = weights.slice(0, ids.length);
    sum = weights.reduce((a, b) => a + b, 0);
  }
  return { ids, probs: weights.map((w) => w / sum) };
}

export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  if (o.temperature <= 0) return argmax(logits);
  const { ids, probs } = candidateDistribution(logits, o);
  let u = rng.next();
  for (let i = 0; i < ids.length; i++) {
    u -= probs[i]!;
    if (u < 0) return ids[i]!;
  }
  return ids[ids.length - 1]!;
}
