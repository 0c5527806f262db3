/** `fedplora pretrain`: trains the small base model that ships under models/. */
import type { Command } from 'commander';
import { COMPUTE_PRECISIONS, type ComputePrecision } from '../model/mixed-precision.js';
import { DEFAULT_PRETRAIN, pretrain } from '../train/pretrain.js';

const INT_OPTIONS = [
  ['vocab-size', 'vocabSize'],
  ['hidden-size', 'hiddenSize'],
  ['layers', 'layers'],
  ['heads', 'heads'],
  ['kv-heads', 'kvHeads'],
  ['intermediate-size', 'intermediateSize'],
  ['seq-len', 'seqLen'],
  ['batch-size', 'batchSize'],
  ['steps', 'steps'],
  ['warmup-steps', 'warmupSteps'],
  ['seed', 'seed'],
] as const;

function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

export function registerPretrain(program: Command): void {
  const cmd = program
    .command('pretrain')
    .description('pretrain the small base model from scratch on the bundled public-domain corpus')
    .option('--out <dir>', 'output folder', 'models/fedplora-base');
  for (const [flag, key] of INT_OPTIONS) cmd.option(`--${flag} <n>`, `default ${DEFAULT_PRETRAIN[key]}`, positiveInt(flag));
  cmd.option('--lr <x>', `peak learning rate, default ${DEFAULT_PRETRAIN.lr}`, Number);
  cmd.option('--corpus-dir <dir>', `folder filled by \`npm run corpus:fetch\`, default ${DEFAULT_PRETRAIN.corpusDir}`);
  cmd.option('--bundled-corpus-only', 'train on Moby Dick and the early State of the Union addresses only (no corpus folder needed)');
  cmd.option('--dtype <dtype>', `stored dtype: F32, F16 or BF16, default ${DEFAULT_PRETRAIN.dtype}`);
  cmd.option('--compute <precision>', `precision of the products in training: fp32, or bf16 copies of the fp32 weights, default ${DEFAULT_PRETRAIN.compute}`);
  cmd.action((opts: Record<string, unknown>) => {
    const dtype = String(opts['dtype'] ?? DEFAULT_PRETRAIN.dtype).toUpperCase();
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new Error(`--dtype must be F32, F16 or BF16, got ${dtype}`);
    const compute = String(opts['compute'] ?? DEFAULT_PRETRAIN.compute);
    if (!(COMPUTE_PRECISIONS as readonly string[]).includes(compute)) throw new Error(`--compute must be ${COMPUTE_PRECISIONS.join(' or ')}, got ${compute}`);
    const chosen = Object.fromEntries(INT_OPTIONS.filter(([, k]) => opts[k] !== undefined).map(([, k]) => [k, opts[k] as number]));
    const result = pretrain({
      ...DEFAULT_PRETRAIN,
      ...chosen,
      ...(opts['lr'] !== undefined ? { lr: opts['lr'] as number } : {}),
      dtype,
      compute: compute as ComputePrecision,
      corpusDir: opts['bundledCorpusOnly'] === true ? null : String(opts['corpusDir'] ?? DEFAULT_PRETRAIN.corpusDir),
      out: String(opts['out']),
      log: (line) => process.stdout.write(`${line}\n`),
      command: `npx fedplora ${process.argv.slice(2).join(' ')}`,
    });
    process.stdout.write(`held-out perplexity ${result.heldOutPerplexity.toFixed(1)}; wrote ${String(opts['out'])}\n`);
  });
}
