/**
 * Text metrics for generation and classification tasks: exact match,
 * ROUGE-L, accuracy and perplexity, per example and over a corpus.
 */
import { at } from '../util/checked.js';

export interface NormalizeOptions {
  /** lowercase as well; default false */
  lowercase?: boolean;
}

/** Trims and collapses every run of whitespace to one space (optionally lowercasing). */
export function normalizeText(text: string, options: NormalizeOptions = {}): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return options.lowercase ? t.toLowerCase() : t;
}

export interface ExactMatchOptions extends NormalizeOptions {
  /** normalise both strings with normalizeText first; default true */
  normalize?: boolean;
}

/** 1 when prediction and reference are equal (after normalisation unless normalize: false), else 0. */
export function exactMatch(prediction: string, reference: string, options: ExactMatchOptions = {}): 0 | 1 {
  if (options.normalize === false) return prediction === reference ? 1 : 0;
  return normalizeText(prediction, options) === normalizeText(reference, options) ? 1 : 0;
}

/**
 * The default tokenizer of Google's `rouge-score` package (no stemming):
 * lowercase, replace every run of characters outside [a-z0-9] with a space,
 * split on whitespace. Like rouge-score, non-ASCII letters are separators.
 */
export function rougeTokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .filter((t) => t.length > 0);
}

/** Length of the longest common subsequence, O(|a| |b|) time, O(min) memory. */
export function lcsLength<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  if (a.length < b.length) [a, b] = [b, a];
  // One row of the table: row[j] is the LCS of the prefix of `a` done so far and b[0..j]. The loop
  // reads each cell before overwriting it and carries its left and upper-left neighbours along.
  const row = new Int32Array(b.length);
  let last = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i];
    let diag = 0;
    let left = 0;
    let j = 0;
    for (const up of row) {
      left = ai === b[j] ? diag + 1 : Math.max(up, left);
      diag = up;
      row[j] = left;
      j++;
    }
    last = left;
  }
  return last;
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f: number;
}

/**
 * Sentence-level ROUGE-L as `rouge-score`'s rougeL: with LCS the longest
 * common subsequence of the token lists, precision = LCS / |prediction|,
 * recall = LCS / |reference|, f = 2PR / (P + R) (beta = 1; 0 when P + R = 0).
 * An empty prediction or reference scores 0 on all three, as in rouge-score.
 */
export function rougeL(prediction: string, reference: string): PrecisionRecallF1 {
  const pred = rougeTokenize(prediction);
  const ref = rougeTokenize(reference);
  if (pred.length === 0 || ref.length === 0) return { precision: 0, recall: 0, f: 0 };
  const lcs = lcsLength(pred, ref);
  const precision = lcs / pred.length;
  const recall = lcs / ref.length;
  return { precision, recall, f: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

/** Fraction of positions where prediction === reference. */
export function accuracy<T>(predictions: readonly T[], references: readonly T[]): number {
  checkPairs('accuracy', predictions, references);
  let right = 0;
  for (let i = 0; i < predictions.length; i++) if (predictions[i] === references[i]) right++;
  return right / predictions.length;
}

/** exp(mean negative log-likelihood per token), from the summed NLL (in nats) over `tokens` scored tokens. */
export function perplexity(sumNll: number, tokens: number): number {
  if (!(tokens > 0)) throw new RangeError(`perplexity: tokens must be > 0, got ${tokens}`);
  return Math.exp(sumNll / tokens);
}

/** Arithmetic mean; throws on an empty list. */
export function mean(scores: readonly number[]): number {
  if (scores.length === 0) throw new RangeError('mean: no scores');
  let s = 0;
  for (const x of scores) s += x;
  return s / scores.length;
}

/** Mean exact match over a corpus. */
export function corpusExactMatch(predictions: readonly string[], references: readonly string[], options: ExactMatchOptions = {}): number {
  checkPairs('corpusExactMatch', predictions, references);
  return mean(predictions.map((p, i) => exactMatch(p, at(references, i, 'references'), options)));
}

/** Mean of the per-example ROUGE-L precision, recall and f (rouge-score's aggregate without bootstrap). */
export function corpusRougeL(predictions: readonly string[], references: readonly string[]): PrecisionRecallF1 {
  checkPairs('corpusRougeL', predictions, references);
  const scores = predictions.map((p, i) => rougeL(p, at(references, i, 'references')));
  return {
    precision: mean(scores.map((s) => s.precision)),
    recall: mean(scores.map((s) => s.recall)),
    f: mean(scores.map((s) => s.f)),
  };
}

function checkPairs(what: string, preds: ArrayLike<unknown>, refs: ArrayLike<unknown>): void {
  if (preds.length !== refs.length) throw new RangeError(`${what}: ${preds.length} predictions but ${refs.length} references`);
  if (preds.length === 0) throw new RangeError(`${what}: no examples`);
}
