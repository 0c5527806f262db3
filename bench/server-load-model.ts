/**
 * The model of the server load benchmark. The server and the client process
 * build it independently from its preset name; the random weights are
 * seeded, so both hold the same base model and the fingerprints agree, as
 * they would for a server and clients loading the same model folder.
 */
import { getKernels } from '../src/kernels/index.js';
import type { MethodContext } from '../src/methods/method.js';
import type { TargetName } from '../src/layers/projections.js';
import { at } from '../src/util/checked.js';
import { tinyConfig, tinyWeights } from '../test/helpers/tiny-model.js';

export const MODEL_PRESETS = ['tiny', 'small'] as const;
export type ModelPreset = (typeof MODEL_PRESETS)[number];

/** The test helpers' tiny model (adapters of a few KB), or a wider and deeper one built the same way (about 120 KB a message). */
const SHAPES: Record<ModelPreset, { hf: Record<string, unknown>; rank: number }> = {
  tiny: { hf: {}, rank: 4 },
  small: {
    hf: {
      vocab_size: 256,
      hidden_size: 128,
      intermediate_size: 344,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 128,
    },
    rank: 8,
  },
};

const TARGETS: TargetName[] = ['q_proj', 'v_proj', 'down_proj'];
const SEED = 3;

export function isModelPreset(name: string): name is ModelPreset {
  return (MODEL_PRESETS as readonly string[]).includes(name);
}

export function benchContext(preset: ModelPreset): MethodContext {
  const { hf, rank } = SHAPES[preset];
  const config = tinyConfig(hf);
  return { config, base: tinyWeights(config, 5, 0.3), kernels: getKernels(), rank, alpha: 2 * rank, scale: 2, targets: TARGETS, seed: SEED };
}

/** Heterogeneous ranks 1, 2, 4, ... up to R, in turn by client id. */
export function rankOf(clientId: number, R: number): number {
  const ranks: number[] = [];
  for (let r = 1; r < R; r *= 2) ranks.push(r);
  ranks.push(R);
  return at(ranks, clientId % ranks.length, 'rank by client id');
}

/** Example counts only weight the average (and only with weighting 'examples'); they differ so the registry holds distinct values. */
export const examplesOf = (clientId: number): number => 8 + (clientId % 5);
