/**
 * Buffers for one forward/backward pass of shape (B,T). In training every
 * layer keeps its own saved activations; in inference all layers share one
 * set, so evaluation holds no gradient state.
 */
import type { ModelConfig } from './config.js';
import type { LoraAdapter } from '../layers/lora-branch.js';
import { backwardScratch, layerActivations, type BackwardScratch, type LayerActivations } from '../layers/decoder-activations.js';

export interface Activations {
  B: number;
  T: number;
  training: boolean;
  ids: Int32Array; // (N) the tokens of the last forward
  /** residual[0] is the embedding output, residual[l+1] the output of layer l; (N,C) each */
  residual: Float32Array[];
  layers: LayerActivations[];
  lnFinal: Float32Array; // (N,C)
  rstdFinal: Float32Array; // (N)
  logits: Float32Array; // (N,V); holds dlogits after backward
  targets: Int32Array; // (N) shifted labels, -1 where ignored
  losses: Float32Array; // (N)
  scratch: BackwardScratch | null;
}

export function createActivations(config: ModelConfig, lora: LoraAdapter | null, B: number, T: number, training: boolean): Activations {
  const N = B * T;
  const C = config.hiddenSize;
  const shared = training ? null : layerActivations(config, lora, B, T);
  const recomputed = {
    ln1: new Float32Array(N * C),
    ln2: new Float32Array(N * C),
    act: new Float32Array(N * config.intermediateSize),
  };
  const layers = Array.from({ length: config.numLayers }, () => shared ?? layerActivations(config, lora, B, T, recomputed));
  // Inference only needs the stream's current value: two buffers, alternating.
  const residual = training
    ? Array.from({ length: config.numLayers + 1 }, () => new Float32Array(N * C))
    : (() => {
        const a = new Float32Array(N * C);
        const b = new Float32Array(N * C);
        return Array.from({ length: config.numLayers + 1 }, (_, i) => (i % 2 === 0 ? a : b));
      })();
  return {
    B,
    T,
    training,
    ids: new Int32Array(N),
    residual,
    layers,
    lnFinal: new Float32Array(N * C),
    rstdFinal: new Float32Array(N),
    logits: new Float32Array(N * config.vocabSize),
    targets: new Int32Array(N),
    losses: new Float32Array(N),
    scratch: training ? backwardScratch(config, lora, N) : null,
  };
}
