import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bf16ToF32, f32ToBf16 } from '../src/io/float16.js';
import { dequantizeInt8, quantizeInt8 } from '../src/io/int8.js';
import { createJsKernels } from '../src/kernels/js-kernels.js';
import { matmulBf16, matmulInt8, roundToBf16 } from '../src/kernels/js-frozen.js';
import { loadNativeKernels, nativeBf16Kernel } from '../src/kernels/native-kernels.js';
import { type FrozenCase, frozenCases } from './helpers/frozen-cases.js';
import { makeRng, randArray } from './helpers/oracle.js';

const native = loadNativeKernels();
const js = createJsKernels();

/** The weight as fp32 in the stored layout: bf16 widened, or int8 dequantized. */
function widened(t: FrozenCase, format: 'bf16' | 'int8'): Float32Array {
  return format === 'bf16' ? bf16ToF32(t.w) : dequantizeInt8({ q: t.q, scale: t.scale }, t.transW ? t.k : t.n);
}

/** Σ_p |a(i,p) B(p,j)| per element of c: the scale of a sum's rounding error. */
function absProducts(t: FrozenCase, wide: Float32Array): Float64Array {
  const out = new Float64Array(t.m * t.n);
  for (let i = 0; i < t.m; i++) {
    for (let j = 0; j < t.n; j++) {
      let s = 0;
      for (let p = 0; p < t.k; p++) s += Math.abs(t.a[i * t.k + p]! * (t.transW ? wide[j * t.k + p]! : wide[p * t.n + j]!));
      out[i * t.n + j] = s;
    }
  }
  return out;
}

/**
 * |got - want| <= rel * (|alpha| Σ|a B| + |beta c|) + 1e-30 for every element: the
 * error bound of the precision in question, stated per test.
 */
function assertWithin(got: Float32Array, want: ArrayLike<number>, t: FrozenCase, format: 'bf16' | 'int8', rel: number, what: string): void {
  const scale = absProducts(t, widened(t, format));
  for (let i = 0; i < got.length; i++) {
    const bound = rel * (Math.abs(t.alpha) * scale[i]! + Math.abs(t.beta * t.c[i]!)) + 1e-30;
    const err = Math.abs(got[i]! - want[i]!);
    assert.ok(err <= bound, `${what}: element ${i} of (${t.m},${t.n}) k=${t.k} transW=${t.transW}: ${got[i]} vs ${want[i]}, error ${err} > ${bound}`);
  }
}

function run(kernel: (c: Float32Array) => void, t: FrozenCase): Float32Array {
  const c = Float32Array.from(t.c);
  kernel(c);
  return c;
}

const reference = {
  bf16: (t: FrozenCase) => run((c) => matmulBf16(c, t.a, t.w, t.m, t.n, t.k, t.transW, t.alpha, t.beta), t),
  int8: (t: FrozenCase) => run((c) => matmulInt8(c, t.a, t.q, t.scale, t.m, t.n, t.k, t.transW, t.alpha, t.beta), t),
};

/** fp32 sums of k terms err by at most about k 2^-24 of the summed magnitudes (both sides round a alike) */
const sumBound = (t: FrozenCase): number => Math.max(t.k, 4) * 2 ** -23;

test('rounding to bf16 agrees with the checkpoint converter, ties to even, NaN kept', () => {
  const xs = Float32Array.from([0, -0, 1, -1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -9, 3.3, -65504.5, 1e-30, 3e38, Infinity, -Infinity]);
  const viaConverter = bf16ToF32(f32ToBf16(xs));
  for (const [i, x] of xs.entries()) assert.equal(roundToBf16(x), viaConverter[i], `round(${x})`);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa, 1
  assert.equal(roundToBf16(1 + 2 ** -8), 1);
  assert.equal(roundToBf16(1 + 3 * 2 ** -8), 1 + 2 ** -6);
  assert.ok(Number.isNaN(roundToBf16(Number.NaN)));
});

test('int8 quantization: the largest weight of a row maps to ±127, every weight within half a step, zero rows stay zero', () => {
  const rand = makeRng(7);
  const rows = 5;
  const cols = 33;
  const w = randArray(rand, rows * cols, -3, 3);
  w.fill(0, 2 * cols, 3 * cols);
  const int8 = quantizeInt8(w, rows, cols);
  const back = dequantizeInt8(int8, cols);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(int8.q.subarray(r * cols, (r + 1) * cols));
    if (r === 2) {
      assert.equal(int8.scale[r], 0);
      assert.ok(row.every((v) => v === 0));
      continue;
    }
    assert.equal(Math.max(...row.map(Math.abs)), 127, `row ${r}`);
    for (let c = 0; c < cols; c++) assert.ok(Math.abs(back[r * cols + c]! - w[r * cols + c]!) <= int8.scale[r]! / 2 + 1e-7, `row ${r} col ${c}`);
  }
  assert.throws(() => quantizeInt8(Float32Array.from([1, Number.NaN]), 1, 2), /row 0 holds NaN/);
  assert.throws(() => quantizeInt8(new Float32Array(5), 2, 3), /5 values are not 2 rows of 3/);
});

test('the bf16 reference equals the fp32 product where bf16 is exact: small integers in a and w', () => {
  // integers below 256 are exact in bf16 and their sums of products are exact in fp32 and double
  const m = 5;
  const n = 7;
  const k = 9;
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 23) - 11);
  const wt = Float32Array.from({ length: n * k }, (_, i) => ((i * 5) % 19) - 9);
  const want = new Float32Array(m * n);
  js.matmul(want, a, wt, m, n, k, false, true, 1, 0);
  const got = new Float32Array(m * n);
  matmulBf16(got, a, f32ToBf16(wt), m, n, k, true, 1, 0);
  assert.deepEqual(got, want);
  // the same integers as int8 with unit scales
  const gotInt8 = new Float32Array(m * n);
  matmulInt8(gotInt8, a, Int8Array.from(wt), new Float32Array(n).fill(1), m, n, k, true, 1, 0);
  assert.deepEqual(gotInt8, want);
});

for (const format of ['bf16', 'int8'] as const) {
  test(`the ${format} reference is within bf16 rounding of the fp32 product with the ${format === 'bf16' ? 'widened' : 'dequantized'} weight (relative 2^-8)`, () => {
    for (const t of frozenCases(1).filter((c) => c.k > 1)) {
      const wide = widened(t, format);
      const want = run((c) => js.matmul(c, t.a, wide, t.m, t.n, t.k, false, t.transW, t.alpha, t.beta), t);
      // a (scaled or not) loses at most 2^-9 relative when rounded; the weight is exact; sums add fp32 rounding
      assertWithin(reference[format](t), want, t, format, 2 ** -8, `${format} vs fp32`);
    }
  });

  test(`the native ${format} product matches the reference on odd shapes, both orientations, with alpha and beta`, { skip: 'error' in native }, () => {
    assert.ok(!('error' in native));
    const k = native.kernels;
    for (const t of frozenCases(2)) {
      const got =
        format === 'bf16'
          ? run((c) => k.matmulBf16(c, t.a, t.w, t.m, t.n, t.k, t.transW, t.alpha, t.beta), t)
          : run((c) => k.matmulInt8(c, t.a, t.q, t.scale, t.m, t.n, t.k, t.transW, t.alpha, t.beta), t);
      assertWithin(got, reference[format](t), t, format, sumBound(t), `native ${nativeBf16Kernel()} ${format}`);
    }
  });
}

// each path a CPU may take, forced in a process of its own: no AMX (vdpbf16ps alone), and no AVX512-BF16 at all
for (const forced of ['avx512bf16', 'portable'] as const) {
  test(`the ${forced} path matches the references too`, { skip: 'error' in native }, (t) => {
    const script = fileURLToPath(new URL('./helpers/frozen-portable.js', import.meta.url));
    const lines = execFileSync(process.execPath, [script, '3'], {
      env: { ...process.env, FEDPLORA_BF16_KERNEL: forced },
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    })
      .trim()
      .split('\n');
    if (forced === 'avx512bf16' && lines[0] === 'portable') {
      t.skip('this CPU has no AVX512-BF16');
      return;
    }
    assert.equal(lines[0], forced);
    const cases = frozenCases(3);
    assert.equal(lines.length, 2 * cases.length + 1);
    const decode = (line: string | undefined): Float32Array => {
      const bytes = Buffer.from(line ?? '', 'base64');
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    };
    for (const [i, c] of cases.entries()) {
      assertWithin(decode(lines[2 * i + 1]), reference.bf16(c), c, 'bf16', sumBound(c), `${forced} bf16`);
      assertWithin(decode(lines[2 * i + 2]), reference.int8(c), c, 'int8', sumBound(c), `${forced} int8`);
    }
  });
}

test('the native products never read c when beta is 0 and refuse short or mistyped weights and scales', { skip: 'error' in native }, () => {
  assert.ok(!('error' in native));
  const k = native.kernels;
  const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const w = f32ToBf16(Float32Array.from([1, 0, 0, 1, 1, 1])); // (n=3, k=2): rows e1, e2, e1+e2
  const c = new Float32Array(9).fill(Number.NaN);
  k.matmulBf16(c, a, w, 3, 3, 2, true, 1, 0);
  assert.deepEqual(Array.from(c), [1, 2, 3, 3, 4, 7, 5, 6, 11]);
  const ci = new Float32Array(9).fill(Number.NaN);
  k.matmulInt8(ci, a, Int8Array.from([1, 0, 0, 1, 1, 1]), Float32Array.from([1, 2, 0.5]), 3, 3, 2, true, 1, 0);
  assert.deepEqual(Array.from(ci), [1, 4, 1.5, 3, 8, 3.5, 5, 12, 5.5]);
  assert.throws(() => k.matmulBf16(c, a, w.subarray(0, 5), 3, 3, 2, true, 1, 0), /w.*k\*n/);
  assert.throws(() => k.matmulBf16(c, a, new Float32Array(6) as unknown as Uint16Array, 3, 3, 2, true, 1, 0), /Uint16Array/);
  assert.throws(() => k.matmulInt8(c, a, new Int8Array(6), new Float32Array(2), 3, 3, 2, true, 1, 0), /scale.*n/);
  assert.throws(() => k.matmulInt8(c, a, new Uint8Array(6) as unknown as Int8Array, new Float32Array(3), 3, 3, 2, true, 1, 0), /Int8Array/);
});
