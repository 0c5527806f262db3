/**
 * Runs the native bf16 and int8 products on every case of frozenCases(seed)
 * in this process and writes the results to stdout as base64 fp32, two lines
 * per case (bf16, then int8), after the name of the kernel that ran them.
 * Started with FEDPLORA_BF16_KERNEL=portable or =avx512bf16, it exercises
 * the path of CPUs without AVX512-BF16 or without AMX.
 */
import { loadNativeKernels, nativeBf16Kernel } from '../../src/kernels/native-kernels.js';
import { frozenCases } from './frozen-cases.js';

const loaded = loadNativeKernels();
if ('error' in loaded) throw new Error(loaded.error);
const k = loaded.kernels;
process.stdout.write(`${nativeBf16Kernel()}\n`);
for (const t of frozenCases(Number(process.argv[2]))) {
  const c = Float32Array.from(t.c);
  k.matmulBf16(c, t.a, t.w, t.m, t.n, t.k, t.transW, t.alpha, t.beta);
  const ci = Float32Array.from(t.c);
  k.matmulInt8(ci, t.a, t.q, t.scale, t.m, t.n, t.k, t.transW, t.alpha, t.beta);
  process.stdout.write(`${Buffer.from(c.buffer).toString('base64')}\n${Buffer.from(ci.buffer).toString('base64')}\n`);
}
