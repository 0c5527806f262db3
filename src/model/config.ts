/**
 * The model configuration, parsed from a Hugging Face config.json of the
 * LLaMA family. Field meanings follow transformers' LlamaConfig.
 */
import { z } from 'zod';
import { at } from '../util/checked.js';

export const SUPPORTED_MODEL_TYPES = ['llama', 'mistral', 'qwen2'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/** Which of the attention projections carry a bias. */
export interface AttentionBiases {
  q: boolean;
  k: boolean;
  v: boolean;
  o: boolean;
}

export interface ModelConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKVHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  bias: AttentionBiases;
}

const positiveInt = z.number().int().positive();

const hfConfigSchema = z.object({
  model_type: z.string(),
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.optional().nullable(),
  head_dim: positiveInt.optional().nullable(),
  rms_norm_eps: z.number().positive().optional(),
  rope_theta: z.number().positive().optional(),
  max_position_embeddings: positiveInt.optional(),
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().optional(),
  hidden_act: z.string().optional(),
  rope_scaling: z.unknown().optional(),
});

/** Parses and validates a config.json object; `source` names it in errors. */
export function parseHfConfig(raw: unknown, source = 'config.json'): ModelConfig {
  const parsed = hfConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = at(parsed.error.issues, 0, `${source}: validation issues`);
    throw new Error(`${source}: invalid field "${issue.path.join('.')}": ${issue.message}`);
  }
  const c = parsed.data;
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(c.model_type)) {
    throw new Error(`${source}: model_type "${c.model_type}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  if (c.hidden_act !== undefined && c.hidden_act !== 'silu') {
    throw new Error(`${source}: hidden_act "${c.hidden_act}" is not supported; only silu`);
  }
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) {
    throw new Error(`${source}: rope_scaling is not supported yet`);
  }
  const modelType = c.model_type as ModelType;
  const numKVHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKVHeads !== 0) {
    throw new Error(`${source}: num_attention_heads (${c.num_attention_heads}) must be a multiple of num_key_value_heads (${numKVHeads})`);
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new Error(`${source}: head dimension ${headDim} must be an even integer`);
  }
  // Qwen2 always has q/k/v biases and no o bias; Llama's attention_bias covers all four.
  const llamaBias = c.attention_bias ?? false;
  const bias: AttentionBiases = modelType === 'qwen2' ? { q: true, k: true, v: true, o: false } : { q: llamaBias, k: llamaBias, v: llamaBias, o: llamaBias };
  return {
    modelType,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKVHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    maxPositions: c.max_position_embeddings ?? 2048,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    bias,
  };
}

/** The inverse of parseHfConfig, for writing checkpoints. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  const arch = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM' }[c.modelType];
  const out: Record<string, unknown> = {
    architectures: [arch],
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKVHeads,
    head_dim: c.headDim,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    max_position_embeddings: c.maxPositions,
    tie_word_embeddings: c.tieWordEmbeddings,
    hidden_act: 'silu',
    torch_dtype: 'float32',
  };
  if (c.modelType !== 'qwen2') out['attention_bias'] = c.bias.q;
  return out;
}
