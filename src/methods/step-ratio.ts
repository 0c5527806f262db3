/**
 * How far the server moves the global model against how far its clients
 * moved. FedAvg of whole models moves the global model by exactly the
 * weighted mean of the clients' local steps. A method that averages parts
 * of the adapter separately can move it further (Fed-PLoRA averages each
 * module over only the clients that trained it, so what clients did on
 * different modules adds up) or less (HetLoRA's zero-padded rank indices).
 * In effective weights over the targeted projections:
 *
 *   D = W_global(after) - W_global(before)
 *   M = sum_c p_c (W_c(trained) - W_c(start))        p_c: the clients' weights, summing to 1
 *   ratio = <D, M> / ||M||^2
 *
 * the part of the server's step along the clients' mean step, in units of
 * that step: 1 for FedAvg, 2 when the server takes twice the mean step.
 */
import type { LoraAdapter } from '../layers/lora-branch.js';
import { loraPair } from '../layers/lora-branch.js';
import { denseWeight } from '../layers/linear.js';
import { at } from '../util/checked.js';
import type { GlobalModel, MethodContext } from './method.js';
import { denseDelta, effectiveWeight } from './noise.js';

/** One client's local step: its adapter before and after training (its base weights stay frozen). */
export interface ClientStep {
  start: LoraAdapter;
  trained: LoraAdapter;
  weight: number;
}

/** Every targeted projection of the model, layer by layer, in ctx.targets order. */
function projections(ctx: MethodContext): { l: number; t: MethodContext['targets'][number]; out: number; inF: number }[] {
  return ctx.base.layers.flatMap((layer, l) => ctx.targets.map((t) => ({ l, t, out: layer.proj[t].outFeatures, inF: layer.proj[t].inFeatures })));
}

/** The global model's effective weights of every targeted projection, as copies that later aggregation cannot change. */
export function globalEffectiveWeights(ctx: MethodContext, global: GlobalModel): Float32Array[] {
  return projections(ctx).map(({ l, t, out, inF }) => {
    const lin = at(global.weights.layers, l, 'global layer weights').proj[t];
    return effectiveWeight(ctx.kernels, denseWeight(lin), global.adapter, l, t, out, inF);
  });
}

/** <D, M> / ||M||^2 as defined above; null when there is no client step or the clients did not move. */
export function stepRatio(ctx: MethodContext, before: readonly Float32Array[], after: readonly Float32Array[], steps: readonly ClientStep[]): number | null {
  const total = steps.reduce((s, c) => s + c.weight, 0);
  if (steps.length === 0 || !(total > 0)) return null;
  let along = 0;
  let mean2 = 0;
  projections(ctx).forEach(({ l, t, out, inF }, i) => {
    const mean = new Float32Array(out * inF);
    for (const c of steps) {
      const p = c.weight / total;
      denseDelta(ctx.kernels, loraPair(c.trained, l, t), c.trained.rank, p * c.trained.scale, out, inF, mean, true);
      denseDelta(ctx.kernels, loraPair(c.start, l, t), c.start.rank, -p * c.start.scale, out, inF, mean, true);
    }
    const b = at(before, i, 'global weights before');
    const a = at(after, i, 'global weights after');
    for (let k = 0; k < mean.length; k++) {
      const m = mean[k]!;
      along += (a[k]! - b[k]!) * m;
      mean2 += m * m;
    }
  });
  return mean2 > 0 ? along / mean2 : null;
}
