/** The kernel implementations a test should run on: the reference, and the addon when built. */
import { createJsKernels, loadNativeKernels, type Kernels } from '../../src/kernels/index.js';
import { at } from '../../src/util/checked.js';

export function kernelVariants(): Kernels[] {
  const native = loadNativeKernels();
  return 'kernels' in native ? [createJsKernels(), native.kernels] : [createJsKernels()];
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(at(a, i, 'a') - at(b, i, 'b')));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (const x of Array.from(a)) m = Math.max(m, Math.abs(x));
  return m;
}
