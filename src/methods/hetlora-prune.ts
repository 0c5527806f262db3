/**
 * HetLoRA's local rank self-pruning (Cho et al. 2024, Sec. 3). A client of
 * rank r adds to its local loss a penalty on its trailing ranks,
 *
 *     R = lambda * sum_{layers, targets} ||B[:, p:r]||_F * ||A[p:r, :]||_F,   p = floor(gamma r),
 *
 * (the last (1 - gamma) r columns of B and rows of A), and after local
 * training it prunes to rank p when that tail's norm product is smaller than
 * it was in the modules it received. gamma < 1 is the paper's decay factor.
 *
 * Ours where the paper is silent: the sum over every layer and target (the
 * paper writes one weight matrix); p is at least `minRank` (default 1), so a
 * client whose p would be below it neither pays the penalty nor prunes; at a
 * zero factor the gradient is the zero subgradient (as PyTorch's norm
 * backward gives). These norms are of the raw factors, without the LoRA scale.
 */
import { layerPair, loraPair, type LoraAdapter, type LoraPair } from '../layers/lora-branch.js';
import type { LoraRegularizer } from '../train/trainer.js';
import { axpy } from '../util/strided.js';

export interface SelfPruningOptions {
  /** the decay factor: a client of rank r prunes to floor(gamma r); 0 < gamma < 1 */
  gamma: number;
  /** weight of the tail penalty in the local loss; 0 keeps the pruning test without the penalty */
  lambda: number;
  /** no client is pruned below this rank */
  minRank: number;
}

/** Our defaults (we had no value from the paper): gamma = 0.99 prunes one rank at a time for r < 100; lambda = 0.01. */
export const DEFAULT_SELF_PRUNING: SelfPruningOptions = { gamma: 0.99, lambda: 0.01, minRank: 1 };

export function checkSelfPruning(o: SelfPruningOptions): void {
  if (!(o.gamma > 0 && o.gamma < 1)) throw new Error(`HetLoRA selfPruning.gamma must be between 0 and 1 (exclusive), got ${o.gamma}`);
  if (!(o.lambda >= 0 && Number.isFinite(o.lambda))) throw new Error(`HetLoRA selfPruning.lambda must be a finite number >= 0, got ${o.lambda}`);
  if (!Number.isInteger(o.minRank) || o.minRank < 1) throw new Error(`HetLoRA selfPruning.minRank must be a positive integer, got ${o.minRank}`);
}

/**
 * The rank a client of rank r prunes to: floor(gamma r), at least minRank and
 * at most r (r itself means it cannot prune). The 1e-9 keeps products such as
 * 0.29 * 100 = 28.999999999999996 at the rank meant.
 */
export function pruneTarget(r: number, o: SelfPruningOptions): number {
  return Math.min(r, Math.max(o.minRank, Math.floor(o.gamma * r + 1e-9)));
}

/** ||B[:, p:r]||_F and ||A[p:r, :]||_F of one rank-r pair. */
function tailNorms(pair: LoraPair, r: number, p: number): { a: number; b: number } {
  const inF = pair.A.length / r;
  const out = pair.B.length / r;
  let a = 0;
  for (let i = p * inF; i < r * inF; i++) {
    const x = pair.A[i];
    if (x === undefined) throw new RangeError(`A of a rank-${r} pair has no element ${i}`);
    a += x ** 2;
  }
  let b = 0;
  for (let o = 0; o < out; o++) {
    for (let j = p; j < r; j++) {
      const x = pair.B[o * r + j];
      if (x === undefined) throw new RangeError(`B of a rank-${r} pair has no element ${o * r + j}`);
      b += x ** 2;
    }
  }
  return { a: Math.sqrt(a), b: Math.sqrt(b) };
}

/** sum_{layers, targets} ||B[:, p:r]||_F ||A[p:r, :]||_F: the tail the penalty and the pruning test measure (0 when p = r). */
export function tailNorm(adapter: LoraAdapter, o: SelfPruningOptions): number {
  const r = adapter.rank;
  const p = pruneTarget(r, o);
  let total = 0;
  adapter.layers.forEach((layer, l) => {
    for (const t of adapter.targets) {
      const n = tailNorms(layerPair(layer, t, l), r, p);
      total += n.a * n.b;
    }
  });
  return total;
}

/**
 * The penalty lambda * tailNorm as a training regularizer. Its gradient, per
 * layer and target with a = ||A_tail||, b = ||B_tail||:
 *     dR/dA_tail = lambda b A_tail / a,   dR/dB_tail = lambda a B_tail / b,
 * and 0 for a factor whose tail is zero; the leading p ranks get none.
 */
export function tailRegularizer(o: SelfPruningOptions): LoraRegularizer {
  return (adapter, grad) => {
    const r = adapter.rank;
    const p = pruneTarget(r, o);
    if (grad.rank !== r) throw new Error(`regularizer: gradient of rank ${grad.rank} for an adapter of rank ${r}`);
    let total = 0;
    adapter.layers.forEach((layer, l) => {
      for (const t of adapter.targets) {
        const pair = layerPair(layer, t, l);
        const g = loraPair(grad, l, t);
        const { a, b } = tailNorms(pair, r, p);
        total += a * b;
        const inF = pair.A.length / r;
        const out = pair.B.length / r;
        if (a > 0) {
          const f = (o.lambda * b) / a;
          axpy((r - p) * inF, f, pair.A, p * inF, 1, g.A, p * inF, 1);
        }
        if (b > 0) {
          const f = (o.lambda * a) / b;
          // columns p..r-1 of B (out, r)
          for (let j = p; j < r; j++) axpy(out, f, pair.B, j, r, g.B, j, r);
        }
      }
    });
    return o.lambda * total;
  };
}
