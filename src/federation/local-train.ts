/**
 * A client's local training: LoRA on its own examples for a number of steps
 * (or epochs), batches in an order seeded by (run seed, round, client), so a
 * resumed run repeats it exactly.
 */
import type { EncodedExample } from '../data/encode.js';
import { packedBatches, paddedBatches } from '../data/encode.js';
import { createModel } from '../model/llama.js';
import type { Kernels } from '../kernels/kernels.js';
import type { ModelConfig } from '../model/config.js';
import { createTrainer } from '../train/trainer.js';
import { at } from '../util/checked.js';
import { createRng, mixSeed } from '../util/random.js';
import type { LocalModel } from '../methods/method.js';
import type { AdamWOptions } from '../optim/adamw.js';

export interface LocalTrainingOptions {
  /** optimizer steps per round; when 0, `epochs` passes over the client's data */
  steps: number;
  epochs: number;
  batchSize: number;
  optimizer: Partial<AdamWOptions>;
  maxGradNorm: number;
  padId: number;
  /** concatenate examples into rows of this many tokens instead of padding each batch; 0 pads */
  packTo: number;
}

export interface LocalTrainingResult {
  /** mean data loss of the steps (a method's regularizer is not in it) */
  loss: number;
  /** mean value of the local model's regularizer over the steps; absent when it has none */
  regularizer?: number;
  steps: number;
  tokens: number;
  seconds: number;
  trainableParameters: number;
}

export function trainLocally(
  config: ModelConfig,
  kernels: Kernels,
  local: LocalModel,
  data: readonly EncodedExample[],
  o: LocalTrainingOptions,
  seed: number,
  round: number,
  clientId: number,
): LocalTrainingResult {
  if (data.length === 0) throw new Error(`client ${clientId} has no training examples`);
  const t0 = performance.now();
  const model = createModel(config, local.weights, { lora: local.adapter, kernels });
  // A method's extra loss term (HetLoRA's self-pruning penalty) travels with the local model it applies to.
  const trainer = createTrainer(model, { mode: 'lora', optimizer: o.optimizer, maxGradNorm: o.maxGradNorm, regularizer: local.regularizer });
  const rng = createRng(mixSeed(seed, round, clientId, 0x7a1e));
  const makeBatches = () => (o.packTo > 0 ? packedBatches(data, o.batchSize, o.packTo, o.padId, rng) : paddedBatches(data, o.batchSize, o.padId, rng));
  let batches = makeBatches();
  const steps = o.steps > 0 ? o.steps : o.epochs * batches.length;
  let loss = 0;
  let tokens = 0;
  let reg = 0;
  for (let s = 0; s < steps; s++) {
    if (s > 0 && s % batches.length === 0) batches = makeBatches();
    const r = trainer.step([at(batches, s % batches.length, 'batches')]);
    loss += r.loss;
    tokens += r.tokens;
    reg += r.regularizer ?? 0;
  }
  const trainableParameters = trainer.parameters.reduce((n, p) => n + p.value.length, 0);
  const result: LocalTrainingResult = { loss: loss / steps, steps, tokens, seconds: (performance.now() - t0) / 1000, trainableParameters };
  if (local.regularizer) result.regularizer = reg / steps;
  return result;
}
