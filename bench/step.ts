/**
 * Training-step benchmark: LoRA rank 16, alpha 32 on all seven projections,
 * AdamW, random weights and tokens. Prints one JSON line per preset and
 * precision of the frozen base; each runs in its own process so peak RSS is
 * its own. `gflops` counts the products against frozen weights at their
 * precision's kernel beside the fp32 ones, against fp32 sgemm's peak.
 *
 *   npm run bench:step                                   # every preset, fp32
 *   npm run bench:step -- --preset small                 # one
 *   npm run bench:step -- --precision fp32,bf16,int8     # the base held three ways
 *   npm run bench:step -- --steps 5                      # timed steps per preset
 *   npm run bench:step -- --threads 1                    # one thread, as each worker of a pool runs
 *   npm run bench:step -- --mode full --precision fp32,bf16   # full-parameter (pretrain's) step, products in fp32 or bf16
 *
 * Where /usr/bin/python3 has torch (Debian's python3-torch), each line also
 * carries PyTorch's figure for the same step on the same threads, measured
 * in the same run by bench/torch_step.py, and our ratio to it; otherwise the
 * line says torch is absent. PyTorch has no int8 training path to compare.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseHfConfig } from '../src/model/config.js';
import { randomWeights } from '../src/model/weights.js';
import { baseWeightBytes, PRECISIONS, type Precision, withPrecision } from '../src/model/precision.js';
import { TARGET_NAMES } from '../src/layers/projections.js';
import { createModel } from '../src/model/llama.js';
import { createTrainer, type Trainer } from '../src/train/trainer.js';
import { withBf16Compute } from '../src/model/mixed-precision.js';
import type { ModelWeights } from '../src/model/weights.js';
import { initLora } from '../src/lora/adapter.js';
import { createRng } from '../src/util/random.js';
import { getKernels } from '../src/kernels/index.js';
import { nativeThreadCount } from '../src/kernels/native-kernels.js';
import { defined } from '../src/util/checked.js';
import { instrumentKernels } from './instrument.js';

interface Preset {
  hf: Record<string, unknown>;
  B: number;
  T: number;
  steps: number;
}

/** models/fedplora-base's shapes */
const BUNDLED_HF = {
  hidden_size: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 64,
  intermediate_size: 688,
  vocab_size: 4096,
  tie_word_embeddings: true,
};

const PRESETS: Record<string, Preset> = {
  tiny: {
    hf: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4, intermediate_size: 688, vocab_size: 2048 },
    B: 8,
    T: 128,
    steps: 10,
  },
  // the bundled base model (models/fedplora-base) at the method benchmark's batch: what a federation here runs
  bundled: { hf: BUNDLED_HF, B: 8, T: 160, steps: 10 },
  // the bundled model at `fedplora pretrain`'s batch (16 x 256): the full-parameter step that builds it
  pretrain: { hf: BUNDLED_HF, B: 16, T: 256, steps: 5 },
  small: {
    hf: { hidden_size: 512, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 8, intermediate_size: 1376, vocab_size: 8192 },
    B: 4,
    T: 256,
    steps: 5,
  },
  'smollm2-135m': {
    hf: {
      hidden_size: 576,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      intermediate_size: 1536,
      vocab_size: 49152,
      tie_word_embeddings: true,
    },
    B: 2,
    T: 256,
    steps: 3,
  },
};

/** GFLOP/s of a 1024^3 sgemm through the same kernels, best of a few runs. */
function sgemmPeak(matmul: ReturnType<typeof getKernels>['matmul']): number {
  const n = 1024;
  const a = new Float32Array(n * n).fill(0.5);
  const b = new Float32Array(n * n).fill(0.25);
  const c = new Float32Array(n * n);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    matmul(c, a, b, n, n, n, false, false, 1, 0);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * n * n * n) / (best / 1000) / 1e9;
}

type Mode = 'lora' | 'full';

function runPreset(name: string, mode: Mode, precision: Precision, stepsOverride?: number): void {
  const preset = defined(PRESETS[name], `preset ${name}`);
  const config = parseHfConfig({ model_type: 'llama', max_position_embeddings: 2048, ...preset.hf });
  const base = getKernels();
  const sgemm = sgemmPeak(base.matmul.bind(base));
  const { kernels, stats, reset } = instrumentKernels(base);
  const rng = createRng(1);
  let trainer: Trainer;
  let weights: ModelWeights;
  if (mode === 'full') {
    // every weight trains; bf16 is mixed precision (model/mixed-precision.ts), as `fedplora pretrain --compute bf16`
    if (precision === 'int8') throw new Error('full-parameter training has no int8 mode; choose fp32 or bf16');
    const fp32 = randomWeights(config, rng);
    weights = precision === 'bf16' ? withBf16Compute(fp32) : fp32;
    trainer = createTrainer(createModel(config, weights, { kernels }), { mode: 'full', optimizer: { lr: 1e-4 } });
  } else {
    weights = withPrecision(randomWeights(config, rng), precision);
    const lora = initLora(config, { rank: 16, alpha: 32, targets: [...TARGET_NAMES] }, rng);
    trainer = createTrainer(createModel(config, weights, { lora, kernels }), { mode: 'lora', optimizer: { lr: 1e-4 } });
  }
  const { B, T } = preset;
  const ids = Int32Array.from({ length: B * T }, () => rng.int(config.vocabSize));
  const batch = { ids, labels: ids, B, T };
  trainer.step([batch]); // warm-up: allocation and first-touch
  reset();
  const steps = stepsOverride ?? preset.steps;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) trainer.step([batch]);
  const seconds = (performance.now() - t0) / 1000;
  const total = stats();
  const breakdown: Record<string, number> = {};
  for (const [k, v] of Object.entries(total.ms)) breakdown[k] = Math.round((v / steps) * 10) / 10;
  const gflops = total.matmulFlops / steps / (seconds / steps) / 1e9;
  const out = {
    preset: name,
    mode,
    precision,
    kernels: base.name,
    threads: nativeThreadCount() || 1,
    base_weight_mb: Math.round(baseWeightBytes(weights) / 1048576),
    ms_per_step: Math.round((seconds / steps) * 1000 * 10) / 10,
    tokens_per_s: Math.round((B * T * steps) / seconds),
    gflops: Math.round(gflops * 10) / 10,
    sgemm_gflops: Math.round(sgemm * 10) / 10,
    fraction_of_sgemm_peak: Math.round((gflops / sgemm) * 1000) / 1000,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    kernel_ms_per_step: breakdown,
    other_ms_per_step: Math.round(((seconds * 1000) / steps - Object.values(breakdown).reduce((a, b) => a + b, 0)) * 10) / 10,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const { values } = parseArgs({
  options: {
    preset: { type: 'string' },
    steps: { type: 'string' },
    threads: { type: 'string' },
    mode: { type: 'string', default: 'lora' },
    precision: { type: 'string', default: 'fp32' },
    child: { type: 'boolean' },
  },
});
const precisions = values.precision.split(',').map((p) => {
  if (!(PRECISIONS as readonly string[]).includes(p)) throw new Error(`unknown precision "${p}"; choose from ${PRECISIONS.join(', ')}`);
  return p as Precision;
});
const steps = values.steps ? Number(values.steps) : undefined;
if (values.mode !== 'lora' && values.mode !== 'full') throw new Error(`--mode must be lora or full, got "${values.mode}"`);
const mode: Mode = values.mode;
if (values.threads !== undefined && !/^[1-9][0-9]*$/.test(values.threads)) throw new Error(`--threads must be a positive integer, got "${values.threads}"`);
if (values.preset && !(values.preset in PRESETS)) {
  throw new Error(`unknown preset "${values.preset}"; choose from ${Object.keys(PRESETS).join(', ')}`);
}
if (values.child) {
  runPreset(defined(values.preset, 'the --preset of a --child run'), mode, defined(precisions[0], 'the --precision of a --child run'), steps);
} else {
  for (const name of values.preset ? [values.preset] : Object.keys(PRESETS)) {
    for (const precision of precisions) {
      const script = defined(process.argv[1], 'the path of this script');
      const args = [script, '--child', '--preset', name, '--mode', mode, '--precision', precision, ...(steps ? ['--steps', String(steps)] : [])];
      const env = values.threads ? { ...process.env, FEDPLORA_THREADS: values.threads, OPENBLAS_NUM_THREADS: values.threads } : process.env;
      const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env });
      if (r.status !== 0) {
        process.exitCode = 1;
        continue;
      }
      const ours = JSON.parse(r.stdout) as StepLine;
      process.stdout.write(`${JSON.stringify({ ...ours, ...torchFigure(name, precision, ours, steps) })}\n`);
    }
  }
}

/** PyTorch's tokens/s and peak RSS for the same step, or why there is none. */
function torchFigure(name: string, precision: Precision, ours: StepLine, stepsOverride?: number): Record<string, unknown> {
  if (precision === 'int8') return { torch: 'PyTorch has no int8 training path for a frozen Linear to compare with' };
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status !== 0) return { torch: 'absent: /usr/bin/python3 has no torch (apt-get install python3-torch)' };
  const preset = defined(PRESETS[name], `preset ${name}`);
  const script = fileURLToPath(new URL('../../bench/torch_step.py', import.meta.url));
  const args = [script, '--config', JSON.stringify(preset.hf), '--batch', String(preset.B), '--seq', String(preset.T)];
  args.push('--steps', String(stepsOverride ?? preset.steps), '--threads', String(ours.threads), '--precision', precision, '--mode', mode);
  const r = spawnSync('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) return { torch: `bench/torch_step.py failed with status ${r.status}` };
  const t = JSON.parse(r.stdout) as { torch: string; threads: number; tokens_per_s: number; peak_rss_mb: number };
  return {
    torch: t.torch,
    torch_threads: t.threads,
    torch_tokens_per_s: t.tokens_per_s,
    torch_peak_rss_mb: t.peak_rss_mb,
    tokens_per_s_vs_torch: Math.round((ours.tokens_per_s / t.tokens_per_s) * 100) / 100,
    peak_rss_vs_torch: Math.round((ours.peak_rss_mb / t.peak_rss_mb) * 100) / 100,
  };
}

interface StepLine {
  tokens_per_s: number;
  peak_rss_mb: number;
  threads: number;
}
