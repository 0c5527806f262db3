/**
 * Partitioners of one's own: the example plugin's label-shards split gives
 * each client whole shards of the label-sorted training data, in a program,
 * in a CLI run that names the plugin in its config (and in its worker
 * processes), and in `fedplora data show`; names, kinds and options are
 * checked like methods'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  buildExperiment,
  createPartitioner,
  definePartitioner,
  parseRunConfig,
  partitionerFromParts,
  partitionerNames,
  registerPartitioner,
  registerPlugin,
  simulate,
  z,
  type Example,
  type RunConfig,
} from '../src/index.js';
import { encodeExample } from '../src/data/encode.js';
import { exampleKeyOf } from '../src/data/partition/index.js';
import { encodeOptions, taskData } from '../src/experiment/build.js';
import { at, defined } from '../src/util/checked.js';
import plugin, { labelShards } from '../examples/custom-partitioner.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const PLUGIN = join(ROOT, 'dist/examples/custom-partitioner.js');
const MODEL = join(ROOT, 'models/fedplora-base');
const dir = mkdtempSync(join(tmpdir(), 'fedplora-partitioner-'));

registerPlugin(plugin);

const small = (partition: Record<string, unknown>) => ({
  model: MODEL,
  task: 'spam',
  seed: 3,
  clients: 4,
  partition,
  ranks: { kind: 'list', ranks: [4, 4, 4, 4] },
  lora: { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj'] },
  method: { name: 'fedit', rank: 4 },
  rounds: 1,
  clientsPerRound: 2,
  evalEvery: 1,
  testExamples: 16,
  maxLength: 64,
  maxExamplesPerClient: 24,
  local: { steps: 2, batchSize: 4, lr: 0.004 },
  measureNoise: false,
  workers: 1,
});

/**
 * The shards each client's indices come from, after checking the split is
 * what label-shards promises: the training examples sorted by label (ties in
 * input order), cut at floor(k n / S) into S = clients x shardsPerClient
 * shards, each client holding exactly shardsPerClient whole shards.
 */
function shardsOf(parts: number[][], train: readonly Example[], shardsPerClient: number): number[][] {
  const n = train.length;
  const count = parts.length * shardsPerClient;
  const order = train
    .map((x, i) => ({ i, label: defined(x.label, `label of training example ${i}`) }))
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : a.i - b.i))
    .map(({ i }) => i);
  const shardAt = new Array<number>(n);
  const shardSize = new Array<number>(count).fill(0);
  for (let k = 0; k < count; k++) {
    for (let p = Math.floor((k * n) / count); p < Math.floor(((k + 1) * n) / count); p++) shardAt[at(order, p, 'examples in label order')] = k;
    shardSize[k] = Math.floor(((k + 1) * n) / count) - Math.floor((k * n) / count);
  }
  const held = parts.map((part, c) => {
    const shards = [...new Set(part.map((i) => defined(shardAt[i], `shard of example ${i}`)))].sort((a, b) => a - b);
    assert.equal(shards.length, shardsPerClient, `client ${c} holds pieces of shards ${shards}`);
    assert.equal(
      part.length,
      shards.reduce((s, k) => s + at(shardSize, k, 'shard sizes'), 0),
      `client ${c} holds its shards whole`,
    );
    return shards;
  });
  assert.deepEqual(
    held.flat().sort((a, b) => a - b),
    Array.from({ length: count }, (_, k) => k),
    'every shard is dealt once',
  );
  return held;
}

async function expectedSplit(config: RunConfig): Promise<{ train: Example[]; parts: number[][] }> {
  const { train } = await taskData(config);
  const parts = createPartitioner({ ...config.partition, clients: config.clients }, train, exampleKeyOf('label'), config.seed).partitions();
  return { train, parts };
}

test('a plugin partitioner takes a config option with its default, and a run trains on the split it makes', async () => {
  const config = parseRunConfig(small({ kind: 'label-shards' }));
  assert.deepEqual(config.partition, { kind: 'label-shards', shardsPerClient: 2 });
  const { train, parts } = await expectedSplit(config);
  const shards = shardsOf(parts, train, 2);
  assert.notDeepEqual(
    shardsOf(createPartitioner({ kind: 'label-shards', shardsPerClient: 2, clients: 4 }, train, exampleKeyOf('label'), 4).partitions(), train, 2),
    shards,
    'another seed deals other shards',
  );

  const e = await buildExperiment(config);
  assert.match(e.summary, new RegExp(`label-shards: ${train.length} items over 4 clients`));
  assert.match(e.summary, new RegExp(`split sizes: ${parts.map((p) => p.length).join(' ')}\\n`));
  const { task } = await taskData(config);
  e.clients.forEach((client, c) => {
    const first = at(parts, c, 'expected split').slice(0, 24);
    assert.equal(client.info.numExamples, first.length);
    assert.deepEqual(
      client.examples.map((x) => x.ids),
      first.map((i) => encodeExample(e.tokenizer, at(train, i, 'training examples'), encodeOptions(config, task)).ids),
      `client ${c} trains on its shards' first examples`,
    );
  });
  const metrics = await simulate(e);
  assert.equal(metrics.length, 2);
  assert.ok(at(metrics, 1, 'round metrics').bytes_up > 0, 'the sampled clients trained and uploaded');
});

test('a run config names the plugin file; the CLI run and its worker processes partition with it', async () => {
  const configPath = join(dir, 'shards-run.json');
  const raw = { ...small({ kind: 'label-shards', shardsPerClient: 3 }), name: 'shards-run', workers: 2, output: dir, plugins: [relative(dir, PLUGIN)] };
  writeFileSync(configPath, JSON.stringify(raw));
  const r = spawnSync(process.execPath, [CLI, 'run', configPath], { encoding: 'utf8', cwd: ROOT, timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const { train, parts } = await expectedSplit(parseRunConfig({ ...raw, plugins: [] }));
  shardsOf(parts, train, 3);
  assert.match(r.stdout, new RegExp(`split sizes: ${parts.map((p) => p.length).join(' ')}\\n`));
  assert.match(r.stdout, /clients train in 2 worker processes/);
  const rounds = readFileSync(join(dir, 'shards-run', 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { bytes_up: number });
  assert.ok(defined(rounds.at(-1), 'last round in metrics.jsonl').bytes_up > 0, 'the workers trained and uploaded');
  const recorded = JSON.parse(readFileSync(join(dir, 'shards-run', 'config.json'), 'utf8')) as RunConfig;
  assert.deepEqual(recorded.partition, { kind: 'label-shards', shardsPerClient: 3 });
});

test('a name is registered once, built-in or not', () => {
  assert.throws(() => registerPartitioner(labelShards), /a partitioner named 'label-shards' is already registered/);
  assert.throws(() => registerPartitioner({ ...labelShards, name: 'dirichlet' }), /a partitioner named 'dirichlet' is already registered/);
  assert.throws(() => registerPartitioner({ ...labelShards, name: 'Shards!' }), /partitioner name 'Shards!'/);
  assert.deepEqual(partitionerNames().slice(0, 5), ['iid', 'dirichlet', 'pathological', 'natural', 'size-skew']);
  assert.ok(partitionerNames().includes('label-shards'));
});

test('an unknown kind is refused with the registered kinds; bad options are refused naming the key', () => {
  assert.throws(
    () => parseRunConfig(small({ kind: 'shards' })),
    /^Error: config: partition\.kind: unknown partition kind 'shards'; registered partitioners: iid, dirichlet, pathological, natural, size-skew, label-shards \(a partitioner of your own is registered by a plugin/,
  );
  assert.throws(
    () => parseRunConfig(small({ kind: 'label-shards', shardsPerClient: 0 })),
    /^Error: config: partition\.shardsPerClient: Too small: expected number to be >0/,
  );
  assert.throws(
    () => parseRunConfig(small({ kind: 'label-shards', shardsPerClient: 'two' })),
    /^Error: config: partition\.shardsPerClient: Invalid input: expected number/,
  );
  assert.throws(() => parseRunConfig(small({ kind: 'label-shards', shards: 2 })), /^Error: config: partition: unknown key shards for partition label-shards$/);
  assert.throws(() => parseRunConfig(small({ kind: 'iid', clients: 4 })), /^Error: config: partition: unknown key clients for partition iid$/);
  assert.throws(() => parseRunConfig(small({ kind: 'dirichlet', alpha: -1 })), /^Error: config: partition\.alpha: Too small/);
  assert.throws(() => parseRunConfig(small({ kind: 'dirichlet' })), /^Error: config: partition\.alpha: Invalid input: expected number, received undefined/);
  assert.throws(() => parseRunConfig(small({ kind: 'pathological', labelsPerClient: 2, assignment: 'greedy' })), /^Error: config: partition\.assignment: /);
  const resolved = parseRunConfig(small({ kind: 'dirichlet', alpha: 0.5 }));
  assert.deepEqual(resolved.partition, { kind: 'dirichlet', alpha: 0.5, maxRetries: 10, selfBalancing: false });
  // a networked client reads the server's resolved config again
  assert.deepEqual(parseRunConfig(JSON.parse(JSON.stringify(resolved))).partition, resolved.partition);
});

test('a partitioner that does not split into one whole partition per client is refused', () => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  const broken = (name: string, parts: number[][]) =>
    definePartitioner({
      name,
      description: 'broken on purpose',
      options: z.strictObject({}),
      needsKey: false,
      create: (xs) => partitionerFromParts(name, xs, parts),
    });
  registerPartitioner(broken('too-few', [items.slice(0, 5), items.slice(5)]));
  assert.throws(
    () => createPartitioner({ kind: 'too-few', clients: 3 }, items, undefined, 0),
    /too-few partitioner: split 10 items into 2 partitions, but was given 10 items for 3 clients/,
  );
  registerPartitioner(broken('overlapping', [items.slice(0, 6), items.slice(5)]));
  assert.throws(() => createPartitioner({ kind: 'overlapping', clients: 2 }, items, undefined, 0), /overlapping partitioner: index 5 assigned twice/);
  // a Partitioner not built on BasePartitioner gets the same cover check
  registerPartitioner(
    definePartitioner({
      name: 'hand-made',
      description: 'drops the last item',
      options: z.strictObject({}),
      needsKey: false,
      create: (xs) => {
        const parts = [items.slice(0, 4), items.slice(4, 9)];
        const summary = partitionerFromParts('hand-made', xs, [...parts, [9]]).summary();
        return {
          kind: 'hand-made',
          numItems: xs.length,
          numPartitions: 2,
          loadPartition: (id: number) => at(parts, id, 'hand-made partitions').slice(),
          partitions: () => parts.map((p) => p.slice()),
          summary: () => summary,
        };
      },
    }),
  );
  assert.throws(() => createPartitioner({ kind: 'hand-made', clients: 2 }, items, undefined, 0), /hand-made partitioner: index 9 assigned to no partition/);
});

test('fedplora data show takes a plugin partitioner, its options, and still the built-in kinds', async () => {
  const show = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'data', 'show', 'spam', '--clients', '4', '--seed', '3', ...args], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 });
  const shards = show('--plugin', relative(ROOT, PLUGIN), '--partition', 'label-shards', '--option', 'shardsPerClient=3');
  assert.equal(shards.status, 0, shards.stderr);
  const config = parseRunConfig(small({ kind: 'label-shards', shardsPerClient: 3 }));
  const { parts } = await expectedSplit(config);
  assert.match(shards.stdout, new RegExp(`split sizes: ${parts.map((p) => p.length).join(' ')}\\n`));

  const dirichlet = show('--partition', 'dirichlet', '--alpha', '0.5');
  assert.equal(dirichlet.status, 0, dirichlet.stderr);
  const { parts: dirichletParts } = await expectedSplit(parseRunConfig(small({ kind: 'dirichlet', alpha: 0.5 })));
  assert.match(dirichlet.stdout, new RegExp(`dirichlet: \\d+ items over 4 clients.*\\nsplit sizes: ${dirichletParts.map((p) => p.length).join(' ')}\\n`));

  // The label counts are those of the slice a run of the same seed evaluates, so its majority share is the floor to beat.
  const evaluated = (n: number, split: 'validation' | 'test', data: { validation: Example[] | null; test: Example[] }) => {
    const slice = (data[split] ?? []).slice(0, n);
    return `ham ${slice.filter((e) => e.label === 'ham').length}, spam ${slice.filter((e) => e.label === 'spam').length}`;
  };
  const runData = await taskData(parseRunConfig(small({ kind: 'dirichlet', alpha: 0.5 })));
  for (const [n, out] of [
    [200, dirichlet.stdout],
    [50, show('--test-examples', '50').stdout],
  ] as const) {
    assert.ok(
      out.includes(
        `labels of the first ${n} examples a run evaluates (testExamples): validation ${evaluated(n, 'validation', runData)}; test ${evaluated(n, 'test', runData)}\n`,
      ),
      out,
    );
  }

  const unknown = show('--partition', 'label-shards');
  assert.notEqual(unknown.status, 0);
  assert.match(
    unknown.stderr,
    /--partition: unknown partition kind 'label-shards'; registered partitioners: iid, dirichlet, pathological, natural, size-skew \(/,
  );
  const bad = show('--plugin', relative(ROOT, PLUGIN), '--partition', 'label-shards', '--option', 'shardsPerClient=-1');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--partition label-shards: shardsPerClient: Too small/);
});
