/**
 * The references of the products against frozen weights (Kernels.matmulBf16
 * and matmulInt8): a rounded to bf16 as the native kernel rounds it, the
 * weight widened exactly, products summed in double. The native kernel sums
 * in fp32, so the two differ only by fp32 rounding of the sums.
 */
import { bf16ToF32 } from '../io/float16.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** x rounded to the nearest bf16 (ties to even), as an fp32 value; NaN stays NaN. */
export function roundToBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0] as number;
  if ((bits & 0x7fffffff) > 0x7f800000) return Number.NaN;
  u32[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16;
  return f32[0] as number;
}

/**
 * c (m,n) = alpha * product + beta * c, where product (m,n) = Σ_p bf16(a(i,p) as) B(p,j) bs, with
 * B(p,j) read from weightAt in the call's orientation and the scales as/bs per column of a and
 * of the product (1 for a bf16 weight).
 */
function frozenProduct(
  c: Float32Array,
  a: Float32Array,
  weightAt: (index: number) => number,
  m: number,
  n: number,
  k: number,
  transW: boolean,
  alpha: number,
  beta: number,
  aScale: (p: number) => number,
  productScale: (j: number) => number,
): void {
  const wide = new Float32Array(k * n);
  for (let p = 0; p < k; p++) {
    for (let j = 0; j < n; j++) wide[p * n + j] = weightAt(transW ? j * k + p : p * n + j);
  }
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = roundToBf16(a[i * k + p]! * aScale(p));
      if (av === 0) continue;
      const off = p * n;
      for (let j = 0; j < n; j++) row[j]! += av * wide[off + j]!;
    }
    const off = i * n;
    for (let j = 0; j < n; j++) {
      const v = alpha * (row[j]! * productScale(j));
      c[off + j] = beta === 0 ? v : v + beta * c[off + j]!;
    }
  }
}

const one = (): number => 1;

export function matmulBf16(
  c: Float32Array,
  a: Float32Array,
  w: Uint16Array,
  m: number,
  n: number,
  k: number,
  transW: boolean,
  alpha: number,
  beta: number,
): void {
  const wide = bf16ToF32(w);
  frozenProduct(c, a, (index) => wide[index]!, m, n, k, transW, alpha, beta, one, one);
}

/**
 * The int8 weight's scale belongs to its output channel, a row of W: the
 * product's column j in the forward (transW), a's column p in the input
 * gradient, where it multiplies a before the rounding, as the native kernel does.
 */
export function matmulInt8(
  c: Float32Array,
  a: Float32Array,
  q: Int8Array,
  scale: Float32Array,
  m: number,
  n: number,
  k: number,
  transW: boolean,
  alpha: number,
  beta: number,
): void {
  const channel = (i: number): number => scale[i]!;
  frozenProduct(c, a, (index) => q[index]!, m, n, k, transW, alpha, beta, transW ? one : channel, transW ? channel : one);
}
