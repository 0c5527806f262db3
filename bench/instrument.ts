/** Wraps a kernel set to time every kernel and count matmul FLOPs. */
import type { Kernels } from '../src/kernels/kernels.js';

export function instrumentKernels(inner: Kernels): {
  kernels: Kernels;
  stats: () => { ms: Record<string, number>; matmulFlops: number };
  reset: () => void;
} {
  let ms: Record<string, number> = {};
  let matmulFlops = 0;
  const wrapped: Record<string, unknown> = { name: inner.name };
  for (const key of Object.keys(inner) as (keyof Kernels)[]) {
    const f = inner[key];
    if (typeof f !== 'function') continue;
    wrapped[key] = (...args: unknown[]) => {
      // matmulInt8 has its scales before the sizes
      if (key === 'matmul' || key === 'matmulBf16') matmulFlops += 2 * (args[3] as number) * (args[4] as number) * (args[5] as number);
      if (key === 'matmulInt8') matmulFlops += 2 * (args[4] as number) * (args[5] as number) * (args[6] as number);
      const t0 = performance.now();
      const r = (f as (...a: unknown[]) => unknown).apply(inner, args);
      ms[key] = (ms[key] ?? 0) + performance.now() - t0;
      return r;
    };
  }
  return {
    kernels: wrapped as unknown as Kernels,
    stats: () => ({ ms, matmulFlops }),
    reset: () => {
      ms = {};
      matmulFlops = 0;
    },
  };
}
