/**
 * The paper's analysis quantities, measured: initialization noise (how far a
 * client's starting model is from the global model) and aggregation noise
 * (average of products versus product of averages), as relative Frobenius
 * norms over the targeted projections.
 */
import type { Kernels } from '../kernels/kernels.js';
import { layerPair, loraPair, type LoraAdapter, type LoraPair } from '../layers/lora-branch.js';
import { at } from '../util/checked.js';
import type { GlobalModel, LocalModel, MethodContext } from './method.js';
import { denseWeight } from '../layers/linear.js';

/** scale * B A, (out, in) */
export function denseDelta(
  k: Kernels,
  pair: LoraPair,
  rank: number,
  scale: number,
  out: number,
  inF: number,
  into?: Float32Array,
  accumulate = false,
): Float32Array {
  const d = into ?? new Float32Array(out * inF);
  k.matmul(d, pair.B, pair.A, out, inF, rank, false, false, scale, accumulate ? 1 : 0);
  return d;
}

function sqDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

function sq(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return s;
}

/** ||a - b|| / ||b||, or the absolute norm when b is zero. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  const d = Math.sqrt(sqDiff(a, b));
  const n = Math.sqrt(sq(b));
  return n > 0 ? d / n : d;
}

/** Effective weight of one projection, a fresh copy: W + scale * B A (when the adapter targets it). */
export function effectiveWeight(
  k: Kernels,
  weight: Float32Array,
  adapter: LoraAdapter | null,
  l: number,
  t: LoraAdapter['targets'][number],
  out: number,
  inF: number,
): Float32Array {
  const w = Float32Array.from(weight);
  const pair = adapter?.layers[l]?.[t];
  if (adapter && pair) denseDelta(k, pair, adapter.rank, adapter.scale, out, inF, w, true);
  return w;
}

export interface InitializationNoise {
  /**
   * ||W_local,eff - W_global,eff|| / ||W_global,eff - W0||, averaged over the
   * targeted projections: zero when a client starts exactly from the global
   * model; null when the global model has not moved from W0 (so no relative
   * size exists) but the client's start differs from it.
   */
  relative: number | null;
  /** ||W_local,eff - W_global,eff|| averaged over the targeted projections, in weight units */
  absolute: number;
}

export function initializationNoise(ctx: MethodContext, local: LocalModel, global: GlobalModel): InitializationNoise {
  let relative = 0;
  let absolute = 0;
  let defined = true;
  let n = 0;
  ctx.base.layers.forEach((layer, l) => {
    for (const t of ctx.targets) {
      const lin = layer.proj[t];
      const globalLinear = at(global.weights.layers, l, 'global layer weights').proj[t];
      const localLinear = at(local.weights.layers, l, 'local layer weights').proj[t];
      const g = effectiveWeight(ctx.kernels, denseWeight(globalLinear), global.adapter, l, t, lin.outFeatures, lin.inFeatures);
      const c = effectiveWeight(ctx.kernels, denseWeight(localLinear), local.adapter, l, t, lin.outFeatures, lin.inFeatures);
      const delta = Math.sqrt(sqDiff(g, denseWeight(lin)));
      const diff = Math.sqrt(sqDiff(c, g));
      if (delta > 0) relative += diff / delta;
      else if (diff > 0) defined = false;
      absolute += diff;
      n++;
    }
  });
  return { relative: defined && n > 0 ? relative / n : null, absolute: n > 0 ? absolute / n : 0 };
}

/**
 * Aggregation noise of a method that stacks factors (FlexLoRA, FLoRA):
 * ||sum_i w_i B_i A_i - B_stack A_stack|| / ||sum_i w_i B_i A_i||, averaged
 * over layers and targets. Stacking is exact in real arithmetic, so this
 * measures what fp32 leaves of it rather than assuming zero.
 */
export function stackedProductNoise(ctx: MethodContext, stack: LoraAdapter, parts: readonly { adapter: LoraAdapter; weight: number }[]): number | null {
  if (parts.length === 0) return null;
  let noise = 0;
  let n = 0;
  stack.layers.forEach((layer, l) => {
    for (const t of stack.targets) {
      const pair = layerPair(layer, t, l);
      const out = pair.B.length / stack.rank;
      const inF = pair.A.length / stack.rank;
      const ideal = new Float32Array(out * inF);
      for (const p of parts) denseDelta(ctx.kernels, loraPair(p.adapter, l, t), p.adapter.rank, p.weight, out, inF, ideal, true);
      noise += relativeError(denseDelta(ctx.kernels, pair, stack.rank, 1, out, inF), ideal);
      n++;
    }
  });
  return n > 0 ? noise / n : null;
}
