/** The base's precision from the config and the CLI: a run on a bf16 or int8 base, and the memory policy's ranks. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseRunConfig } from '../src/experiment/config.js';
import { clientRanks, loraTrainingBytes } from '../src/federation/resources.js';
import { loadModelFolder } from '../src/model/checkpoint.js';
import { baseWeightBytes, baseWeightBytesOf, withPrecision } from '../src/model/precision.js';
import { loadModel } from '../src/index.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');

test('precision is a config key with fp32 as default, and a wrong value is refused by name', () => {
  assert.equal(parseRunConfig({ task: 'spam' }, { checkFiles: false }).precision, 'fp32');
  assert.equal(parseRunConfig({ task: 'spam', precision: 'int8' }, { checkFiles: false }).precision, 'int8');
  assert.throws(() => parseRunConfig({ task: 'spam', precision: 'fp16' }, { checkFiles: false }), /config: precision: /);
});

test("the base's bytes from the shapes equal the bytes of the loaded weights at every precision", () => {
  const { config, weights } = loadModelFolder(join(ROOT, 'models/fedplora-base'));
  for (const p of ['fp32', 'bf16', 'int8'] as const) assert.equal(baseWeightBytesOf(config, p), baseWeightBytes(withPrecision(weights, p)), p);
  // the library's loadModel takes the precision too
  const { model } = loadModel(join(ROOT, 'models/fedplora-base'), { precision: 'bf16' });
  assert.equal(baseWeightBytes(model.weights), baseWeightBytesOf(config, 'bf16'));
  assert.equal(model.weights.layers[0]?.proj.q_proj.frozen?.format, 'bf16');
});

test('a memory budget holds the base first: the same budget gives a bf16 or int8 base a higher rank', () => {
  const { config } = loadModelFolder(join(ROOT, 'models/fedplora-base'));
  const targets = ['q_proj', 'v_proj'] as const;
  const perRank = loraTrainingBytes(config, targets, 1, 8 * 128);
  const fp32 = baseWeightBytesOf(config, 'fp32');
  // a budget that fits the fp32 base and exactly 3 ranks
  const mb = (fp32 + 3 * perRank + 1) / 1048576;
  const rankAt = (p: 'fp32' | 'bf16' | 'int8'): number =>
    clientRanks({ kind: 'memory', budgetsMb: [mb], batchSize: 8, seqLen: 128, baseBytes: baseWeightBytesOf(config, p) }, 1, 64, 0, {
      config,
      targets: [...targets],
    })[0] ?? 0;
  assert.equal(rankAt('fp32'), 3);
  const bf16 = Math.min(64, Math.floor((mb * 1048576 - baseWeightBytesOf(config, 'bf16')) / perRank));
  assert.equal(rankAt('bf16'), bf16);
  assert.ok(rankAt('bf16') > 3 && rankAt('int8') >= rankAt('bf16'), `${rankAt('bf16')} ${rankAt('int8')}`);
  assert.throws(
    () => clientRanks({ kind: 'memory', budgetsMb: [1], batchSize: 8, seqLen: 128, baseBytes: fp32 }, 1, 64, 0, { config, targets: [...targets] }),
    /ranks.budgetsMb\[0\]: 1 MB is below the [\d.]+ MB that the base model and rank 1 need/,
  );
});

test('fedplora run --precision int8 trains one round on the bundled model and records the precision', () => {
  const out = mkdtempSync(join(tmpdir(), 'fedplora-precision-'));
  const sets = ['model=models/fedplora-base', 'task=spam', 'clients=2', 'clientsPerRound=2', 'rounds=1', 'evalEvery=1', 'testExamples=8', 'maxLength=64'];
  const args = [
    CLI,
    'run',
    ...[...sets, 'maxExamplesPerClient=8', 'local={steps: 2, batchSize: 4}', `output=${out}`, 'name=int8'].flatMap((s) => ['--set', s]),
  ];
  const r = spawnSync(process.execPath, [...args, '--precision', 'int8'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const recorded = JSON.parse(readFileSync(join(out, 'int8', 'config.json'), 'utf8')) as { precision: string };
  assert.equal(recorded.precision, 'int8');
  const rounds = readFileSync(join(out, 'int8', 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(rounds.length, 2);
  const bad = spawnSync(process.execPath, [...args, '--precision', 'fp8', '--overwrite'], { cwd: ROOT, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /precision/);
});
