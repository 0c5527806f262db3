/** End to end on the bundled model: a short run, its outputs, a resumed run, and the bad-config path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../src/io/safetensors.js';
import { defined, got } from '../src/util/checked.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const out = mkdtempSync(join(tmpdir(), 'fedplora-run-'));
const base = [
  'model=models/fedplora-base',
  'task=sotu-party',
  'clients=4',
  'clientsPerRound=2',
  'evalEvery=1',
  'testExamples=8',
  'maxLength=96',
  'maxExamplesPerClient=16',
  'lora={rank: 4, alpha: 8}',
  'local={steps: 2, batchSize: 4}',
  `output=${out}`,
];

function run(name: string, extra: string[], flags: string[] = [], env: Record<string, string> = {}) {
  const args = [CLI, 'run', ...[...base, `name=${name}`, ...extra].flatMap((s) => ['--set', s]), ...flags];
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
}

function rounds(dir: string): { round: number; test_metric: number | null }[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { round: number; test_metric: number | null });
}

test('a run writes metrics, checkpoints, the adapter and the report, and a resumed run ends where an uninterrupted one does', () => {
  const whole = run('whole', ['rounds=3']);
  assert.equal(whole.status, 0, whole.stderr);
  assert.match(whole.stdout, /report: .*whole\/report\.html/);
  const dir = join(out, 'whole');
  assert.deepEqual(
    rounds(dir).map((m) => m.round),
    [0, 1, 2, 3],
  );
  for (const f of ['config.json', 'report.html', 'adapter/adapter_model.safetensors', 'adapter/adapter_config.json']) assert.ok(existsSync(join(dir, f)), f);

  const killed = run('resumed', ['rounds=1']);
  assert.equal(killed.status, 0, killed.stderr);
  const again = run('resumed', ['rounds=3']);
  assert.match(again.stderr, /already holds a run: pass --resume to continue it or --overwrite to replace it/);
  const resumed = run('resumed', ['rounds=3'], ['--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual(
    rounds(join(out, 'resumed')).map((m) => m.round),
    [0, 1, 2, 3],
    'no round repeated or missing',
  );
  assert.deepEqual(
    rounds(join(out, 'resumed')).map((m) => m.test_metric),
    rounds(dir).map((m) => m.test_metric),
  );
  const a = readSafetensors(join(dir, 'adapter/adapter_model.safetensors')).tensors;
  const b = readSafetensors(join(out, 'resumed/adapter/adapter_model.safetensors')).tensors;
  for (const [k, v] of a) assert.deepEqual(b.get(k), v, k);
});

// OpenBLAS on one thread rounds differently from OpenBLAS on two (our own kernels do not), so the two
// modes agree to float rounding, not bit for bit; a run resumed in the same mode is bit-exact (above).
test('clients trained in worker processes give the run of clients trained in this process, bit for bit at the same thread count', () => {
  const pooled = run('pooled', ['rounds=2', 'workers=2']);
  // a worker trains on one thread; the same in this process sums in the same order
  const inline = run('inline', ['rounds=2', 'workers=1'], [], { FEDPLORA_THREADS: '1', OPENBLAS_NUM_THREADS: '1' });
  assert.equal(pooled.status, 0, pooled.stderr);
  assert.equal(inline.status, 0, inline.stderr);
  assert.match(pooled.stdout, /clients train in 2 worker processes/);
  const a = readSafetensors(join(out, 'pooled/adapter/adapter_model.safetensors')).tensors;
  const b = readSafetensors(join(out, 'inline/adapter/adapter_model.safetensors')).tensors;
  assert.equal(a.size, b.size);
  for (const [k, v] of a) {
    const w = got(b, k, 'tensors trained inline');
    assert.ok(Math.max(...v.map(Math.abs)) > 0, `${k} is all zeros: nothing was trained`);
    assert.deepEqual(Array.from(v), Array.from(w), `${k} differs`);
  }
});

test('every method runs from the CLI, including those whose clients share server state', () => {
  for (const name of ['fedit', 'hetlora', 'flexlora', 'flora', 'local', 'centralized']) {
    const r = run(`method-${name}`, ['rounds=1', `method={name: ${name}}`, 'partition={kind: dirichlet, alpha: 1.0, minPartitionSize: 1}']);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    const m = rounds(join(out, `method-${name}`));
    assert.deepEqual(
      m.map((x) => x.round),
      [0, 1],
      name,
    );
    const last = JSON.parse(
      defined(
        readFileSync(join(out, `method-${name}`, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .at(-1),
        'the last metrics line',
      ),
    ) as { rejected: unknown[] };
    assert.deepEqual(last.rejected, [], `${name}: no update rejected`);
  }
});

test('a bad config stops before any work with the key named', () => {
  const r = run('bad', ['rounds=2', 'ranks={kind: list, ranks: [2, 8, 2, 2]}']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /fedplora: config: ranks\.ranks\[1\]: client rank 8 exceeds lora\.rank \(R = 4\)/);
});
