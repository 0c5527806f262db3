/**
 * Runs the native matmul on products with every side above 64 in this
 * process and prints the name of the kernel that computed them, then, per
 * product, the largest difference from the TypeScript reference relative to
 * 1 + |reference|. Started with FEDPLORA_GEMM=blas it exercises the BLAS
 * path that CPUs without AVX-512 take.
 */
import { createJsKernels } from '../../src/kernels/js-kernels.js';
import { loadNativeKernels, nativeBlasInfo } from '../../src/kernels/native-kernels.js';
import { createRng } from '../../src/util/random.js';

const loaded = loadNativeKernels();
if ('error' in loaded) throw new Error(loaded.error);
const native = loaded.kernels;
const js = createJsKernels();
const rng = createRng(7);
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
process.stdout.write(`${nativeBlasInfo()?.gemm}\n`);
for (const [m, n, k] of [
  [65, 97, 130],
  [200, 70, 300],
] as const) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const a = rand(m * k);
      const b = rand(k * n);
      const c = rand(m * n);
      const want = Float32Array.from(c);
      native.matmul(c, a, b, m, n, k, transA, transB, 1.5, -0.5);
      js.matmul(want, a, b, m, n, k, transA, transB, 1.5, -0.5);
      let worst = 0;
      want.forEach((w, i) => {
        worst = Math.max(worst, Math.abs((c[i] ?? Number.NaN) - w) / (1 + Math.abs(w)));
      });
      process.stdout.write(`${m}x${n}x${k} tA=${transA} tB=${transB} ${worst}\n`);
    }
  }
}
