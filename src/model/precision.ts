/**
 * Precision of the frozen base: the projections of every decoder layer (the
 * bulk of a LLaMA's weights, and all of what LoRA rides on) and the LM head
 * held as fp32, bf16 or int8 with per-channel scales. A tied embedding table
 * is the head's, looked up from the frozen form; an untied one and the norms
 * stay fp32 (a lookup and a few vectors). Adapters, their gradients and
 * optimizer state are always fp32.
 */
import { f32ToBf16 } from '../io/float16.js';
import { quantizeInt8 } from '../io/int8.js';
import type { FrozenWeight, Linear } from '../layers/linear.js';
import { TARGET_NAMES, type TargetName } from '../layers/projections.js';
import type { ModelConfig } from './config.js';
import { hfTensorShapes, type ModelWeights } from './weights.js';

export const PRECISIONS = ['fp32', 'bf16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

function frozenOf(w: Float32Array, rows: number, cols: number, precision: Exclude<Precision, 'fp32'>): FrozenWeight {
  return precision === 'bf16' ? { format: 'bf16', bits: f32ToBf16(w) } : { format: 'int8', ...quantizeInt8(w, rows, cols) };
}

function lowered(lin: Linear, precision: Exclude<Precision, 'fp32'>): Linear {
  if (!lin.weight) throw new Error(`a projection already held as ${lin.frozen?.format} cannot be converted to ${precision}`);
  const frozen = frozenOf(lin.weight, lin.outFeatures, lin.inFeatures, precision);
  return { weight: null, frozen, bias: lin.bias, outFeatures: lin.outFeatures, inFeatures: lin.inFeatures };
}

/**
 * The same model with its projections and head held in `precision`. The
 * fp32 arrays they replace are no longer referenced by the result, so they
 * are freed once the caller drops `weights`.
 */
export function withPrecision(weights: ModelWeights, precision: Precision): ModelWeights {
  if (precision === 'fp32') return weights;
  if (!weights.lmHead) throw new Error(`a head already held as ${weights.frozenHead?.format} cannot be converted to ${precision}`);
  const C = weights.finalNorm.length;
  const tied = weights.embed === weights.lmHead;
  return {
    ...weights,
    embed: tied ? null : weights.embed,
    lmHead: null,
    frozenHead: frozenOf(weights.lmHead, weights.lmHead.length / C, C, precision),
    layers: weights.layers.map((layer) => {
      const proj = { ...layer.proj };
      for (const t of TARGET_NAMES) proj[t] = lowered(layer.proj[t], precision);
      return { ...layer, proj };
    }),
  };
}

/** Bytes per element of a projection weight held in `precision` (int8's per-channel scales apart). */
const PROJECTION_BYTES: Record<Precision, number> = { fp32: 4, bf16: 2, int8: 1 };

/**
 * Bytes the base weights of a model of this config take in `precision`,
 * computed from the shapes alone (the memory rank policy uses it before any
 * weights are loaded); a tied head is counted once.
 */
export function baseWeightBytesOf(config: ModelConfig, precision: Precision): number {
  let bytes = 0;
  for (const [name, shape] of hfTensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    // the head is frozen like the projections; so is a tied embedding table, which is the head
    const head = name === 'lm_head.weight' || (name === 'model.embed_tokens.weight' && config.tieWordEmbeddings);
    const projection = head || (shape.length === 2 && TARGET_NAMES.some((t) => name.endsWith(`.${t}.weight`)));
    bytes += projection ? n * PROJECTION_BYTES[precision] + (precision === 'int8' ? 4 * (shape[0] ?? 0) : 0) : 4 * n;
  }
  return bytes;
}

/** Bytes the base weights take: every distinct array counted once (a tied head shares the embedding's). */
export function baseWeightBytes(weights: ModelWeights): number {
  const seen = new Set<ArrayBufferView>();
  const add = (x: ArrayBufferView | null | undefined): void => {
    if (x) seen.add(x);
  };
  const frozenArrays = (f: FrozenWeight | undefined): void => {
    if (f?.format === 'bf16') add(f.bits);
    if (f?.format === 'int8') {
      add(f.q);
      add(f.scale);
    }
  };
  add(weights.embed);
  add(weights.lmHead);
  frozenArrays(weights.frozenHead);
  add(weights.finalNorm);
  for (const layer of weights.layers) {
    add(layer.inputNorm);
    add(layer.postNorm);
    for (const t of TARGET_NAMES as readonly TargetName[]) {
      const lin = layer.proj[t];
      add(lin.weight);
      add(lin.bias);
      frozenArrays(lin.frozen);
    }
  }
  let bytes = 0;
  for (const x of seen) bytes += x.byteLength;
  return bytes;
}
