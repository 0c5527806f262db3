/**
 * Levenshtein distance and the error rates built on it: character error rate
 * (CER), token error rate (phoneme error rate when the tokens are phonemes,
 * word error rate when they are words), per example and over a corpus.
 */
import { at } from '../util/checked.js';

/**
 * Levenshtein distance: the fewest insertions, deletions and substitutions
 * turning `a` into `b`. Works on any array-like (arrays of tokens or
 * phonemes; a string compares UTF-16 code units, so prefer
 * `Array.from(string)` for characters). O(|a| |b|) time, O(min) memory.
 */
export function editDistance<T>(a: ArrayLike<T>, b: ArrayLike<T>, equals: (x: T, y: T) => boolean = (x, y) => x === y): number {
  if (a.length < b.length) [a, b] = [b, a];
  const m = b.length;
  if (m === 0) return a.length;
  const bs = Array.from({ length: m }, (_, j) => at(b, j, 'editDistance: second sequence'));
  let prev = new Int32Array(m + 1);
  let curr = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    curr[0] = i;
    const ai = at(a, i - 1, 'editDistance: first sequence');
    let j = 1;
    for (const bj of bs) {
      const sub = prev[j - 1]! + (equals(ai, bj) ? 0 : 1);
      const del = prev[j]! + 1;
      const ins = curr[j - 1]! + 1;
      curr[j] = Math.min(sub, del, ins);
      j++;
    }
    [prev, curr] = [curr, prev];
  }
  return at(prev, m, 'editDistance: last row');
}

export interface CharOptions {
  /** trim and collapse runs of whitespace to one space first; default false */
  normalize?: boolean;
  /** lowercase both first; default false */
  lowercase?: boolean;
}

function prepare(s: string, options: CharOptions): string[] {
  let t = s;
  if (options.normalize) t = t.trim().replace(/\s+/g, ' ');
  if (options.lowercase) t = t.toLowerCase();
  return Array.from(t);
}

/**
 * edits / reference length. An empty reference counts as length 1 (so an
 * empty prediction scores 0 and a non-empty one its length), keeping the rate finite.
 */
function rate(edits: number, refLength: number): number {
  return edits / Math.max(1, refLength);
}

/** Character error rate: edit distance over Unicode code points / reference length. */
export function charErrorRate(prediction: string, reference: string, options: CharOptions = {}): number {
  const ref = prepare(reference, options);
  return rate(editDistance(prepare(prediction, options), ref), ref.length);
}

/** Token error rate: edit distance over tokens / reference token count. */
export function tokenErrorRate<T>(predTokens: readonly T[], refTokens: readonly T[]): number {
  return rate(editDistance(predTokens, refTokens), refTokens.length);
}

/** Phoneme error rate (PER): the token error rate over phoneme sequences. */
export const phonemeErrorRate: <T>(predPhonemes: readonly T[], refPhonemes: readonly T[]) => number = tokenErrorRate;

/** Splits on whitespace, dropping empty pieces. */
export function whitespaceTokens(text: string): string[] {
  return text.split(/\s+/).filter((t) => t.length > 0);
}

/** Word error rate: the token error rate over whitespace-separated words. */
export function wordErrorRate(prediction: string, reference: string): number {
  return tokenErrorRate(whitespaceTokens(prediction), whitespaceTokens(reference));
}

function checkPairs(what: string, preds: ArrayLike<unknown>, refs: ArrayLike<unknown>): void {
  if (preds.length !== refs.length) throw new RangeError(`${what}: ${preds.length} predictions but ${refs.length} references`);
  if (preds.length === 0) throw new RangeError(`${what}: no examples`);
}

/** Corpus token error rate: total edits / total reference tokens (not the mean of per-example rates). */
export function corpusTokenErrorRate<T>(predTokens: readonly (readonly T[])[], refTokens: readonly (readonly T[])[]): number {
  checkPairs('corpusTokenErrorRate', predTokens, refTokens);
  let edits = 0;
  let length = 0;
  for (const [i, ref] of refTokens.entries()) {
    edits += editDistance(at(predTokens, i, 'predictions'), ref);
    length += ref.length;
  }
  return rate(edits, length);
}

/** Corpus phoneme error rate: total phoneme edits / total reference phonemes. */
export const corpusPhonemeErrorRate: <T>(predPhonemes: readonly (readonly T[])[], refPhonemes: readonly (readonly T[])[]) => number = corpusTokenErrorRate;

/** Corpus character error rate: total character edits / total reference characters. */
export function corpusCharErrorRate(predictions: readonly string[], references: readonly string[], options: CharOptions = {}): number {
  checkPairs('corpusCharErrorRate', predictions, references);
  return corpusTokenErrorRate(
    predictions.map((p) => prepare(p, options)),
    references.map((r) => prepare(r, options)),
  );
}

/** Corpus word error rate: total word edits / total reference words. */
export function corpusWordErrorRate(predictions: readonly string[], references: readonly string[]): number {
  checkPairs('corpusWordErrorRate', predictions, references);
  return corpusTokenErrorRate(predictions.map(whitespaceTokens), references.map(whitespaceTokens));
}
