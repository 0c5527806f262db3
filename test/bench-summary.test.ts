/**
 * The method benchmark's reading of a run: the test metric it reports as
 * "selected" is the one at the round of best validation (the test split
 * never chooses), and the spread over seeds is the sample standard deviation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoundMetrics } from '../src/federation/simulation.js';
import { summarizeCell } from '../bench/methods/cell-summary.js';
import { makeRow, markdownTables, pairedDifference, stat, type Row } from '../bench/methods/tables.js';
import { settings, type BenchMethod, type Setting } from '../bench/methods/grid.js';
import { at, defined } from '../src/util/checked.js';

function round(r: number, test: number | null, validation: number | null, extra: Partial<RoundMetrics> = {}): RoundMetrics {
  return {
    round: r,
    method: 'fed-plora',
    sampled: [0, 1],
    ranks: [2, 4],
    train_loss: r ? 1 : null,
    test_metric: test,
    validation_metric: validation,
    deployable_metric: null,
    received_metric: null,
    metric: 'accuracy',
    scores: null,
    bytes_up: r ? 100 : 0,
    bytes_down: r ? 300 : 0,
    cumulative_bytes: 400 * r,
    seconds: 1,
    local_seconds: r ? 4 : 0,
    trainable_parameters: 10,
    peak_rss_mb: 1,
    init_noise: r ? 0.1 * r : null,
    init_noise_abs: r ? 0.01 : null,
    aggregation_noise: r ? 0.2 : null,
    step_ratio: null,
    prepare_seconds: r ? 1 : null,
    client_state_mb: r ? 2 : null,
    extra: {},
    rejected: [],
    dropped: [],
    aggregated: r > 0,
    ...extra,
  };
}

test('the selected test metric is the one at the best validation round, not the best test round', () => {
  const s = summarizeCell([round(0, 0.5, 0.5), round(1, null, null), round(2, 0.6, 0.9), round(3, null, null), round(4, 0.95, 0.7)]);
  assert.equal(s.finalTest, 0.95);
  assert.equal(s.bestValidation, 0.9);
  assert.equal(s.selectedTest, 0.6);
  assert.equal(s.bytesUpPerRound, 100);
  assert.equal(s.clientSecondsPerRound, 2, '4 s over 2 sampled clients');
  assert.equal(s.foldShare, 0.25, '1 s of preparation in 4 s');
  assert.ok(s.initNoise !== null && Math.abs(s.initNoise - 0.25) < 1e-12, 'mean over trained rounds 1..4 of 0.1 r');
});

test('on an error rate the best validation round is the lowest one', () => {
  const per = { metric: 'phoneme_error_rate' as const };
  const s = summarizeCell([round(0, 1.2, 1.1, per), round(2, 0.8, 0.7, per), round(4, 0.75, 0.9, per)]);
  assert.equal(s.bestValidation, 0.7);
  assert.equal(s.selectedTest, 0.8);
  assert.equal(s.finalTest, 0.75);
});

test('a quantity no round measured stays null instead of becoming 0', () => {
  const s = summarizeCell([round(0, 0.5, 0.5), round(1, 0.6, 0.6, { aggregation_noise: null, init_noise: null, prepare_seconds: null })]);
  assert.equal(s.aggregationNoise, null);
  assert.equal(s.initNoise, null);
  assert.equal(s.foldShare, null);
});

test('the step ratio is the mean over the rounds that recorded it; metrics from before it existed give null', () => {
  const recorded = summarizeCell([round(0, 0.5, 0.5), round(1, null, null, { step_ratio: 1.5 }), round(2, 0.6, 0.6, { step_ratio: 2.5 })]);
  assert.equal(recorded.stepRatio, 2);
  const older = [round(0, 0.5, 0.5), round(1, 0.6, 0.6)].map((r) => {
    const { step_ratio: _unrecorded, ...line } = r;
    return JSON.parse(JSON.stringify(line)) as RoundMetrics;
  });
  assert.equal(summarizeCell(older).stepRatio, null);
});

test('the spread over seeds is the sample standard deviation', () => {
  const x = stat([0.7, 0.8, 0.9]);
  assert.ok(Math.abs(x.mean - 0.8) < 1e-12);
  assert.ok(Math.abs(x.sd - 0.1) < 1e-12);
  assert.deepEqual(stat([0.5]), { mean: 0.5, sd: 0, n: 1 });
});

/** A table row of one method in one setting: one cell's rounds per seed, at the rate 0.002. */
function rowOf(setting: Setting, method: BenchMethod, seeds: number[], cells: RoundMetrics[][]): Row {
  return makeRow(setting, method, 0.002, seeds, cells.map(summarizeCell));
}

test('the difference from a reference method pairs seeds and skips seeds the reference lacks', () => {
  const setting = at(settings(false), 0, 'the first setting');
  const row = (method: BenchMethod, seeds: number[], finals: number[]): Row =>
    rowOf(
      setting,
      method,
      seeds,
      finals.map((f, i) => [round(0, 0.5, 0.5), round(1, f, 0.6 + i / 10)]),
    );
  const reference = row('fed-plora', [0, 1, 2], [0.7, 0.8, 0.9]);
  const other = row('fedit', [2, 0, 1, 3], [0.95, 0.7, 0.9, 0.1]);
  // seed 2: +0.05, seed 0: 0, seed 1: +0.1; seed 3 has no reference
  const d = pairedDifference(other, reference, (r) => r.finalTestBySeed);
  assert.ok(d !== null);
  assert.equal(d.n, 3);
  assert.ok(Math.abs(d.mean - 0.05) < 1e-12);
  assert.ok(Math.abs(d.sd - 0.05) < 1e-12);
  assert.equal(
    pairedDifference(row('hetlora', [5], [0.5]), reference, (r) => r.finalTestBySeed),
    null,
  );
  const md = markdownTables([reference, other]);
  assert.match(md, /### Against Fed-PLoRA, seed by seed/);
  assert.match(md, /\| fedit \| \+0\.050 ± 0\.050 \|/);
  assert.match(md, /\| accuracy ↑ \| fed-plora \|/, 'each row names its metric and which way is better');
});

test('the rank and weighting tables pair each method with Fed-PLoRA of its own setting, not of the main one', () => {
  const all = settings(false);
  const main = at(all, 0, 'the spam Dirichlet setting');
  const allMax = defined(
    all.find((s) => s.ranks === 'all-max'),
    'the all-max setting',
  );
  const row = (setting: Setting, method: BenchMethod, finals: number[]): Row =>
    rowOf(
      setting,
      method,
      finals.map((_, i) => i),
      finals.map((f) => [round(0, 0.5, 0.5), round(1, f, 0.6)]),
    );
  const md = markdownTables([
    row(main, 'fed-plora', [0.5, 0.5]),
    row(main, 'fedit', [0.6, 0.6]),
    row(allMax, 'fed-plora', [0.9, 0.8]),
    row(allMax, 'fedit', [0.8, 0.8]),
  ]);
  const rankTable = md.slice(md.indexOf('### Rank distributions'));
  // all-max FedIT against all-max Fed-PLoRA: -0.1 and 0 (against the main one it would be +0.3)
  assert.match(rankTable, /\| all-max \| fedit \| 0\.800 ± 0\.000 \| 0\.800 ± 0\.000 \| -0\.050 ± 0\.071 \| -0\.050 ± 0\.071 \|/);
  assert.match(rankTable, /\| uniform \| fedit \| [^|]+\| [^|]+\| \+0\.100 ± 0\.000 \|/);
});

test('the weighting table pairs each method with Fed-PLoRA under uniform weights and with itself under example weights', () => {
  const all = settings(false);
  const main = at(all, 0, 'the spam Dirichlet setting');
  const uniformWeights = defined(
    all.find((s) => s.table === 'weighting'),
    'the uniform-weights setting',
  );
  // validation peaks in round 1, so the best-validation test is the round-1 test
  const row = (setting: Setting, method: BenchMethod, bests: number[]): Row =>
    rowOf(
      setting,
      method,
      bests.map((_, i) => i),
      bests.map((b) => [round(1, b, 0.9), round(2, 0.5, 0.1)]),
    );
  const md = markdownTables([
    row(main, 'fed-plora', [0.5, 0.6]),
    row(main, 'fedit', [0.7, 0.7]),
    row(uniformWeights, 'fed-plora', [0.8, 0.8]),
    row(uniformWeights, 'fedit', [0.6, 0.9]),
  ]);
  const weightingTable = md.slice(md.indexOf('### Uniform client weights'), md.indexOf('### Noise'));
  // FedIT: against uniform-weights Fed-PLoRA 0 at the final round and -0.2 and +0.1 at best validation; against itself under example weights -0.1 and +0.2
  assert.match(weightingTable, /\| fedit \| 0\.500 ± 0\.000 \| 0\.750 ± 0\.212 \| \+0\.000 ± 0\.000 \| -0\.050 ± 0\.212 \| – \| \+0\.050 ± 0\.212 \|/);
  assert.match(weightingTable, /\| fed-plora \| [^|]+\| 0\.800 ± 0\.000 \| {2}\| {2}\| – \| \+0\.250 ± 0\.071 \|/);
});
