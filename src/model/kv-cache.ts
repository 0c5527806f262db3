/**
 * Incremental forward for generation: keys and values of past positions are
 * kept per layer, so each new token costs one position's work.
 */
import { createActivations, type Activations } from './activations.js';
import { cachedAttention, writeCache, type CachedAttentionShape } from '../layers/cached-attention.js';
import { layerForward } from '../layers/decoder-layer.js';
import { ropeSlice } from '../layers/rope-table.js';
import type { Model } from './llama.js';
import { at } from '../util/checked.js';
import { embeddingLookup, headLinear } from '../layers/embedding.js';
import { linearForward } from '../layers/linear.js';

export interface KvCache {
  B: number;
  maxT: number;
  /** positions filled so far */
  length: number;
  k: Float32Array[]; // per layer (B,maxT,G,D)
  v: Float32Array[];
  /** inference buffers by block length, reused between calls */
  blocks: Map<number, Activations>;
}

export function createKvCache(model: Model, B: number, maxT: number): KvCache {
  const c = model.config;
  if (maxT > c.maxPositions) throw new Error(`a cache of ${maxT} positions exceeds the model's ${c.maxPositions}`);
  const size = B * maxT * c.numKVHeads * c.headDim;
  return {
    B,
    maxT,
    length: 0,
    k: Array.from({ length: c.numLayers }, () => new Float32Array(size)),
    v: Array.from({ length: c.numLayers }, () => new Float32Array(size)),
    blocks: new Map(),
  };
}

/** A cache of `rows` rows, each a copy of row 0 of `cache` (one prompt, several continuations). */
export function repeatCache(model: Model, cache: KvCache, rows: number, maxT = cache.maxT): KvCache {
  const out = createKvCache(model, rows, maxT);
  const row = model.config.numKVHeads * model.config.headDim;
  for (let l = 0; l < model.config.numLayers; l++) {
    for (const [src, dst] of [
      [at(cache.k, l, 'cached keys of layer'), at(out.k, l, 'keys of layer')],
      [at(cache.v, l, 'cached values of layer'), at(out.v, l, 'values of layer')],
    ] as const) {
      const filled = src.subarray(0, cache.length * row);
      for (let r = 0; r < rows; r++) dst.set(filled, r * maxT * row);
    }
  }
  out.length = cache.length;
  return out;
}

/**
 * Runs ids (B,T) at positions [cache.length, cache.length + T), appends them
 * to the cache and returns the logits of each row's last new position (B,V),
 * or of every new position (B,T,V) with allPositions.
 */
export function forwardCached(model: Model, cache: KvCache, ids: Int32Array, allPositions = false): Float32Array {
  const { config: c, kernels: k, weights: w } = model;
  const B = cache.B;
  const T = ids.length / B;
  if (!Number.isInteger(T) || T < 1) throw new Error(`expected a multiple of ${B} token ids, got ${ids.length}`);
  if (cache.length + T > cache.maxT) throw new Error(`the KV cache holds ${cache.maxT} positions; ${cache.length + T} requested`);
  for (const id of ids) if (!(id >= 0 && id < c.vocabSize)) throw new Error(`token id ${id} is outside the vocabulary (size ${c.vocabSize})`);
  let act = cache.blocks.get(T);
  if (!act) {
    act = createActivations(c, model.lora, B, T, false);
    cache.blocks.set(T, act);
  }
  const shape: CachedAttentionShape = { B, T, start: cache.length, maxT: cache.maxT, H: c.numHeads, G: c.numKVHeads, D: c.headDim };
  const { cos, sin } = ropeSlice(model.rope, cache.length, T);
  const ctx = {
    k,
    config: c,
    B,
    T,
    cos,
    sin,
    attend: (l: number, a: (typeof act.layers)[number]) => {
      const kCache = at(cache.k, l, 'cached keys of layer');
      const vCache = at(cache.v, l, 'cached values of layer');
      writeCache(kCache, a.k, shape);
      writeCache(vCache, a.v, shape);
      // An empty cache means plain causal attention over the new keys: the
      // kernel's, as in training, instead of the loops meant for a few new positions.
      if (shape.start === 0) k.attentionForward(a.attnOut, a.att, a.q, a.k, a.v, B, T, c.numHeads, c.numKVHeads, c.headDim);
      else cachedAttention(a.attnOut, a.q, kCache, vCache, shape);
    },
  };
  const C = c.hiddenSize;
  const residual = (l: number): Float32Array => at(act.residual, l, 'residual stream');
  embeddingLookup(k, residual(0), ids, w, B * T, C);
  for (let l = 0; l < c.numLayers; l++) {
    layerForward(ctx, residual(l + 1), at(act.layers, l, 'layer activations'), residual(l), at(w.layers, l, 'layer weights'), model.lora, l);
  }
  cache.length += T;
  const final = residual(c.numLayers);
  let rows = B * T;
  let hidden = final;
  if (!allPositions) {
    // Only each row's last position is scored.
    rows = B;
    hidden = new Float32Array(B * C);
    for (let b = 0; b < B; b++) hidden.set(final.subarray(((b + 1) * T - 1) * C, (b + 1) * T * C), b * C);
  }
  const normed = new Float32Array(rows * C);
  k.rmsnormForward(normed, new Float32Array(rows), hidden, w.finalNorm, rows, C, c.rmsNormEps);
  const logits = new Float32Array(rows * c.vocabSize);
  linearForward(k, logits, normed, headLinear(w, c.vocabSize, C), rows);
  return logits;
}
