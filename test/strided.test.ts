import assert from 'node:assert/strict';
import { test } from 'node:test';
import { axpy, copy, copyScaled } from '../src/util/strided.js';

// a (2, 3) row-major matrix: rows have stride 1, columns stride 3
const m = () => Float32Array.of(1, 2, 3, 4, 5, 6);

test('axpy adds a scaled row or column, in double, and stores in the target type', () => {
  const y = new Float64Array(4);
  axpy(3, 2, m(), 3, 1, y, 1, 1);
  assert.deepEqual([...y], [0, 8, 10, 12]);
  const col = m();
  axpy(2, 0.5, Float64Array.of(10, 20), 0, 1, col, 1, 3);
  assert.deepEqual([...col], [1, 7, 3, 4, 15, 6]);
  const f = Float32Array.of(1);
  axpy(1, 1e-8, Float64Array.of(1), 0, 1, f, 0, 1);
  assert.equal(f[0], Math.fround(1 + 1e-8));
});

test('copy and copyScaled move a column into another layout', () => {
  const out = new Float32Array(4);
  copy(2, m(), 2, 3, out, 1, 2);
  assert.deepEqual([...out], [0, 3, 0, 6]);
  const scaled = new Float64Array(2);
  copyScaled(2, 3, 7, m(), 0, 3, scaled, 0, 1);
  assert.deepEqual([...scaled], [(1 * 3) / 7, (4 * 3) / 7]);
});

test('an element read outside its vector is an error naming the vector, not a NaN', () => {
  assert.throws(() => axpy(3, 1, m(), 1, 3, new Float32Array(9), 0, 1), /axpy: x\[7\] is outside its 6 elements/);
  assert.throws(() => axpy(2, 1, m(), 0, 1, new Float64Array(1), 0, 1), /axpy: y\[1\] is outside its 1 elements/);
  assert.throws(() => copy(3, m(), 2, 3, new Float32Array(3), 0, 1), /copy: x\[8\]/);
  assert.throws(() => copyScaled(3, 1, 1, m(), 2, 3, new Float32Array(3), 0, 1), /copyScaled: x\[8\]/);
});
