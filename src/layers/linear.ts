/**
 * A linear projection y = x W^T + b, forward and backward. The LoRA branch
 * that may ride on it is in lora-branch.ts.
 */
import type { Kernels } from '../kernels/kernels.js';

/** y = x W^T + b ; weight is (out, in) as in torch.nn.Linear */
export interface Linear {
  weight: Float32Array;
  bias: Float32Array | null;
  outFeatures: number;
  inFeatures: number;
}

// y is (N,out), x is (N,in)
export function linearForward(k: Kernels, y: Float32Array, x: Float32Array, lin: Linear, N: number): void {
  k.matmul(y, x, lin.weight, N, lin.outFeatures, lin.inFeatures, false, true, 1, 0);
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
  if (dx) k.matmul(dx, dy, lin.weight, N, inp, out, false, false, 1, overwriteDx ? 0 : 1);
  if (dweight) k.matmul(dweight, dy, x, out, inp, N, true, false, 1, 1);
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
