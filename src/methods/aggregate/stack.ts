/** Exact aggregation of products by stacking factors (FlexLoRA's M, FLoRA's merge). */
import { buildLora } from '../../lora/adapter.js';
import { loraPair, type LoraAdapter } from '../../layers/lora-branch.js';
import { copyScaled } from '../../util/strided.js';
import type { MethodContext } from '../method.js';

/** The stacked factors of sum_i w_i B_i A_i as one LoRA of rank sum r_i (weights folded into B). */
export function stackAdapters(ctx: MethodContext, updates: { adapter: LoraAdapter; weight: number }[]): LoraAdapter {
  const K = updates.reduce((n, u) => n + u.adapter.rank, 0);
  return buildLora(ctx.config, { rank: K, alpha: ctx.alpha, targets: ctx.targets, scale: ctx.scale }, (l, t, which, [rows, cols]) => {
    const x = new Float32Array(rows * cols);
    let off = 0;
    for (const u of updates) {
      const p = loraPair(u.adapter, l, t);
      const r = u.adapter.rank;
      if (which === 'A') x.set(p.A, off * cols);
      else for (let o = 0; o < rows; o++) copyScaled(r, u.weight, 1, p.B, o * r, 1, x, o * K + off, 1);
      off += r;
    }
    return x;
  });
}
