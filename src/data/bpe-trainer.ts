/**
 * A byte-level BPE trainer (GPT-2 style), written by hand, and a small
 * reference encoder for the trained merges.
 *
 * Scheme
 *  - Text is split into pre-tokens by GPT-2's regex ({@link PRETOKENIZE_PATTERN});
 *    merges never cross a pre-token boundary.
 *  - Each pre-token is taken as its UTF-8 bytes. In token strings a byte is
 *    written as one printable character by GPT-2's byte-to-unicode table
 *    ({@link BYTE_TO_UNICODE}; e.g. space is "Ġ", newline "Ċ"), which is what
 *    Hugging Face's ByteLevel pre-tokenizer and decoder expect.
 *  - Ids: the special tokens first (`<|endoftext|>` = 0, `<|pad|>` = 1), then
 *    the 256 bytes in byte order (id = 2 + byte), then one id per merged token
 *    in the order it was learnt. So every string is encodable; there is no
 *    unknown token.
 *  - Training repeatedly merges the adjacent pair with the highest count over
 *    the corpus (each pre-token weighted by its frequency). Ties go to the pair
 *    with the smaller (left id, right id), which for two pairs of bytes is
 *    byte-lexicographic order. Merging stops when the vocabulary (specials +
 *    256 bytes + merged tokens) reaches `vocabSize`, or when no pair occurs at
 *    least `minPairFrequency` times (so a small corpus may give a smaller vocabulary).
 *  - If a merge yields a string that is already a token (e.g. "a"+"bc" after
 *    "ab"+"c"), the merge is recorded but the existing id is reused, as in the
 *    Hugging Face trainer. Should that bring back a pair merged before, the
 *    pair is merged again during training but listed only once in `merges`
 *    (a repeated merge would get its last rank in tokenizers.js, which builds
 *    its rank map by overwriting, but its first in our reference encoder).
 *
 * Efficiency: the standard incremental scheme. Pair counts live in a map, an
 * index maps each pair to the words that contain it, and a max-heap with lazy
 * deletion picks the best pair; a merge only revisits the words that contain
 * the merged pair and only pushes pairs that involve the new token.
 */
import { at, got } from '../util/checked.js';

/** GPT-2's pre-tokenizer pattern (the one Hugging Face's ByteLevel pre-tokenizer uses). */
export const PRETOKENIZE_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The special tokens, in id order. */
export const SPECIAL_TOKENS = ['<|endoftext|>', '<|pad|>'] as const;
export const ENDOFTEXT_ID = 0;
export const PAD_ID = 1;

/** GPT-2's byte-to-unicode table: byte value → the single character that stands for it in token strings. */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  }
  return Object.freeze(table);
})();

/** Inverse of {@link BYTE_TO_UNICODE}. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

/** Splits text into pre-tokens (GPT-2 regex). Every character of the text is in exactly one pre-token. */
export function preTokenize(text: string): string[] {
  return text.match(PRETOKENIZE_PATTERN) ?? [];
}

const utf8 = new TextEncoder();

/** The byte-level string of a piece of text, e.g. " é" → "ĠÃ©". */
export function toByteLevel(text: string): string {
  let s = '';
  for (const b of utf8.encode(text)) s += BYTE_TO_UNICODE[b];
  return s;
}

export interface BpeTrainOptions {
  /** Target vocabulary size, specials and the 256 bytes included. Default 4096; at most 46340. */
  readonly vocabSize?: number;
  /** Pairs seen fewer times than this are never merged. Default 2. */
  readonly minPairFrequency?: number;
}

/** A trained byte-level BPE tokenizer. */
export interface TrainedBpe {
  /** Token strings by id: specials as written, other tokens in byte-level form. */
  readonly tokens: readonly string[];
  /** Merges in rank order, each as its two byte-level token strings. */
  readonly merges: readonly (readonly [string, string])[];
  /** The special tokens; their ids are 0, 1, … in this order. */
  readonly specialTokens: readonly string[];
  readonly stats: {
    /** Pre-tokens seen in the training text. */
    readonly preTokens: number;
    /** Distinct pre-tokens. */
    readonly uniqueWords: number;
    /** Seconds spent counting pre-tokens and merging, respectively. */
    readonly countSeconds: number;
    readonly mergeSeconds: number;
  };
}

/** Max-heap of (count, pair key) with larger count first, then smaller key. Entries [0, size) of the arrays are in use. */
class PairHeap {
  private counts = new Float64Array(1024);
  private keys = new Int32Array(1024);
  private used = 0;

  get size(): number {
    return this.used;
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    if (this.used === this.keys.length) {
      const counts = new Float64Array(2 * this.used);
      const keys = new Int32Array(2 * this.used);
      counts.set(this.counts);
      keys.set(this.keys);
      this.counts = counts;
      this.keys = keys;
    }
    let i = this.used++;
    this.counts[i] = count;
    this.keys[i] = key;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes the top entry and returns it as [count, key]. */
  pop(): [number, number] {
    if (this.used === 0) throw new Error('pop from an empty pair heap');
    const top: [number, number] = [at(this.counts, 0, 'heap counts'), at(this.keys, 0, 'heap keys')];
    const n = --this.used;
    if (n > 0) {
      this.counts[0] = at(this.counts, n, 'heap counts');
      this.keys[0] = at(this.keys, n, 'heap keys');
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && this.before(l, m)) m = l;
        if (r < n && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Largest vocabulary for which a pair key a·V + b stays a small integer (< 2^31). */
const MAX_VOCAB_SIZE = 46340;

/**
 * Trains a byte-level BPE tokenizer on the given documents (each is
 * pre-tokenized on its own; nothing is merged across documents).
 */
export function trainBpe(documents: Iterable<string>, opts: BpeTrainOptions = {}): TrainedBpe {
  const vocabSize = opts.vocabSize ?? 4096;
  const minPairFrequency = Math.max(1, opts.minPairFrequency ?? 2);
  const base = SPECIAL_TOKENS.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < base || vocabSize > MAX_VOCAB_SIZE) {
    throw new RangeError(`vocabSize must be an integer in [${base}, ${MAX_VOCAB_SIZE}], got ${vocabSize}`);
  }
  const V = vocabSize;

  // 1. Count pre-tokens.
  const t0 = performance.now();
  const wordCounts = new Map<string, number>();
  let preTokens = 0;
  for (const doc of documents) {
    const words = doc.match(PRETOKENIZE_PATTERN);
    if (!words) continue;
    preTokens += words.length;
    for (const w of words) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  }

  // Symbols of each distinct word (ids) and its frequency.
  const words: { syms: Int32Array; freq: number }[] = [];
  for (const [w, freq] of wordCounts) {
    const bytes = utf8.encode(w);
    const syms = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) syms[i] = SPECIAL_TOKENS.length + bytes[i]!;
    words.push({ syms, freq });
  }
  wordCounts.clear();

  // Initial pair counts and pair → words index (a word appears once per pair list
  // per visit: pushes for one word are consecutive, so checking the last entry dedupes).
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  for (const [w, { syms: s, freq: f }] of words.entries()) {
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i]! * V + s[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      let list = pairWords.get(key);
      if (!list) {
        list = [];
        pairWords.set(key, list);
      }
      if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const countSeconds = (performance.now() - t0) / 1000;

  // 2. Merge.
  const t1 = performance.now();
  const tokens: string[] = [...SPECIAL_TOKENS];
  tokens.push(...BYTE_TO_UNICODE);
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const merges: [string, string][] = [];
  const recorded = new Set<string>();
  let step = 0;

  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);
  const stamp = new Int32Array(words.length).fill(-1);

  const add = (key: number, delta: number): void => {
    const c = (pairCount.get(key) ?? 0) + delta;
    if (c === 0) pairCount.delete(key);
    else pairCount.set(key, c);
  };

  while (tokens.length < vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    const current = pairCount.get(key) ?? 0;
    if (current !== count) {
      if (current > 0) heap.push(current, key); // stale entry: re-file with the true count
      continue;
    }
    if (count < minPairFrequency) break;
    const a = Math.floor(key / V);
    const b = key % V;
    const left = at(tokens, a, 'left token of the merged pair');
    const right = at(tokens, b, 'right token of the merged pair');
    const str = left + right;
    let c = idOf.get(str);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(str);
      idOf.set(str, c);
    }
    const mergeIndex = step++;
    // A pair can come back only when a later merge re-created the string of one of
    // its tokens; its first rank already covers it, so it is recorded once.
    const mergeName = `${left} ${right}`;
    if (!recorded.has(mergeName)) {
      recorded.add(mergeName);
      merges.push([left, right]);
    }

    const touched = new Set<number>();
    const containing = pairWords.get(key) ?? [];
    pairWords.delete(key);
    for (const w of containing) {
      if (stamp[w] === mergeIndex) continue;
      stamp[w] = mergeIndex;
      const word = at(words, w, 'word of the pair index');
      const s = word.syms;
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) {
          has = true;
          break;
        }
      }
      if (!has) continue; // stale index entry
      const f = word.freq;
      for (let i = 0; i + 1 < s.length; i++) add(s[i]! * V + s[i + 1]!, -f);
      const out = mergePairInPlace(s, a, b, c);
      word.syms = out;
      for (let i = 0; i + 1 < out.length; i++) {
        const k = out[i]! * V + out[i + 1]!;
        add(k, f);
        if (out[i] === c || out[i + 1] === c) {
          touched.add(k);
          let list = pairWords.get(k);
          if (!list) {
            list = [];
            pairWords.set(k, list);
          }
          if (list[list.length - 1] !== w) list.push(w);
        }
      }
    }
    pairCount.delete(key);
    for (const k of touched) {
      const n = pairCount.get(k);
      if (n !== undefined) heap.push(n, k);
    }
  }
  const mergeSeconds = (performance.now() - t1) / 1000;

  return {
    tokens,
    merges,
    specialTokens: [...SPECIAL_TOKENS],
    stats: { preTokens, uniqueWords: words.length, countSeconds, mergeSeconds },
  };
}

/**
 * Replaces every occurrence of the pair (left, right) in `syms`, scanning left to right, by `merged`.
 * The result never outgrows what has been read, so it is written over `syms`; returns the view of it.
 */
function mergePairInPlace(syms: Int32Array, left: number, right: number, merged: number): Int32Array {
  let n = 0;
  for (let i = 0; i < syms.length; ) {
    if (i + 1 < syms.length && syms[i] === left && syms[i + 1] === right) {
      syms[n++] = merged;
      i += 2;
    } else {
      syms[n++] = syms[i]!;
      i += 1;
    }
  }
  return syms.subarray(0, n);
}

/**
 * Reference encoder/decoder for a {@link TrainedBpe}: pre-tokenize, take the
 * bytes, then repeatedly apply the merge of lowest rank present in the word
 * (all its occurrences, left to right) until none applies. This is the
 * textbook BPE encoding that Hugging Face's BPE model also computes. Special
 * token strings inside the text are NOT recognised (they are encoded as
 * ordinary text); use the ids directly.
 */
export class BpeEncoder {
  private readonly tokens: readonly string[];
  /** Pair key (a·N + b) → [rank, merged id]. */
  private readonly ranks = new Map<number, readonly [number, number]>();
  private readonly n: number;
  private readonly nSpecial: number;
  private readonly cache = new Map<string, number[]>();

  constructor(model: Pick<TrainedBpe, 'tokens' | 'merges' | 'specialTokens'>) {
    this.tokens = model.tokens;
    this.n = model.tokens.length;
    this.nSpecial = model.specialTokens.length;
    const idOf = new Map<string, number>();
    model.tokens.forEach((t, i) => {
      if (i >= this.nSpecial && !idOf.has(t)) idOf.set(t, i);
    });
    model.merges.forEach(([l, r], rank) => {
      const a = idOf.get(l);
      const b = idOf.get(r);
      const c = idOf.get(l + r);
      if (a === undefined || b === undefined || c === undefined) {
        throw new Error(`merge ${rank} ("${l}" "${r}") uses a token that is not in the vocabulary`);
      }
      const key = a * this.n + b;
      if (!this.ranks.has(key)) this.ranks.set(key, [rank, c]);
    });
  }

  get vocabSize(): number {
    return this.n;
  }

  /** Token ids of one pre-token. */
  encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const bytes = utf8.encode(word);
    let s: Int32Array = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) s[i] = this.nSpecial + bytes[i]!;
    for (;;) {
      let best = Infinity;
      let merged = -1;
      let left = -1;
      let right = -1;
      for (let i = 0; i + 1 < s.length; i++) {
        const r = this.ranks.get(s[i]! * this.n + s[i + 1]!);
        if (r !== undefined && r[0] < best) {
          best = r[0];
          merged = r[1];
          left = s[i]!;
          right = s[i + 1]!;
        }
      }
      if (merged < 0) break;
      s = mergePairInPlace(s, left, right, merged);
    }
    const ids = Array.from(s);
    if (word.length < 256) this.cache.set(word, ids);
    return ids;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const w of preTokenize(text)) for (const id of this.encodeWord(w)) ids.push(id);
    return ids;
  }

  /** Token strings (byte-level form) of the text. */
  tokenize(text: string): string[] {
    return this.encode(text).map((id) => at(this.tokens, id, 'token of the encoded id'));
  }

  /** Inverse of encode; special tokens decode to their literal text. Invalid UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    let out = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length > 0) out += new TextDecoder().decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const t = this.tokens[id];
      if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.n - 1})`);
      if (id < this.nSpecial) {
        flush();
        out += t;
        continue;
      }
      for (const ch of t) bytes.push(got(UNICODE_TO_BYTE, ch, `byte of token ${id}`));
    }
    flush();
    return out;
  }
}
