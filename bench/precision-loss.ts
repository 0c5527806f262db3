/**
 * `npm run bench:precision-loss`: the same LoRA fine-tune of the bundled model
 * on spam (rank 16 on q/k/v/o, batch 8, lr 2e-3, the same batches and seed)
 * with the frozen base held in fp32, bf16 and int8, for --steps steps (100 by
 * default), repeated over --seeds seeds (5 by default; a seed orders the
 * batches and starts the adapter). Prints one JSON line per precision: the
 * mean training loss over the steps and over the last 20, and the relative
 * difference from fp32 on the same seed, averaged over seeds with its spread.
 */
import { parseArgs } from 'node:util';
import { paddedBatches, encodeExample } from '../src/data/encode.js';
import { loadTokenizer } from '../src/data/tokenizer.js';
import { getTask } from '../src/data/tasks/index.js';
import { getKernels } from '../src/kernels/index.js';
import { initLora } from '../src/lora/adapter.js';
import { loadModelFolder } from '../src/model/checkpoint.js';
import { createModel } from '../src/model/llama.js';
import { type Precision, PRECISIONS, withPrecision } from '../src/model/precision.js';
import { createTrainer } from '../src/train/trainer.js';
import { createRng } from '../src/util/random.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '100' }, seeds: { type: 'string', default: '5' } } });
const steps = Number(values.steps);
const seeds = Number(values.seeds);
if (!(Number.isInteger(seeds) && seeds >= 1)) throw new Error(`--seeds must be a positive integer, got "${values.seeds}"`);
const MODEL = 'models/fedplora-base';
const { config, weights } = loadModelFolder(MODEL);
const tokenizer = loadTokenizer(MODEL);
const train = getTask('spam').load(0).train;
const encoded = train.map((e) => encodeExample(tokenizer, e, { maxLength: 160, truncation: 'prompt-start', appendEos: false }));

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]): number => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const round = (x: number): number => +x.toFixed(5);

/** Mean training loss over the steps and over the last 20, for one precision and one seed (batch order and adapter start). */
function fineTune(precision: Precision, seed: number): { all: number; last: number; seconds: number } {
  const batches = paddedBatches(encoded, 8, tokenizer.padId, createRng(3 + seed)).slice(0, steps);
  if (batches.length < steps) throw new Error(`spam gives ${batches.length} batches of 8, fewer than ${steps} steps`);
  const lora = initLora(config, { rank: 16, alpha: 32, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, createRng(1 + seed));
  const model = createModel(config, withPrecision(weights, precision), { lora, kernels: getKernels() });
  const trainer = createTrainer(model, { mode: 'lora', optimizer: { lr: 2e-3 }, maxGradNorm: 1 });
  const t0 = performance.now();
  const losses = batches.map((b) => trainer.step([b]).loss);
  return { all: mean(losses), last: mean(losses.slice(-20)), seconds: (performance.now() - t0) / 1000 };
}

// per seed, every precision on the same batches; the differences are taken seed by seed, then summarised
const runs = new Map<Precision, { all: number; last: number; seconds: number }[]>(PRECISIONS.map((p) => [p, []]));
for (let seed = 0; seed < seeds; seed++) {
  for (const precision of PRECISIONS) runs.get(precision)?.push(fineTune(precision, seed));
}
const fp32 = runs.get('fp32') ?? [];
for (const precision of PRECISIONS) {
  const rs = runs.get(precision) ?? [];
  const rel = rs.map((r, i) => (r.all - (fp32[i]?.all ?? Number.NaN)) / (fp32[i]?.all ?? Number.NaN));
  const relLast = rs.map((r, i) => (r.last - (fp32[i]?.last ?? Number.NaN)) / (fp32[i]?.last ?? Number.NaN));
  const line = {
    precision,
    steps,
    seeds,
    mean_loss: round(mean(rs.map((r) => r.all))),
    last20_mean_loss: round(mean(rs.map((r) => r.last))),
    relative_to_fp32: round(mean(rel)),
    relative_to_fp32_std: round(std(rel)),
    relative_to_fp32_per_seed: rel.map(round),
    last20_relative_to_fp32: round(mean(relLast)),
    last20_relative_to_fp32_std: round(std(relLast)),
    seconds_per_run: +mean(rs.map((r) => r.seconds)).toFixed(1),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
