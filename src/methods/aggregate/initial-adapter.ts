/** The global adapter every method but FLoRA starts from. */
import { initLora } from '../../lora/adapter.js';
import type { LoraAdapter } from '../../layers/lora-branch.js';
import { createRng, mixSeed } from '../../util/random.js';
import type { MethodContext } from '../method.js';

/** The server's initial global adapter: PEFT's init (A kaiming-uniform, B zero) from the run seed. */
export function initialGlobalAdapter(ctx: MethodContext): LoraAdapter {
  return initLora(ctx.config, { rank: ctx.rank, alpha: ctx.alpha, targets: ctx.targets, scale: ctx.scale }, createRng(mixSeed(ctx.seed, 0x91a0)));
}
