/**
 * Precision of the frozen base: the projections of every decoder layer (the
 * bulk of a LLaMA's weights, and all of what LoRA rides on) held as fp32,
 * bf16 or int8 with per-channel scales. Embeddings, norms and the head stay
 * fp32: the embedding is a lookup, not a product, and a tied head shares its
 * array. Adapters, their gradients and optimizer state are always fp32.
 */
import { f32ToBf16 } from '../io/float16.js';
import { quantizeInt8 } from '../io/int8.js';
import type { Linear } from '../layers/linear.js';
import { TARGET_NAMES, type TargetName } from '../layers/projections.js';
import type { ModelConfig } from './config.js';
import { hfTensorShapes, type ModelWeights } from './weights.js';

export const PRECISIONS = ['fp32', 'bf16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

function lowered(lin: Linear, precision: Exclude<Precision, 'fp32'>): Linear {
  if (!lin.weight) throw new Error(`a projection already held as ${lin.frozen?.format} cannot be converted to ${precision}`);
  const frozen =
    precision === 'bf16'
      ? { format: 'bf16' as const, bits: f32ToBf16(lin.weight) }
      : { format: 'int8' as const, ...quantizeInt8(lin.weight, lin.outFeatures, lin.inFeatures) };
  return { weight: null, frozen, bias: lin.bias, outFeatures: lin.outFeatures, inFeatures: lin.inFeatures };
}

/**
 * The same model with its projections held in `precision`. The fp32 arrays
 * of the projections are no longer referenced by the result, so they are
 * freed once the caller drops `weights`.
 */
export function withPrecision(weights: ModelWeights, precision: Precision): ModelWeights {
  if (precision === 'fp32') return weights;
  return {
    ...weights,
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
    const projection = shape.length === 2 && TARGET_NAMES.some((t) => name.endsWith(`.${t}.weight`));
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
  add(weights.embed);
  add(weights.lmHead);
  add(weights.finalNorm);
  for (const layer of weights.layers) {
    add(layer.inputNorm);
    add(layer.postNorm);
    for (const t of TARGET_NAMES as readonly TargetName[]) {
      const lin = layer.proj[t];
      add(lin.weight);
      add(lin.bias);
      const f = lin.frozen;
      if (f?.format === 'bf16') add(f.bits);
      if (f?.format === 'int8') {
        add(f.q);
        add(f.scale);
      }
    }
  }
  let bytes = 0;
  for (const x of seen) bytes += x.byteLength;
  return bytes;
}
