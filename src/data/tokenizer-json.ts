/**
 * Writes a trained byte-level BPE tokenizer in Hugging Face's format:
 * `tokenizer.json` (the `tokenizers` serialisation, version "1.0") and
 * `tokenizer_config.json` (the `transformers` side: special tokens, max length).
 *
 * Choices, each one checked against `@huggingface/tokenizers` 0.2 and matching
 * what GPT-2's own tokenizer.json uses:
 *  - model BPE with `vocab` (token → id, specials included) and `merges` as
 *    "left right" strings. Byte-level tokens never contain a space (space is
 *    "Ġ"), so the split is unambiguous; this form is read by every version of
 *    the Rust crate and by tokenizers.js (which also accepts [left, right] pairs).
 *    `ignore_merges` is false, so encoding is exactly merges-by-rank.
 *  - no normalizer; pre-tokenizer and decoder ByteLevel with add_prefix_space
 *    false and use_regex true; no post-processor (nothing is added around a
 *    sequence; callers insert `<|endoftext|>` between documents by id).
 *  - added_tokens: `<|endoftext|>` (0) and `<|pad|>` (1), special, not normalized.
 *  - tokenizer_config.json sets `clean_up_tokenization_spaces: false`:
 *    tokenizers.js defaults it to true, which would turn " ." into "." on
 *    decode and break decode(encode(s)) === s.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainBpe, type TrainedBpe } from './bpe-trainer.js';
import { DEFAULT_HELD_OUT_SOTU, pretrainingCorpus } from './corpus.js';

export const TOKENIZER_JSON = 'tokenizer.json';
export const TOKENIZER_CONFIG_JSON = 'tokenizer_config.json';

export interface TokenizerConfigOptions {
  /** Longest sequence the model is meant for (`model_max_length`). Default 1024. */
  readonly modelMaxLength?: number;
}

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

function addedTokens(trained: TrainedBpe): AddedTokenJson[] {
  return trained.specialTokens.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

/** The `tokenizer.json` object for a trained tokenizer. */
export function toTokenizerJson(trained: TrainedBpe): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  trained.tokens.forEach((t, id) => {
    if (t in vocab) throw new Error(`token ${JSON.stringify(t)} appears twice in the vocabulary (ids ${vocab[t]} and ${id})`);
    vocab[t] = id;
  });
  const merges = trained.merges.map(([l, r], i) => {
    if (l.includes(' ') || r.includes(' ')) throw new Error(`merge ${i} has a token containing a space; cannot write it as "left right"`);
    return `${l} ${r}`;
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(trained),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** The `tokenizer_config.json` object: `<|endoftext|>` is BOS, EOS and document separator; `<|pad|>` pads. */
export function toTokenizerConfig(trained: TrainedBpe, opts: TokenizerConfigOptions = {}): Record<string, unknown> {
  const [eos, pad] = trained.specialTokens;
  if (eos === undefined || pad === undefined) throw new Error('expected two special tokens: end-of-text and padding');
  const decoder: Record<string, Omit<AddedTokenJson, 'id'>> = {};
  for (const { id, ...rest } of addedTokens(trained)) decoder[String(id)] = rest;
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: eos,
    eos_token: eos,
    pad_token: pad,
    unk_token: null,
    add_bos_token: false,
    add_eos_token: false,
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
    model_max_length: opts.modelMaxLength ?? 1024,
    added_tokens_decoder: decoder,
  };
}

/** Writes tokenizer.json and tokenizer_config.json into `outDir` (created if needed); returns their paths. */
export function writeTokenizerFiles(
  outDir: string,
  trained: TrainedBpe,
  opts: TokenizerConfigOptions = {},
): { tokenizerJson: string; tokenizerConfig: string } {
  mkdirSync(outDir, { recursive: true });
  const tokenizerJson = join(outDir, TOKENIZER_JSON);
  const tokenizerConfig = join(outDir, TOKENIZER_CONFIG_JSON);
  writeFileSync(tokenizerJson, `${JSON.stringify(toTokenizerJson(trained), null, 2)}\n`);
  writeFileSync(tokenizerConfig, `${JSON.stringify(toTokenizerConfig(trained, opts), null, 2)}\n`);
  return { tokenizerJson, tokenizerConfig };
}

export interface TrainProjectTokenizerOptions extends TokenizerConfigOptions {
  /** Default 4096. */
  readonly vocabSize?: number;
  /** Training documents. Default: the pretraining corpus with the default held-out SOTU split. */
  readonly corpus?: readonly string[];
  /** Default 2 (see trainBpe). */
  readonly minPairFrequency?: number;
}

export interface TrainProjectTokenizerResult {
  readonly trained: TrainedBpe;
  readonly files: { readonly tokenizerJson: string; readonly tokenizerConfig: string };
  /** Wall-clock seconds: corpus loading, training, writing. */
  readonly seconds: { readonly corpus: number; readonly train: number; readonly write: number };
}

/** Trains the project's tokenizer on the corpus and writes tokenizer.json + tokenizer_config.json to `outDir`. */
export function trainProjectTokenizer(outDir: string, opts: TrainProjectTokenizerOptions = {}): TrainProjectTokenizerResult {
  const t0 = performance.now();
  const corpus = opts.corpus ?? pretrainingCorpus({ excludeSotuYears: DEFAULT_HELD_OUT_SOTU });
  const t1 = performance.now();
  const trained = trainBpe(corpus, { vocabSize: opts.vocabSize, minPairFrequency: opts.minPairFrequency });
  const t2 = performance.now();
  const files = writeTokenizerFiles(outDir, trained, opts);
  const t3 = performance.now();
  return { trained, files, seconds: { corpus: (t1 - t0) / 1000, train: (t2 - t1) / 1000, write: (t3 - t2) / 1000 } };
}
