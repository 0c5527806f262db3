/**
 * Independent-oracle tests of the reference causal grouped-query attention:
 * forward output and saved probabilities against a tfjs attention
 * (repeat_kv by gather, masked softmax, batched matmul) and a float64 plain-JS
 * attention; backward dq, dk, dv against tfjs autograd through the same graph,
 * on non-zero (accumulating) gradient buffers, plus float64 finite
 * differences.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createJsKernels } from '../src/kernels/js-kernels.js';
import { at } from '../src/util/checked.js';
import { assertClose, finiteDiff, initTf, makeRng, plus, randArray, scaled, t32, tfGrads, tfValues } from './helpers/oracle.js';

const K = createJsKernels();
before(initTf);

type Dims = readonly [B: number, T: number, H: number, G: number, D: number];

/** Query head h reads kv head floor(h / (H / G)). */
function kvHeadOf(h: number, H: number, G: number): number {
  return Math.floor(h / (H / G));
}

/** Causal GQA attention in tfjs ops; returns [out (B,T,H,D), probabilities (B,H,T,T)]. */
function attentionTf(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, [B, T, H, G, D]: Dims): [tf.Tensor, tf.Tensor] {
  const idx = tf.tensor1d(
    Array.from({ length: H }, (_, h) => kvHeadOf(h, H, G)),
    'int32',
  );
  const qh = tf.transpose(tf.reshape(q, [B, T, H, D]), [0, 2, 1, 3]);
  const kh = tf.transpose(tf.gather(tf.reshape(k, [B, T, G, D]), idx, 2), [0, 2, 1, 3]);
  const vh = tf.transpose(tf.gather(tf.reshape(v, [B, T, G, D]), idx, 2), [0, 2, 1, 3]);
  const scores = tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(D));
  const bias = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) bias[t * T + s] = -1e9;
  const p = tf.softmax(tf.add(scores, t32(bias, [T, T])));
  return [tf.transpose(tf.matMul(p, vh), [0, 2, 1, 3]), p];
}

/** float64 attention from the definition, for finite differences. */
function attention64([q, k, v]: [Float64Array, Float64Array, Float64Array], [B, T, H, G, D]: Dims): Float64Array {
  const out = new Float64Array(B * T * H * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const g = kvHeadOf(h, H, G);
        const w = new Float64Array(t + 1);
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[((b * T + t) * H + h) * D + d]! * k[((b * T + s) * G + g) * D + d]!;
          w[s] = Math.exp(dot / Math.sqrt(D));
        }
        const z = w.reduce((a, c) => a + c, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += (w[s]! / z) * v[((b * T + s) * G + g) * D + d]!;
          out[((b * T + t) * H + h) * D + d] = acc;
        }
      }
  return out;
}

const CONFIGS: Dims[] = [
  [2, 5, 4, 2, 6], // GQA, 2 query heads per kv head
  [1, 1, 4, 2, 6], // B=1, T=1
  [2, 3, 3, 1, 4], // MQA
  [1, 4, 3, 3, 5], // MHA, odd D
  [1, 6, 6, 2, 3], // 3 query heads per kv head
];

function inputs(rand: () => number, [B, T, H, G, D]: Dims): { q: Float32Array; k: Float32Array; v: Float32Array } {
  return {
    q: randArray(rand, B * T * H * D, -1.5, 1.5),
    k: randArray(rand, B * T * G * D, -1.5, 1.5),
    v: randArray(rand, B * T * G * D),
  };
}

test('attention forward: output and saved probabilities vs tfjs causal GQA and float64', () => {
  const rand = makeRng(11);
  for (const dims of CONFIGS) {
    const [B, T, H, G, D] = dims;
    const tag = `attention B=${B} T=${T} H=${H} G=${G} D=${D}`;
    const { q, k, v } = inputs(rand, dims);
    const wantOut = tfValues(() => attentionTf(t32(q, [B, T, H, D]), t32(k, [B, T, G, D]), t32(v, [B, T, G, D]), dims)[0]);
    const wantAtt = tfValues(() => attentionTf(t32(q, [B, T, H, D]), t32(k, [B, T, G, D]), t32(v, [B, T, G, D]), dims)[1]);
    const out = new Float32Array(B * T * H * D).fill(NaN);
    const att = new Float32Array(B * H * T * T).fill(NaN);
    K.attentionForward(out, att, q, k, v, B, T, H, G, D);
    assertClose(out, wantOut, `${tag} out vs tfjs`);
    assertClose(att, wantAtt, `${tag} att vs tfjs`);
    assertClose(out, attention64([Float64Array.from(q), Float64Array.from(k), Float64Array.from(v)], dims), `${tag} out vs float64`);
    for (let r = 0; r < B * H * T; r++) {
      const t = r % T;
      let sum = 0;
      for (let s = 0; s < T; s++) {
        const p = att[r * T + s]!;
        if (s > t) assert.equal(p, 0, `${tag} att row ${r} col ${s} above the diagonal must be exactly 0, got ${p}`);
        else sum += p;
      }
      assertClose([sum], [1], `${tag} att row ${r} sums to 1`);
    }
  }
});

test('attention forward, T=1: each query head returns the v of its kv head floor(h/(H/G))', () => {
  const [B, T, H, G, D] = [2, 1, 4, 2, 3];
  const rand = makeRng(12);
  const { q, k, v } = inputs(rand, [B, T, H, G, D]);
  const out = new Float32Array(B * H * D);
  const att = new Float32Array(B * H);
  K.attentionForward(out, att, q, k, v, B, T, H, G, D);
  const want = new Float32Array(B * H * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let d = 0; d < D; d++) {
        want[(b * H + h) * D + d] = v[(b * G + kvHeadOf(h, H, G)) * D + d]!;
      }
  assertClose(out, want, 'attention T=1 out == v[kv head]');
  assertClose(att, new Float32Array(B * H).fill(1), 'attention T=1 att == 1');
});

test('attention backward: dq, dk, dv vs tfjs autograd (accumulating) and float64 finite differences', () => {
  const rand = makeRng(13);
  for (const dims of CONFIGS) {
    const [B, T, H, G, D] = dims;
    const tag = `attention backward B=${B} T=${T} H=${H} G=${G} D=${D}`;
    const { q, k, v } = inputs(rand, dims);
    const out = new Float32Array(B * T * H * D);
    const att = new Float32Array(B * H * T * T);
    K.attentionForward(out, att, q, k, v, B, T, H, G, D);
    const dout = randArray(rand, out.length);
    const [gq, gk, gv] = tfGrads(
      (qt, kt, vt) => attentionTf(qt, kt, vt, dims)[0],
      [
        [q, [B, T, H, D]],
        [k, [B, T, G, D]],
        [v, [B, T, G, D]],
      ],
      dout,
    );
    const starts = [randArray(rand, q.length), randArray(rand, k.length), randArray(rand, v.length)] as const;
    const bufs = [Float32Array.from(starts[0]), Float32Array.from(starts[1]), Float32Array.from(starts[2])] as const;
    K.attentionBackward(bufs[0], bufs[1], bufs[2], dout, q, k, v, att, B, T, H, G, D);
    const names = ['dq', 'dk', 'dv'] as const;
    const checks = [
      { name: names[0], buf: bufs[0], start: starts[0], grad: gq },
      { name: names[1], buf: bufs[1], start: starts[1], grad: gk },
      { name: names[2], buf: bufs[2], start: starts[2], grad: gv },
    ];
    for (const { name, buf, start, grad } of checks) assertClose(buf, plus(start, grad), `${tag} ${name} == start + tfjs grad`, 2e-5, 1e-4);
    K.attentionBackward(bufs[0], bufs[1], bufs[2], dout, q, k, v, att, B, T, H, G, D);
    for (const { name, buf, start, grad } of checks) assertClose(buf, plus(start, scaled(grad, 2)), `${tag} ${name} == start + 2 tfjs grad`, 4e-5, 1e-4);

    const fresh = [new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length)] as const;
    K.attentionBackward(fresh[0], fresh[1], fresh[2], dout, q, k, v, att, B, T, H, G, D);
    const f = (xs: [Float64Array, Float64Array, Float64Array]): Float64Array => attention64(xs, dims);
    fresh.forEach((grad, which) => {
      const n = grad.length;
      for (const i of [0, n - 1, Math.floor(n / 3)]) {
        const fd = finiteDiff(f, [q, k, v], dout, which, i);
        assertClose([at(grad, i, `${tag} ${names[which]}`)], [fd], `${tag} ${names[which]}[${i}] vs finite differences`, 2e-5, 1e-4);
      }
    });
    if (T === 1) {
      // One position: the softmax is constant, so dq and dk get nothing.
      assertClose(fresh[0], new Float32Array(q.length), `${tag} dq == 0 at T=1`);
      assertClose(fresh[1], new Float32Array(k.length), `${tag} dk == 0 at T=1`);
    }
  }
});
