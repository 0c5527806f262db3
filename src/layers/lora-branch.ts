/**
 * The LoRA branch of a group of projections that read the same input x:
 *   hT_t = A_t x^T (r,N) ; y_t += scale * hT_t^T B_t^T
 * The hidden values are kept transposed, (r,N), and the group's A matrices
 * side by side, so the down-projection of the whole group is one product
 * with a wide output; thin (N,r) products run at a fraction of sgemm speed.
 */
import type { Kernels } from '../kernels/kernels.js';
import { at, defined } from '../util/checked.js';
import type { TargetName } from './projections.js';

export interface LoraPair {
  A: Float32Array; // (r, in)
  B: Float32Array; // (out, r)
}

/**
 * LoRA adapters in PEFT's vocabulary: per targeted projection, A is (r, in)
 * and B is (out, r), and the layer computes W0 x + scale * B (A x).
 *
 * `scale` is stored rather than derived from alpha / r because a PLoRA client
 * trains r_i of R modules with the global scale alpha / R; the engine only
 * ever sees this plain form. Building, packing and files are in lora/.
 */
export interface LoraAdapter {
  rank: number;
  alpha: number;
  /** multiplies B A in the forward; alpha / rank for a plain PEFT adapter */
  scale: number;
  targets: TargetName[];
  /** layers[l][target] for every targeted projection */
  layers: Array<Partial<Record<TargetName, LoraPair>>>;
}

/** The pair of `target` in one layer of an adapter, or an error naming both when the layer lacks it. */
export function layerPair(layer: Partial<Record<TargetName, LoraPair>>, target: TargetName, l: number): LoraPair {
  return defined(layer[target], `LoRA pair ${target} of layer ${l}`);
}

/** The pair of `target` in layer `l`, or an error naming what the adapter lacks. */
export function loraPair(adapter: LoraAdapter, l: number, target: TargetName): LoraPair {
  return layerPair(at(adapter.layers, l, 'LoRA layer'), target, l);
}

export interface LoraGroup {
  /** the group's A matrices stacked, (rows, in), rows = r * members */
  A: Float32Array;
  members: LoraPair[];
  outFeatures: number[];
  rank: number;
  scale: number;
}

// ys[i] is (N,out_i); hT (rows,N) saved; x is (N,in)
export function loraGroupForward(k: Kernels, ys: Float32Array[], hT: Float32Array, x: Float32Array, g: LoraGroup, N: number, inF: number): void {
  const rows = g.rank * g.members.length;
  k.matmul(hT, g.A, x, rows, N, inF, false, true, 1, 0);
  g.members.forEach((p, i) => {
    const h = hT.subarray(i * g.rank * N, (i + 1) * g.rank * N);
    k.matmul(at(ys, i, 'LoRA output'), h, p.B, N, at(g.outFeatures, i, 'LoRA output size'), g.rank, true, true, g.scale, 1);
  });
}

export interface LoraGroupGrads {
  /** gradient of the stacked A, laid out like LoraGroup.A */
  A: Float32Array;
  B: Float32Array[];
}

/**
 * dx (N,in) += the branch's input gradient (skipped when null); grads
 * accumulate (skipped when null: a frozen adapter). dhT is (rows,N) scratch.
 */
export function loraGroupBackward(
  k: Kernels,
  dx: Float32Array | null,
  grads: LoraGroupGrads | null,
  dhT: Float32Array,
  dys: Float32Array[],
  x: Float32Array,
  hT: Float32Array,
  g: LoraGroup,
  N: number,
  inF: number,
): void {
  if (!dx && !grads) return;
  const r = g.rank;
  const rows = r * g.members.length;
  g.members.forEach((p, i) => {
    const out = at(g.outFeatures, i, 'LoRA output size');
    const dy = at(dys, i, 'LoRA output gradient');
    const span = [i * r * N, (i + 1) * r * N] as const;
    // dhT_i = scale * B_i^T dy_i^T ; dB_i += scale * dy_i^T hT_i^T
    k.matmul(dhT.subarray(...span), p.B, dy, r, N, out, true, true, g.scale, 0);
    if (grads) k.matmul(at(grads.B, i, 'LoRA gradient of B'), dy, hT.subarray(...span), out, r, N, true, true, g.scale, 1);
  });
  if (grads) k.matmul(grads.A, dhT, x, rows, inF, N, false, false, 1, 1);
  if (dx) k.matmul(dx, dhT, g.A, N, inF, rows, true, false, 1, 1);
}
