import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../src/io/safetensors.js';
import { at, got } from '../src/util/checked.js';
import { maxAbs, maxAbsDiff } from './helpers/kernel-variants.js';

const CLI = join(import.meta.dirname, '../src/cli/main.js');
const CASE = join(import.meta.dirname, '../../test/fixtures/reference/qwen2_bias');
const inputs = JSON.parse(readFileSync(join(CASE, 'inputs.json'), 'utf8')) as { ids: number[][]; labels: number[][] };
const rows = (x: number[][]): string => x.map((r) => r.join(',')).join(';');

function fedplora(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

test('inspect logits prints the reference last-position logits', () => {
  const expected = JSON.parse(readFileSync(join(CASE, 'expected.json'), 'utf8')) as { last_logits: number[][] };
  const r = fedplora('inspect', 'logits', '--model', CASE, '--adapter', join(CASE, 'adapter'), '--ids', rows(inputs.ids));
  assert.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as number[][];
  for (let b = 0; b < 2; b++) assert.ok(maxAbsDiff(at(printed, b, 'printed rows'), at(expected.last_logits, b, 'expected rows')) < 1e-4);
  const one = fedplora('inspect', 'logits', '--model', CASE, '--adapter', join(CASE, 'adapter'), '--ids', at(inputs.ids, 1, 'input rows').join(','));
  assert.ok(maxAbsDiff(JSON.parse(one.stdout) as number[], at(expected.last_logits, 1, 'expected rows')) < 1e-4, 'a single row gives a flat array');
});

test('inspect grads writes the loss and every adapter gradient under PEFT keys', () => {
  const out = mkdtempSync(join(tmpdir(), 'fedplora-grads-'));
  const r = fedplora(
    'inspect',
    'grads',
    '--model',
    CASE,
    '--adapter',
    join(CASE, 'adapter'),
    '--ids',
    rows(inputs.ids),
    '--labels',
    rows(inputs.labels),
    '--out',
    out,
  );
  assert.equal(r.status, 0, r.stderr);
  const loss = JSON.parse(readFileSync(join(out, 'loss.json'), 'utf8')) as { loss: number };
  const expected = JSON.parse(readFileSync(join(CASE, 'expected.json'), 'utf8')) as { loss: number };
  assert.ok(Math.abs(loss.loss - expected.loss) < 1e-5);
  const ours = readSafetensors(join(out, 'grads.safetensors')).tensors;
  const ref = readSafetensors(join(CASE, 'expected.safetensors')).tensors;
  assert.equal(ours.size, ref.size - 1);
  for (const [key, g] of ours) {
    const want = got(ref, key, 'reference gradients');
    assert.ok(maxAbsDiff(g, want) / maxAbs(want) < 1e-3, key);
  }
});

test('bad input gets one clear error line, not a stack trace', () => {
  const bad = fedplora('inspect', 'logits', '--model', CASE, '--ids', '1,x,3');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^fedplora: --ids: "x" \(row 0, position 1\) is not an integer\n$/);
  const range = fedplora('inspect', 'logits', '--model', CASE, '--ids', '1,2,999');
  assert.match(range.stderr, /token id 999 at position 2 is outside the vocabulary \(size 67\)/);
  const missing = fedplora('inspect', 'logits', '--model', '/nonexistent', '--ids', '1');
  assert.match(missing.stderr, /cannot read \/nonexistent\/config\.json: ENOENT/);
});
