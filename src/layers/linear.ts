/**
 * A linear projection y = x W^T + b, forward and backward. The LoRA branch
 * that may ride on it is in lora-branch.ts.
 */
import { bf16ToF32 } from '../io/float16.js';
import { dequantizeInt8 } from '../io/int8.js';
import type { Kernels } from '../kernels/kernels.js';

/**
 * A frozen weight held in less memory than fp32: bfloat16 bits, or int8
 * values with one scale per output channel (io/int8.ts). Products against it
 * run in the kernels' bf16 path; nothing trains it.
 */
export type FrozenWeight = { format: 'bf16'; bits: Uint16Array } | { format: 'int8'; q: Int8Array; scale: Float32Array };

/**
 * A frozen low-rank term beside a frozen weight: W_eff = W + scale B A, with
 * A (m, in) and B (out, m). Select-N-Fold folds a client's inactive modules
 * here when the base is bf16 or int8, where adding them into W would round
 * them away.
 */
export interface FoldedModules {
  A: Float32Array;
  B: Float32Array;
  scale: number;
}

/**
 * y = x W^T + b ; W is (out, in) as in torch.nn.Linear, held either as fp32
 * `weight` or, frozen, as `frozen` (then `weight` is null), plus `folded`
 * modules when a fold kept them apart.
 */
export interface Linear {
  weight: Float32Array | null;
  frozen?: FrozenWeight;
  folded?: FoldedModules;
  /**
   * Mixed-precision training (model/mixed-precision.ts): `weight` rounded to
   * bf16, which the forward and input-gradient products use while the weight
   * gradient and the update stay fp32. The trainer rounds it again after
   * every update.
   */
  bf16Copy?: Uint16Array;
  bias: Float32Array | null;
  outFeatures: number;
  inFeatures: number;
}

/** The effective W as fp32 (out, in): the weight itself, or a widened copy of a frozen one with its folded modules added. */
export function denseWeight(lin: Linear): Float32Array {
  if (lin.weight && !lin.folded) return lin.weight;
  const out = lin.weight ? Float32Array.from(lin.weight) : widened(lin);
  const g = lin.folded;
  if (g) {
    const m = g.A.length / lin.inFeatures;
    const inF = lin.inFeatures;
    for (let o = 0; o < lin.outFeatures; o++) {
      for (let c = 0; c < m; c++) {
        const b = g.scale * g.B[o * m + c]!;
        for (let i = 0; i < inF; i++) out[o * inF + i]! += b * g.A[c * inF + i]!;
      }
    }
  }
  return out;
}

function widened(lin: Linear): Float32Array {
  const f = lin.frozen;
  if (!f) throw new Error(`a linear projection (${lin.outFeatures}, ${lin.inFeatures}) holds no weight`);
  return f.format === 'bf16' ? bf16ToF32(f.bits) : dequantizeInt8(f, lin.inFeatures);
}

/** y (N,out) += scale (x A^T) B^T: the folded modules' term of the forward, in fp32. */
function foldedForward(k: Kernels, y: Float32Array, x: Float32Array, g: FoldedModules, lin: Linear, N: number): void {
  const m = g.A.length / lin.inFeatures;
  const h = new Float32Array(N * m);
  k.matmul(h, x, g.A, N, m, lin.inFeatures, false, true, 1, 0);
  k.matmul(y, h, g.B, N, lin.outFeatures, m, false, true, g.scale, 1);
}

/** dx (N,in) += scale (dy B) A: the folded modules' term of the input gradient. */
function foldedInputGrad(k: Kernels, dx: Float32Array, dy: Float32Array, g: FoldedModules, lin: Linear, N: number): void {
  const m = g.A.length / lin.inFeatures;
  const h = new Float32Array(N * m);
  k.matmul(h, dy, g.B, N, m, lin.outFeatures, false, false, 1, 0);
  k.matmul(dx, h, g.A, N, lin.inFeatures, m, false, false, g.scale, 1);
}

/** c (m,n) = alpha a (m,k) op(W) + beta c: transW gives a W^T (k = in), else a W (k = out). */
function productWithWeight(k: Kernels, c: Float32Array, a: Float32Array, lin: Linear, m: number, transW: boolean, alpha: number, beta: number): void {
  const [n, depth] = transW ? [lin.outFeatures, lin.inFeatures] : [lin.inFeatures, lin.outFeatures];
  const f = lin.frozen;
  if (lin.weight && lin.bf16Copy) k.matmulBf16(c, a, lin.bf16Copy, m, n, depth, transW, alpha, beta);
  else if (lin.weight) k.matmul(c, a, lin.weight, m, n, depth, false, transW, alpha, beta);
  else if (f?.format === 'bf16') k.matmulBf16(c, a, f.bits, m, n, depth, transW, alpha, beta);
  else if (f?.format === 'int8') k.matmulInt8(c, a, f.q, f.scale, m, n, depth, transW, alpha, beta);
  else throw new Error(`a linear projection (${lin.outFeatures}, ${lin.inFeatures}) holds no weight`);
}

// y is (N,out), x is (N,in)
export function linearForward(k: Kernels, y: Float32Array, x: Float32Array, lin: Linear, N: number): void {
  productWithWeight(k, y, x, lin, N, true, 1, 0);
  if (lin.folded) foldedForward(k, y, x, lin.folded, lin, N);
  if (lin.bias) addRowVector(y, lin.bias, N, lin.outFeatures);
}

/**
 * dx (N,in) += dy W (or = with overwriteDx, sparing the caller a zero fill);
 * dweight += dy^T x; dbias += column sums of dy. Null outputs are skipped.
 */
export function linearBackward(
  k: Kernels,
  dx: Float32Array | null,
  dweight: Float32Array | null,
  dbias: Float32Array | null,
  dy: Float32Array,
  x: Float32Array,
  lin: Linear,
  N: number,
  overwriteDx = false,
): void {
  const { outFeatures: out, inFeatures: inp } = lin;
  if (dx) productWithWeight(k, dx, dy, lin, N, false, 1, overwriteDx ? 0 : 1);
  if (dx && lin.folded) foldedInputGrad(k, dx, dy, lin.folded, lin, N);
  if (dweight) {
    if (!lin.weight) throw new Error(`full-parameter training needs fp32 weights; this projection holds its weight as ${lin.frozen?.format}`);
    k.matmul(dweight, dy, x, out, inp, N, true, false, 1, 1);
  }
  if (dbias) sumRowsInto(dbias, dy, N, out);
}

function addRowVector(y: Float32Array, bias: Float32Array, N: number, C: number): void {
  for (let i = 0; i < N; i++) {
    const o = i * C;
    for (let c = 0; c < C; c++) y[o + c]! += bias[c]!;
  }
}

function sumRowsInto(db: Float32Array, dy: Float32Array, N: number, C: number): void {
  for (let i = 0; i < N; i++) {
    const o = i * C;
    for (let c = 0; c < C; c++) db[c]! += dy[o + c]!;
  }
}
