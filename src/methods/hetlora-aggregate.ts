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
import type { LoraAdapter, LoraPair } from '../layers/lora-branch.js';
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

/**
 * weights[j][i]: client i's weight at rank index j (0 when r_i <= j), or
 * null for an index that keeps its value. `c` are the unnormalised weights
 * (mass times sparsity), `mass` the fallback when they are all zero.
 */
function indexWeights(ranks: readonly number[], c: readonly number[], mass: readonly number[], R: number, mode: HetLoraAggregation): (number[] | null)[] {
  const normalise = (members: number[]): number[] => {
    const w = new Array<number>(ranks.length).fill(0);
    const z = members.reduce((s, i) => s + c[i]!, 0);
    const m = members.reduce((s, i) => s + mass[i]!, 0);
    for (const i of members) w[i] = z > 0 ? c[i]! / z : m > 0 ? mass[i]! / m : 1 / members.length;
    return w;
  };
  const all = ranks.map((_, i) => i);
  const global = normalise(all);
  return Array.from({ length: R }, (_, j) => {
    const members = all.filter((i) => ranks[i]! > j);
    if (mode === 'paper') return global.map((w, i) => (ranks[i]! > j ? w : 0));
    return members.length > 0 ? normalise(members) : null;
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
  const ranks = updates.map((u) => u.adapter.rank);
  const maxRank = Math.max(...ranks);
  const mass = updates.map((u) => (o.weighting === 'examples' ? u.numExamples : 1));
  const norms = updates.map((u) => global.layers.map((_, l) => global.targets.map((t) => productNorm(u.adapter.layers[l]![t]!, u.adapter.rank))));
  const modelNorms = norms.map((n) => Math.sqrt(n.flat().reduce((s, x) => s + x * x, 0)));
  let noise = 0;
  let count = 0;
  global.layers.forEach((layer, l) => {
    global.targets.forEach((t, ti) => {
      const g = layer[t]!;
      const inF = g.A.length / R;
      const out = g.B.length / R;
      const c = updates.map((_, i) => mass[i]! * (o.sparsity === 'model' ? modelNorms[i]! : norms[i]![l]![ti]!));
      const weights = indexWeights(ranks, c, mass, R, o.aggregation);
      const sumA = new Float64Array(R * inF);
      const sumB = new Float64Array(out * R);
      const ideal = new Float32Array(out * inF);
      updates.forEach((u, i) => {
        const p = u.adapter.layers[l]![t]!;
        const r = u.adapter.rank;
        const Bw = new Float32Array(out * r);
        for (let j = 0; j < r; j++) {
          const w = weights[j]![i]!;
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
