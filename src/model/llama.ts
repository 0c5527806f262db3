/**
 * The decoder with the semantics of Hugging Face's LlamaForCausalLM:
 * embedding, layers, final norm, LM head (tied or not), and the shifted
 * cross-entropy loss with -100 labels ignored.
 */
import type { Kernels } from '../kernels/kernels.js';
import { getKernels } from '../kernels/index.js';
import type { LoraAdapter } from '../layers/lora-branch.js';
import { createRopeTable, ropeSlice, type RopeTable } from '../layers/rope-table.js';
import type { ModelConfig } from './config.js';
import type { Activations } from './activations.js';
import { layerBackward, layerForward, type LayerContext, type LayerGradTargets } from '../layers/decoder-layer.js';
import type { ModelWeights } from './weights.js';
import { at, defined } from '../util/checked.js';
import { embeddingLookup, headLinear } from '../layers/embedding.js';
import { linearBackward, linearForward } from '../layers/linear.js';

export const IGNORE_INDEX = -100;

/** Token ids and labels of B rows of T tokens, (B*T) each; labels use IGNORE_INDEX where not scored. */
export interface Batch {
  ids: Int32Array;
  labels: Int32Array;
  B: number;
  T: number;
}

export interface Model {
  config: ModelConfig;
  weights: ModelWeights;
  /** the adapter applied in the forward, if any */
  lora: LoraAdapter | null;
  kernels: Kernels;
  rope: RopeTable;
}

/** What backward writes: full-parameter and/or adapter gradients (accumulated). */
export interface ModelGrads {
  weights: ModelWeights | null;
  lora: LoraAdapter | null;
}

export function createModel(config: ModelConfig, weights: ModelWeights, opts: { lora?: LoraAdapter | null; kernels?: Kernels } = {}): Model {
  return {
    config,
    weights,
    lora: opts.lora ?? null,
    kernels: opts.kernels ?? getKernels(),
    rope: createRopeTable(config.headDim, config.ropeTheta, config.maxPositions),
  };
}

function context(model: Model, act: Activations, posOffset = 0): LayerContext {
  const { cos, sin } = ropeSlice(model.rope, posOffset, act.T);
  return { k: model.kernels, config: model.config, B: act.B, T: act.T, cos, sin };
}

function checkIds(ids: Int32Array, n: number, vocab: number): void {
  if (ids.length !== n) throw new Error(`expected ${n} token ids, got ${ids.length}`);
  const i = ids.findIndex((id) => !(id >= 0 && id < vocab));
  if (i >= 0) throw new Error(`token id ${ids[i]} at position ${i} is outside the vocabulary (size ${vocab})`);
}

/** Computes logits (N,V) into act.logits for ids (B,T). */
export function forward(model: Model, act: Activations, ids: Int32Array): void {
  const { config: c, kernels: k, weights: w } = model;
  const N = act.B * act.T;
  checkIds(ids, N, c.vocabSize);
  const ctx = context(model, act);
  act.ids.set(ids);
  embeddingLookup(k, residual(act, 0), ids, w, N, c.hiddenSize);
  for (let l = 0; l < c.numLayers; l++) {
    layerForward(ctx, residual(act, l + 1), at(act.layers, l, 'layer activations'), residual(act, l), at(w.layers, l, 'layer weights'), model.lora, l);
  }
  k.rmsnormForward(act.lnFinal, act.rstdFinal, residual(act, c.numLayers), w.finalNorm, N, c.hiddenSize, c.rmsNormEps);
  linearForward(k, act.logits, act.lnFinal, headLinear(w, c.vocabSize, c.hiddenSize), N);
}

/**
 * Shifts labels (B,T) as HF does: position t is scored on labels[t+1]; the
 * last position and labels of -100 are ignored. Returns the counted tokens.
 */
export function setTargets(act: Activations, labels: Int32Array, vocab: number): number {
  const { B, T } = act;
  if (labels.length !== B * T) throw new Error(`expected ${B * T} labels, got ${labels.length}`);
  let counted = 0;
  for (let b = 0; b < B; b++) {
    const o = b * T;
    // position t is scored on the label at t + 1; the row's last position on none
    for (const [t, next] of labels.subarray(o + 1, o + T).entries()) {
      if (next !== IGNORE_INDEX && !(next >= 0 && next < vocab)) {
        throw new Error(`label ${next} at row ${b}, position ${t + 1} is neither -100 nor a token id below ${vocab}`);
      }
      act.targets[o + t] = next === IGNORE_INDEX ? -1 : next;
      if (next !== IGNORE_INDEX) counted++;
    }
    act.targets[o + T - 1] = -1;
  }
  return counted;
}

/** Sum of token losses over counted targets (call after forward and setTargets). */
export function lossSum(model: Model, act: Activations): number {
  const N = act.B * act.T;
  model.kernels.crossEntropyForward(act.losses, act.logits, act.targets, N, model.config.vocabSize);
  let s = 0;
  for (const x of act.losses.subarray(0, N)) s += x;
  return s;
}

/**
 * Back-propagates tokenWeight * sum(losses) into grads (accumulating).
 * Use tokenWeight = 1 / counted tokens for a mean; with gradient
 * accumulation, 1 / counted tokens over all micro-batches.
 */
export function backward(model: Model, act: Activations, grads: ModelGrads, tokenWeight: number): void {
  const { config: c, kernels: k, weights: w } = model;
  const s = act.scratch;
  if (!s) throw new Error('backward needs activations created for training');
  const N = act.B * act.T;
  const C = c.hiddenSize;
  const V = c.vocabSize;
  s.dlosses.fill(tokenWeight);
  const dlogits = act.logits; // overwritten in place
  k.crossEntropyBackward(dlogits, act.logits, act.targets, s.dlosses, N, V);
  s.dln.fill(0);
  // d(lnFinal) = dlogits W_head, and the head's gradient when the base trains
  linearBackward(k, s.dln, grads.weights ? defined(grads.weights.lmHead, 'the head gradient') : null, null, dlogits, act.lnFinal, headLinear(w, V, C), N, true);
  s.dx.fill(0);
  k.rmsnormBackward(s.dx, grads.weights?.finalNorm ?? null, s.dln, residual(act, c.numLayers), w.finalNorm, act.rstdFinal, N, C);
  const ctx = context(model, act);
  const embeddingTrained = grads.weights !== null;
  for (let l = c.numLayers - 1; l >= 0; l--) {
    const needInputGrad = l > 0 || embeddingTrained;
    const a = at(act.layers, l, 'layer activations');
    layerBackward(ctx, layerGradTargets(grads, l), s, a, residual(act, l), at(w.layers, l, 'layer weights'), model.lora, l, needInputGrad);
  }
  if (grads.weights) k.embeddingBackward(defined(grads.weights.embed, 'the embedding gradient'), s.dx, act.ids, N, C);
}

/** The residual stream before layer l (l = numLayers: after the last layer). */
function residual(act: Activations, l: number): Float32Array {
  return at(act.residual, l, 'residual stream');
}

function layerGradTargets(grads: { weights: ModelWeights | null; lora: LoraAdapter | null }, l: number): LayerGradTargets {
  return { weights: grads.weights?.layers[l] ?? null, lora: grads.lora };
}
