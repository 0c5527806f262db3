/**
 * The projections of a LLaMA decoder block, their weights, and which of them
 * read the same input.
 */
import type { Linear } from './linear.js';

/** The sizes a decoder layer is built from (a model config has them all). */
export interface DecoderShape {
  hiddenSize: number;
  numHeads: number;
  numKVHeads: number;
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
}

export const TARGET_NAMES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export function isTargetName(name: string): name is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(name);
}

export interface LayerWeights {
  inputNorm: Float32Array; // (C)
  postNorm: Float32Array; // (C)
  proj: Record<TargetName, Linear>;
}

/** The projections of one shared-input set: never empty. */
export type SharedInputSet = readonly [TargetName, ...TargetName[]];

/**
 * Projections that read the same input. Their A matrices are packed next to
 * each other in one allocation, so the model computes x A^T for a whole group
 * with one matrix multiply (several thin products are far slower).
 */
export const SHARED_INPUT_GROUPS: readonly [SharedInputSet, SharedInputSet, SharedInputSet, SharedInputSet] = [
  ['q_proj', 'k_proj', 'v_proj'],
  ['o_proj'],
  ['gate_proj', 'up_proj'],
  ['down_proj'],
];

/** The groups restricted to the given targets, empty groups dropped. */
export function targetGroups(targets: readonly TargetName[]): [TargetName, ...TargetName[]][] {
  return SHARED_INPUT_GROUPS.map((g) => g.filter((t) => targets.includes(t))).filter((g): g is [TargetName, ...TargetName[]] => g.length > 0);
}
