/**
 * Shapes and data for the bf16 product's tests: odd sizes around the native
 * kernel's tile (8 rows, 32 columns) and block (64 rows, 256 k pairs) edges,
 * both orientations, and the alpha/beta combinations the layers use.
 */
import { f32ToBf16 } from '../../src/io/float16.js';
import { makeRng, randArray } from './oracle.js';

export interface Bf16Case {
  m: number;
  n: number;
  k: number;
  transW: boolean;
  alpha: number;
  beta: number;
  a: Float32Array;
  w: Uint16Array;
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

export function bf16Cases(seed: number): Bf16Case[] {
  const rand = makeRng(seed);
  const out: Bf16Case[] = [];
  for (const [m, n, k] of SHAPES) {
    for (const transW of [true, false]) {
      for (const [alpha, beta] of [
        [1, 0],
        [0.5, 1],
        [-2, 0.25],
      ] as const) {
        out.push({ m, n, k, transW, alpha, beta, a: randArray(rand, m * k), w: f32ToBf16(randArray(rand, k * n)), c: randArray(rand, m * n) });
      }
    }
  }
  return out;
}
