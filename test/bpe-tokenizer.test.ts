import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BYTE_TO_UNICODE, BpeEncoder, ENDOFTEXT_ID, PAD_ID, preTokenize, toByteLevel, trainBpe, type TrainedBpe } from '../src/data/bpe-trainer.js';
import { DEFAULT_HELD_OUT_SOTU, corpusStats, mobyDickChapters, normalizeText, pretrainingCorpus, sotuAddresses } from '../src/data/corpus.js';
import { toTokenizerJson, writeTokenizerFiles } from '../src/data/tokenizer-json.js';
import { loadTokenizer } from '../src/data/tokenizer.js';
import { at, defined } from '../src/util/checked.js';

const SAMPLES = [
  'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money…',
  "It's the whale's; they'll say we've I'm you'd. 1851, $211,832,450 (4 1/2 per cent).",
  'ASCII with punctuation: a+b=c; x->y? "quoted" [brackets] {braces} <angle> #@!%^&*_~`|\\',
  'café, naïve, résumé, Œuvre, ÉTÉ, é (NFD: e\u0301)',
  '日本語のテキスト and 中文 mixed with English',
  'emoji 🐳🚢⚓ and a family 👩‍👩‍👧 and flags 🇺🇸',
  '   leading spaces, trailing spaces   ',
  'runs   of    spaces\n\nparagraph\n\n\n\nbreaks\ttab\t\tand\r\nCRLF \u00a0nbsp',
  '\n',
  ' ',
  'x',
];

function slice(docs: readonly string[], chars: number): string[] {
  const out: string[] = [];
  let n = 0;
  for (const d of docs) {
    if (n >= chars) break;
    const part = d.slice(0, chars - n);
    out.push(part);
    n += part.length;
  }
  return out;
}

function withTempDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-tok-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('byte-to-unicode table is GPT-2 and the pre-tokenizer splits like GPT-2', () => {
  assert.equal(BYTE_TO_UNICODE[0x20], 'Ġ');
  assert.equal(BYTE_TO_UNICODE[0x0a], 'Ċ');
  assert.equal(BYTE_TO_UNICODE[0x41], 'A');
  assert.equal(new Set(BYTE_TO_UNICODE).size, 256);
  assert.equal(toByteLevel(' é'), 'ĠÃ©');
  assert.deepEqual(preTokenize("Hello world's  end!!\n\n x"), ['Hello', ' world', "'s", ' ', ' end', '!!', '\n\n', ' x']);
  for (const s of SAMPLES) assert.equal(preTokenize(s).join(''), s);
});

test('closed-form training on "aaab aaab": merges a+a, then a+b (tie broken by ids), then aa+ab', () => {
  const t = trainBpe(['aaab aaab'], { vocabSize: 300, minPairFrequency: 1 });
  // Pre-tokens "aaab" and " aaab". Pair counts: (a,a)=4, (a,b)=2, (Ġ,a)=1.
  // After a+a: (aa,a)=2 and (a,b)=2 tie; (a,b) has the smaller ids (bytes < merged tokens).
  assert.deepEqual(t.merges, [
    ['a', 'a'],
    ['a', 'b'],
    ['aa', 'ab'],
    ['Ġ', 'aaab'],
  ]);
  assert.equal(t.tokens.length, 2 + 256 + 4);
  assert.deepEqual(t.tokens.slice(0, 2), ['<|endoftext|>', '<|pad|>']);
  assert.equal(t.tokens[2 + 0x61], 'a');
  assert.deepEqual(t.tokens.slice(258), ['aa', 'ab', 'aaab', 'Ġaaab']);
  // The default minimum pair frequency (2) drops the last merge; vocabSize caps the count.
  assert.equal(trainBpe(['aaab aaab']).merges.length, 3);
  assert.deepEqual(trainBpe(['aaab aaab'], { vocabSize: 259, minPairFrequency: 1 }).merges, [['a', 'a']]);
  assert.throws(() => trainBpe(['x'], { vocabSize: 100 }), /vocabSize must be an integer in \[258, /);
});

test('merges are applied in rank order by the reference encoder', () => {
  const t = trainBpe(['aaab aaab'], { vocabSize: 300, minPairFrequency: 1 });
  const enc = new BpeEncoder(t);
  const toks = (s: string): string[] => enc.tokenize(s);
  assert.deepEqual(toks('aaab'), ['aaab']);
  assert.deepEqual(toks(' aaab'), ['Ġaaab']);
  // a+a (rank 0) fires before a+b (rank 1), so "aab" is aa|b, not a|ab.
  assert.deepEqual(toks('aab'), ['aa', 'b']);
  assert.deepEqual(toks('ab'), ['ab']);
  // Left to right, non-overlapping.
  assert.deepEqual(toks('aaa'), ['aa', 'a']);
  assert.deepEqual(toks('aaaa'), ['aa', 'aa']);
  assert.deepEqual(toks('abaaab'), ['ab', 'aaab']);
  assert.deepEqual(toks('b a'), ['b', 'Ġ', 'a']);
  assert.equal(enc.decode(enc.encode('aab aaab')), 'aab aaab');
});

test('training is deterministic and vocabulary strings are unique', () => {
  const docs = slice(
    mobyDickChapters().map((c) => c.text),
    60_000,
  );
  const a = trainBpe(docs, { vocabSize: 600 });
  const b = trainBpe(docs, { vocabSize: 600 });
  assert.deepEqual(a.merges, b.merges);
  assert.equal(a.tokens.length, 600);
  assert.equal(new Set(a.tokens).size, a.tokens.length);
  // Frequent English pieces are learnt early.
  const first = a.merges.slice(0, 20).map(([l, r]) => l + r);
  assert.ok(first.includes('Ġt') && first.includes('he'), first.join(' '));
});

let trainedSlice: TrainedBpe | undefined;
function sliceTokenizer(): TrainedBpe {
  trainedSlice ??= trainBpe(
    slice(
      mobyDickChapters().map((c) => c.text),
      150_000,
    ),
    { vocabSize: 1024 },
  );
  return trainedSlice;
}

test('tokenizer.json loads in @huggingface/tokenizers and encodes exactly as the reference encoder', () => {
  const t = sliceTokenizer();
  const ref = new BpeEncoder(t);
  withTempDir((dir) => {
    writeTokenizerFiles(dir, t, { modelMaxLength: 256 });
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    assert.equal(json.version, '1.0');
    assert.equal(json.model.type, 'BPE');
    assert.equal(json.model.merges[0], at(t.merges, 0, 'merges').join(' '));
    assert.deepEqual(
      json.added_tokens.map((x: { content: string; special: boolean }) => [x.content, x.special]),
      [
        ['<|endoftext|>', true],
        ['<|pad|>', true],
      ],
    );
    const tok = loadTokenizer(dir);
    assert.equal(tok.vocabSize, 1024);
    assert.equal(tok.eosId, ENDOFTEXT_ID);
    assert.equal(tok.padId, PAD_ID);
    assert.equal(tok.bosId, ENDOFTEXT_ID);
    assert.equal(tok.modelMaxLength, 256);

    // Text the tokenizer was not trained on: a SOTU address and a later chapter.
    const unseen = [
      defined(
        sotuAddresses().find((a) => a.year === 1990),
        'the 1990 address',
      ).text.slice(0, 6000),
      defined(mobyDickChapters().at(-2), 'the second-to-last chapter').text.slice(0, 6000),
    ];
    for (const s of [...SAMPLES, ...unseen]) {
      const ids = tok.encode(s);
      assert.deepEqual(ids, ref.encode(s), `encodings differ for ${JSON.stringify(s.slice(0, 60))}`);
      assert.equal(tok.decode(ids), s, `round trip failed for ${JSON.stringify(s.slice(0, 60))}`);
      assert.equal(ref.decode(ids), s);
    }
    assert.deepEqual(tok.encode(''), []);
    assert.equal(tok.decode([]), '');
    // Our own tokens merge common words into a few ids.
    assert.ok(tok.encode(' the whale').length <= 3);
  });
});

test('special tokens: ids 0 and 1, decoded literally or skipped; bad ids are rejected', () => {
  withTempDir((dir) => {
    writeTokenizerFiles(dir, sliceTokenizer());
    const tok = loadTokenizer(dir);
    const ids = [...tok.encode('The end.'), tok.eosId, ...tok.encode('Begin'), tok.padId];
    assert.equal(tok.decode(ids), 'The end.<|endoftext|>Begin<|pad|>');
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'The end.Begin');
    // tokenizers.js maps a special token's literal text to the special id (Hugging Face behaviour).
    assert.deepEqual(tok.encode('a<|endoftext|>b'), [...tok.encode('a'), 0, ...tok.encode('b')]);
    assert.throws(() => tok.decode([tok.vocabSize]), /token id 1024 is outside the vocabulary/);
    assert.throws(() => tok.decode([-1]), RangeError);
  });
});

test('loadTokenizer names the missing or malformed file', () => {
  withTempDir((dir) => {
    assert.throws(
      () => loadTokenizer(dir),
      (e: Error) => e.message.includes('tokenizer.json not found') && e.message.includes(join(dir, 'tokenizer.json')),
    );
    writeTokenizerFiles(dir, trainBpe(['aaab aaab']));
    const path = join(dir, 'tokenizer.json');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.slice(0, 100));
    assert.throws(
      () => loadTokenizer(dir),
      (e: Error) => e.message.startsWith(`tokenizer.json ${path} is not valid JSON`),
    );
    writeFileSync(path, JSON.stringify({ ...JSON.parse(good), model: { type: 'WordPiece' } }));
    assert.throws(() => loadTokenizer(dir), /tokenizer\.json .* is malformed: model\.type is "WordPiece", expected "BPE"/);
    writeFileSync(path, good);
    const cfg = join(dir, 'tokenizer_config.json');
    rmSync(cfg);
    assert.throws(
      () => loadTokenizer(dir),
      (e: Error) => e.message === `tokenizer_config.json not found: ${cfg}`,
    );
    writeFileSync(cfg, JSON.stringify({ eos_token: '<|nope|>', pad_token: '<|pad|>' }));
    assert.throws(() => loadTokenizer(dir), /eos_token "<\|nope\|>" is not in/);
  });
});

test('writer refuses duplicate vocabulary strings', () => {
  const t = trainBpe(['aaab aaab']);
  assert.throws(() => toTokenizerJson({ ...t, tokens: [...t.tokens, 'aa'] }), /token "aa" appears twice/);
});

test('whitespace normalisation', () => {
  assert.equal(normalizeText('  a \t b\u00a0 c  \r\n  d\n\n\n\n e \n \n f\u0002g  '), 'a b c\nd\n\ne\n\nfg');
  assert.equal(normalizeText('e\u0301'), 'é');
});

test('pretraining corpus: Moby Dick and SOTU up to 1949; every address from 1950 on is held out', () => {
  const docs = pretrainingCorpus({ excludeSotuYears: DEFAULT_HELD_OUT_SOTU });
  const all = docs.join('\n\n');
  assert.ok(all.includes('CHAPTER 1. Loomings.\n\nCall me Ishmael.'));
  assert.ok(!all.includes('CONTENTS'), 'the table of contents is left out');
  // Distinctive sentences: Truman 1950 and Kennedy 1961 (held out); Truman 1949 (kept).
  const heldOut = [
    'We have taken important steps in securing the North Atlantic community against aggression.',
    'Our problems are critical. The tide is unfavorable.',
  ];
  const kept = 'I am happy to report to this 81st Congress that the state of the Union is good.';
  for (const s of heldOut) {
    assert.ok(
      sotuAddresses().some((a) => a.year >= 1950 && a.text.includes(s)),
      `test sentence not found in the dataset: ${s}`,
    );
    assert.ok(!all.includes(s), `held-out sentence leaked into the corpus: ${s}`);
  }
  assert.ok(sotuAddresses().some((a) => a.year === 1949 && a.text.includes(kept)));
  assert.ok(all.includes(kept));
  // And mechanically: a slice from the middle of every held-out address is absent.
  const held = sotuAddresses().filter((a) => a.year >= 1950);
  assert.equal(held.length, 74);
  for (const a of held) {
    const mid = a.text.slice(a.text.length >> 1, (a.text.length >> 1) + 120);
    assert.ok(!all.includes(mid), `text of the ${a.year} address is in the corpus`);
  }
  // Whitespace is normalised: no runs of spaces, no 3+ newlines, no tabs.
  assert.ok(!/ {2}|\n{3}|\t/.test(all));
  const stats = corpusStats();
  assert.equal(stats.documents, docs.length);
  assert.equal(
    stats.characters,
    docs.reduce((n, d) => n + d.length, 0),
  );
  assert.equal(stats.sotuAddresses, 159);
  assert.equal(stats.heldOutSotuAddresses, 74);
  assert.equal(stats.mobyDickChapters, 138);
  // A custom predicate is honoured.
  assert.equal(pretrainingCorpus({ excludeSotuYears: () => true }).length, 138);
});
