import type { LoraAdapter, LoraPair } from '../../src/layers/lora-branch.js';
import type { TargetName } from '../../src/layers/projections.js';
import type { Method } from '../../src/methods/method.js';
import { at, defined } from '../../src/util/checked.js';

/** The A and B of one targeted projection in one layer, or an error naming the one that is missing. */
export function pairOf(adapter: LoraAdapter, layer: number, target: TargetName): LoraPair {
  return defined(at(adapter.layers, layer, 'adapter layer')[target], `LoRA pair ${layer}.${target}`);
}

/** The method's global adapter as exported, or an error when it has none. */
export function exportedAdapter(method: Method): LoraAdapter {
  return defined(method.server.exportAdapter(), `${method.server.name}: exported adapter`);
}
