/** Small random models for tests. */
import { parseHfConfig, type ModelConfig } from '../../src/model/config.js';
import { randomWeights, type ModelWeights } from '../../src/model/weights.js';
import { createRng, fillNormal } from '../../src/util/random.js';
import { initLora, loraTensors } from '../../src/lora/adapter.js';
import type { LoraAdapter } from '../../src/layers/lora-branch.js';
import type { TargetName } from '../../src/layers/projections.js';
import { defined } from '../../src/util/checked.js';

export function tinyConfig(overrides: Record<string, unknown> = {}): ModelConfig {
  return parseHfConfig({
    model_type: 'llama',
    vocab_size: 37,
    hidden_size: 24,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 6,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 64,
    tie_word_embeddings: false,
    ...overrides,
  });
}

export function tinyWeights(config: ModelConfig, seed = 1, std = 0.2): ModelWeights {
  return randomWeights(config, createRng(seed), std);
}

/** A LoRA adapter with non-zero B, so every module changes the output. */
export function randomAdapter(config: ModelConfig, rank: number, alpha: number, targets: TargetName[], seed = 2): LoraAdapter {
  const rng = createRng(seed);
  const a = initLora(config, { rank, alpha, targets }, rng);
  a.layers.forEach((layer) => {
    for (const t of targets) fillNormal(defined(layer[t], `LoRA module ${t}`).B, rng, 0.1);
  });
  return a;
}

export function cloneTensors(a: LoraAdapter): Float32Array[] {
  return loraTensors(a).map((x) => Float32Array.from(x));
}
