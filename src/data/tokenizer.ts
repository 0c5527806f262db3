/**
 * Loads a Hugging Face tokenizer directory (tokenizer.json + tokenizer_config.json)
 * with `@huggingface/tokenizers` (tokenizers.js, pure JS) and exposes the few
 * operations the project needs.
 *
 * Behaviour worth knowing (tokenizers.js 0.2):
 *  - encode adds nothing around the text (`add_special_tokens: false` is passed,
 *    and our tokenizer.json has no post-processor). Insert `eosId` between documents yourself.
 *  - a special token's literal text inside the input (e.g. "<|endoftext|>") is
 *    encoded as that special token, as in Hugging Face generally.
 *  - decode always passes `clean_up_tokenization_spaces: false`, so decode(encode(s)) === s;
 *    the library's own default (true) would remove the space in " ." and " 's".
 *  - decode of an empty array returns "" (the library throws on an empty array),
 *    and ids outside the vocabulary raise a RangeError (the library would
 *    silently produce garbage for them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizerClass } from '@huggingface/tokenizers';
import { TOKENIZER_CONFIG_JSON, TOKENIZER_JSON } from './tokenizer-json.js';

/**
 * The part of tokenizers.js's `Tokenizer` used here. Declared locally because the
 * package's own .d.ts files use extensionless relative imports, which do not
 * resolve under `moduleResolution: NodeNext`: the import type silently becomes `any`
 * (hidden by skipLibCheck).
 */
interface HfTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
  token_to_id(token: string): number | undefined;
  get_vocab(withAddedTokens: boolean): Map<string, number>;
}
const Tokenizer = HfTokenizerClass as unknown as new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;

export interface LoadedTokenizer {
  /** Token ids of the text; no BOS/EOS added. */
  encode(text: string): number[];
  /** Text of the ids. Special tokens appear as their literal text unless skipSpecialTokens. */
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** One more than the largest id: the embedding table's row count. */
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  /** Id of tokenizer_config.json's bos_token, when it names one. */
  readonly bosId?: number;
  readonly modelMaxLength?: number;
  /** The directory it was loaded from. */
  readonly dir: string;
}

function readJsonObject(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${what} not found: ${path}` : `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} ${path} is malformed: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** Name of a special token in tokenizer_config.json: a string or an AddedToken-like {content}. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/**
 * Loads `dir/tokenizer.json` and `dir/tokenizer_config.json`. Errors name the
 * file that is missing or malformed.
 */
export function loadTokenizer(dir: string): LoadedTokenizer {
  const jsonPath = join(dir, TOKENIZER_JSON);
  const configPath = join(dir, TOKENIZER_CONFIG_JSON);
  const json = readJsonObject(jsonPath, TOKENIZER_JSON);
  const config = readJsonObject(configPath, TOKENIZER_CONFIG_JSON);

  const model = json.model as Record<string, unknown> | undefined;
  const malformed = (why: string): Error => new Error(`${TOKENIZER_JSON} ${jsonPath} is malformed: ${why}`);
  if (typeof model !== 'object' || model === null) throw malformed('no "model" object');
  if (model.type !== 'BPE') throw malformed(`model.type is ${JSON.stringify(model.type)}, expected "BPE"`);
  if (typeof model.vocab !== 'object' || model.vocab === null || Array.isArray(model.vocab)) throw malformed('model.vocab is not an object');
  if (!Array.isArray(model.merges)) throw malformed('model.merges is not an array');
  if (!Array.isArray(json.added_tokens)) throw malformed('"added_tokens" is not an array');
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
    if (!(key in json)) throw malformed(`no "${key}" entry (use null for none)`);
  }

  let tok: HfTokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new Error(`${TOKENIZER_JSON} ${jsonPath} could not be loaded by @huggingface/tokenizers: ${(e as Error).message}`);
  }

  let maxId = -1;
  for (const id of tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const vocabSize = maxId + 1;

  const idOf = (field: string, name: string): number => {
    const id = tok.token_to_id(name);
    if (id === undefined) throw new Error(`${TOKENIZER_CONFIG_JSON} ${configPath}: ${field} ${JSON.stringify(name)} is not in ${jsonPath}`);
    return id;
  };
  const required = (field: string): number => {
    const name = tokenName(config[field]);
    if (name === undefined) throw new Error(`${TOKENIZER_CONFIG_JSON} ${configPath} is malformed: no ${field}`);
    return idOf(field, name);
  };
  const eosId = required('eos_token');
  const padId = required('pad_token');
  const bosName = tokenName(config['bos_token']);
  const bosId = bosName === undefined ? undefined : idOf('bos_token', bosName);
  const mml = config.model_max_length;

  return {
    dir,
    vocabSize,
    eosId,
    padId,
    ...(bosId !== undefined && { bosId }),
    ...(typeof mml === 'number' && { modelMaxLength: mml }),
    encode(text: string): number[] {
      const { ids } = tok.encode(text, { add_special_tokens: false });
      for (const id of ids) {
        if (id === undefined) throw new Error(`the tokenizer in ${dir} has no token for part of the text (no unk_token)`);
      }
      return ids;
    },
    decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
      if (ids.length === 0) return '';
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary (0..${vocabSize - 1})`);
      }
      return tok.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
    },
  };
}
