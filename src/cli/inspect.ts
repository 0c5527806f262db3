/**
 * Debug commands to compare the engine with any other implementation:
 * last-position logits, and the loss with every adapter gradient.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadModelFolder } from '../model/checkpoint.js';
import { loadPeftAdapter, peftTensors } from '../lora/peft.js';
import { zerosLike } from '../lora/adapter.js';
import { createActivations } from '../model/activations.js';
import { backward, createModel, forward, lossSum, setTargets } from '../model/llama.js';
import { writeSafetensors } from '../io/safetensors.js';
import { parseTokenRows } from './token-list.js';

interface InspectOptions {
  model: string;
  adapter?: string;
  ids: string;
  labels?: string;
}

interface GradsOptions extends InspectOptions {
  out: string;
}

function load(opts: InspectOptions) {
  const { config, weights } = loadModelFolder(opts.model);
  const lora = opts.adapter ? loadPeftAdapter(opts.adapter, config) : null;
  return { config, model: createModel(config, weights, { lora }), lora };
}

function inspectLogits(opts: InspectOptions): void {
  const { config, model } = load(opts);
  const ids = parseTokenRows(opts.ids, 'ids');
  const act = createActivations(config, model.lora, ids.B, ids.T, false);
  forward(model, act, ids.data);
  const V = config.vocabSize;
  const rows = Array.from({ length: ids.B }, (_, b) => Array.from(act.logits.subarray(((b + 1) * ids.T - 1) * V, (b + 1) * ids.T * V)));
  process.stdout.write(`${JSON.stringify(ids.B === 1 ? rows[0] : rows)}\n`);
}

function inspectGrads(opts: GradsOptions): void {
  const { config, model, lora } = load(opts);
  if (!lora) throw new Error('inspect grads needs --adapter');
  const ids = parseTokenRows(opts.ids, 'ids');
  const labels = opts.labels ? parseTokenRows(opts.labels, 'labels') : ids;
  if (labels.B !== ids.B || labels.T !== ids.T) throw new Error(`--labels must have the shape of --ids (${ids.B} x ${ids.T})`);
  const act = createActivations(config, lora, ids.B, ids.T, true);
  const counted = setTargets(act, labels.data, config.vocabSize);
  if (counted === 0) throw new Error('no label is counted: every shifted label is -100');
  forward(model, act, ids.data);
  const loss = lossSum(model, act) / counted;
  const grads = { weights: null, lora: zerosLike(lora) };
  backward(model, act, grads, 1 / counted);
  const out = opts.out;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'loss.json'), `${JSON.stringify({ loss, counted_tokens: counted })}\n`);
  writeSafetensors(join(out, 'grads.safetensors'), peftTensors(grads.lora));
  process.stdout.write(`loss ${loss} over ${counted} tokens; gradients written to ${join(out, 'grads.safetensors')}\n`);
}

export function registerInspect(program: Command): void {
  const inspect = program.command('inspect').description('print internals to compare with another implementation');
  inspect
    .command('logits')
    .description("print the last position's logits as a JSON array (rows separated by ';' give one array per row)")
    .requiredOption('--model <dir>', 'Hugging Face model folder')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder')
    .requiredOption('--ids <ids>', 'token ids, e.g. 1,2,3 or 1,2,3;4,5,6')
    .action((opts: InspectOptions) => inspectLogits(opts));
  inspect
    .command('grads')
    .description('write loss.json and grads.safetensors (adapter gradients under PEFT keys)')
    .requiredOption('--model <dir>', 'Hugging Face model folder')
    .requiredOption('--adapter <dir>', 'PEFT LoRA adapter folder')
    .requiredOption('--ids <ids>', 'token ids, e.g. 1,2,3 or 1,2,3;4,5,6')
    .option('--labels <labels>', 'labels in the shape of --ids (-100 is ignored; default: the ids); shifted as in Hugging Face')
    .requiredOption('--out <dir>', 'output folder')
    .action((opts: GradsOptions) => inspectGrads(opts));
}
