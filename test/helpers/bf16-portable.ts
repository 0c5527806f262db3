/**
 * Runs the native bf16 product on every case of bf16Cases(seed) in this
 * process and writes the results to stdout as base64 fp32, one line per case.
 * Started with FEDPLORA_BF16_KERNEL=portable, it exercises the path CPUs
 * without AVX512-BF16 take.
 */
import { loadNativeKernels, nativeBf16Kernel } from '../../src/kernels/native-kernels.js';
import { bf16Cases } from './bf16-cases.js';

const loaded = loadNativeKernels();
if ('error' in loaded) throw new Error(loaded.error);
process.stdout.write(`${nativeBf16Kernel()}\n`);
for (const t of bf16Cases(Number(process.argv[2]))) {
  const c = Float32Array.from(t.c);
  loaded.kernels.matmulBf16(c, t.a, t.w, t.m, t.n, t.k, t.transW, t.alpha, t.beta);
  process.stdout.write(`${Buffer.from(c.buffer).toString('base64')}\n`);
}
