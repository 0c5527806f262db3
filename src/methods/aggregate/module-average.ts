/** Module-by-module averaging of LoRA factors, as FedAvg does and Fed-PLoRA does per one-rank module. */
import type { LoraAdapter } from '../../layers/lora-branch.js';
import { extractActive } from '../../lora/plora.js';
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
      const g = layer[t]!;
      const inF = g.A.length / R;
      const out = g.B.length / R;
      const sumA = new Float64Array(R * inF);
      const sumB = new Float64Array(out * R);
      const total = new Float64Array(R);
      for (const u of updates) {
        const p = u.adapter.layers[l]![t]!;
        const m = u.ids.length;
        u.ids.forEach((j, c) => {
          total[j]! += u.weight;
          for (let i = 0; i < inF; i++) sumA[j * inF + i]! += u.weight * p.A[c * inF + i]!;
          for (let o = 0; o < out; o++) sumB[o * R + j]! += u.weight * p.B[o * m + c]!;
        });
      }
      // ideal: the weighted mean of each module's products; actual: the product of the averaged module
      const ideal = new Float32Array(out * inF);
      for (const u of updates) {
        const p = u.adapter.layers[l]![t]!;
        const m = u.ids.length;
        const Bw = new Float32Array(out * m);
        u.ids.forEach((j, c) => {
          for (let o = 0; o < out; o++) Bw[o * m + c] = (p.B[o * m + c]! * u.weight) / total[j]!;
        });
        denseDelta(ctx.kernels, { A: p.A, B: Bw }, m, 1, out, inF, ideal, true);
      }
      for (let j = 0; j < R; j++) {
        if (total[j] === 0) continue;
        for (let i = 0; i < inF; i++) g.A[j * inF + i] = sumA[j * inF + i]! / total[j]!;
        for (let o = 0; o < out; o++) g.B[o * R + j] = sumB[o * R + j]! / total[j]!;
      }
      const trained = Array.from({ length: R }, (_, j) => j).filter((j) => total[j]! > 0);
      if (trained.length > 0) {
        const sub = extractActive(global, trained).layers[l]![t]!;
        const actual = denseDelta(ctx.kernels, sub, trained.length, 1, out, inF);
        noise += relativeError(actual, ideal);
        count++;
      }
    }
  });
  return { aggregationNoise: count > 0 ? noise / count : null };
}
