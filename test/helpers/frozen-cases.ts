/**
 * Shapes and data for the tests of the products against frozen weights: odd
 * sizes around the native kernel's tile (8 rows, 32 columns) and block (64
 * rows, 256 k pairs) edges, both orientations, and the alpha/beta
 * combinations the layers use. Each case carries the weight as bf16 and as
 * int8 with per-channel scales.
 */
import { f32ToBf16 } from '../../src/io/float16.js';
import { quantizeInt8 } from '../../src/io/int8.js';
import { makeRng, randArray } from './oracle.js';

export interface FrozenCase {
  m: number;
  n: number;
  k: number;
  transW: boolean;
  alpha: number;
  beta: number;
  a: Float32Array;
  w: Uint16Array;
  q: Int8Array;
  /** one per output channel: (n) with transW, else (k) */
  scale: Float32Array;
  c: Float32Array;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [8, 32, 2],
  [9, 33, 3],
  [17, 31, 65],
  [64, 64, 511],
  [65, 70, 513],
  [130, 97, 40],
];

export function frozenCases(seed: number): FrozenCase[] {
  const rand = makeRng(seed);
  const out: FrozenCase[] = [];
  for (const [m, n, k] of SHAPES) {
    for (const transW of [true, false]) {
      for (const [alpha, beta] of [
        [1, 0],
        [0.5, 1],
        [-2, 0.25],
      ] as const) {
        const weight = randArray(rand, k * n);
        // W is (out, in): (n, k) with transW, (k, n) without; its rows are the output channels
        const int8 = transW ? quantizeInt8(weight, n, k) : quantizeInt8(weight, k, n);
        out.push({ m, n, k, transW, alpha, beta, a: randArray(rand, m * k), w: f32ToBf16(weight), q: int8.q, scale: int8.scale, c: randArray(rand, m * n) });
      }
    }
  }
  return out;
}
