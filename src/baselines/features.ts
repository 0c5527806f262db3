/**
 * Bag-of-words features for the baseline: lowercase word tokens, a
 * vocabulary and IDF weights taken from the training texts alone (so
 * nothing about validation or test text leaks into the features), and
 * sparse TF-IDF rows of unit length.
 */
import { at } from '../util/checked.js';

/** Lowercase runs of letters and digits; punctuation and markup separate them. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** A document as the vocabulary indices it contains and a weight for each. */
export interface SparseRow {
  indices: Int32Array;
  values: Float64Array;
}

export interface VocabularyOptions {
  /** keep at most this many words, the ones in the most training texts */
  maxSize?: number;
  /** drop words found in fewer training texts than this (one-offs cannot generalise) */
  minDocuments?: number;
}

export const DEFAULT_VOCABULARY: Required<VocabularyOptions> = { maxSize: 20000, minDocuments: 2 };

export class TfIdfVectorizer {
  private constructor(
    readonly words: readonly string[],
    private readonly index: ReadonlyMap<string, number>,
    private readonly idf: Float64Array,
  ) {}

  /** Builds the vocabulary and IDF from these (training) texts only. */
  static fit(texts: readonly string[], options: VocabularyOptions = {}): TfIdfVectorizer {
    const { maxSize, minDocuments } = { ...DEFAULT_VOCABULARY, ...options };
    const documentCount = new Map<string, number>();
    for (const t of texts) for (const w of new Set(tokenize(t))) documentCount.set(w, (documentCount.get(w) ?? 0) + 1);
    // Ties broken by code point, not locale, so the vocabulary is the same on every machine.
    const ranked = [...documentCount]
      .filter(([, df]) => df >= minDocuments)
      .sort(([a, da], [b, db]) => db - da || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, maxSize);
    const words = ranked.map(([w]) => w);
    // Smoothed IDF (as scikit-learn's default) keeps a word in every text at weight 1, not 0.
    const idf = Float64Array.from(ranked, ([, df]) => Math.log((1 + texts.length) / (1 + df)) + 1);
    return new TfIdfVectorizer(words, new Map(words.map((w, i) => [w, i])), idf);
  }

  get size(): number {
    return this.words.length;
  }

  indexOf(word: string): number | undefined {
    return this.index.get(word);
  }

  /** Sublinear TF times IDF, scaled to unit length; words outside the vocabulary are ignored. */
  transform(text: string): SparseRow {
    const counts = new Map<number, number>();
    for (const w of tokenize(text)) {
      const i = this.index.get(w);
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const sorted = [...counts].sort(([a], [b]) => a - b);
    const indices = Int32Array.from(sorted, ([i]) => i);
    const values = Float64Array.from(sorted, ([i, n]) => (1 + Math.log(n)) * at(this.idf, i, 'IDF weight'));
    let squares = 0;
    for (const v of values) squares += v * v;
    const norm = Math.sqrt(squares);
    return { indices, values: norm > 0 ? values.map((v) => v / norm) : values };
  }
}
