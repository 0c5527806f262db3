/**
 * The base model's weights as named fp32 views, one array per tensor, and
 * their mapping to Hugging Face tensor names. The same layout type holds
 * weight gradients in full-parameter training.
 */
import type { ModelConfig } from './config.js';
import { TARGET_NAMES, type LayerWeights, type TargetName } from '../layers/projections.js';
import { headLinear, type TokenTables } from '../layers/embedding.js';
import { denseWeight, type Linear } from '../layers/linear.js';
import { fillNormal, type Rng } from '../util/random.js';

/** embed (V,C) and lmHead (V,C), the same array when tied; either may be held frozen (TokenTables) */
export interface ModelWeights extends TokenTables {
  layers: LayerWeights[];
  finalNorm: Float32Array; // (C)
}

/** [out, in] of every projection. */
export function projectionShape(config: ModelConfig, target: TargetName): [number, number] {
  const C = config.hiddenSize;
  const I = config.intermediateSize;
  const qDim = config.numHeads * config.headDim;
  const kvDim = config.numKVHeads * config.headDim;
  switch (target) {
    case 'q_proj':
      return [qDim, C];
    case 'k_proj':
    case 'v_proj':
      return [kvDim, C];
    case 'o_proj':
      return [C, qDim];
    case 'gate_proj':
    case 'up_proj':
      return [I, C];
    case 'down_proj':
      return [C, I];
  }
}

function hasBias(config: ModelConfig, target: TargetName): boolean {
  const b = config.bias;
  return (target === 'q_proj' && b.q) || (target === 'k_proj' && b.k) || (target === 'v_proj' && b.v) || (target === 'o_proj' && b.o);
}

export function targetModulePath(layer: number, target: TargetName): string {
  const block = target === 'gate_proj' || target === 'up_proj' || target === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${target}`;
}

/** Every tensor of the model under its Hugging Face name, with its shape. */
export function hfTensorShapes(config: ModelConfig): Map<string, number[]> {
  const C = config.hiddenSize;
  const shapes = new Map<string, number[]>();
  shapes.set('model.embed_tokens.weight', [config.vocabSize, C]);
  for (let l = 0; l < config.numLayers; l++) {
    shapes.set(`model.layers.${l}.input_layernorm.weight`, [C]);
    for (const t of TARGET_NAMES) {
      const [out, inp] = projectionShape(config, t);
      shapes.set(`${targetModulePath(l, t)}.weight`, [out, inp]);
      if (hasBias(config, t)) shapes.set(`${targetModulePath(l, t)}.bias`, [out]);
    }
    shapes.set(`model.layers.${l}.post_attention_layernorm.weight`, [C]);
  }
  shapes.set('model.norm.weight', [C]);
  if (!config.tieWordEmbeddings) shapes.set('lm_head.weight', [config.vocabSize, C]);
  return shapes;
}

/** Builds the layout from a tensor source, e.g. a checkpoint reader or zeros. */
export function buildWeights(config: ModelConfig, tensor: (name: string, shape: number[]) => Float32Array): ModelWeights {
  const C = config.hiddenSize;
  const embed = tensor('model.embed_tokens.weight', [config.vocabSize, C]);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const proj = {} as Record<TargetName, Linear>;
    for (const t of TARGET_NAMES) {
      const [out, inp] = projectionShape(config, t);
      const path = targetModulePath(l, t);
      proj[t] = {
        weight: tensor(`${path}.weight`, [out, inp]),
        bias: hasBias(config, t) ? tensor(`${path}.bias`, [out]) : null,
        outFeatures: out,
        inFeatures: inp,
      };
    }
    layers.push({
      inputNorm: tensor(`model.layers.${l}.input_layernorm.weight`, [C]),
      postNorm: tensor(`model.layers.${l}.post_attention_layernorm.weight`, [C]),
      proj,
    });
  }
  const finalNorm = tensor('model.norm.weight', [C]);
  const lmHead = config.tieWordEmbeddings ? embed : tensor('lm_head.weight', [config.vocabSize, C]);
  return { embed, layers, finalNorm, lmHead };
}

/** The inverse of buildWeights: every tensor under its HF name (tied head omitted). */
export function weightTensors(config: ModelConfig, w: ModelWeights): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  // a frozen head widens: tied, it is the embedding table too
  const head = (): Float32Array => denseWeight(headLinear(w, config.vocabSize, config.hiddenSize));
  out.set('model.embed_tokens.weight', w.embed ?? head());
  w.layers.forEach((layer, l) => {
    out.set(`model.layers.${l}.input_layernorm.weight`, layer.inputNorm);
    for (const t of TARGET_NAMES) {
      const p = layer.proj[t];
      out.set(`${targetModulePath(l, t)}.weight`, denseWeight(p));
      if (p.bias) out.set(`${targetModulePath(l, t)}.bias`, p.bias);
    }
    out.set(`model.layers.${l}.post_attention_layernorm.weight`, layer.postNorm);
  });
  out.set('model.norm.weight', w.finalNorm);
  if (!config.tieWordEmbeddings) out.set('lm_head.weight', head());
  return out;
}

export function zeroWeights(config: ModelConfig): ModelWeights {
  return buildWeights(config, (_name, shape) => new Float32Array(shape.reduce((a, b) => a * b, 1)));
}

/** GPT-style random init: normal(0, std) matrices, unit norms, zero biases. */
export function randomWeights(config: ModelConfig, rng: Rng, std = 0.02): ModelWeights {
  return buildWeights(config, (name, shape) => {
    const x = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('norm.weight')) return x.fill(1);
    if (name.endsWith('.bias')) return x;
    // Residual-branch outputs are scaled down so the stream's variance stays bounded with depth.
    const scaled = name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight');
    return fillNormal(x, rng, scaled ? std / Math.sqrt(2 * config.numLayers) : std);
  });
}

export function countParameters(config: ModelConfig): number {
  let n = 0;
  for (const shape of hfTensorShapes(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
