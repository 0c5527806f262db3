/**
 * Shared helpers for the independent-oracle kernel tests: a seeded RNG,
 * tfjs setup (CPU backend, float32, no console banner), comparison with the
 * worst absolute difference in the message, tfjs autograd of
 * sum(f(inputs) * upstream), and float64 central finite differences.
 * This file holds no tests.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { at } from '../../src/util/checked.js';

let ready: Promise<void> | undefined;

/** Pure-JS CPU backend; prod mode silences the "use tfjs-node" banner. */
export function initTf(): Promise<void> {
  ready ??= (async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
    await tf.ready();
    assert.equal(tf.getBackend(), 'cpu');
  })();
  return ready;
}

/** mulberry32: small, seeded, reproducible. */
export function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [lo, hi), rounded to float32. */
export function randArray(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise and the
 * same length; the message names the worst absolute difference and where.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-5, rtol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  let worst = 0;
  let worstAt = -1;
  let bad = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const d = Math.abs(a - e);
    if (!(d <= atol + rtol * Math.abs(e))) {
      if (bad < 0) bad = i;
      if (Number.isNaN(d)) {
        worst = NaN;
        worstAt = i;
        break;
      }
    }
    if (d > worst) {
      worst = d;
      worstAt = i;
    }
  }
  const where = worstAt >= 0 ? ` at [${worstAt}] (got ${actual[worstAt]}, expected ${expected[worstAt]})` : '';
  assert.ok(bad < 0, `${what}: worst |diff| = ${worst}${where}; tolerance ${atol} + ${rtol}*|expected|; first failure at [${bad}]`);
}

/** Scalar version of assertClose. */
export function assertNear(actual: number, expected: number, what: string, atol = 1e-5, rtol = 1e-5): void {
  assertClose([actual], [expected], what, atol, rtol);
}

export function t32(data: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(data, shape, 'float32');
}

/** Runs a tfjs expression and returns its values as a Float32Array. */
export function tfValues(f: () => tf.Tensor): Float32Array {
  const t = tf.tidy(f);
  const out = Float32Array.from(t.dataSync() as Float32Array);
  t.dispose();
  return out;
}

/**
 * Gradients of sum(f(...inputs) * upstream) w.r.t. every input, by tfjs
 * autograd, one per input in order. inputs are [data, shape] pairs; upstream
 * has f's output shape.
 */
export function tfGrads<I extends Array<[Float32Array, number[]]>>(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: [...I],
  upstream: Float32Array,
): { [K in keyof I]: Float32Array } {
  const gs = tf.tidy(() => {
    const xs = inputs.map(([d, s]) => t32(d, s));
    const loss = (...ys: tf.Tensor[]): tf.Tensor => {
      const y = f(...ys);
      return tf.sum(tf.mul(y, t32(upstream, y.shape)));
    };
    return tf.grads(loss)(xs);
  });
  const out = gs.map((g) => Float32Array.from(g.dataSync() as Float32Array));
  tf.dispose(gs);
  return out as { [K in keyof I]: Float32Array };
}

export function plus(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

export function scaled(a: ArrayLike<number>, s: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! * s;
  return out;
}

/**
 * d/dx_i of sum(f64(inputs) * upstream) with respect to coordinate `coord`
 * of input `which`, by central differences in float64 (h = 1e-5).
 */
export function finiteDiff<I extends ArrayLike<number>[]>(
  f64: (xs: { [K in keyof I]: Float64Array }) => ArrayLike<number>,
  inputs: [...I],
  upstream: ArrayLike<number>,
  which: number,
  coord: number,
  h = 1e-5,
): number {
  const xs = inputs.map((x) => Float64Array.from(x));
  const loss = (): number => {
    const y = f64(xs as { [K in keyof I]: Float64Array });
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * upstream[i]!;
    return s;
  };
  const x = at(xs, which, 'finiteDiff input');
  const x0 = at(x, coord, 'finiteDiff coordinate');
  x[coord] = x0 + h;
  const lp = loss();
  x[coord] = x0 - h;
  const lm = loss();
  x[coord] = x0;
  return (lp - lm) / (2 * h);
}

/** RoPE tables (T, D/2) for positions 0..T-1, theta 10000, as float32. */
export function ropeTables(T: number, D: number, theta = 10000): { cos: Float32Array; sin: Float32Array } {
  const half = D / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t / theta ** ((2 * i) / D);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
