/** `fedplora export merged`: a standalone checkpoint with an adapter merged into the weights. */
import type { Command } from 'commander';
import { loadModelFolder, checkpointDtype, saveModelFolder } from '../model/checkpoint.js';
import { loadPeftAdapter } from '../lora/peft.js';
import { foldInactive } from '../lora/plora.js';
import { getKernels } from '../kernels/index.js';
import type { Dtype } from '../io/safetensors.js';

interface ExportOptions {
  model: string;
  adapter: string;
  out: string;
  dtype?: string;
}

function exportMerged(opts: ExportOptions): void {
  const dtype = (opts.dtype ?? checkpointDtype(opts.model)).toUpperCase();
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new Error(`--dtype must be F32, F16 or BF16, got ${opts.dtype}`);
  const { config, weights } = loadModelFolder(opts.model);
  const adapter = loadPeftAdapter(opts.adapter, config);
  // Merging is folding every module: W = W0 + scale * B A.
  const merged = foldInactive(getKernels(), weights, adapter, []);
  saveModelFolder(opts.out, config, merged, { dtype: dtype as Dtype, companionsFrom: opts.model });
  process.stdout.write(`merged ${opts.adapter} into ${opts.model}: wrote ${opts.out} (${dtype})\n`);
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write models in other forms')
    .command('merged')
    .description('write a standalone Hugging Face checkpoint with the adapter merged into the weights')
    .requiredOption('--model <dir>', 'Hugging Face model folder')
    .requiredOption('--adapter <dir>', 'PEFT LoRA adapter folder')
    .requiredOption('--out <dir>', 'output folder')
    .option('--dtype <dtype>', "F32, F16 or BF16 (default: the input checkpoint's)")
    .action((opts: ExportOptions) => exportMerged(opts));
}
