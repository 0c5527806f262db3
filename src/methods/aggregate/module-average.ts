/** Module-by-module averaging of LoRA factors, as FedAvg does and Fed-PLoRA does per one-rank module. */
import { layerPair, loraPair, type LoraAdapter } from '../../layers/lora-branch.js';
import { extractActive } from '../../lora/plora.js';
import { at } from '../../util/checked.js';
import { axpy, copyScaled } from '../../util/strided.js';
import type { AggregationStats, MethodContext } from '../method.js';
import { denseDelta, relativeError } from '../noise.js';

/** Per-module weighted averages of the updates; modules nobody trained keep their value. */
export function aggregateModules(
  ctx: MethodContext,
  global: LoraAdapter,
  updates: { adapter: LoraAdapter; ids: number[]; weight: number }[],
): Omit<AggregationStats, 'rejected'> {
  const R = ctx.rank;
  let noise = 0;
  let count = 0;
  global.layers.forEach((layer, l) => {
    for (const t of ctx.targets) {
      const g = layerPair(layer, t, l);
      const inF = g.A.length / R;
      const out = g.B.length / R;
      const sumA = new Float64Array(R * inF);
      const sumB = new Float64Array(out * R);
      const total = new Float64Array(R);
      // module c of an update is module j = ids[c]: row c of its A (m, in), column c of its B (out, m)
      const parts = updates.map((u) => ({ p: loraPair(u.adapter, l, t), ids: u.ids, weight: u.weight }));
      for (const { p, ids, weight } of parts) {
        const m = ids.length;
        ids.forEach((j, c) => {
          total[j] = at(total, j, 'module weight totals') + weight;
          axpy(inF, weight, p.A, c * inF, 1, sumA, j * inF, 1);
          axpy(out, weight, p.B, c, m, sumB, j, R);
        });
      }
      // ideal: the weighted mean of each module's products; actual: the product of the averaged module
      const ideal = new Float32Array(out * inF);
      for (const { p, ids, weight } of parts) {
        const m = ids.length;
        const Bw = new Float32Array(out * m);
        ids.forEach((j, c) => {
          copyScaled(out, weight, at(total, j, 'module weight totals'), p.B, c, m, Bw, c, m);
        });
        denseDelta(ctx.kernels, { A: p.A, B: Bw }, m, 1, out, inF, ideal, true);
      }
      total.forEach((tj, j) => {
        if (tj === 0) return;
        copyScaled(inF, 1, tj, sumA, j * inF, 1, g.A, j * inF, 1);
        copyScaled(out, 1, tj, sumB, j, R, g.B, j, R);
      });
      const trained: number[] = [];
      total.forEach((tj, j) => {
        if (tj > 0) trained.push(j);
      });
      if (trained.length > 0) {
        const sub = loraPair(extractActive(global, trained), l, t);
        const actual = denseDelta(ctx.kernels, sub, trained.length, 1, out, inF);
        noise += relativeError(actual, ideal);
        count++;
      }
    }
  });
  return { aggregationNoise: count > 0 ? noise / count : null };
}
