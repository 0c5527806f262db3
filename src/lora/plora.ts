/**
 * PLoRA: a rank-R adapter seen as R one-rank modules (module j is row j of A
 * and column j of B) with one shared scale alpha / R. A client trains a subset
 * of modules; the others are folded into a copy of the frozen weight,
 *   W = W0 + scale * sum_{j inactive} b_j a_j^T,
 * always rebuilt from the pristine W0, so unfolding is exact: drop the copy.
 */
import type { Kernels } from '../kernels/kernels.js';
import { denseWeight, type Linear } from '../layers/linear.js';
import type { ModelWeights } from '../model/weights.js';
import { buildLoraLike } from './adapter.js';
import { layerPair, loraPair, type LoraAdapter, type LoraPair } from '../layers/lora-branch.js';
import { copy } from '../util/strided.js';

export function checkModuleIds(ids: readonly number[], R: number): void {
  const seen = new Set<number>();
  for (const j of ids) {
    if (!Number.isInteger(j) || j < 0 || j >= R) throw new Error(`module id ${j} is outside 0..${R - 1}`);
    if (seen.has(j)) throw new Error(`module id ${j} is selected twice`);
    seen.add(j);
  }
}

export function complementIds(ids: readonly number[], R: number): number[] {
  const set = new Set(ids);
  return Array.from({ length: R }, (_, j) => j).filter((j) => !set.has(j));
}

/** Copies modules `ids` of one pair into compact (m, in) and (out, m) arrays. */
export function gatherModules(pair: LoraPair, R: number, ids: readonly number[]): LoraPair {
  const inF = pair.A.length / R;
  const outF = pair.B.length / R;
  const m = ids.length;
  const A = new Float32Array(m * inF);
  const B = new Float32Array(outF * m);
  ids.forEach((j, c) => {
    A.set(pair.A.subarray(j * inF, (j + 1) * inF), c * inF);
    // column j of pair.B (out, R) to column c of B (out, m)
    copy(outF, pair.B, j, R, B, c, m);
  });
  return { A, B };
}

/** Writes compact modules back into the rank-R pair at positions `ids`. */
export function scatterModules(pair: LoraPair, R: number, compact: LoraPair, ids: readonly number[]): void {
  const inF = pair.A.length / R;
  const outF = pair.B.length / R;
  const m = ids.length;
  ids.forEach((j, c) => {
    pair.A.set(compact.A.subarray(c * inF, (c + 1) * inF), j * inF);
    copy(outF, compact.B, c, m, pair.B, j, R);
  });
}

/** The trainable part of a client: modules `ids` as a rank-|ids| adapter with the global scale. */
export function extractActive(global: LoraAdapter, ids: readonly number[]): LoraAdapter {
  checkModuleIds(ids, global.rank);
  return buildLoraLike(global, ids.length, (pair) => gatherModules(pair, global.rank, ids));
}

/** Puts a client's trained modules back into a rank-R adapter at positions `ids`. */
export function mergeActive(global: LoraAdapter, active: LoraAdapter, ids: readonly number[]): void {
  if (active.rank !== ids.length) throw new Error(`adapter has ${active.rank} modules but ${ids.length} ids were given`);
  global.layers.forEach((layer, l) => {
    for (const t of global.targets) scatterModules(layerPair(layer, t, l), global.rank, loraPair(active, l, t), ids);
  });
}

/**
 * A copy of `base` whose targeted projections carry the modules that are not
 * in `activeIds`, folded from the pristine weights. Untargeted tensors are
 * shared with `base`, never written.
 */
export function foldInactive(k: Kernels, base: ModelWeights, global: LoraAdapter, activeIds: readonly number[]): ModelWeights {
  checkModuleIds(activeIds, global.rank);
  const inactive = complementIds(activeIds, global.rank);
  return {
    ...base,
    layers: base.layers.map((layer, l) => {
      const proj = { ...layer.proj };
      for (const t of global.targets) proj[t] = foldOne(k, layer.proj[t], global, loraPair(global, l, t), inactive);
      return { ...layer, proj };
    }),
  };
}

function foldOne(k: Kernels, lin: Linear, global: LoraAdapter, pair: LoraPair, inactive: number[]): Linear {
  if (!lin.weight && inactive.length === 0) return lin;
  if (!lin.weight && !lin.folded) {
    // A bf16 or int8 weight would round the modules away: they stay beside it, frozen, in fp32.
    const c = gatherModules(pair, global.rank, inactive);
    return { ...lin, folded: { A: c.A, B: c.B, scale: global.scale } };
  }
  // fp32, or a second fold onto a frozen weight (FLoRA merges every round): an fp32 copy takes the modules
  const weight = lin.weight ? Float32Array.from(lin.weight) : denseWeight(lin);
  if (inactive.length > 0) {
    const c = gatherModules(pair, global.rank, inactive);
    // W (out,in) += scale * B_inactive (out,m) @ A_inactive (m,in)
    k.matmul(weight, c.B, c.A, lin.outFeatures, lin.inFeatures, inactive.length, false, false, global.scale, 1);
  }
  return { weight, bias: lin.bias, outFeatures: lin.outFeatures, inFeatures: lin.inFeatures };
}
