/**
 * What a client's round costs it beyond the frozen base model it already
 * holds: copies of projection weights that its method made (Select-N-Fold's
 * folded weights, FLoRA's merged base) and its trainable adapter with its
 * gradient and two AdamW moments. Modules folded beside a bf16 or int8
 * weight count as what they are, a few ranks, not a copy of the weight.
 * Methods are compared on what the device pays, not only on what it trains.
 */
import type { LocalModel, MethodContext } from '../methods/method.js';
import { TARGET_NAMES } from '../layers/projections.js';

/** Bytes of fp32 state the client holds for this round on top of the shared base weights. */
export function localStateBytes(ctx: MethodContext, local: LocalModel): number {
  let copies = 0;
  local.weights.layers.forEach((layer, l) => {
    for (const t of TARGET_NAMES) {
      const lin = layer.proj[t];
      const base = ctx.base.layers[l]?.proj[t];
      if (lin.weight && lin.weight !== base?.weight) copies += lin.weight.byteLength;
      if (lin.folded && lin.folded !== base?.folded) copies += lin.folded.A.byteLength + lin.folded.B.byteLength;
    }
  });
  let adapter = 0;
  for (const layer of local.adapter.layers) {
    for (const t of local.adapter.targets) {
      const p = layer[t];
      if (p) adapter += p.A.byteLength + p.B.byteLength;
    }
  }
  // value, gradient and AdamW's two moments
  return copies + 4 * adapter;
}
