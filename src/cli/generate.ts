/** `fedplora generate`: continue a prompt with a model (and adapter) using its tokenizer. */
import type { Command } from 'commander';
import { loadModelFolder } from '../model/checkpoint.js';
import { loadPeftAdapter } from '../lora/peft.js';
import { createModel } from '../model/llama.js';
import { generate, DEFAULT_GENERATE } from '../model/generate.js';
import { loadTokenizer } from '../data/tokenizer.js';

interface GenerateCliOptions {
  model: string;
  adapter?: string;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
}

function number(flag: string, check: (n: number) => boolean, what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || !check(n)) throw new Error(`--${flag} must be ${what}, got "${v}"`);
    return n;
  };
}

function runGenerate(o: GenerateCliOptions): void {
  const tokenizer = loadTokenizer(o.model);
  const { config, weights } = loadModelFolder(o.model);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(`${o.model}: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${config.vocabSize}`);
  }
  const lora = o.adapter ? loadPeftAdapter(o.adapter, config) : null;
  const model = createModel(config, weights, { lora });
  const prompt = tokenizer.encode(o.prompt);
  const ids = generate(model, prompt, {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    seed: o.seed,
    stopTokens: [tokenizer.eosId],
  });
  const text = tokenizer.decode(ids.filter((id) => id !== tokenizer.eosId));
  process.stdout.write(`${o.prompt + text}\n`);
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('continue a prompt (greedy by default; sampling with --temperature)')
    .requiredOption('--model <dir>', 'Hugging Face model folder with tokenizer.json')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder')
    .requiredOption('--prompt <text>', 'the text to continue')
    .option(
      '--max-new-tokens <n>',
      'tokens to generate',
      number('max-new-tokens', (n) => Number.isInteger(n) && n > 0, 'a positive integer'),
      DEFAULT_GENERATE.maxNewTokens,
    )
    .option(
      '--temperature <t>',
      '0 is greedy',
      number('temperature', (n) => n >= 0, 'zero or more'),
      0,
    )
    .option(
      '--top-k <k>',
      '0 keeps every token',
      number('top-k', (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer'),
      0,
    )
    .option(
      '--top-p <p>',
      '1 keeps every token',
      number('top-p', (n) => n > 0 && n <= 1, 'in (0, 1]'),
      1,
    )
    .option('--seed <n>', 'sampling seed', number('seed', Number.isInteger, 'an integer'), 0)
    .action((o: GenerateCliOptions) => runGenerate(o));
}
