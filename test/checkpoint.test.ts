import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointDtype, loadModelFolder, saveModelFolder } from '../src/model/checkpoint.js';
import { loadPeftAdapter } from '../src/lora/peft.js';
import { createModel, forward } from '../src/model/llama.js';
import { createActivations } from '../src/model/activations.js';
import { hfTensorShapes, weightTensors } from '../src/model/weights.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { at, got } from '../src/util/checked.js';
import { maxAbsDiff } from './helpers/kernel-variants.js';

const FIXTURE = join(import.meta.dirname, '../../test/fixtures/reference/llama_gqa_tied_bias');
const CLI = join(import.meta.dirname, '../src/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'fedplora-ckpt-'));

function logitsOf(dir: string, adapterDir?: string): Float32Array {
  const { config, weights } = loadModelFolder(dir);
  const lora = adapterDir ? loadPeftAdapter(adapterDir, config) : null;
  const model = createModel(config, weights, { lora });
  const act = createActivations(config, lora, 1, 6, false);
  forward(model, act, Int32Array.of(5, 9, 2, 40, 7, 1));
  return Float32Array.from(act.logits);
}

test('a model saves and reloads bit-exactly', () => {
  const { config, weights } = loadModelFolder(FIXTURE);
  saveModelFolder(join(tmp, 'saved'), config, weights);
  const back = loadModelFolder(join(tmp, 'saved'));
  assert.deepEqual(back.config, config);
  const a = weightTensors(config, weights);
  for (const [name, x] of weightTensors(back.config, back.weights)) assert.deepEqual(x, a.get(name), name);
});

test('a sharded checkpoint loads the same as a single file', () => {
  const { config, weights } = loadModelFolder(FIXTURE);
  const dir = join(tmp, 'sharded');
  mkdirSync(dir);
  const shapes = hfTensorShapes(config);
  const names = [...weightTensors(config, weights).keys()];
  const weightMap: Record<string, string> = {};
  const tensors = weightTensors(config, weights);
  [names.slice(0, 7), names.slice(7)].forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(join(dir, file), new Map(part.map((n) => [n, { data: got(tensors, n, 'weight tensors'), shape: got(shapes, n, 'tensor shapes') }])));
    for (const n of part) weightMap[n] = file;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  copyFileSync(join(FIXTURE, 'config.json'), join(dir, 'config.json'));
  assert.deepEqual(logitsOf(dir), logitsOf(FIXTURE));
  const dropped = at(names, 3, 'tensor names');
  delete weightMap[dropped];
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  assert.throws(() => loadModelFolder(dir), new RegExp(`tensor "${dropped.replace(/\./g, '\\.')}" is not in weight_map`));
});

test('export merged writes a checkpoint that needs no adapter, in the input dtype or another', () => {
  const out = join(tmp, 'merged');
  const r = spawnSync(process.execPath, [CLI, 'export', 'merged', '--model', FIXTURE, '--adapter', join(FIXTURE, 'adapter'), '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(checkpointDtype(out), 'F32');
  const err = maxAbsDiff(logitsOf(out), logitsOf(FIXTURE, join(FIXTURE, 'adapter')));
  assert.ok(err < 1e-4, `merged logits differ by ${err}`);
  assert.ok(maxAbsDiff(logitsOf(out), logitsOf(FIXTURE)) > 1e-2, 'the adapter changed something');
  const half = join(tmp, 'merged-bf16');
  spawnSync(process.execPath, [CLI, 'export', 'merged', '--model', FIXTURE, '--adapter', join(FIXTURE, 'adapter'), '--out', half, '--dtype', 'bf16']);
  assert.equal(checkpointDtype(half), 'BF16');
  assert.ok(existsSync(join(half, 'config.json')));
  const bad = spawnSync(
    process.execPath,
    [CLI, 'export', 'merged', '--model', FIXTURE, '--adapter', join(FIXTURE, 'adapter'), '--out', half, '--dtype', 'int8'],
    { encoding: 'utf8' },
  );
  assert.match(bad.stderr, /--dtype must be F32, F16 or BF16, got int8/);
});
