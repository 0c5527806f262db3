/** LoRA adapters in and out of payloads: tensors "<prefix><layer>.<target>.A|B". */
import { buildLora } from '../lora/adapter.js';
import { layerPair, type LoraAdapter } from '../layers/lora-branch.js';
import type { TensorToWrite } from '../io/safetensors.js';
import type { MethodContext } from './method.js';
import { expectTensor, type Payload } from './payload.js';

export function adapterTensors(adapter: LoraAdapter, prefix = ''): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  adapter.layers.forEach((layer, l) => {
    for (const t of adapter.targets) {
      const p = layerPair(layer, t, l);
      out.set(`${prefix}${l}.${t}.A`, { data: p.A, shape: [adapter.rank, p.A.length / adapter.rank] });
      out.set(`${prefix}${l}.${t}.B`, { data: p.B, shape: [p.B.length / adapter.rank, adapter.rank] });
    }
  });
  return out;
}

/** Reads a rank-`rank` adapter of the context's targets, checking every shape and value. */
export function adapterFromPayload(p: Payload, ctx: MethodContext, rank: number, source: string, prefix = ''): LoraAdapter {
  return buildLora(ctx.config, { rank, alpha: ctx.alpha, targets: ctx.targets, scale: ctx.scale }, (l, t, which, shape) =>
    Float32Array.from(expectTensor(p, `${prefix}${l}.${t}.${which}`, shape, source)),
  );
}
