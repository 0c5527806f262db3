import assert from 'node:assert/strict';
import { test } from 'node:test';
import { at, defined, got } from '../src/util/checked.js';

test('at returns an element inside the bounds and names what it reads outside them', () => {
  assert.equal(at([10, 20, 30], 2, 'scores'), 30);
  assert.equal(at(new Float32Array([0.5]), 0, 'weights'), 0.5);
  // an element that is itself undefined is returned as stored, not taken for a missing one
  assert.equal(at([undefined], 0, 'slots'), undefined);
  assert.throws(() => at([1, 2], 2, 'client ranks'), /client ranks: index 2 is outside 0\.\.1/);
  assert.throws(() => at([1, 2], -1, 'client ranks'), /index -1/);
  assert.throws(() => at([], 0, 'rounds'), /rounds: index 0 is outside 0\.\.-1/);
  assert.throws(() => at([1], 0.5, 'rows'), /index 0\.5/);
});

test('defined passes values through, zero and empty strings included, and refuses undefined and null', () => {
  assert.equal(defined(0, 'count'), 0);
  assert.equal(defined('', 'name'), '');
  assert.throws(() => defined(undefined, 'the global adapter'), /the global adapter is missing/);
  assert.throws(() => defined(null, 'the tokenizer'), /the tokenizer is missing/);
});

test('got reads present keys, an undefined value included, and names the absent one', () => {
  const m = new Map<string, number | undefined>([
    ['a', 1],
    ['b', undefined],
  ]);
  assert.equal(got(m, 'a', 'rates'), 1);
  assert.equal(got(m, 'b', 'rates'), undefined);
  assert.throws(() => got(m, 'c', 'chosen learning rates'), /chosen learning rates: no entry for c/);
});
