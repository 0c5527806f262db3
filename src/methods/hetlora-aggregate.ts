/**
 * HetLoRA's sparsity-weighted aggregation (Cho et al. 2024, Sec. 3 and
 * Fig. 2): every update is zero-padded to rank R, client i gets the weight
 * ||S_i|| / Z with S_i = B_i A_i and Z the sum of those norms over the
 * sampled clients, and the global modules become the weighted sum of the
 * padded modules. Index j therefore receives sum_{i: r_i > j} w_i a_ij: the
 * padding of the clients below j pulls it towards zero, and an index no
 * sampled client has becomes zero.
 *
 * `present-clients` (our variant) normalises index j over the clients that
 * have it, so the padding does not shrink it, and keeps an index nobody has.
 *
 * `weighting: examples` multiplies each client's sparsity weight by its
 * example count n_i (uniform: by 1, the paper's pure sparsity weights), so
 * methods can be compared under one weighting. `sparsity` says which norm:
 * per layer and target (`per-matrix`, default; the paper writes one weight
 * matrix) or one norm over the whole adapter (`model`). When every weight of
 * an index is 0 (all products zero) its clients are averaged by n_i or 1.
 */
import { layerPair, loraPair, type LoraAdapter, type LoraPair } from '../layers/lora-branch.js';
import { at, defined } from '../util/checked.js';
import type { MethodContext } from './method.js';
import { denseDelta, relativeError } from './noise.js';

export type HetLoraAggregation = 'paper' | 'present-clients';
export type HetLoraWeighting = 'uniform' | 'examples';
export type HetLoraSparsity = 'per-matrix' | 'model';

export interface AggregationOptions {
  aggregation: HetLoraAggregation;
  weighting: HetLoraWeighting;
  sparsity: HetLoraSparsity;
}

export interface HetLoraUpdate {
  adapter: LoraAdapter;
  numExamples: number;
}

/** The first k modules of a rank-R pair, as a rank-k pair (A shares memory, B is gathered). */
function leading(pair: LoraPair, R: number, k: number): LoraPair {
  const inF = pair.A.length / R;
  const out = pair.B.length / R;
  const B = new Float32Array(out * k);
  for (let q = 0; q < out; q++) for (let j = 0; j < k; j++) B[q * k + j] = pair.B[q * R + j]!;
  return { A: pair.A.subarray(0, k * inF), B };
}

/** ||B A||_F of one rank-r pair, from the r x r Gram matrices: sum_jk (B^T B)_jk (A A^T)_jk. */
export function productNorm(pair: LoraPair, r: number): number {
  const inF = pair.A.length / r;
  const out = pair.B.length / r;
  let sq = 0;
  for (let j = 0; j < r; j++) {
    for (let k = 0; k < r; k++) {
      let gb = 0;
      for (let o = 0; o < out; o++) gb += pair.B[o * r + j]! * pair.B[o * r + k]!;
      let ga = 0;
      for (let i = 0; i < inF; i++) ga += pair.A[j * inF + i]! * pair.A[k * inF + i]!;
      sq += gb * ga;
    }
  }
  return Math.sqrt(Math.max(0, sq));
}

/** A client's share of one layer and target: its rank, its unnormalised weight `c` (mass times sparsity) and its `mass`. */
interface Share {
  rank: number;
  c: number;
  mass: number;
}

/**
 * weights[j][i]: client i's weight at rank index j (0 when r_i <= j), or
 * null for an index that keeps its value. `mass` is the fallback when the
 * weights `c` of the clients are all zero.
 */
function indexWeights(shares: readonly Share[], R: number, mode: HetLoraAggregation): (number[] | null)[] {
  /** the weight of a member of `members` */
  const normalised = (members: readonly Share[]): ((s: Share) => number) => {
    const z = members.reduce((sum, s) => sum + s.c, 0);
    const m = members.reduce((sum, s) => sum + s.mass, 0);
    return (s) => (z > 0 ? s.c / z : m > 0 ? s.mass / m : 1 / members.length);
  };
  const global = normalised(shares);
  return Array.from({ length: R }, (_, j) => {
    if (mode === 'paper') return shares.map((s) => (s.rank > j ? global(s) : 0));
    const members = shares.filter((s) => s.rank > j);
    if (members.length === 0) return null;
    const weight = normalised(members);
    return shares.map((s) => (s.rank > j ? weight(s) : 0));
  });
}

/**
 * Aggregates into the rank-R `global` (in place). Returns the aggregation
 * noise (the weighted sum of products versus the product of the aggregated
 * factors over the indices trained this round), averaged over layers and
 * targets; null when there is no update.
 */
export function aggregateHetLora(ctx: MethodContext, global: LoraAdapter, updates: readonly HetLoraUpdate[], o: AggregationOptions): number | null {
  if (updates.length === 0) return null;
  const R = global.rank;
  const maxRank = Math.max(...updates.map((u) => u.adapter.rank));
  const clients = updates.map((u) => {
    const norms = global.layers.map((_, l) => global.targets.map((t) => productNorm(loraPair(u.adapter, l, t), u.adapter.rank)));
    return {
      rank: u.adapter.rank,
      mass: o.weighting === 'examples' ? u.numExamples : 1,
      /** norms[l][ti] of the products B A */
      norms,
      modelNorm: Math.sqrt(norms.flat().reduce((s, x) => s + x * x, 0)),
    };
  });
  let noise = 0;
  let count = 0;
  global.layers.forEach((layer, l) => {
    global.targets.forEach((t, ti) => {
      const g = layerPair(layer, t, l);
      const inF = g.A.length / R;
      const out = g.B.length / R;
      const shares = clients.map((x) => ({
        rank: x.rank,
        c: x.mass * (o.sparsity === 'model' ? x.modelNorm : at(at(x.norms, l, 'product norms of layer'), ti, 'product norm of target')),
        mass: x.mass,
      }));
      const weights = indexWeights(shares, R, o.aggregation);
      const sumA = new Float64Array(R * inF);
      const sumB = new Float64Array(out * R);
      const ideal = new Float32Array(out * inF);
      updates.forEach((u, i) => {
        const p = loraPair(u.adapter, l, t);
        const r = u.adapter.rank;
        const Bw = new Float32Array(out * r);
        for (let j = 0; j < r; j++) {
          // client i reaches index j, so the index has weights
          const w = at(defined(at(weights, j, 'rank-index weights'), `weights of rank index ${j}`), i, 'client weights');
          for (let x = 0; x < inF; x++) sumA[j * inF + x]! += w * p.A[j * inF + x]!;
          for (let q = 0; q < out; q++) {
            sumB[q * R + j]! += w * p.B[q * r + j]!;
            Bw[q * r + j] = w * p.B[q * r + j]!;
          }
        }
        denseDelta(ctx.kernels, { A: p.A, B: Bw }, r, 1, out, inF, ideal, true);
      });
      // paper: every index is the padded sum (zero where no client reaches); present-clients: untrained indices keep their value
      for (let j = 0; j < R; j++) {
        if (weights[j] === null) continue;
        for (let x = 0; x < inF; x++) g.A[j * inF + x] = sumA[j * inF + x]!;
        for (let q = 0; q < out; q++) g.B[q * R + j] = sumB[q * R + j]!;
      }
      noise += relativeError(denseDelta(ctx.kernels, leading(g, R, maxRank), maxRank, 1, out, inF), ideal);
      count++;
    });
  });
  return noise / count;
}
