/**
 * A frozen or trainable linear projection with an optional LoRA branch:
 * y = x W^T + b + scale * (x A^T) B^T.
 */
import type { Kernels } from '../kernels/kernels.js';
import type { LoraPair } from '../adapters/lora.js';
import type { Linear } from '../model/weights.js';

export interface LoraBranch {
  pair: LoraPair;
  rank: number;
  scale: number;
}

/** Gradients a linear may receive; a null entry is frozen and skipped. */
export interface LinearGrads {
  weight: Float32Array | null;
  bias: Float32Array | null;
  lora: LoraPair | null;
}

// y is (N,out), x is (N,in), h is (N,r) saved for backward
export function linearForward(
  k: Kernels, y: Float32Array, h: Float32Array | null, x: Float32Array, lin: Linear, lora: LoraBranch | null, N: number,
): void {
  const { outFeatures: out, inFeatures: inp } = lin;
  k.matmul(y, x, lin.weight, N, out, inp, false, true, 1, 0);
  if (lin.bias) addRowVector(y, lin.bias, N, out);
  if (lora) {
    if (!h) throw new Error('linearForward: LoRA needs a buffer for x A^T');
    k.matmul(h, x, lora.pair.A, N, lora.rank, inp, false, true, 1, 0);
    k.matmul(y, h, lora.pair.B, N, out, lora.rank, false, true, lora.scale, 1);
  }
}

/**
 * dx (N,in) += dy W (skipped when dx is null: nothing upstream needs it);
 * grads accumulate. dh is (N,r) scratch.
 */
export function linearBackward(
  k: Kernels, dx: Float32Array | null, grads: LinearGrads, dh: Float32Array | null,
  dy: Float32Array, x: Float32Array, h: Float32Array | null, lin: Linear, lora: LoraBranch | null, N: number,
): void {
  const { outFeatures: out, inFeatures: inp } = lin;
  if (dx) k.matmul(dx, dy, lin.weight, N, inp, out, false, false, 1, 1);
  if (grads.weight) k.matmul(grads.weight, dy, x, out, inp, N, true, false, 1, 1);
  if (grads.bias) sumRowsInto(grads.bias, dy, N, out);
  if (lora && (grads.lora || dx)) {
    if (!h || !dh) throw new Error('linearBackward: LoRA needs the saved x A^T and a scratch buffer');
    const r = lora.rank;
    k.matmul(dh, dy, lora.pair.B, N, r, out, false, false, lora.scale, 0);
    if (grads.lora) {
      k.matmul(grads.lora.B, dy, h, out, r, N, true, false, lora.scale, 1);
      k.matmul(grads.lora.A, dh, x, r, inp, N, true, false, 1, 1);
    }
    if (dx) k.matmul(dx, dh, lora.pair.A, N, inp, r, false, false, 1, 1);
  }
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
