/**
 * A short end-to-end run of the engine on built-in text: pretrain a tiny
 * LLaMA from scratch (full parameters), then fine-tune PLoRA modules on a
 * second text with the inactive modules folded into the base.
 */
import type { Command } from 'commander';
import { parseHfConfig } from '../model/config.js';
import { randomWeights } from '../model/weights.js';
import { createModel } from '../model/llama.js';
import { createTrainer, type Batch } from '../train/trainer.js';
import { initLora } from '../adapters/lora.js';
import { extractActive, foldInactive } from '../adapters/plora.js';
import { createRng, type Rng } from '../util/random.js';
import { getKernels } from '../kernels/index.js';

const PRETRAIN_TEXT =
  'We hold these truths to be self-evident, that all men are created equal, that they are endowed by their ' +
  'Creator with certain unalienable Rights, that among these are Life, Liberty and the pursuit of Happiness. ';
const FINETUNE_TEXT = 'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse. ';

function charBatch(text: string, vocab: string[], rng: Rng, B: number, T: number): Batch {
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = rng.int(text.length);
    for (let t = 0; t < T; t++) ids[b * T + t] = vocab.indexOf(text[(start + t) % text.length]!);
  }
  return { ids, labels: Int32Array.from(ids), B, T };
}

function runDemo(): void {
  const kernels = getKernels();
  const vocab = [...new Set(PRETRAIN_TEXT + FINETUNE_TEXT)].sort();
  const config = parseHfConfig({
    model_type: 'llama', vocab_size: vocab.length, hidden_size: 64, intermediate_size: 172,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64,
  });
  const rng = createRng(1);
  const base = randomWeights(config, rng);
  console.log(`kernels: ${kernels.name}; model: ${config.numLayers} layers, hidden ${config.hiddenSize}, vocab ${vocab.length}`);

  const pretrain = createTrainer(createModel(config, base, { kernels }), { mode: 'full', optimizer: { lr: 3e-3 } });
  for (let step = 0; step <= 150; step++) {
    const { loss } = pretrain.step([charBatch(PRETRAIN_TEXT, vocab, rng, 8, 48)]);
    if (step % 50 === 0) console.log(`pretrain step ${step}: loss ${loss.toFixed(3)}`);
  }

  // PLoRA: 8 modules on q and v; this client can afford 3 of them.
  const R = 8;
  const global = initLora(config, { rank: R, alpha: 16, targets: ['q_proj', 'v_proj'] }, rng);
  const active = [1, 4, 6];
  const folded = foldInactive(kernels, base, global, active);
  const client = extractActive(global, active);
  const tune = createTrainer(createModel(config, folded, { lora: client, kernels }), { mode: 'lora', optimizer: { lr: 1e-2 } });
  for (let step = 0; step <= 100; step++) {
    const { loss } = tune.step([charBatch(FINETUNE_TEXT, vocab, rng, 8, 48)]);
    if (step % 50 === 0) console.log(`PLoRA fine-tune (modules ${active.join(',')} of ${R}) step ${step}: loss ${loss.toFixed(3)}`);
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('pretrain a tiny model on built-in text, then fine-tune PLoRA modules on another text')
    .action(() => runDemo());
}
