/**
 * The paper's analysis quantities, measured: initialization noise (how far a
 * client's starting model is from the global model) and aggregation noise
 * (average of products versus product of averages), as relative Frobenius
 * norms over the targeted projections.
 */
import type { Kernels } from '../kernels/kernels.js';
import type { LoraAdapter, LoraPair } from '../adapters/lora.js';
import type { GlobalModel, LocalModel, MethodContext } from './method.js';

/** scale * B A, (out, in) */
export function denseDelta(k: Kernels, pair: LoraPair, rank: number, scale: number, out: number, inF: number, into?: Float32Array, accumulate = false): Float32Array {
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

/** Effective weight of one projection: W + scale * B A (when the adapter targets it). */
function effectiveWeight(k: Kernels, weight: Float32Array, adapter: LoraAdapter | null, l: number, t: LoraAdapter['targets'][number], out: number, inF: number): Float32Array {
  const w = Float32Array.from(weight);
  const pair = adapter?.layers[l]?.[t];
  if (adapter && pair) denseDelta(k, pair, adapter.rank, adapter.scale, out, inF, w, true);
  return w;
}

/**
 * ||W_local,eff - W_global,eff|| / ||W_global,eff - W0||, averaged over the
 * targeted projections: zero when a client starts exactly from the global model.
 */
export function initializationNoise(ctx: MethodContext, local: LocalModel, global: GlobalModel): number {
  let total = 0;
  let n = 0;
  ctx.base.layers.forEach((layer, l) => {
    for (const t of ctx.targets) {
      const lin = layer.proj[t];
      const g = effectiveWeight(ctx.kernels, global.weights.layers[l]!.proj[t].weight, global.adapter, l, t, lin.outFeatures, lin.inFeatures);
      const c = effectiveWeight(ctx.kernels, local.weights.layers[l]!.proj[t].weight, local.adapter, l, t, lin.outFeatures, lin.inFeatures);
      const delta = Math.sqrt(sqDiff(g, lin.weight));
      const diff = Math.sqrt(sqDiff(c, g));
      total += delta > 0 ? diff / delta : diff;
      n++;
    }
  });
  return n > 0 ? total / n : 0;
}
