import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides, loadRunConfig, parseRunConfig } from '../src/experiment/config.js';
import { taskData } from '../src/experiment/build.js';

const MODEL = join(import.meta.dirname, '../../test/fixtures/reference/llama_headdim');
const ok = { model: MODEL, task: 'sotu-party' };

test('defaults fill what a config leaves out', () => {
  const c = parseRunConfig(ok);
  assert.equal(c.method.name, 'fed-plora');
  assert.equal(c.lora.rank, 16);
  assert.deepEqual(c.ranks, { kind: 'uniform', choices: [2, 4, 8, 16] });
  assert.equal(c.local.steps, 5);
});

test('each bad config names its key', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...ok, round: 3 }, /config: \(top level\): unknown key round/],
    [{ ...ok, rounds: 'ten' }, /config: rounds: .*number/i],
    [{ ...ok, lora: { rank: 4 }, ranks: { kind: 'list', ranks: [2, 8] }, clients: 2 }, /config: ranks\.ranks\[1\]: client rank 8 exceeds lora\.rank \(R = 4\)/],
    [{ ...ok, fractionPerRound: 1.5 }, /config: fractionPerRound: a fraction of clients cannot exceed 1/],
    [{ ...ok, clients: 3, clientsPerRound: 4 }, /config: clientsPerRound: 4 is more than the 3 clients/],
    [
      { model: MODEL, data: { train: '/nope/train.jsonl', test: '/nope/test.jsonl', layout: 'alpaca' } },
      /config: data\.train: file \/nope\/train\.jsonl does not exist/,
    ],
    [{ model: MODEL }, /config: task: give exactly one of "task"/],
    [{ ...ok, method: { name: 'fedprox' } }, /config: method\.name/],
    [{ ...ok, method: { name: 'fed-plora', selection: 'best' } }, /config: method\.selection/],
    [{ ...ok, local: { steps: 0 } }, /config: local\.steps: set local\.steps or local\.epochs above 0/],
    [{ ...ok, model: '/nope' }, /config: model: model folder \/nope does not exist/],
  ];
  for (const [raw, message] of bad) assert.throws(() => parseRunConfig(raw), message, JSON.stringify(raw));
});

test("a run's headline metric is the task's unless the config names another this kind of task is scored by", async () => {
  assert.equal((await taskData(parseRunConfig({ model: MODEL, task: 'cmudict' }))).task.metric, 'exact_match');
  assert.equal((await taskData(parseRunConfig({ model: MODEL, task: 'cmudict', metric: 'phoneme_error_rate' }))).task.metric, 'phoneme_error_rate');
  await assert.rejects(
    taskData(parseRunConfig({ model: MODEL, task: 'spam', metric: 'rouge_l' })),
    /config: metric: classification tasks are scored by accuracy, not rouge_l/,
  );
  assert.throws(() => parseRunConfig({ model: MODEL, task: 'spam', metric: 'bleu' }), /config: metric: /);
});

test('YAML files and --set overrides', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-config-'));
  const path = join(dir, 'run.yaml');
  writeFileSync(path, `model: ${MODEL}\ntask: spam\nrounds: 4\nlora:\n  rank: 8\n`);
  const c = await loadRunConfig(path, ['rounds=7', 'method.name=fedit', 'lora.targets=[q_proj, o_proj]']);
  assert.equal(c.rounds, 7);
  assert.equal(c.method.name, 'fedit');
  assert.deepEqual(c.lora.targets, ['q_proj', 'o_proj']);
  assert.equal(c.lora.rank, 8);
  assert.deepEqual(c.ranks, { kind: 'uniform', choices: [1, 2, 4, 8] }, 'default ranks follow R');
  assert.throws(() => applyOverrides({ rounds: 3 }, ['rounds.x=1']), /rounds is not a section/);
  assert.throws(() => applyOverrides({}, ['novalue']), /expected key=value/);
  writeFileSync(path, '- a list\n');
  await assert.rejects(loadRunConfig(path), /must be a YAML mapping/);
  await assert.rejects(loadRunConfig(join(dir, 'missing.yaml')), /cannot read config .*missing\.yaml: ENOENT/);
});
