/**
 * Mixed-precision full-parameter training, as bf16 autocast does it: the
 * weights, their gradients and AdamW's state stay fp32, while the forward
 * and input-gradient products of every projection and the head use a bf16
 * copy of the weight (the kernels' bf16 path: AMX or AVX512-BF16 where the
 * CPU has it). The weight gradient dW = dy^T x is a product of activations
 * and stays fp32. `fedplora pretrain --compute bf16` trains this way.
 */
import { f32ToBf16, f32ToBf16Into } from '../io/float16.js';
import type { Linear } from '../layers/linear.js';
import { TARGET_NAMES } from '../layers/projections.js';
import type { ModelWeights } from './weights.js';

export const COMPUTE_PRECISIONS = ['fp32', 'bf16'] as const;
export type ComputePrecision = (typeof COMPUTE_PRECISIONS)[number];

function withCopy(lin: Linear): Linear {
  if (!lin.weight) throw new Error(`bf16 compute trains fp32 weights; this projection holds its weight as ${lin.frozen?.format}`);
  return { ...lin, bf16Copy: f32ToBf16(lin.weight) };
}

/** The same fp32 weights (shared, not copied), with bf16 copies beside the projections and the head for their products. */
export function withBf16Compute(weights: ModelWeights): ModelWeights {
  if (!weights.lmHead) throw new Error(`bf16 compute trains fp32 weights; the head is held as ${weights.frozenHead?.format}`);
  return {
    ...weights,
    headBf16Copy: f32ToBf16(weights.lmHead),
    layers: weights.layers.map((layer) => {
      const proj = { ...layer.proj };
      for (const t of TARGET_NAMES) proj[t] = withCopy(layer.proj[t]);
      return { ...layer, proj };
    }),
  };
}

/** Rounds every bf16 copy again from its fp32 weight (after an update); a model without copies is left as it is. */
export function refreshBf16Copies(weights: ModelWeights): void {
  if (weights.headBf16Copy && weights.lmHead) f32ToBf16Into(weights.headBf16Copy, weights.lmHead);
  for (const layer of weights.layers) {
    for (const t of TARGET_NAMES) {
      const lin = layer.proj[t];
      if (lin.bf16Copy && lin.weight) f32ToBf16Into(lin.bf16Copy, lin.weight);
    }
  }
}
