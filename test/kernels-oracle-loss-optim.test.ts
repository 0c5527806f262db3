/**
 * Independent-oracle tests of the reference cross entropy (tfjs logSumExp /
 * one-hot graph and autograd, float64 finite differences), the elementwise
 * helpers add, sumSquares and scale, and AdamW against a hand-written closed
 * form of its first two steps.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createJsKernels } from '../src/kernels/js-kernels.js';
import { at } from '../src/util/checked.js';
import { assertClose, assertNear, finiteDiff, initTf, makeRng, randArray, t32, tfGrads, tfValues } from './helpers/oracle.js';

const K = createJsKernels();
before(initTf);

/** losses (N) = (logsumexp(logits) - logits[target]) * [target >= 0]. */
function ceTf(logits: tf.Tensor, targets: Int32Array, N: number, V: number): tf.Tensor {
  const hot = new Float32Array(N * V); // built by hand: tf.oneHot refuses V = 1
  targets.forEach((t, i) => {
    if (t >= 0) hot[i * V + t] = 1;
  });
  const onehot = t32(hot, [N, V]);
  const mask = t32(
    Float32Array.from(targets, (t) => (t < 0 ? 0 : 1)),
    [N],
  );
  return tf.mul(tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(logits, onehot), -1)), mask);
}

function ce64([logits]: [Float64Array], targets: Int32Array, N: number, V: number): Float64Array {
  const out = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    if (targets[i]! < 0) continue;
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[i * V + j]!);
    let z = 0;
    for (let j = 0; j < V; j++) z += Math.exp(logits[i * V + j]! - max);
    out[i] = max + Math.log(z) - logits[i * V + targets[i]!]!;
  }
  return out;
}

const CE_CASES: Array<[N: number, V: number, targets: number[]]> = [
  [5, 7, [3, -1, 0, 6, -100]],
  [1, 7, [2]],
  [1, 7, [-1]],
  [4, 1, [0, 0, -1, 0]],
  [3, 11, [10, 10, 4]],
];

test('cross entropy forward vs tfjs; targets < 0 give 0', () => {
  const rand = makeRng(21);
  for (const [N, V, tg] of CE_CASES) {
    const targets = Int32Array.from(tg);
    const logits = randArray(rand, N * V, -3, 3);
    const want = tfValues(() => ceTf(t32(logits, [N, V]), targets, N, V));
    const losses = new Float32Array(N).fill(NaN);
    K.crossEntropyForward(losses, logits, targets, N, V);
    assertClose(losses, want, `crossEntropyForward N=${N} V=${V}`);
    targets.forEach((t, i) => {
      if (t < 0) assert.equal(losses[i], 0, `ignored row ${i} loss must be 0`);
    });
  }
});

test('cross entropy backward vs tfjs autograd: per-row dlosses, overwrite, ignored rows, aliasing', () => {
  const rand = makeRng(22);
  for (const [N, V, tg] of CE_CASES) {
    const tag = `crossEntropyBackward N=${N} V=${V}`;
    const targets = Int32Array.from(tg);
    const logits = randArray(rand, N * V, -3, 3);
    const dlosses = randArray(rand, N, 0.1, 2); // a different weight per row
    const [want] = tfGrads((l) => ceTf(l, targets, N, V), [[logits, [N, V]]], dlosses);
    const dlogits = new Float32Array(N * V).fill(123); // overwritten, not accumulated
    K.crossEntropyBackward(dlogits, logits, targets, dlosses, N, V);
    assertClose(dlogits, want, `${tag} (buffer started at 123: must overwrite)`);
    for (let i = 0; i < N; i++) {
      if (targets[i]! < 0) {
        for (let j = 0; j < V; j++) assert.equal(dlogits[i * V + j], 0, `${tag} ignored row ${i} must be all 0`);
      }
    }
    const f = (xs: [Float64Array]): Float64Array => ce64(xs, targets, N, V);
    for (const idx of [0, N * V - 1, Math.max(0, at(targets, 0, 'first target'))]) {
      assertClose([at(dlogits, idx, 'dlogits')], [finiteDiff(f, [logits], dlosses, 0, idx)], `${tag} [${idx}] vs finite differences`, 2e-5, 1e-4);
    }
    const aliased = Float32Array.from(logits);
    K.crossEntropyBackward(aliased, aliased, targets, dlosses, N, V);
    assert.deepEqual(aliased, dlogits, `${tag}: dlogits aliasing logits must give the same result`);
  }
});

test('cross entropy with large logits stays finite and matches float64', () => {
  const rand = makeRng(23);
  const [N, V] = [3, 5];
  const targets = Int32Array.from([0, 4, 2]);
  const logits = randArray(rand, N * V, -3, 3);
  for (let j = 0; j < V; j++) {
    logits[j] = logits[j]! + 1000;
    logits[2 * V + j] = logits[2 * V + j]! - 1000;
  }
  logits[V + 1] = 500;
  const losses = new Float32Array(N);
  K.crossEntropyForward(losses, logits, targets, N, V);
  const want = ce64([Float64Array.from(logits)], targets, N, V);
  assertClose(losses, want, 'crossEntropyForward with +-1000 offsets and a 500 logit');
  const dlogits = new Float32Array(N * V);
  const dl = new Float32Array(N).fill(1);
  K.crossEntropyBackward(dlogits, logits, targets, dl, N, V);
  assert.ok(dlogits.every(Number.isFinite), 'dlogits must be finite');
  for (let i = 0; i < N; i++) {
    const rowSum = dlogits.subarray(i * V, i * V + V).reduce((a, b) => a + b, 0);
    assertNear(rowSum, 0, `dlogits row ${i} sums to 0`);
  }
});

test('add (incl. aliasing out=a, out=b), scale and sumSquares vs tfjs; n limits the range', () => {
  const rand = makeRng(24);
  const n = 9;
  const a = randArray(rand, n + 2);
  const b = randArray(rand, n + 2);
  const want = tfValues(() => tf.add(t32(a, [n + 2]), t32(b, [n + 2]))).subarray(0, n);
  const out = new Float32Array(n + 2).fill(4);
  K.add(out, a, b, n);
  assertClose(out.subarray(0, n), want, 'add', 0, 0);
  assert.deepEqual([out[n], out[n + 1]], [4, 4], 'add must not write past n');
  const aa = Float32Array.from(a);
  K.add(aa, aa, b, n);
  assertClose(aa.subarray(0, n), want, 'add out=a', 0, 0);
  const bb = Float32Array.from(b);
  K.add(bb, a, bb, n);
  assertClose(bb.subarray(0, n), want, 'add out=b', 0, 0);
  const self = Float32Array.from(a);
  K.add(self, self, self, n);
  assertClose(
    self.subarray(0, n),
    Array.from(a.subarray(0, n), (x) => 2 * x),
    'add out=a=b',
    0,
    0,
  );

  for (const s of [0.37, -2, 0, 1e-3]) {
    const x = Float32Array.from(a);
    K.scale(x, s, n);
    // s is a double: the product is x * s rounded once to float32 (tfjs rounds s first, so allow 1 ulp there).
    assertClose(
      x.subarray(0, n),
      Array.from(a.subarray(0, n), (y) => Math.fround(y * s)),
      `scale by ${s}`,
      0,
      0,
    );
    assertClose(x.subarray(0, n), tfValues(() => tf.mul(t32(a, [n + 2]), s)).subarray(0, n), `scale by ${s} vs tfjs`, 0, 2e-7);
    assert.deepEqual(x.subarray(n), a.subarray(n), 'scale must not write past n');
  }

  const wantSs = at(
    tfValues(() => tf.sum(tf.square(t32(a.subarray(0, n), [n])))),
    0,
    'tfjs sum of squares',
  );
  assertNear(K.sumSquares(a, n), wantSs, 'sumSquares vs tfjs');
  assert.equal(K.sumSquares(a, 0), 0);
  // 4096^2 = 2^24: float32 accumulation would drop the four 1s, double keeps them.
  const big = Float32Array.from([4096, 1, 1, 1, 1]);
  assert.equal(K.sumSquares(big, 5), 16777220, 'sumSquares must accumulate in double');
});

test('adamw: one and two steps against the closed form, with weight decay and bias correction', () => {
  const rand = makeRng(25);
  const n = 7;
  const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.1];
  const p0 = randArray(rand, n);
  const g1 = randArray(rand, n, -0.5, 0.5);
  const g2 = randArray(rand, n, -0.5, 0.5);
  g1[3] = 0; // zero gradient: only the decay moves the weight on step 1
  g2[5] = -at(g1, 5, 'g1[5]');
  const p = Float32Array.from(p0);
  const m = new Float32Array(n);
  const v = new Float32Array(n);

  K.adamw(p, g1, m, v, n, lr, b1, b2, eps, wd, 1);
  // Step 1: mhat = g, vhat = g^2, so the step is lr * (g / (|g| + eps) + wd p).
  const p1 = Array.from(p0, (x, i) => x - lr * (g1[i]! / (Math.abs(g1[i]!) + eps) + wd * x));
  assertClose(
    m,
    Array.from(g1, (g) => (1 - b1) * g),
    'adamw m after step 1',
    1e-7,
    1e-6,
  );
  assertClose(
    v,
    Array.from(g1, (g) => (1 - b2) * g * g),
    'adamw v after step 1',
    1e-9,
    1e-6,
  );
  assertClose(p, p1, 'adamw param after step 1', 1e-7, 1e-6);
  assertNear(at(p, 3, 'p[3]'), at(p0, 3, 'p0[3]') * (1 - lr * wd), 'adamw zero grad: pure decoupled decay', 1e-7, 1e-6);

  K.adamw(p, g2, m, v, n, lr, b1, b2, eps, wd, 2);
  const m2 = Float64Array.from(g1, (g, i) => b1 * (1 - b1) * g + (1 - b1) * g2[i]!);
  const v2 = Float64Array.from(g1, (g, i) => b2 * (1 - b2) * g * g + (1 - b2) * g2[i]! ** 2);
  const p2 = p1.map((x, i) => {
    const mhat = m2[i]! / (1 - b1 ** 2);
    const vhat = v2[i]! / (1 - b2 ** 2);
    return x - lr * (mhat / (Math.sqrt(vhat) + eps) + wd * x);
  });
  assertClose(m, m2, 'adamw m after step 2', 1e-7, 1e-6);
  assertClose(v, v2, 'adamw v after step 2', 1e-9, 1e-6);
  assertClose(p, p2, 'adamw param after step 2', 1e-7, 1e-6);

  // Without weight decay, step 1 moves every weight with a non-zero gradient by ~lr against its sign.
  const q = Float32Array.from(p0);
  K.adamw(q, g1, new Float32Array(n), new Float32Array(n), n, lr, b1, b2, eps, 0, 1);
  for (let i = 0; i < n; i++) {
    assertNear(q[i]!, p0[i]! - (g1[i] === 0 ? 0 : lr * Math.sign(g1[i]!)), `adamw wd=0 step 1 [${i}]`, 1e-6, 0);
  }
});
