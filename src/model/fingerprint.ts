/**
 * A fingerprint of a base model: sha256 over its config and its fp32
 * tensors in name order. Server and clients compare fingerprints so that
 * nobody trains against another model, whatever file layout or dtype the
 * checkpoint had on disk (F16 and F32 files of the same values agree).
 */
import { createHash } from 'node:crypto';
import type { ModelConfig } from './config.js';
import { weightTensors, type ModelWeights } from './weights.js';

/**
 * Weights made from a checkpoint in memory (its projections held in bf16 or
 * int8, model/precision.ts) are fingerprinted as the checkpoint they came
 * from: clients that hold the same base at different precisions join the
 * same run.
 */
const derivedFrom = new WeakMap<ModelWeights, string>();

export function fingerprintAs(weights: ModelWeights, fingerprint: string): ModelWeights {
  derivedFrom.set(weights, fingerprint);
  return weights;
}

export function modelFingerprint(config: ModelConfig, weights: ModelWeights): string {
  const derived = derivedFrom.get(weights);
  if (derived) return derived;
  const hash = createHash('sha256');
  hash.update(JSON.stringify(config));
  const tensors = weightTensors(config, weights);
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name);
    if (!t) continue;
    hash.update(`\n${name}:${t.length}\n`);
    hash.update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  }
  return hash.digest('hex');
}
