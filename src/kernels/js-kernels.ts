/**
 * The reference implementation of the kernel interface in plain TypeScript:
 * slow, obvious loops that tests trust, and the fallback when the native
 * addon is not built. Reductions accumulate in double (JS numbers).
 */
import type { Kernels } from './kernels.js';
import { matmulBf16, matmulInt8 } from './js-frozen.js';

function matmul(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  beta: number,
): void {
  // i-p-j order keeps the inner loop contiguous when b is not transposed.
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + i]! : a[i * k + p]!;
      if (av === 0) continue;
      if (transB) {
        for (let j = 0; j < n; j++) row[j]! += av * b[j * k + p]!;
      } else {
        const off = p * n;
        for (let j = 0; j < n; j++) row[j]! += av * b[off + j]!;
      }
    }
    const off = i * n;
    for (let j = 0; j < n; j++) {
      c[off + j] = beta === 0 ? alpha * row[j]! : alpha * row[j]! + beta * c[off + j]!;
    }
  }
}

function embeddingForward(out: Float32Array, ids: Int32Array, table: Float32Array, N: number, C: number): void {
  for (let i = 0; i < N; i++) out.set(table.subarray(ids[i]! * C, ids[i]! * C + C), i * C);
}

function embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, N: number, C: number): void {
  for (let i = 0; i < N; i++) {
    const t = ids[i]! * C;
    for (let c = 0; c < C; c++) dtable[t + c]! += dout[i * C + c]!;
  }
}

function rmsnormForward(out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): void {
  for (let i = 0; i < N; i++) {
    const o = i * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[o + c]! * inp[o + c]!;
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[i] = r;
    for (let c = 0; c < C; c++) out[o + c] = inp[o + c]! * r * weight[c]!;
  }
}

function rmsnormBackward(
  dinp: Float32Array,
  dweight: Float32Array | null,
  dout: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
): void {
  for (let i = 0; i < N; i++) {
    const o = i * C;
    const r = rstd[i]!;
    // y = x r w ; dx = r (w dy) - x r^3 / C * sum(w dy x)
    let dot = 0;
    for (let c = 0; c < C; c++) dot += weight[c]! * dout[o + c]! * inp[o + c]!;
    const k = (dot * r * r * r) / C;
    for (let c = 0; c < C; c++) {
      dinp[o + c]! += r * weight[c]! * dout[o + c]! - k * inp[o + c]!;
      if (dweight) dweight[c]! += dout[o + c]! * inp[o + c]! * r;
    }
  }
}

function rope(
  out: Float32Array,
  inp: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  B: number,
  T: number,
  nHeads: number,
  D: number,
  direction: 1 | -1,
  accumulate: boolean,
): void {
  const half = D / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < nHeads; h++) {
        const o = ((b * T + t) * nHeads + h) * D;
        for (let i = 0; i < half; i++) {
          const co = cos[t * half + i]!;
          const si = direction * sin[t * half + i]!;
          const x1 = inp[o + i]!;
          const x2 = inp[o + i + half]!;
          const y1 = x1 * co - x2 * si;
          const y2 = x2 * co + x1 * si;
          if (accumulate) {
            out[o + i]! += y1;
            out[o + i + half]! += y2;
          } else {
            out[o + i] = y1;
            out[o + i + half] = y2;
          }
        }
      }
    }
  }
}

function attentionForward(
  out: Float32Array,
  att: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  T: number,
  H: number,
  G: number,
  D: number,
): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / G;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * D;
        const ao = ((b * H + h) * T + t) * T;
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          const ko = ((b * T + s) * G + g) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d]! * k[ko + d]!;
          att[ao + s] = dot * scale;
          if (att[ao + s]! > max) max = att[ao + s]!;
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) {
          const e = Math.exp(att[ao + s]! - max);
          att[ao + s] = e;
          sum += e;
        }
        for (let s = 0; s <= t; s++) att[ao + s] = att[ao + s]! / sum;
        for (let s = t + 1; s < T; s++) att[ao + s] = 0;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += att[ao + s]! * v[((b * T + s) * G + g) * D + d]!;
          out[qo + d] = acc;
        }
      }
    }
  }
}

function attentionBackward(
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  dout: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  att: Float32Array,
  B: number,
  T: number,
  H: number,
  G: number,
  D: number,
): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / G;
  const datt = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * D;
        const ao = ((b * H + h) * T + t) * T;
        // out = P V: dP = dout V^T, dV += P^T dout
        let rowDot = 0;
        for (let s = 0; s <= t; s++) {
          const vo = ((b * T + s) * G + g) * D;
          let acc = 0;
          for (let d = 0; d < D; d++) {
            acc += dout[qo + d]! * v[vo + d]!;
            dv[vo + d]! += att[ao + s]! * dout[qo + d]!;
          }
          datt[s] = acc;
          rowDot += acc * att[ao + s]!;
        }
        // softmax backward: dS = P (dP - sum(P dP)), then through the scale
        for (let s = 0; s <= t; s++) {
          const ds = att[ao + s]! * (datt[s]! - rowDot) * scale;
          const ko = ((b * T + s) * G + g) * D;
          for (let d = 0; d < D; d++) {
            dq[qo + d]! += ds * k[ko + d]!;
            dk[ko + d]! += ds * q[qo + d]!;
          }
        }
      }
    }
  }
}

function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

function swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = silu(gate[i]!) * up[i]!;
}

function swigluBackward(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = gate[i]!;
    const sig = 1 / (1 + Math.exp(-x));
    dup[i]! += dout[i]! * x * sig;
    dgate[i]! += dout[i]! * up[i]! * sig * (1 + x * (1 - sig));
  }
}

function logSumExp(logits: Float32Array, o: number, V: number): number {
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (logits[o + j]! > max) max = logits[o + j]!;
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j]! - max);
  return max + Math.log(sum);
}

function crossEntropyForward(losses: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void {
  for (let i = 0; i < N; i++) {
    const t = targets[i]!;
    losses[i] = t < 0 ? 0 : logSumExp(logits, i * V, V) - logits[i * V + t]!;
  }
}

function crossEntropyBackward(dlogits: Float32Array, logits: Float32Array, targets: Int32Array, dlosses: Float32Array, N: number, V: number): void {
  for (let i = 0; i < N; i++) {
    const o = i * V;
    const t = targets[i]!;
    if (t < 0) {
      dlogits.fill(0, o, o + V);
      continue;
    }
    const lse = logSumExp(logits, o, V);
    const w = dlosses[i]!;
    for (let j = 0; j < V; j++) dlogits[o + j] = Math.exp(logits[o + j]! - lse) * w;
    dlogits[o + t]! -= w;
  }
}

function add(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
}

function sumSquares(x: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]! * x[i]!;
  return s;
}

function scale(x: Float32Array, s: number, n: number): void {
  for (let i = 0; i < n; i++) x[i] = x[i]! * s;
}

function adamw(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const c1 = 1 - beta1 ** step;
  const c2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    m[i] = beta1 * m[i]! + (1 - beta1) * g;
    v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
    const mhat = m[i]! / c1;
    const vhat = v[i]! / c2;
    param[i] = param[i]! - lr * (mhat / (Math.sqrt(vhat) + eps) + weightDecay * param[i]!);
  }
}

export function createJsKernels(): Kernels {
  return {
    name: 'js',
    matmul,
    matmulBf16,
    matmulInt8,
    embeddingForward,
    embeddingBackward,
    rmsnormForward,
    rmsnormBackward,
    ropeForward: (out, inp, cos, sin, B, T, nHeads, D) => rope(out, inp, cos, sin, B, T, nHeads, D, 1, false),
    ropeBackward: (dinp, dout, cos, sin, B, T, nHeads, D) => rope(dinp, dout, cos, sin, B, T, nHeads, D, -1, true),
    attentionForward,
    attentionBackward,
    swigluForward,
    swigluBackward,
    crossEntropyForward,
    crossEntropyBackward,
    add,
    sumSquares,
    scale,
    adamw,
  };
}
