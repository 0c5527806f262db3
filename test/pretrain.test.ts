import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PRETRAIN, pretrain } from '../src/train/pretrain.js';
import { loadModelFolder } from '../src/model/checkpoint.js';
import { loadTokenizer } from '../src/data/tokenizer.js';

test('pretrain on the bundled corpus writes a loadable model folder whose card names every corpus part', () => {
  const out = mkdtempSync(join(tmpdir(), 'fedplora-pretrain-'));
  const lines: string[] = [];
  const r = pretrain({
    ...DEFAULT_PRETRAIN,
    corpusDir: null,
    vocabSize: 300,
    hiddenSize: 32,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    intermediateSize: 64,
    seqLen: 32,
    batchSize: 2,
    steps: 6,
    warmupSteps: 1,
    logEvery: 3,
    dtype: 'F32',
    out,
    log: (l) => lines.push(l),
    command: 'npx fedplora pretrain --bundled-corpus-only',
  });
  const { config, weights } = loadModelFolder(out);
  assert.equal(config.numLayers, 1);
  assert.equal(config.vocabSize, loadTokenizer(out).vocabSize);
  assert.ok(weights.embed?.every(Number.isFinite));
  assert.ok(Number.isFinite(r.finalTrainLoss) && r.finalTrainLoss > 0);
  // six steps from a random start: the held-out perplexity is near the vocabulary size, not far above it
  assert.ok(r.heldOutPerplexity > 1 && r.heldOutPerplexity < 2 * config.vocabSize, `perplexity ${r.heldOutPerplexity}`);
  const card = readFileSync(join(out, 'README.md'), 'utf8');
  assert.match(card, /\| Moby Dick and the State of the Union addresses before 1950 \| @stdlib\/datasets-moby-dick, @stdlib\/datasets-sotu \| \d+ \|/);
  assert.doesNotMatch(card, /npm run corpus:fetch/); // the bundled corpus needs no fetch
  assert.ok(
    lines.some((l) => /^step 6\/6: train loss/.test(l)),
    lines.join('\n'),
  );
});

test('pretrain with --compute bf16 trains through the bf16 copies, saves fp32-trained weights and says so on the card', () => {
  const out = mkdtempSync(join(tmpdir(), 'fedplora-pretrain-bf16-'));
  const base = { ...DEFAULT_PRETRAIN, corpusDir: null, vocabSize: 300, hiddenSize: 32, layers: 1, heads: 2, kvHeads: 1, intermediateSize: 64 };
  const options = { ...base, seqLen: 32, batchSize: 2, steps: 6, warmupSteps: 1, logEvery: 3, dtype: 'F32' as const, log: () => {}, command: 'c' };
  const fp32 = pretrain({ ...options, out: mkdtempSync(join(tmpdir(), 'fedplora-pretrain-fp32-')) });
  const bf16 = pretrain({ ...options, compute: 'bf16', out });
  // the same batches: six steps apart only by the products' rounding
  assert.notEqual(bf16.finalTrainLoss, fp32.finalTrainLoss);
  assert.ok(Math.abs(bf16.finalTrainLoss - fp32.finalTrainLoss) / fp32.finalTrainLoss < 0.02, `${bf16.finalTrainLoss} vs ${fp32.finalTrainLoss}`);
  assert.ok(Math.abs(bf16.heldOutPerplexity - fp32.heldOutPerplexity) / fp32.heldOutPerplexity < 0.05);
  assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /\| products in training \| bf16 \|/);
  assert.ok(loadModelFolder(out).weights.embed?.every(Number.isFinite));
});
