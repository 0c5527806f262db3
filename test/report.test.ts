import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RoundMetrics } from '../src/federation/simulation.js';
import { defaultReportFile, registerReport, writeReport } from '../src/cli/report.js';
import { parseMetricsJsonl } from '../src/report/runs.js';
import { prefixSvgIds } from '../src/report/svg.js';
import { scoreColumns, summarize } from '../src/report/summary.js';
import { at } from '../src/util/checked.js';

function round(r: number, o: Partial<RoundMetrics>): RoundMetrics {
  return {
    round: r,
    method: 'x',
    sampled: [0, 1],
    ranks: [2, 4],
    train_loss: r === 0 ? null : 2 / r,
    test_metric: null,
    metric: 'accuracy',
    scores: null,
    validation_metric: null,
    deployable_metric: null,
    received_metric: null,
    bytes_up: r === 0 ? 0 : 1_000_000,
    bytes_down: r === 0 ? 0 : 2_000_000,
    cumulative_bytes: r * 3_000_000,
    seconds: r === 0 ? 0.5 : 2,
    local_seconds: 1.5,
    trainable_parameters: 1000,
    peak_rss_mb: 300 + r,
    init_noise: null,
    init_noise_abs: null,
    aggregation_noise: null,
    step_ratio: null,
    prepare_seconds: null,
    client_state_mb: null,
    extra: {},
    rejected: [],
    dropped: [],
    aggregated: r > 0,
    ...o,
  };
}

function writeRun(dir: string, config: object, rows: RoundMetrics[]): string {
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  mkdirSync(join(dir, 'adapter'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'metrics.jsonl'), `${rows.map((m) => JSON.stringify(m)).join('\n')}\n`);
  return dir;
}

function fakeRuns(root: string): [plora: string, fedit: string] {
  const acc = (a: number) => ({ accuracy: a, log_likelihood: -a * 3 });
  const plora = writeRun(
    join(root, 'plora-run'),
    { name: 'plora <b>&"run"', method: { name: 'fed-plora', selection: 'random' }, task: 'sst2', rounds: 3, seed: 7 },
    [
      round(0, { method: 'fed-plora', test_metric: 0.5, scores: acc(0.5) }),
      round(1, { method: 'fed-plora', init_noise: 0.3, aggregation_noise: 0.01, step_ratio: 1.4 }),
      round(2, { method: 'fed-plora', test_metric: 0.8125, scores: acc(0.8125), init_noise: 0.2, aggregation_noise: 0.02, step_ratio: 1.3 }),
      round(3, {
        method: 'fed-plora',
        test_metric: 0.75,
        scores: acc(0.75),
        init_noise: 0.1,
        aggregation_noise: 0.015,
        step_ratio: 1.6,
        seconds: 5,
        peak_rss_mb: 512,
      }),
    ],
  );
  // FedIT measures no noise at all: both noise columns stay null; its metrics predate the step ratio and have no such field
  const older = (m: RoundMetrics): RoundMetrics => {
    const { step_ratio: _unrecorded, ...line } = m;
    return line as RoundMetrics;
  };
  const fedit = writeRun(
    join(root, 'fedit-run'),
    { name: 'fedit-run', method: { name: 'fedit' }, task: 'sst2', rounds: 2, seed: 7 },
    [
      round(0, { method: 'fedit', test_metric: 0.5, scores: acc(0.5) }),
      round(1, { method: 'fedit', test_metric: 0.625, scores: acc(0.625) }),
      round(2, { method: 'fedit', test_metric: 0.6875, scores: acc(0.6875) }),
    ].map(older),
  );
  return [plora, fedit];
}

test('report of two runs: self-contained page with one SVG per non-empty plot and the results table', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fedplora-report-'));
  const dirs = fakeRuns(root);
  const out = join(root, 'report.html');
  await writeReport(dirs, out);
  assert.ok(existsSync(out));
  const html = readFileSync(out, 'utf8');
  // metric vs round, metric vs bytes, init noise, aggregation noise, step ratio, train loss: every plot has points (the Fed-PLoRA run has noise)
  assert.equal(html.match(/<svg[\s>]/g)?.length, 6);
  assert.ok(html.includes('Step ratio vs round'));
  assert.ok(html.includes('fed-plora') && html.includes('fedit'));
  // table: final metric 0.7500 at round 3, best 0.8125 at round 2, MB up 3.00 / down 6.00, mean 3.0 s, peak RSS 512,
  // mean step ratio (1.4 + 1.3 + 1.6) / 3 over the rounds that recorded one (FedIT's recorded none)
  for (const cell of [
    '0.7500 (round 3)',
    '0.8125 (round 2)',
    '0.6875 (round 2)',
    '<td>3.00</td>',
    '<td>6.00</td>',
    '<td>3.0</td>',
    '<td>512</td>',
    '<td>512</td><td>1.43</td>',
    '<td>302</td><td>–</td>',
    'final log_likelihood',
    '<td>-2.2500</td>',
  ]) {
    assert.ok(html.includes(cell), `missing ${cell}`);
  }
  // config shown as a collapsible block; user strings escaped
  assert.ok(html.includes('<details><summary>config: fed-plora</summary>'));
  assert.ok(!html.includes('<b>&"run"'));
  assert.ok(html.includes('plora &lt;b&gt;&amp;&quot;run&quot;'));
  // self-contained: no script, no external stylesheet, image or font
  assert.ok(!/<script/i.test(html));
  assert.ok(!/<link/i.test(html));
  assert.ok(!/(src|href)\s*=\s*["']?\s*https?:/i.test(html));
  assert.ok(!/url\(\s*["']?https?:/i.test(html) && !/@import/i.test(html));
});

test('plots with only null values are skipped', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fedplora-report-'));
  const [, fedit] = fakeRuns(root);
  const out = join(root, 'one.html');
  await writeReport([fedit], out);
  const html = readFileSync(out, 'utf8');
  assert.equal(html.match(/<svg[\s>]/g)?.length, 3, 'no noise plots for a run without noise values');
  assert.ok(!html.includes('Initialization noise') && !html.includes('Aggregation noise') && !html.includes('Step ratio'));
});

test('runs sharing a method are told apart by run name and seed', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fedplora-report-'));
  const rows = [round(0, { method: 'fedit', test_metric: 0.5 }), round(1, { method: 'fedit', test_metric: 0.6 })];
  const a = writeRun(join(root, 'a'), { name: 'a', method: { name: 'fedit' }, task: 't', rounds: 1, seed: 1 }, rows);
  const b = writeRun(join(root, 'b'), { name: 'b', method: { name: 'fedit' }, task: 't', rounds: 1, seed: 2 }, rows);
  const c = writeRun(join(root, 'c'), { name: '<i>c&d</i>', method: { name: 'fedit' }, task: 't', rounds: 1 }, rows);
  const out = join(root, 'r.html');
  await writeReport([a, b, c], out);
  const html = readFileSync(out, 'utf8');
  assert.ok(html.includes('fedit · a (seed 1)') && html.includes('fedit · b (seed 2)'));
  // the plot legends hold the labels too: the plotting library escapes them
  assert.ok(html.includes('fedit · &lt;i&gt;c&amp;d&lt;/i&gt;') && !html.includes('<i>'));
});

test('a malformed metrics line is refused with its file and line', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fedplora-report-'));
  const [dir] = fakeRuns(root);
  const file = join(dir, 'metrics.jsonl');
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[2] = '{"round": 2, "method": "fed-plora", oops';
  writeFileSync(file, lines.join('\n'));
  await assert.rejects(writeReport([dir], join(root, 'x.html')), (e: Error) => e.message.startsWith(`${file}:3: malformed metrics line`));
  assert.throws(() => parseMetricsJsonl('{"round": 0}\n', 'm.jsonl'), /^Error: m\.jsonl:1: malformed metrics line: method: /);
  // a NaN score, written as null, is left out rather than refused
  const nan = parseMetricsJsonl(JSON.stringify(round(0, { test_metric: 0.5, scores: { accuracy: 0.5, rouge_l: NaN } })), 'm.jsonl');
  assert.deepEqual(at(nan, 0, 'parsed rows').scores, { accuracy: 0.5 });
});

test('fedplora report writes report.html into the single run folder by default', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fedplora-report-'));
  const dirs = fakeRuns(root);
  const program = new Command().exitOverride();
  registerReport(program);
  await program.parseAsync(['report', dirs[0]], { from: 'user' });
  assert.ok(existsSync(join(dirs[0], 'report.html')));
  await program.parseAsync(['report', ...dirs, '--out', join(root, 'both.html')], { from: 'user' });
  assert.ok(existsSync(join(root, 'both.html')));
  assert.equal(defaultReportFile(dirs), resolve('report.html'));
});

test('ids inside inlined SVGs are made unique per plot', () => {
  const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"></g><use href="#clip1"/></svg>';
  assert.equal(
    prefixSvgIds(svg, 'p'),
    '<svg><defs><clipPath id="p-clip1"><rect/></clipPath></defs><g clip-path="url(#p-clip1)"></g><use href="#p-clip1"/></svg>',
  );
});

test('the best of an error rate is its lowest value', () => {
  const rows = [0.9, 0.4, 0.5].map((v, r) =>
    round(r, { method: 'fedit', metric: 'phoneme_error_rate', test_metric: v, scores: { phoneme_error_rate: v, exact_match: 1 - v } }),
  );
  const run = parseMetricsJsonl(rows.map((m) => JSON.stringify(m)).join('\n'), 'm.jsonl');
  const s = summarize({ dir: 'd', name: 'n', method: 'fedit', seed: 0, task: 'cmudict', plannedRounds: 2, config: {}, rounds: run, label: 'fedit' });
  assert.deepEqual([s.finalMetric, s.bestMetric, s.bestRound, s.rounds], [0.5, 0.4, 1, 2]);
  assert.deepEqual(scoreColumns([s]), ['phoneme_error_rate', 'exact_match']);
});
