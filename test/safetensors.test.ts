import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors, readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../src/io/float16.js';
import { got } from '../src/util/checked.js';

const dir = mkdtempSync(join(tmpdir(), 'fedplora-st-'));

function sample(): Map<string, { data: Float32Array; shape: number[] }> {
  return new Map([
    ['a.weight', { data: Float32Array.from([1, -2.5, 3.25, 1e-3, -0, 65504]), shape: [2, 3] }],
    ['b', { data: Float32Array.from([7]), shape: [1] }],
  ]);
}

function sampleWeight(): Float32Array {
  return got(sample(), 'a.weight', 'sample tensors').data;
}

test('F32 round trip is bit-exact and keeps metadata', () => {
  const path = join(dir, 'rt.safetensors');
  writeSafetensors(path, sample(), { metadata: { format: 'pt', note: 'ünïcode' } });
  const back = readSafetensors(path);
  assert.deepEqual(back.tensors.get('a.weight'), sampleWeight());
  assert.deepEqual(back.shapes.get('a.weight'), [2, 3]);
  assert.equal(back.metadata['note'], 'ünïcode');
  const headerLen = Number(readFileSync(path).readBigUInt64LE(0));
  assert.equal(headerLen % 8, 0, 'header padded to 8 bytes');
});

test('F16 and BF16 files convert to fp32 as torch does', () => {
  // Closed-form bit patterns: 1 = 0x3c00 (f16) = 0x3f80 (bf16); -2 = 0xc000 / 0xc000; 65504 = 0x7bff (f16 max).
  assert.deepEqual(Array.from(f16ToF32(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]))), [1, -2, 65504, 2 ** -24, Infinity]);
  assert.deepEqual(Array.from(bf16ToF32(Uint16Array.from([0x3f80, 0xc000, 0x4049]))), [1, -2, 3.140625]);
  // round to nearest even: 1 + 2^-11 lies halfway between f16 1 and 1 + 2^-10 and rounds to 1 (even)
  assert.deepEqual(Array.from(f32ToF16(Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 2 ** -25 * 3]))), [0x3c00, 0x3c02, 0x7c00, 0x0002]);
  assert.deepEqual(Array.from(f32ToBf16(Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, Math.PI]))), [0x3f80, 0x3f82, 0x4049]);
  for (const dtype of ['F16', 'BF16'] as const) {
    const path = join(dir, `${dtype}.safetensors`);
    writeSafetensors(path, sample(), { dtype });
    const read = got(readSafetensors(path).tensors, 'a.weight', 'tensors read back');
    assert.deepEqual(read, dtype === 'F16' ? f16ToF32(f32ToF16(sampleWeight())) : bf16ToF32(f32ToBf16(sampleWeight())));
  }
});

test('corrupt files are refused with the file and the problem named', () => {
  const path = join(dir, 'good.safetensors');
  writeSafetensors(path, sample());
  const bytes = readFileSync(path);
  const truncated = join(dir, 'truncated.safetensors');
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 5));
  assert.throws(
    () => openSafetensors(truncated),
    /truncated\.safetensors: tensor "a\.weight" ends at byte 24 of the data section, but the file has only 23 \(truncated file\?\)/,
  );
  const lying = join(dir, 'lying.safetensors');
  writeFileSync(lying, Buffer.from(bytes.toString('latin1').replace('"data_offsets":[0,24]', '"data_offsets":[0,20]'), 'latin1'));
  assert.throws(() => openSafetensors(lying), /lying\.safetensors: tensor "a\.weight": data_offsets \[0, 20\] hold 20 bytes but shape \[2,3\] of F32 needs 24/);
  const short = join(dir, 'short.safetensors');
  writeFileSync(short, Buffer.from([1, 2, 3]));
  assert.throws(() => openSafetensors(short), /too short to be safetensors/);
  const hugeHeader = join(dir, 'huge.safetensors');
  const buf = Buffer.alloc(16);
  buf.writeBigUInt64LE(1000n);
  writeFileSync(hugeHeader, buf);
  assert.throws(() => openSafetensors(hugeHeader), /header length 1000 does not fit in a file of 16 bytes/);
  const reader = openSafetensors(path);
  assert.throws(() => reader.read('missing'), /missing tensor "missing"/);
  assert.throws(() => reader.read('a.weight', [3, 2]), /has shape \[2,3\], expected \[3,2\]/);
  reader.close();
});
