/**
 * From examples to training batches: tokenize prompt and target, mask the
 * prompt out of the loss, truncate, then batch with a seeded order, padded
 * on the right (causal attention never looks at later padding) or packed.
 */
import type { Example } from './example.js';
import { IGNORE_INDEX, type Batch } from '../model/llama.js';
import type { Rng } from '../util/random.js';
import { at } from '../util/checked.js';

export interface TextEncoder {
  encode(text: string): number[];
  readonly eosId: number;
  readonly padId: number;
}

export interface EncodeOptions {
  /** longest sequence in tokens, prompt and target included */
  maxLength: number;
  /** when too long, drop prompt tokens from its start (keeps the text next to the target) or its end */
  truncation: 'prompt-start' | 'prompt-end';
  /** end every target with the end-of-text token, so generation learns to stop */
  appendEos: boolean;
}

export const DEFAULT_ENCODE: EncodeOptions = { maxLength: 256, truncation: 'prompt-start', appendEos: true };

export interface EncodedExample {
  ids: number[];
  /** -100 on prompt tokens */
  labels: number[];
}

export function encodeExample(tok: TextEncoder, ex: Example, o: EncodeOptions): EncodedExample {
  let prompt = tok.encode(ex.prompt);
  const target = tok.encode(ex.target);
  if (o.appendEos) target.push(tok.eosId);
  if (target.length === 0) throw new Error(`example ${ex.id}: the target encodes to no tokens`);
  if (target.length >= o.maxLength) {
    throw new Error(`example ${ex.id}: its target alone has ${target.length} tokens, more than maxLength ${o.maxLength} allows`);
  }
  const room = o.maxLength - target.length;
  if (prompt.length > room) prompt = o.truncation === 'prompt-start' ? prompt.slice(prompt.length - room) : prompt.slice(0, room);
  return { ids: [...prompt, ...target], labels: [...prompt.map(() => IGNORE_INDEX), ...target] };
}

function shuffled<T>(items: readonly T[], rng: Rng | null): T[] {
  const out = [...items];
  if (!rng) return out;
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const picked = at(out, j, 'shuffled item');
    out[j] = at(out, i, 'shuffled item');
    out[i] = picked;
  }
  return out;
}

/** Batches of up to batchSize examples, each padded to its longest row. */
export function paddedBatches(examples: readonly EncodedExample[], batchSize: number, padId: number, rng: Rng | null): Batch[] {
  const order = shuffled(examples, rng);
  const out: Batch[] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const rows = order.slice(i, i + batchSize);
    const T = Math.max(...rows.map((r) => r.ids.length));
    const ids = new Int32Array(rows.length * T).fill(padId);
    const labels = new Int32Array(rows.length * T).fill(IGNORE_INDEX);
    rows.forEach((r, b) => {
      ids.set(r.ids, b * T);
      labels.set(r.labels, b * T);
    });
    out.push({ ids, labels, B: rows.length, T });
  }
  return out;
}

/**
 * Concatenates examples into rows of exactly maxLength tokens (the last row
 * padded), batchSize rows a batch. Later examples in a row attend to earlier
 * ones, as in Hugging Face's packing; their losses stay on targets only.
 */
export function packedBatches(examples: readonly EncodedExample[], batchSize: number, maxLength: number, padId: number, rng: Rng | null): Batch[] {
  const ids: number[] = [];
  const labels: number[] = [];
  for (const e of shuffled(examples, rng)) {
    ids.push(...e.ids);
    labels.push(...e.labels);
  }
  const rows = Math.ceil(ids.length / maxLength);
  const out: Batch[] = [];
  for (let r0 = 0; r0 < rows; r0 += batchSize) {
    const B = Math.min(batchSize, rows - r0);
    const bIds = new Int32Array(B * maxLength).fill(padId);
    const bLabels = new Int32Array(B * maxLength).fill(IGNORE_INDEX);
    bIds.set(ids.slice(r0 * maxLength, (r0 + B) * maxLength));
    bLabels.set(labels.slice(r0 * maxLength, (r0 + B) * maxLength));
    out.push({ ids: bIds, labels: bLabels, B, T: maxLength });
  }
  return out;
}
