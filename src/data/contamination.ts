/**
 * Keeps downstream evaluation text out of a pretraining corpus: a document
 * that shares any run of `n` consecutive words with a reference text (the
 * built-in tasks' examples) is dropped. Thirteen words is the window GPT-3's
 * contamination study used: long enough that common phrases do not match,
 * short enough that a quoted sentence does.
 */

export const CONTAMINATION_NGRAM = 13;

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * The keys of every n-word window: two independent 32-bit hashes of the word
 * sequence packed into one 53-bit number, so a Set of plain numbers holds
 * millions of windows without a string per window.
 */
function windowKeys(text: string, n: number, ids: Map<string, number>, addWords: boolean): number[] {
  const seq: number[] = [];
  for (const w of words(text)) {
    let id = ids.get(w);
    if (id === undefined) {
      if (!addWords) {
        seq.push(-1);
        continue;
      }
      id = ids.size;
      ids.set(w, id);
    }
    seq.push(id);
  }
  const keys: number[] = [];
  outer: for (let i = 0; i + n <= seq.length; i++) {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let j = i; j < i + n; j++) {
      const id = seq[j];
      if (id === undefined) throw new Error(`word ${j} is outside the ${seq.length} words of the text`);
      if (id < 0) continue outer; // a word no reference holds: no reference window can match
      h1 = Math.imul(h1 ^ id, 0x01000193) >>> 0;
      h2 = Math.imul(h2 + id + 0x9e3779b9, 0x85ebca6b) >>> 0;
      h2 ^= h2 >>> 13;
    }
    keys.push(h1 * 0x200000 + (h2 >>> 11));
  }
  return keys;
}

export interface ContaminationFilter {
  /** True when the document shares an n-word window with a reference text. */
  overlaps(document: string): boolean;
  readonly referenceWindows: number;
}

export function contaminationFilter(references: Iterable<string>, n = CONTAMINATION_NGRAM): ContaminationFilter {
  const ids = new Map<string, number>();
  const windows = new Set<number>();
  for (const r of references) for (const k of windowKeys(r, n, ids, true)) windows.add(k);
  return {
    overlaps: (doc) => windowKeys(doc, n, ids, false).some((k) => windows.has(k)),
    referenceWindows: windows.size,
  };
}
