/**
 * A small seeded generator (xoshiro128**) so that every random choice in a
 * run (initialisation, sampling, shuffling) is reproducible from its seed and
 * its state can be saved in a checkpoint.
 */
import { at } from './checked.js';

export interface Rng {
  /** uniform in [0, 1) */
  next(): number;
  /** uniform integer in [0, n) */
  int(n: number): number;
  /** standard normal */
  normal(): number;
  /** the four 32-bit state words, for checkpoints */
  state(): [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes several integers (run seed, round, client id, ...) into one seed. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const next = splitmix32(h ^ (p >>> 0))();
    // the high word of p (seeds above 2^32) is mixed in too
    h = Math.imul(next ^ Math.floor(p / 4294967296), 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function createRng(seed: number, state?: [number, number, number, number]): Rng {
  const init = splitmix32(seed);
  const s = state ? Uint32Array.from(state) : Uint32Array.from([init(), init(), init(), init()]);
  if (s[0] === 0 && s[1] === 0 && s[2] === 0 && s[3] === 0) s[0] = 1;
  const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  };
  let spare: number | null = null;
  const next = (): number => nextU32() / 4294967296;
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    state: () => [at(s, 0, 'generator state'), at(s, 1, 'generator state'), at(s, 2, 'generator state'), at(s, 3, 'generator state')],
  };
}

export function fillUniform(x: Float32Array, rng: Rng, bound: number): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = (rng.next() * 2 - 1) * bound;
  return x;
}

export function fillNormal(x: Float32Array, rng: Rng, std: number, mean = 0): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = mean + std * rng.normal();
  return x;
}
