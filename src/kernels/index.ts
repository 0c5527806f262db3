/**
 * Chooses the kernel implementation: the native addon when it is built,
 * the TypeScript reference otherwise. FEDPLORA_KERNELS=native|js forces one.
 */
import type { Kernels } from './kernels.js';
import { createJsKernels } from './js-kernels.js';
import { loadNativeKernels } from './native-kernels.js';

export type { Kernels } from './kernels.js';
export { createJsKernels } from './js-kernels.js';
export { loadNativeKernels } from './native-kernels.js';

let chosen: Kernels | undefined;

export function getKernels(): Kernels {
  if (chosen) return chosen;
  const wanted = process.env['FEDPLORA_KERNELS'] ?? 'auto';
  if (wanted !== 'auto' && wanted !== 'native' && wanted !== 'js') {
    throw new Error(`FEDPLORA_KERNELS must be native, js or auto, got "${wanted}"`);
  }
  chosen = chooseKernels(wanted);
  return chosen;
}

function chooseKernels(wanted: 'auto' | 'native' | 'js'): Kernels {
  if (wanted === 'js') return createJsKernels();
  const native = loadNativeKernels();
  if ('kernels' in native) return native.kernels;
  if (wanted === 'native') throw new Error(`FEDPLORA_KERNELS=native but the native addon cannot be used: ${native.error}`);
  process.emitWarning(`fedplora: using the TypeScript kernels (slow): ${native.error}`);
  return createJsKernels();
}
