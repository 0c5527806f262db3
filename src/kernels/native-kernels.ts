/** Placeholder until the addon binding lands: reports that it is not built. */
import type { Kernels } from './kernels.js';

export function loadNativeKernels(): { kernels: Kernels } | { error: string } {
  return { error: 'native addon not built' };
}
