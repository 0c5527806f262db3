/**
 * Independent-oracle tests of the TypeScript reference kernels: matmul,
 * embedding, rmsnorm, rope and swiglu against the same functions built from
 * tfjs ops (forward) and tfjs autograd (backward), plus float64 central finite
 * differences of plain-JS forwards written from the math. Backward kernels are
 * called on non-zero gradient buffers, twice, to check they accumulate.
 * Attention is in kernels-oracle-attention.test.ts; cross entropy, the
 * elementwise helpers and AdamW in kernels-oracle-loss-optim.test.ts.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createJsKernels } from '../src/kernels/js-kernels.js';
import { at, defined } from '../src/util/checked.js';
import { assertClose, finiteDiff, initTf, makeRng, plus, randArray, ropeTables, scaled, t32, tfGrads, tfValues } from './helpers/oracle.js';

const K = createJsKernels();
before(initTf);

/**
 * Calls `backward` twice on buffers that start at `starts` and checks they end
 * at start + grad, then start + 2 grad (grads from the oracle).
 */
function checkAccumulates<S extends Float32Array[]>(
  what: string,
  starts: [...S],
  grads: ArrayLike<number>[],
  backward: (bufs: S) => void,
  atol = 1e-5,
  rtol = 1e-5,
): void {
  const cases = starts.map((start, i) => ({ start, grad: at(grads, i, `${what} oracle gradient`), buf: Float32Array.from(start) }));
  const bufs = cases.map((c) => c.buf) as S;
  backward(bufs);
  for (const [i, { start, grad, buf }] of cases.entries()) assertClose(buf, plus(start, grad), `${what} [grad ${i}] start + grad`, atol, rtol);
  backward(bufs);
  for (const [i, { start, grad, buf }] of cases.entries()) assertClose(buf, plus(start, scaled(grad, 2)), `${what} [grad ${i}] start + 2 grad`, 2 * atol, rtol);
}

test('matmul: all four transpose combos, alpha and beta, against tf.matMul', () => {
  const rand = makeRng(1);
  for (const [m, n, k] of [
    [5, 7, 3],
    [1, 1, 1],
    [4, 1, 9],
    [1, 6, 2],
  ] as const) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [alpha, beta] of [
          [1, 0],
          [0.75, 0],
          [1, 1],
          [-1.5, 0.25],
        ] as const) {
          const a = randArray(rand, m * k);
          const b = randArray(rand, k * n);
          const c0 = randArray(rand, m * n);
          const want = tfValues(() => {
            const ab = tf.matMul(t32(a, transA ? [k, m] : [m, k]), t32(b, transB ? [n, k] : [k, n]), transA, transB);
            return tf.add(tf.mul(ab, alpha), tf.mul(t32(c0, [m, n]), beta));
          });
          const c = Float32Array.from(c0);
          K.matmul(c, a, b, m, n, k, transA, transB, alpha, beta);
          assertClose(c, want, `matmul m=${m} n=${n} k=${k} tA=${transA} tB=${transB} alpha=${alpha} beta=${beta}`);
        }
      }
    }
  }
});

test('matmul: beta = 0 ignores whatever c held (even NaN)', () => {
  const rand = makeRng(2);
  const [m, n, k] = [3, 5, 4];
  const a = randArray(rand, m * k);
  const b = randArray(rand, k * n);
  const want = tfValues(() => tf.matMul(t32(a, [m, k]), t32(b, [k, n])));
  const c = new Float32Array(m * n).fill(NaN);
  K.matmul(c, a, b, m, n, k, false, false, 1, 0);
  assertClose(c, want, 'matmul beta=0 over NaN');
});

test('embedding forward gathers rows; backward scatters and accumulates (repeated ids add up)', () => {
  const rand = makeRng(3);
  const [V, C] = [6, 7];
  const ids = Int32Array.from([4, 0, 4, 5, 2, 4, 0]); // 4 three times, 0 twice, 1 and 3 never
  const N = ids.length;
  const table = randArray(rand, V * C);
  const want = tfValues(() => tf.gather(t32(table, [V, C]), tf.tensor1d(ids, 'int32')));
  const out = new Float32Array(N * C).fill(9);
  K.embeddingForward(out, ids, table, N, C);
  assert.deepEqual(out, want, 'embedding forward must copy rows exactly');

  const dout = randArray(rand, N * C);
  const [dtable] = tfGrads((tb) => tf.gather(tb, tf.tensor1d(ids, 'int32')), [[table, [V, C]]], dout);
  // Hand check of one repeated row: dtable[4] = dout[0] + dout[2] + dout[5].
  for (let c = 0; c < C; c++) {
    const hand = dout[0 * C + c]! + dout[2 * C + c]! + dout[5 * C + c]!;
    assertClose([dtable[4 * C + c]!], [hand], `tfjs oracle dtable[4][${c}]`);
  }
  checkAccumulates('embeddingBackward', [randArray(rand, V * C)], [dtable], ([dt]) => K.embeddingBackward(dt, dout, ids, N, C));

  // B=1/T=1 edge: one token.
  const one = new Float32Array(C);
  K.embeddingForward(one, Int32Array.from([5]), table, 1, C);
  assert.deepEqual(one, table.subarray(5 * C, 6 * C));
});

const EPS = 1e-5;

function rmsnormTf(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), EPS))), w);
}

function rmsnorm64([x, w]: [Float64Array, Float64Array], N: number, C: number): Float64Array {
  const out = new Float64Array(N * C);
  for (let i = 0; i < N; i++) {
    let ms = 0;
    for (let c = 0; c < C; c++) ms += x[i * C + c]! ** 2 / C;
    for (let c = 0; c < C; c++) out[i * C + c] = (x[i * C + c]! / Math.sqrt(ms + EPS)) * w[c]!;
  }
  return out;
}

test('rmsnorm forward (out and saved rstd) and backward (dinp, dweight, dweight null)', () => {
  const rand = makeRng(4);
  for (const [N, C] of [
    [5, 7],
    [1, 1],
    [1, 6],
    [3, 2],
  ] as const) {
    const x = randArray(rand, N * C, -2, 2);
    if (N >= 3) for (let c = 0; c < C; c++) x[2 * C + c] = x[2 * C + c]! * 1e-3; // a row where eps matters
    const w = randArray(rand, C, 0.5, 1.5);
    const tag = `rmsnorm N=${N} C=${C}`;
    const want = tfValues(() => rmsnormTf(t32(x, [N, C]), t32(w, [C])));
    const wantRstd = tfValues(() => tf.rsqrt(tf.add(tf.mean(tf.square(t32(x, [N, C])), -1), EPS)));
    const out = new Float32Array(N * C).fill(7);
    const rstd = new Float32Array(N).fill(7);
    K.rmsnormForward(out, rstd, x, w, N, C, EPS);
    assertClose(out, want, `${tag} out`);
    assertClose(rstd, wantRstd, `${tag} rstd`, 1e-5, 1e-5);

    const dout = randArray(rand, N * C);
    const [dx, dw] = tfGrads(
      rmsnormTf,
      [
        [x, [N, C]],
        [w, [C]],
      ],
      dout,
    );
    checkAccumulates(
      `${tag} backward`,
      [randArray(rand, N * C), randArray(rand, C)],
      [dx, dw],
      ([gx, gw]) => K.rmsnormBackward(gx, gw, dout, x, w, rstd, N, C),
      2e-5,
      1e-4,
    );
    checkAccumulates(`${tag} backward dweight=null`, [randArray(rand, N * C)], [dx], ([gx]) => K.rmsnormBackward(gx, null, dout, x, w, rstd, N, C), 2e-5, 1e-4);

    // Finite differences in float64 on a few coordinates.
    const gx = new Float32Array(N * C);
    const gw = new Float32Array(C);
    K.rmsnormBackward(gx, gw, dout, x, w, rstd, N, C);
    const f = (xs: [Float64Array, Float64Array]): Float64Array => rmsnorm64(xs, N, C);
    for (const i of [0, N * C - 1, Math.floor((N * C) / 2)]) {
      assertClose([at(gx, i, 'dinp')], [finiteDiff(f, [x, w], dout, 0, i)], `${tag} dinp[${i}] vs finite differences`, 2e-5, 1e-4);
    }
    for (const c of [0, C - 1]) {
      assertClose([at(gw, c, 'dweight')], [finiteDiff(f, [x, w], dout, 1, c)], `${tag} dweight[${c}] vs finite differences`, 2e-5, 1e-4);
    }
  }
});

/** Hugging Face: x * cat(cos, cos) + rotate_half(x) * cat(sin, sin), rotate_half(x) = cat(-x2, x1). */
function ropeTf(x: tf.Tensor, cos: Float32Array, sin: Float32Array, T: number, D: number): tf.Tensor {
  const [x1, x2] = tf.split(x, 2, -1);
  const rotated = tf.concat([tf.neg(defined(x2, 'second half of x')), defined(x1, 'first half of x')], -1);
  const c = tf.reshape(tf.concat([t32(cos, [T, D / 2]), t32(cos, [T, D / 2])], -1), [1, T, 1, D]);
  const s = tf.reshape(tf.concat([t32(sin, [T, D / 2]), t32(sin, [T, D / 2])], -1), [1, T, 1, D]);
  return tf.add(tf.mul(x, c), tf.mul(rotated, s));
}

/** float64 rope straight from the angles t * theta^(-2i/D), no tables. */
function rope64([x]: [Float64Array], B: number, T: number, nH: number, D: number): Float64Array {
  const half = D / 2;
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < nH; h++) {
        const o = ((b * T + t) * nH + h) * D;
        for (let i = 0; i < half; i++) {
          const a = t * 10000 ** ((-2 * i) / D);
          out[o + i] = x[o + i]! * Math.cos(a) - x[o + i + half]! * Math.sin(a);
          out[o + i + half] = x[o + i + half]! * Math.cos(a) + x[o + i]! * Math.sin(a);
        }
      }
  return out;
}

test('rope forward (also in place) and backward (accumulating), HF rotate-half, theta 10000', () => {
  const rand = makeRng(5);
  for (const [B, T, nH, D] of [
    [2, 5, 3, 6],
    [1, 1, 2, 4],
    [1, 7, 1, 2],
    [2, 3, 4, 10],
  ] as const) {
    const tag = `rope B=${B} T=${T} nHeads=${nH} D=${D}`;
    const n = B * T * nH * D;
    const { cos, sin } = ropeTables(T, D);
    const x = randArray(rand, n);
    const want = tfValues(() => ropeTf(t32(x, [B, T, nH, D]), cos, sin, T, D));
    const out = new Float32Array(n).fill(3);
    K.ropeForward(out, x, cos, sin, B, T, nH, D);
    assertClose(out, want, `${tag} forward`);
    assertClose(out, rope64([Float64Array.from(x)], B, T, nH, D), `${tag} forward vs float64 angles`);
    const inPlace = Float32Array.from(x);
    K.ropeForward(inPlace, inPlace, cos, sin, B, T, nH, D);
    assert.deepEqual(inPlace, out, `${tag} in-place forward must equal out-of-place`);

    const dout = randArray(rand, n);
    const [dx] = tfGrads((xt) => ropeTf(xt, cos, sin, T, D), [[x, [B, T, nH, D]]], dout);
    checkAccumulates(`${tag} backward`, [randArray(rand, n)], [dx], ([g]) => K.ropeBackward(g, dout, cos, sin, B, T, nH, D));

    const g = new Float32Array(n);
    K.ropeBackward(g, dout, cos, sin, B, T, nH, D);
    const f = (xs: [Float64Array]): Float64Array => rope64(xs, B, T, nH, D);
    for (const i of [0, n - 1, Math.floor(n / 2) + 1]) {
      assertClose([at(g, i, 'dinp')], [finiteDiff(f, [x], dout, 0, i)], `${tag} dinp[${i}] vs finite differences`, 2e-5, 1e-4);
    }
    // The backward is the inverse rotation: backward(forward(x)) == x.
    const back = new Float32Array(n);
    K.ropeBackward(back, out, cos, sin, B, T, nH, D);
    assertClose(back, x, `${tag} backward(forward(x)) == x`);
  }
});

function swigluTf(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
}

function swiglu64([gate, up]: [Float64Array, Float64Array]): Float64Array {
  return gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
}

test('swiglu forward and backward (dgate, dup accumulate), incl. large |gate|', () => {
  const rand = makeRng(6);
  for (const n of [7, 1, 33]) {
    const gate = randArray(rand, n, -4, 4);
    const up = randArray(rand, n, -2, 2);
    const want = tfValues(() => swigluTf(t32(gate, [n]), t32(up, [n])));
    const out = new Float32Array(n).fill(5);
    K.swigluForward(out, gate, up, n);
    assertClose(out, want, `swiglu n=${n} forward`);

    const dout = randArray(rand, n);
    const [dg, du] = tfGrads(
      swigluTf,
      [
        [gate, [n]],
        [up, [n]],
      ],
      dout,
    );
    checkAccumulates(`swiglu n=${n} backward`, [randArray(rand, n), randArray(rand, n)], [dg, du], ([a, b]) => K.swigluBackward(a, b, dout, gate, up, n));

    const gg = new Float32Array(n);
    const gu = new Float32Array(n);
    K.swigluBackward(gg, gu, dout, gate, up, n);
    for (const i of [0, n - 1]) {
      assertClose([at(gg, i, 'dgate')], [finiteDiff(swiglu64, [gate, up], dout, 0, i)], `swiglu dgate[${i}] vs finite differences`, 2e-5, 1e-4);
      assertClose([at(gu, i, 'dup')], [finiteDiff(swiglu64, [gate, up], dout, 1, i)], `swiglu dup[${i}] vs finite differences`, 2e-5, 1e-4);
    }
  }
  // Saturated gates stay finite and match the float64 formulas.
  const gate = Float32Array.from([-100, -30, -10, 0, 10, 30, 100, 700, -700]);
  const n = gate.length;
  const up = randArray(rand, n, 0.5, 1.5);
  const out = new Float32Array(n);
  K.swigluForward(out, gate, up, n);
  assertClose(out, swiglu64([Float64Array.from(gate), Float64Array.from(up)]), 'swiglu forward, large |gate|');
  const dout = randArray(rand, n);
  const gg = new Float32Array(n);
  const gu = new Float32Array(n);
  K.swigluBackward(gg, gu, dout, gate, up, n);
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  assertClose(
    gu,
    Array.from(gate, (g, i) => dout[i]! * g * sig(g)),
    'swiglu dup, large |gate|',
  );
  assertClose(
    gg,
    Array.from(gate, (g, i) => dout[i]! * up[i]! * sig(g) * (1 + g * (1 - sig(g)))),
    'swiglu dgate, large |gate|',
  );
});
