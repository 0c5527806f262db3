/**
 * `npm run bench:gemm`: products against a frozen weight, the fp32 matmul vs the
 * bf16 and int8 kernels, on the projection shapes of the step presets (N = B*T
 * rows). All run interleaved in one process, so the ratios hold on a busy
 * machine even when the absolute figures do not. One JSON line per shape and
 * direction: forward y = x W^T and input gradient dx = dy W.
 */
import { f32ToBf16 } from '../src/io/float16.js';
import { quantizeInt8 } from '../src/io/int8.js';
import { getKernels } from '../src/kernels/index.js';
import { nativeBf16Kernel } from '../src/kernels/native-kernels.js';

const SHAPES: { preset: string; N: number; out: number; in: number; what: string }[] = [
  { preset: 'tiny', N: 1024, out: 256, in: 256, what: 'q/k/v/o' },
  { preset: 'tiny', N: 1024, out: 688, in: 256, what: 'gate/up' },
  { preset: 'tiny', N: 1024, out: 256, in: 688, what: 'down' },
  { preset: 'small', N: 1024, out: 512, in: 512, what: 'q/k/v/o' },
  { preset: 'small', N: 1024, out: 1376, in: 512, what: 'gate/up' },
  { preset: 'small', N: 1024, out: 512, in: 1376, what: 'down' },
  { preset: 'smollm2-135m', N: 512, out: 576, in: 576, what: 'q/o' },
  { preset: 'smollm2-135m', N: 512, out: 192, in: 576, what: 'k/v' },
  { preset: 'smollm2-135m', N: 512, out: 1536, in: 576, what: 'gate/up' },
  { preset: 'smollm2-135m', N: 512, out: 576, in: 1536, what: 'down' },
];

const k = getKernels();
if (k.name !== 'native') throw new Error('bench:gemm measures the native kernels; the addon is not loaded');

function best(f: () => void, reps: number): number {
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

process.stdout.write(`${JSON.stringify({ bf16Kernel: nativeBf16Kernel() })}\n`);
for (const s of SHAPES) {
  const x = Float32Array.from({ length: s.N * s.in }, (_, i) => Math.sin(i));
  const dy = Float32Array.from({ length: s.N * s.out }, (_, i) => Math.cos(i));
  const w = Float32Array.from({ length: s.out * s.in }, (_, i) => Math.sin(i * 0.37) * 0.05);
  const wb = f32ToBf16(w);
  const wq = quantizeInt8(w, s.out, s.in);
  const y = new Float32Array(s.N * s.out);
  const dx = new Float32Array(s.N * s.in);
  const flops = 2 * s.N * s.out * s.in;
  const runs = {
    forward: [
      () => k.matmul(y, x, w, s.N, s.out, s.in, false, true, 1, 0),
      () => k.matmulBf16(y, x, wb, s.N, s.out, s.in, true, 1, 0),
      () => k.matmulInt8(y, x, wq.q, wq.scale, s.N, s.out, s.in, true, 1, 0),
    ],
    inputGrad: [
      () => k.matmul(dx, dy, w, s.N, s.in, s.out, false, false, 1, 0),
      () => k.matmulBf16(dx, dy, wb, s.N, s.in, s.out, false, 1, 0),
      () => k.matmulInt8(dx, dy, wq.q, wq.scale, s.N, s.in, s.out, false, 1, 0),
    ],
  } as const;
  for (const [direction, [fp32, bf16, int8]] of Object.entries(runs)) {
    let tf = Infinity;
    let tb = Infinity;
    let ti = Infinity;
    for (let round = 0; round < 5; round++) {
      tf = Math.min(tf, best(fp32, 3));
      tb = Math.min(tb, best(bf16, 3));
      ti = Math.min(ti, best(int8, 3));
    }
    const line = {
      preset: s.preset,
      projection: s.what,
      direction,
      N: s.N,
      out: s.out,
      in: s.in,
      fp32Gflops: +(flops / tf / 1e6).toFixed(1),
      bf16Gflops: +(flops / tb / 1e6).toFixed(1),
      int8Gflops: +(flops / ti / 1e6).toFixed(1),
      bf16OverFp32: +(tf / tb).toFixed(2),
      int8OverFp32: +(tf / ti).toFixed(2),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}
