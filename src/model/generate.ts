/** Text continuation from token ids, with or without the KV cache. */
import { createActivations } from './activations.js';
import { createKvCache, forwardCached } from './kv-cache.js';
import { forward, type Model } from './llama.js';
import { GREEDY, sampleToken, type SamplingOptions } from './sampling.js';
import { createRng } from '../util/random.js';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** generation ends after emitting one of these */
  stopTokens: number[];
  seed: number;
  /** false recomputes the whole sequence for every token (slow; a check on the cache) */
  useCache: boolean;
}

export const DEFAULT_GENERATE: GenerateOptions = { ...GREEDY, maxNewTokens: 32, stopTokens: [], seed: 0, useCache: true };

/** Returns the new tokens (the stop token included when one ends generation). */
export function generate(model: Model, prompt: readonly number[], options: Partial<GenerateOptions> = {}): number[] {
  const o = { ...DEFAULT_GENERATE, ...options };
  if (prompt.length === 0) throw new Error('generation needs a prompt of at least one token');
  const total = Math.min(prompt.length + o.maxNewTokens, model.config.maxPositions);
  const rng = createRng(o.seed);
  const out: number[] = [];
  const V = model.config.vocabSize;
  const cache = o.useCache ? createKvCache(model, 1, total) : null;
  let logits = cache ? forwardCached(model, cache, Int32Array.from(prompt)) : lastLogits(model, prompt);
  while (prompt.length + out.length < total) {
    const next = sampleToken(logits.subarray(0, V), o, rng);
    out.push(next);
    if (o.stopTokens.includes(next) || prompt.length + out.length >= total) break;
    logits = cache ? forwardCached(model, cache, Int32Array.of(next)) : lastLogits(model, [...prompt, ...out]);
  }
  return out;
}

function lastLogits(model: Model, ids: readonly number[]): Float32Array {
  const act = createActivations(model.config, model.lora, 1, ids.length, false);
  forward(model, act, Int32Array.from(ids));
  const V = model.config.vocabSize;
  return act.logits.slice((ids.length - 1) * V, ids.length * V);
}
