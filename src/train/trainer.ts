/**
 * One optimizer step over one or more micro-batches: forward, backward with
 * the loss averaged over every counted token of the step (so accumulation
 * equals one large batch), clipping by global norm, AdamW.
 */
import { loraTensors, zerosLike } from '../lora/adapter.js';
import type { LoraAdapter } from '../layers/lora-branch.js';
import { createActivations, type Activations } from '../model/activations.js';
import { backward, forward, IGNORE_INDEX, lossSum, setTargets, type Batch, type Model, type ModelGrads } from '../model/llama.js';
import { refreshBf16Copies } from '../model/mixed-precision.js';
import { weightTensors, zeroWeights } from '../model/weights.js';
import { createAdamW, type AdamW, type AdamWOptions, type Parameter } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { at, defined, got } from '../util/checked.js';

/** ids and labels are (B,T); labels of -100 are not scored (e.g. the prompt). */
export type TrainMode = 'lora' | 'full';

/**
 * An extra term R(adapter) of the loss, outside the model (e.g. a penalty on
 * some LoRA factors). Called once per step after backward and before
 * clipping: it adds dR/d(adapter) into `grad` (the gradient buffers, same
 * shapes as `adapter`) and returns R at the current values.
 */
export type LoraRegularizer = (adapter: LoraAdapter, grad: LoraAdapter) => number;

export interface TrainerOptions {
  mode: TrainMode;
  optimizer?: Partial<AdamWOptions>;
  /** clip the global gradient norm to this; 0 disables */
  maxGradNorm?: number;
  /** added to the LoRA gradient of every step before clipping; none leaves the step exactly as without it */
  regularizer?: LoraRegularizer;
}

export interface StepResult {
  loss: number;
  tokens: number;
  gradNorm: number;
  /** the regularizer's value before this step's update; absent without a regularizer (`loss` never includes it) */
  regularizer?: number;
}

export interface Trainer {
  model: Model;
  grads: ModelGrads;
  optimizer: AdamW;
  parameters: Parameter[];
  /** one optimizer step over these micro-batches */
  step(microBatches: Batch[], lr?: number): StepResult;
}

function trainableParameters(model: Model, grads: ModelGrads): Parameter[] {
  const params: Parameter[] = [];
  if (grads.weights) {
    const values = weightTensors(model.config, model.weights);
    const gs = weightTensors(model.config, grads.weights);
    for (const [name, value] of values) {
      params.push({ value, grad: got(gs, name, 'weight gradients'), decay: !name.endsWith('norm.weight') && !name.endsWith('.bias') });
    }
  }
  if (grads.lora && model.lora) {
    const values = loraTensors(model.lora);
    const gs = loraTensors(grads.lora);
    for (const [i, value] of values.entries()) params.push({ value, grad: at(gs, i, 'LoRA gradients'), decay: true });
  }
  return params;
}

/** Tokens the shifted loss scores: labels at positions 1..T-1 that are not -100. */
export function countScored(b: Batch): number {
  let n = 0;
  for (let r = 0; r < b.B; r++) {
    for (let t = 1; t < b.T; t++) if (b.labels[r * b.T + t] !== IGNORE_INDEX) n++;
  }
  return n;
}

export function createTrainer(model: Model, opts: TrainerOptions): Trainer {
  if (opts.mode === 'lora' && !model.lora) throw new Error('LoRA training needs a model with an adapter');
  if (opts.regularizer && !model.lora) throw new Error('a LoRA regularizer needs a model with an adapter');
  const grads: ModelGrads = {
    weights: opts.mode === 'full' ? zeroWeights(model.config) : null,
    lora: model.lora ? zerosLike(model.lora) : null,
  };
  const parameters = trainableParameters(model, grads);
  const optimizer = createAdamW(model.kernels, parameters, opts.optimizer);
  const maxGradNorm = opts.maxGradNorm ?? 1;
  let act: Activations | null = null;

  const activationsFor = (b: Batch): Activations => {
    if (!act || act.B !== b.B || act.T !== b.T) act = createActivations(model.config, model.lora, b.B, b.T, true);
    return act;
  };

  return {
    model,
    grads,
    optimizer,
    parameters,
    step(microBatches, lr) {
      if (microBatches.length === 0) throw new Error('a training step needs at least one batch');
      for (const p of parameters) p.grad.fill(0);
      // The mean is over all counted tokens of the step, so count them first.
      const tokens = microBatches.reduce((n, b) => n + countScored(b), 0);
      if (tokens === 0) throw new Error('no labelled tokens in this step (every label is -100)');
      let loss = 0;
      for (const b of microBatches) {
        const a = activationsFor(b);
        setTargets(a, b.labels, model.config.vocabSize);
        forward(model, a, b.ids);
        loss += lossSum(model, a);
        backward(model, a, grads, 1 / tokens);
      }
      // The regularizer's gradient joins the data gradient before clipping, as autograd on (loss + R) would.
      const reg = opts.regularizer?.(defined(model.lora, 'the adapter to regularize'), defined(grads.lora, 'the adapter gradient'));
      if (reg !== undefined && !Number.isFinite(reg)) throw new Error(`the regularizer returned ${reg}`);
      const gradNorm = clipGradNorm(
        model.kernels,
        parameters.map((p) => p.grad),
        maxGradNorm,
      );
      optimizer.update(lr);
      // the next products must see the updated weights (mixed precision)
      if (grads.weights) refreshBf16Copies(model.weights);
      return reg === undefined ? { loss: loss / tokens, tokens, gradNorm } : { loss: loss / tokens, tokens, gradNorm, regularizer: reg };
    },
  };
}
