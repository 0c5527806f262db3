/**
 * The public API and its extension points: the examples run as a user would
 * run them, a plugin method works from a config file (also in worker
 * processes), and the example method, with every client at rank R, agrees
 * with FedIT at rank R: two implementations of FedAvg, one of them outside
 * the package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as api from '../src/index.js';
import { buildExperiment, loadPlugins, parseRunConfig, registerMethod, registerPlugin, simulate, type LoraAdapter } from '../src/index.js';
import plugin, { fedAvgFullRank } from '../examples/custom-method.js';
import { at, defined } from '../src/util/checked.js';
import { exportedAdapter, pairOf } from './helpers/lora-access.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const PLUGIN = join(ROOT, 'dist/examples/custom-method.js');
const MODEL = join(ROOT, 'models/fedplora-base');
const dir = mkdtempSync(join(tmpdir(), 'fedplora-api-'));

const small = (method: Record<string, unknown>) => ({
  model: MODEL,
  task: 'spam',
  clients: 4,
  ranks: { kind: 'list', ranks: [4, 4, 4, 4] },
  lora: { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj'] },
  method,
  rounds: 2,
  clientsPerRound: 2,
  evalEvery: 1,
  testExamples: 16,
  maxLength: 64,
  maxExamplesPerClient: 24,
  local: { steps: 2, batchSize: 4, lr: 0.004 },
  measureNoise: false,
  workers: 1,
});

test('the package entry point exports the documented API', () => {
  for (const name of [
    'loadModel',
    'buildExperiment',
    'parseRunConfig',
    'loadRunConfig',
    'simulate',
    'evaluate',
    'savePeftAdapter',
    'loadPeftAdapter',
    'registerMethod',
    'registerTask',
    'registerPlugin',
    'defineMethod',
    'registerPartitioner',
    'partitionerNames',
    'definePartitioner',
    'partitionerFromParts',
    'withPrecision',
    'PRECISIONS',
    'z',
  ]) {
    assert.ok(name in api, `fedplora exports ${name}`);
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string> };
  assert.ok(existsSync(join(ROOT, defined(pkg.exports['.'], "package.json exports['.']"))), 'package.json exports a file that exists');
});

test('the fedplora bin runs as a program of its own after the build, as npx runs it', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = join(ROOT, defined(pkg.bin['fedplora'], 'package.json bin.fedplora'));
  // spawned directly, not through node: this needs the shebang and the executable bit the build sets
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(help.error, undefined, `${bin}: ${help.error?.message}`);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: fedplora/);
});

test('a plugin method, registered in a program, trains like FedIT at rank R when every client affords R', async () => {
  registerPlugin(plugin);
  assert.throws(() => registerMethod(fedAvgFullRank), /already registered/, 'a name is registered once');
  assert.throws(() => parseRunConfig(small({ name: 'fedavg-full-rank', weighting: 'by-size' })), /config: method\.weighting/);
  const run = async (method: Record<string, unknown>) => {
    const e = await buildExperiment(parseRunConfig(small(method)));
    const metrics = await simulate(e);
    return { metrics, adapter: exportedAdapter(e.method), start: api.initialGlobalAdapter(e.ctx) };
  };
  const ours = await run({ name: 'fedavg-full-rank' });
  const fedit = await run({ name: 'fedit', rank: 4 });
  assert.equal(defined(ours.metrics.at(-1), 'metrics of the last round').method, 'fedavg-full-rank');
  let worst = 0;
  const flat = (a: LoraAdapter) =>
    a.layers.flatMap((_, l) =>
      a.targets.flatMap((t) => {
        const pair = pairOf(a, l, t);
        return [...pair.A, ...pair.B];
      }),
    );
  const x = flat(ours.adapter);
  const y = flat(fedit.adapter);
  assert.equal(x.length, y.length);
  for (const [i, xi] of x.entries()) worst = Math.max(worst, Math.abs(xi - at(y, i, 'FedIT adapter elements')));
  assert.ok(worst < 1e-6, `global adapters differ by ${worst}`);
  const start = flat(fedit.start);
  assert.ok(
    y.some((v, i) => v !== start[i]),
    'training moved the adapter',
  );
  for (const [a, b] of ours.metrics.map((m, i) => [m, at(fedit.metrics, i, 'FedIT round metrics')] as const)) {
    assert.equal(a.bytes_up, b.bytes_up, `round ${a.round}: the same bytes up`);
    assert.ok(Math.abs((a.train_loss ?? 0) - (b.train_loss ?? 0)) < 1e-4, `round ${a.round}: train loss ${a.train_loss} vs ${b.train_loss}`);
  }
});

test('a run config names a plugin file relative to itself; worker processes load it too', () => {
  const configPath = join(dir, 'plugin-run.json');
  const config = { ...small({ name: 'fedavg-full-rank' }), name: 'plugin-run', rounds: 1, workers: 2, output: dir, plugins: [relative(dir, PLUGIN)] };
  writeFileSync(configPath, JSON.stringify(config));
  const r = spawnSync(process.execPath, [CLI, 'run', configPath], { encoding: 'utf8', cwd: ROOT, timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /clients train in 2 worker processes/);
  const rounds = readFileSync(join(dir, 'plugin-run', 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { method: string; bytes_up: number });
  const last = defined(rounds.at(-1), 'last round in metrics.jsonl');
  assert.equal(last.method, 'fedavg-full-rank');
  assert.ok(last.bytes_up > 0, 'the workers trained and uploaded');
  assert.ok(existsSync(join(dir, 'plugin-run', 'adapter', 'adapter_config.json')));
});

test('a method nobody registered, and plugins that are missing or malformed, are named in the error', async () => {
  const configPath = join(dir, 'unknown.json');
  writeFileSync(configPath, JSON.stringify({ ...small({ name: 'my-method' }), output: dir }));
  const r = spawnSync(process.execPath, [CLI, 'run', configPath], { encoding: 'utf8', cwd: ROOT });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /config: method\.name: unknown method 'my-method'; registered methods: fed-plora, .*plugins: \[/);
  await assert.rejects(loadPlugins(['no-such-plugin.js'], dir), /plugin .*no-such-plugin\.js does not exist/);
  writeFileSync(join(dir, 'bad-plugin.mjs'), 'export const methods = 3;\n');
  await assert.rejects(loadPlugins(['bad-plugin.mjs'], dir), /must export .* an object with a methods, tasks and\/or partitioners array/);
});

test('the programmatic example runs, reports every round and exports an adapter that loads back', () => {
  const out = mkdtempSync(join(tmpdir(), 'fedplora-example-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/examples/programmatic-run.js'), out], { encoding: 'utf8', cwd: ROOT, timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /round 0: accuracy [\d.]+/);
  assert.match(r.stdout, /round 2: accuracy [\d.]+, \d+ bytes/);
  assert.match(r.stdout, /final accuracy: [\d.]+ \(2 rounds\)/);
  const peft = JSON.parse(readFileSync(join(out, 'adapter', 'adapter_config.json'), 'utf8')) as { r: number };
  assert.equal(peft.r, 8);
});
