/**
 * Client resources: each client's LoRA rank, from an explicit list, a named
 * distribution, or a memory budget converted to the largest rank that fits
 * beside the frozen base model (held in the run's precision: a bf16 or int8
 * base leaves more of a budget to the adapter).
 */
import { at } from '../util/checked.js';
import { createRng, mixSeed } from '../util/random.js';
import type { ModelConfig } from '../model/config.js';
import { projectionShape } from '../model/weights.js';
import type { TargetName } from '../layers/projections.js';

export type RankSpec =
  | { kind: 'list'; ranks: number[] }
  | { kind: 'uniform'; choices: number[] }
  | { kind: 'heavy-tail'; choices: number[] }
  /** baseBytes: the frozen base model at the run's precision, which every budget must hold first */
  | { kind: 'memory'; budgetsMb: number[]; batchSize: number; seqLen: number; baseBytes: number };

/**
 * Bytes a client needs to train LoRA of rank r beyond the frozen model and
 * activations: the adapter, its gradient and two AdamW moments (4 copies),
 * plus the saved (r, N) hidden values of every targeted projection.
 */
export function loraTrainingBytes(config: ModelConfig, targets: readonly TargetName[], r: number, tokens: number): number {
  let perRank = 0;
  for (const t of targets) {
    const [out, inF] = projectionShape(config, t);
    perRank += 4 * (out + inF) + tokens;
  }
  return 4 * r * perRank * config.numLayers;
}

export function clientRanks(
  spec: RankSpec,
  clients: number,
  R: number,
  seed: number,
  model?: { config: ModelConfig; targets: readonly TargetName[] },
): number[] {
  const check = (r: number, where: string): number => {
    if (!Number.isInteger(r) || r < 1) throw new Error(`${where}: rank ${r} must be a positive integer`);
    if (r > R) throw new Error(`${where}: rank ${r} exceeds the global rank R = ${R}`);
    return r;
  };
  const rng = createRng(mixSeed(seed, 0x4a4c));
  switch (spec.kind) {
    case 'list':
      if (spec.ranks.length !== clients) throw new Error(`ranks lists ${spec.ranks.length} ranks for ${clients} clients`);
      return spec.ranks.map((r, i) => check(r, `ranks[${i}]`));
    case 'uniform':
      return Array.from({ length: clients }, () => check(at(spec.choices, rng.int(spec.choices.length), 'ranks.choices'), 'ranks.choices'));
    case 'heavy-tail': {
      // P(choice i) proportional to 2^-i: most clients small, a few large.
      const sorted = [...spec.choices].sort((a, b) => a - b);
      const weights = sorted.map((_, i) => 2 ** -i);
      const total = weights.reduce((a, b) => a + b, 0);
      return Array.from({ length: clients }, () => {
        let u = rng.next() * total;
        // rounding may leave u >= 0 after the last weight: then the last choice
        let i = sorted.length - 1;
        for (const [k, w] of weights.entries()) {
          u -= w;
          if (u < 0) {
            i = k;
            break;
          }
        }
        return check(at(sorted, i, 'ranks.choices'), 'ranks.choices');
      });
    }
    case 'memory': {
      if (!model) throw new Error('memory budgets need the model to convert to ranks');
      if (spec.budgetsMb.length !== clients) throw new Error(`ranks.budgetsMb lists ${spec.budgetsMb.length} budgets for ${clients} clients`);
      return spec.budgetsMb.map((mb, i) => {
        const perRank = loraTrainingBytes(model.config, model.targets, 1, spec.batchSize * spec.seqLen);
        const r = Math.min(R, Math.floor((mb * 1024 * 1024 - spec.baseBytes) / perRank));
        const needs = (spec.baseBytes + perRank) / 1048576;
        if (r < 1) throw new Error(`ranks.budgetsMb[${i}]: ${mb} MB is below the ${needs.toFixed(2)} MB that the base model and rank 1 need`);
        return r;
      });
    }
  }
}
