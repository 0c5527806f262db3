/**
 * `npm run bench:precision-loss`: the same LoRA fine-tune of the bundled model
 * on spam (rank 16 on q/k/v/o, batch 8, lr 2e-3, the same batches and seed)
 * with the frozen base held in fp32, bf16 and int8, for --steps steps (100 by
 * default). Prints one JSON line per precision: the mean training loss over
 * the steps, its last-20-step mean, and the relative difference from fp32.
 */
import { parseArgs } from 'node:util';
import { paddedBatches, encodeExample } from '../src/data/encode.js';
import { loadTokenizer } from '../src/data/tokenizer.js';
import { getTask } from '../src/data/tasks/index.js';
import { getKernels } from '../src/kernels/index.js';
import { initLora } from '../src/lora/adapter.js';
import { loadModelFolder } from '../src/model/checkpoint.js';
import { createModel } from '../src/model/llama.js';
import { PRECISIONS, withPrecision } from '../src/model/precision.js';
import { createTrainer } from '../src/train/trainer.js';
import { createRng } from '../src/util/random.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '100' } } });
const steps = Number(values.steps);
const MODEL = 'models/fedplora-base';
const { config, weights } = loadModelFolder(MODEL);
const tokenizer = loadTokenizer(MODEL);
const train = getTask('spam').load(0).train;
const encoded = train.map((e) => encodeExample(tokenizer, e, { maxLength: 160, truncation: 'prompt-start', appendEos: false }));
const batches = paddedBatches(encoded, 8, tokenizer.padId, createRng(3)).slice(0, steps);
if (batches.length < steps) throw new Error(`spam gives ${batches.length} batches of 8, fewer than ${steps} steps`);

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
let fp32: { all: number; last: number } | null = null;
for (const precision of PRECISIONS) {
  const lora = initLora(config, { rank: 16, alpha: 32, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, createRng(1));
  const model = createModel(config, withPrecision(weights, precision), { lora, kernels: getKernels() });
  const trainer = createTrainer(model, { mode: 'lora', optimizer: { lr: 2e-3 }, maxGradNorm: 1 });
  const t0 = performance.now();
  const losses = batches.map((b) => trainer.step([b]).loss);
  const seconds = (performance.now() - t0) / 1000;
  const result = { all: mean(losses), last: mean(losses.slice(-20)) };
  fp32 ??= result;
  const line = {
    precision,
    steps,
    mean_loss: +result.all.toFixed(5),
    last20_mean_loss: +result.last.toFixed(5),
    relative_to_fp32: +((result.all - fp32.all) / fp32.all).toFixed(5),
    last20_relative_to_fp32: +((result.last - fp32.last) / fp32.last).toFixed(5),
    seconds: +seconds.toFixed(1),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
