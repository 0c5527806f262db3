/**
 * The reference of the bf16 product (Kernels.matmulBf16): a rounded to
 * bf16 as the native kernel rounds it, the weight widened exactly, products
 * summed in double. The native kernel sums in fp32, so the two differ only
 * by fp32 rounding of the sums.
 */
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
  const wide = new Float32Array(k * n);
  const bits = new Uint32Array(wide.buffer);
  // B (k,n) of the product, whichever way w is stored
  for (let p = 0; p < k; p++) {
    for (let j = 0; j < n; j++) bits[p * n + j] = (transW ? w[j * k + p]! : w[p * n + j]!) << 16;
  }
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = roundToBf16(a[i * k + p]!);
      if (av === 0) continue;
      const off = p * n;
      for (let j = 0; j < n; j++) row[j]! += av * wide[off + j]!;
    }
    const off = i * n;
    for (let j = 0; j < n; j++) c[off + j] = beta === 0 ? alpha * row[j]! : alpha * row[j]! + beta * c[off + j]!;
  }
}
