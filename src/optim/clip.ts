/** Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_. */
import type { Kernels } from '../kernels/kernels.js';

/** Returns the norm before clipping; scales every gradient when it exceeds maxNorm (> 0). */
export function clipGradNorm(k: Kernels, grads: Float32Array[], maxNorm: number): number {
  let ss = 0;
  for (const g of grads) ss += k.sumSquares(g, g.length);
  const norm = Math.sqrt(ss);
  if (!Number.isFinite(norm)) throw new Error(`gradient norm is ${norm}: the loss diverged or the input holds NaN`);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const g of grads) k.scale(g, s, g.length);
  }
  return norm;
}
