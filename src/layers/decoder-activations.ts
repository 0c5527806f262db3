/**
 * What one decoder layer saves in forward for backward, and the gradient
 * buffers its backward shares with the other layers; (N = B*T).
 */
import type { LoraAdapter } from './lora-branch.js';
import { hiddenRows } from './lora-groups.js';
import { SHARED_INPUT_GROUPS, type DecoderShape } from './projections.js';

/**
 * ln1, ln2 and act are cheap to recompute, so in training all layers share
 * one buffer for each and backward rebuilds them: a quarter less memory.
 */
export interface LayerActivations {
  ln1: Float32Array; // (N,C) normed input of attention
  rstd1: Float32Array; // (N)
  q: Float32Array; // (N,H*D) after rotary
  k: Float32Array; // (N,G*D) after rotary
  v: Float32Array; // (N,G*D)
  att: Float32Array; // (B,H,T,T) softmax probabilities
  attnOut: Float32Array; // (N,H*D)
  mid: Float32Array; // (N,C) residual after attention
  ln2: Float32Array; // (N,C)
  rstd2: Float32Array; // (N)
  gate: Float32Array; // (N,I)
  up: Float32Array; // (N,I)
  act: Float32Array; // (N,I) silu(gate) * up
  /** A x^T of the LoRA targets of each shared-input set (SHARED_INPUT_GROUPS order), (rows,N) */
  loraHidden: Float32Array[];
}

/** Gradient buffers shared by all layers in backward. */
export interface BackwardScratch {
  dx: Float32Array; // (N,C) gradient of the residual stream
  dln: Float32Array; // (N,C)
  dq: Float32Array; // (N,H*D)
  dk: Float32Array; // (N,G*D)
  dv: Float32Array; // (N,G*D)
  dqRot: Float32Array; // (N,H*D)
  dkRot: Float32Array; // (N,G*D)
  dAttnOut: Float32Array; // (N,H*D)
  dgate: Float32Array; // (N,I)
  dup: Float32Array; // (N,I)
  dact: Float32Array; // (N,I)
  dh: Float32Array; // (rows,N) for the widest shared-input set
  dlosses: Float32Array; // (N)
}

export function layerActivations(
  config: DecoderShape,
  lora: LoraAdapter | null,
  B: number,
  T: number,
  recomputed?: Pick<LayerActivations, 'ln1' | 'ln2' | 'act'>,
): LayerActivations {
  const N = B * T;
  const C = config.hiddenSize;
  const qDim = config.numHeads * config.headDim;
  const kvDim = config.numKVHeads * config.headDim;
  const I = config.intermediateSize;
  const loraHidden = SHARED_INPUT_GROUPS.map((g) => new Float32Array(hiddenRows(lora, g) * N));
  return {
    ln1: recomputed?.ln1 ?? new Float32Array(N * C),
    rstd1: new Float32Array(N),
    q: new Float32Array(N * qDim),
    k: new Float32Array(N * kvDim),
    v: new Float32Array(N * kvDim),
    att: new Float32Array(B * config.numHeads * T * T),
    attnOut: new Float32Array(N * qDim),
    mid: new Float32Array(N * C),
    ln2: recomputed?.ln2 ?? new Float32Array(N * C),
    rstd2: new Float32Array(N),
    gate: new Float32Array(N * I),
    up: new Float32Array(N * I),
    act: recomputed?.act ?? new Float32Array(N * I),
    loraHidden,
  };
}

export function backwardScratch(config: DecoderShape, lora: LoraAdapter | null, N: number): BackwardScratch {
  const C = config.hiddenSize;
  const qDim = config.numHeads * config.headDim;
  const kvDim = config.numKVHeads * config.headDim;
  const I = config.intermediateSize;
  return {
    dx: new Float32Array(N * C),
    dln: new Float32Array(N * C),
    dq: new Float32Array(N * qDim),
    dk: new Float32Array(N * kvDim),
    dv: new Float32Array(N * kvDim),
    dqRot: new Float32Array(N * qDim),
    dkRot: new Float32Array(N * kvDim),
    dAttnOut: new Float32Array(N * qDim),
    dgate: new Float32Array(N * I),
    dup: new Float32Array(N * I),
    dact: new Float32Array(N * I),
    dh: new Float32Array(N * Math.max(...SHARED_INPUT_GROUPS.map((g) => hiddenRows(lora, g)))),
    dlosses: new Float32Array(N),
  };
}
