/**
 * Every native kernel against the TypeScript reference, on odd shapes (not
 * multiples of 8, batch 1, sequence 1, GQA and MHA), shapes large enough to
 * run on several threads (above the FP_GRAIN_* thresholds of native/pool.h), aliasing (in-place rope, add and crossEntropy
 * backward), ignored targets, accumulation into non-zero gradients, subarray
 * views, and the argument checks (a short buffer is a TypeError, not a crash).
 *
 * Without the addon this file fails (CI installs OpenBLAS and must exercise
 * it) unless FEDPLORA_KERNELS=js, which skips it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createJsKernels } from '../src/kernels/js-kernels.js';
import { loadNativeKernels, nativeThreadCount } from '../src/kernels/native-kernels.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { at } from '../src/util/checked.js';
import { makeRng } from './helpers/oracle.js';

const loaded = loadNativeKernels();
const skip = !('kernels' in loaded) && process.env['FEDPLORA_KERNELS'] === 'js' ? 'FEDPLORA_KERNELS=js and the native addon is not built' : false;
const ref = createJsKernels();

function nat(): Kernels {
  if ('kernels' in loaded) return loaded.kernels;
  assert.fail(
    `the native addon is not available: ${loaded.error}. It needs libopenblas-dev (CI installs it and must exercise it); set FEDPLORA_KERNELS=js to skip these tests.`,
  );
}

/** a small seeded generator so failures reproduce */
const rng = makeRng;

let seed = 1;
function rand(n: number, scale = 1): Float32Array {
  const r = rng(seed++);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (r() * 2 - 1) * scale;
  return x;
}

function randInt(n: number, lo: number, hi: number): Int32Array {
  const r = rng(seed++);
  const x = new Int32Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + Math.floor(r() * (hi - lo));
  return x;
}

/**
 * Asserts |got - want| <= atol + rtol |want| elementwise, where atol is
 * rtol times the largest finite |want| (so values that cancel are judged on
 * the scale of the tensor); NaN must meet NaN and inf the same inf. The
 * message gives the worst absolute difference.
 */
function close(name: string, got: Float32Array, want: Float32Array, rtol = 1e-5, atolScale = 1): void {
  assert.equal(got.length, want.length, `${name}: lengths differ`);
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) maxAbs = Math.max(maxAbs, Math.abs(want[i]!));
  const atol = rtol * Math.max(maxAbs, 1e-30) * atolScale;
  let worst = 0;
  let worstAt = -1;
  let bad = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g) && bad < 0) bad = i;
      continue;
    }
    const d = g === w ? 0 : Math.abs(g - w);
    if (d > worst) {
      worst = d;
      worstAt = i;
    }
    if (!(d <= atol + rtol * Math.abs(w)) && bad < 0) bad = i;
  }
  const detail =
    `${name}: worst |native - js| = ${worst.toExponential(3)}` +
    (worstAt >= 0 ? ` at [${worstAt}] (native ${got[worstAt]}, js ${want[worstAt]})` : '') +
    `, max |js| = ${maxAbs.toExponential(3)}`;
  assert.ok(bad < 0, `${detail}; first out of tolerance at [${bad}]: native ${got[bad]}, js ${want[bad]}`);
  if (process.env['FEDPLORA_TEST_VERBOSE']) console.log(detail);
}

const copy = (x: Float32Array): Float32Array => new Float32Array(x);

/** Runs `run` on both kernel sets with copies of `outputs` and compares each output. */
function both<O extends Record<string, Float32Array>>(name: string, outputs: O, run: (k: Kernels, o: O) => void, rtol = 1e-5, atolScale = 1): void {
  const copies = Object.entries(outputs).map(([key, v]) => ({ key, js: copy(v), native: copy(v) }));
  const oj = Object.fromEntries(copies.map((c) => [c.key, c.js])) as O;
  const on = Object.fromEntries(copies.map((c) => [c.key, c.native])) as O;
  run(ref, oj);
  run(nat(), on);
  for (const { key, js, native } of copies) close(`${name} ${key}`, native, js, rtol, atolScale);
}

function throwsType(fn: () => unknown, re: RegExp, what: string): void {
  assert.throws(fn, (err: unknown) => err instanceof TypeError && re.test(err.message), what);
}

test('native addon loads', { skip }, () => {
  const k = nat();
  assert.equal(k.name, 'native');
  assert.ok(nativeThreadCount() >= 1);
});

test('matmul: all transpose combinations, alpha and beta', { skip }, () => {
  const shapes: [number, number, number][] = [
    [7, 13, 5],
    [1, 9, 17],
    [33, 1, 3],
    [1, 1, 1],
    [19, 23, 131],
    [64, 65, 63],
  ];
  for (const [m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = rand(m * k);
        const b = rand(k * n);
        for (const [alpha, beta] of [
          [0.7, -1.3],
          [1, 0],
          [-2.5, 1],
        ] as const) {
          both(
            `matmul m=${m} n=${n} k=${k} tA=${transA} tB=${transB} alpha=${alpha} beta=${beta}`,
            { c: rand(m * n) },
            (K, o) => K.matmul(o['c'], a, b, m, n, k, transA, transB, alpha, beta),
            1e-5,
            4,
          );
        }
      }
    }
  }
});

test('matmul: beta = 0 ignores NaN in c; k = 0 scales c; subarray views', { skip }, () => {
  const c = new Float32Array(6).fill(NaN);
  nat().matmul(c, rand(6), rand(9), 2, 3, 3, false, false, 1, 0);
  assert.ok(c.every(Number.isFinite), 'beta = 0 must overwrite c');
  both('matmul k=0', { c: rand(12) }, (K, o) => K.matmul(o['c'], new Float32Array(0), new Float32Array(0), 3, 4, 0, false, false, 1, 0.5));
  const big = rand(100);
  const a = big.subarray(3, 3 + 4 * 5);
  const b = big.subarray(41, 41 + 5 * 6);
  both('matmul views', { c: rand(24) }, (K, o) => K.matmul(o['c'].subarray(0, 24), a, b, 4, 6, 5, false, true, 1.5, 0.25));
});

/**
 * The thin products of a LoRA branch (lora-branch.ts), which native/gemm.c
 * runs on its own kernels rather than BLAS: every product of rank r with N
 * tokens and a layer width D, in all four transpose combinations, with
 * alpha != 1 and beta 0 over NaN (must be ignored), beta 1 and another beta.
 * Sizes are odd (edge tiles and panels); N = 1000 runs on several threads,
 * and its reductions over N are longer than one K block.
 */
test('matmul: thin (LoRA) products, r = 1, 3, 16, 17, all transposes', { skip }, () => {
  for (const r of [1, 3, 16, 17]) {
    for (const N of [1, 7, 1000]) {
      const D = N === 1000 ? 131 : 37;
      // [m, n, k]: hT = A x^T and dhT (r,N,D); y (N,D,r); dB (D,r,N); dA (r,D,N); dx (N,D,r)
      const shapes: [number, number, number][] = [
        [r, N, D],
        [N, D, r],
        [D, r, N],
        [r, D, N],
      ];
      for (const [m, n, k] of shapes) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = rand(m * k);
            const b = rand(k * n);
            for (const [alpha, beta] of [
              [0.7, 0],
              [-1.5, 1],
              [2, 0.25],
            ] as const) {
              const c = beta === 0 ? new Float32Array(m * n).fill(NaN) : rand(m * n);
              both(
                `matmul thin r=${r} N=${N} m=${m} n=${n} k=${k} tA=${transA} tB=${transB} alpha=${alpha} beta=${beta}`,
                { c },
                (K, o) => K.matmul(o['c'], a, b, m, n, k, transA, transB, alpha, beta),
                1e-5,
                4,
              );
            }
          }
        }
      }
    }
  }
});

/**
 * Every transpose combination of each shape against the reference, twice: beta = 0 over a c of NaN (which must
 * not be read) with alpha `zeroBetaAlpha`, and `alpha`, `beta` over a random c.
 */
function matmulShapes(shapes: [number, number, number][], zeroBetaAlpha: number, [alpha, beta]: [number, number]): void {
  for (const [m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = rand(m * k);
        const b = rand(k * n);
        both(
          `matmul m=${m} n=${n} k=${k} tA=${transA} tB=${transB} beta=0`,
          { c: new Float32Array(m * n).fill(NaN) },
          (K, o) => K.matmul(o['c'], a, b, m, n, k, transA, transB, zeroBetaAlpha, 0),
          1e-5,
          4,
        );
        both(
          `matmul m=${m} n=${n} k=${k} tA=${transA} tB=${transB} beta=${beta}`,
          { c: rand(m * n) },
          (K, o) => K.matmul(o['c'], a, b, m, n, k, transA, transB, alpha, beta),
          1e-5,
          4,
        );
      }
    }
  }
}

test('matmul: every side above 64 (native/gemm-avx512.c where the CPU has AVX-512), edge tiles, k over several blocks', { skip }, () => {
  // 12-row tiles and 32-column panels leave edges at 65, 97 and 130; k = 515 spans three 256-long blocks; 1000 rows split over threads
  matmulShapes(
    [
      [65, 65, 65],
      [97, 130, 300],
      [130, 97, 515],
      [1000, 257, 70],
    ],
    0.75,
    [1.5, -0.5],
  );
});

test('matmul: FEDPLORA_GEMM=blas sends the products with every side above 64 to BLAS, with the same results', { skip }, () => {
  const script = fileURLToPath(new URL('./helpers/matmul-forced.js', import.meta.url));
  const run = (env: Record<string, string>) =>
    execFileSync(process.execPath, [script], { env: { ...process.env, ...env }, encoding: 'utf8' })
      .trim()
      .split('\n');
  const [kernel, ...lines] = run({ FEDPLORA_GEMM: 'blas' });
  assert.equal(kernel, 'blas');
  assert.equal(lines.length, 8);
  for (const line of lines) {
    const worst = Number(line.split(' ').at(-1));
    assert.ok(worst < 1e-5, line);
  }
});

test('matmul: thin products at and past the size limits, rank-64 tiles', { skip }, () => {
  // a dimension of 64 or 65 on either side of the thin kernels' threshold, 48 (three members of r = 16)
  const shapes: [number, number, number][] = [
    [64, 300, 200],
    [65, 300, 200],
    [300, 64, 200],
    [300, 200, 64],
    [48, 257, 1000],
    [1000, 257, 48],
    [6, 16, 1],
    [5, 17, 2000],
  ];
  matmulShapes(shapes, -0.5, [1.25, 1]);
  // subarray views as the LoRA branch passes them (hT of one member inside the group's rows)
  const r = 16;
  const N = 333;
  const hTall = rand(3 * r * N);
  const h = hTall.subarray(r * N, 2 * r * N);
  const B = rand(100 * r).subarray(0, 37 * r);
  both('matmul thin views', { y: rand(N * 37) }, (K, o) => K.matmul(o['y'], h, B, N, 37, r, true, true, 2, 1));
});

test('embedding forward and backward (repeated ids, accumulation, threads)', { skip }, () => {
  for (const [N, C, V] of [
    [1, 1, 1],
    [7, 13, 11],
    [1000, 1100, 37],
  ] as const) {
    const ids = randInt(N, 0, V);
    const table = rand(V * C);
    both(`embeddingForward N=${N} C=${C}`, { out: rand(N * C) }, (K, o) => K.embeddingForward(o['out'], ids, table, N, C));
    const dout = rand(N * C);
    both(`embeddingBackward N=${N} C=${C}`, { dtable: rand(V * C) }, (K, o) => K.embeddingBackward(o['dtable'], dout, ids, N, C));
  }
  const k = nat();
  assert.throws(() => k.embeddingForward(new Float32Array(4), new Int32Array([0, 5]), new Float32Array(10), 2, 2), RangeError);
  assert.throws(() => k.embeddingBackward(new Float32Array(10), new Float32Array(4), new Int32Array([-1, 0]), 2, 2), RangeError);
});

test('rmsnorm forward and backward (dweight and null, threads)', { skip }, () => {
  for (const [N, C] of [
    [1, 7],
    [37, 19],
    [3, 1],
    [300, 1000],
  ] as const) {
    const inp = rand(N * C, 3);
    const weight = rand(C);
    both(`rmsnormForward N=${N} C=${C}`, { out: rand(N * C), rstd: rand(N) }, (K, o) => K.rmsnormForward(o['out'], o['rstd'], inp, weight, N, C, 1e-5));
    const rstd = new Float32Array(N);
    ref.rmsnormForward(new Float32Array(N * C), rstd, inp, weight, N, C, 1e-5);
    const dout = rand(N * C);
    both(
      `rmsnormBackward N=${N} C=${C}`,
      { dinp: rand(N * C), dweight: rand(C) },
      (K, o) => K.rmsnormBackward(o['dinp'], o['dweight'], dout, inp, weight, rstd, N, C),
      1e-5,
      4,
    );
    both(
      `rmsnormBackward null dweight N=${N} C=${C}`,
      { dinp: rand(N * C) },
      (K, o) => K.rmsnormBackward(o['dinp'], null, dout, inp, weight, rstd, N, C),
      1e-5,
      4,
    );
  }
});

test('rope forward (also in place) and backward (accumulating)', { skip }, () => {
  for (const [B, T, nH, D] of [
    [1, 1, 3, 6],
    [2, 5, 3, 10],
    [1, 7, 1, 2],
    [2, 128, 16, 258],
  ] as const) {
    const n = B * T * nH * D;
    const cos = rand((T * D) / 2);
    const sin = rand((T * D) / 2);
    const inp = rand(n);
    both(`ropeForward B=${B} T=${T} nH=${nH} D=${D}`, { out: rand(n) }, (K, o) => K.ropeForward(o['out'], inp, cos, sin, B, T, nH, D));
    both(`ropeForward in place B=${B} T=${T} nH=${nH} D=${D}`, { x: inp }, (K, o) => K.ropeForward(o['x'], o['x'], cos, sin, B, T, nH, D));
    both(`ropeBackward B=${B} T=${T} nH=${nH} D=${D}`, { dinp: rand(n) }, (K, o) => K.ropeBackward(o['dinp'], inp, cos, sin, B, T, nH, D));
  }
  const k = nat();
  assert.throws(() => k.ropeForward(new Float32Array(6), new Float32Array(6), new Float32Array(3), new Float32Array(3), 1, 1, 2, 3), RangeError);
  const buf = new Float32Array(20);
  throwsType(
    () => k.ropeForward(buf.subarray(0, 12), buf.subarray(2, 14), new Float32Array(3), new Float32Array(3), 1, 1, 2, 6),
    /overlap/,
    'shifted in-place rope',
  );
});

/** Native attention forward and backward against the reference on each (B, T, H, G, D). */
function compareAttention(shapes: [number, number, number, number, number][]): void {
  for (const [B, T, H, G, D] of shapes) {
    const tag = `B=${B} T=${T} H=${H} G=${G} D=${D}`;
    const q = rand(B * T * H * D, 2);
    const k = rand(B * T * G * D, 2);
    const v = rand(B * T * G * D);
    both(`attentionForward ${tag}`, { out: rand(B * T * H * D), att: rand(B * H * T * T) }, (K, o) =>
      K.attentionForward(o['out'], o['att'], q, k, v, B, T, H, G, D),
    );
    const att = new Float32Array(B * H * T * T);
    ref.attentionForward(new Float32Array(B * T * H * D), att, q, k, v, B, T, H, G, D);
    const dout = rand(B * T * H * D);
    both(
      `attentionBackward ${tag}`,
      { dq: rand(B * T * H * D), dk: rand(B * T * G * D), dv: rand(B * T * G * D) },
      (K, o) => K.attentionBackward(o['dq'], o['dk'], o['dv'], dout, q, k, v, att, B, T, H, G, D),
      1e-5,
      4,
    );
  }
}

test('attention forward and backward (GQA, MHA, MQA, T = 1, threads)', { skip }, () => {
  const shapes: [number, number, number, number, number][] = [
    [1, 1, 1, 1, 5],
    [2, 7, 6, 2, 10],
    [1, 9, 4, 4, 3],
    [2, 33, 6, 3, 17],
    [1, 50, 6, 1, 9],
    [2, 64, 4, 2, 32],
    [3, 40, 6, 6, 16],
    [1, 96, 6, 2, 40],
  ];
  compareAttention(shapes);
  assert.throws(
    () => nat().attentionForward(new Float32Array(6), new Float32Array(3), new Float32Array(6), new Float32Array(4), new Float32Array(4), 1, 1, 3, 2, 2),
    RangeError,
  );
});

/**
 * Shapes that take native/attention.c's BLAS tiles (forward from T = 64,
 * backward from T = 112, or 192 when D > 64; tile rows bs = sqrt(2^18 / D)
 * rounded down to a multiple of 8, at most 128): partial last tiles, one
 * tile, D = 6 and 128, GQA, MHA and MQA, and T = 70 (tiles forward, loops
 * backward). The last shape needs two chunks of the backward's dS scratch
 * (2^22 floats). FEDPLORA_ATTENTION=tiles or =loops runs every shape of
 * this file through one implementation.
 */
test('attention through BLAS tiles (partial tiles, odd D, GQA/MHA/MQA, scratch chunks)', { skip }, () => {
  const shapes: [number, number, number, number, number][] = [
    [2, 70, 4, 2, 6],
    [1, 64, 2, 2, 64],
    [2, 130, 6, 2, 40],
    [1, 150, 4, 4, 64],
    [1, 120, 3, 1, 6],
    [1, 200, 2, 1, 128],
    [2, 113, 3, 3, 16],
    [2, 600, 8, 2, 8],
  ];
  compareAttention(shapes);
});

/**
 * A diagonal tile multiplies masked entries (P = 0, dS = 0 above the
 * diagonal) by rows of the future; the reference never reads those, so an
 * inf or NaN there, or a non-zero entry above the diagonal of the att given
 * to backward, must not reach the rows before it. One bad value per run.
 */
test('attention through BLAS tiles: non-finite inputs reach only the rows the reference lets them', { skip }, () => {
  const [B, T, H, G, D] = [1, 130, 4, 2, 16];
  const nq = B * T * H * D;
  const nk = B * T * G * D;
  const q = rand(nq, 2);
  const k = rand(nk, 2);
  const v = rand(nk);
  const dout = rand(nq);
  const att = new Float32Array(B * H * T * T);
  ref.attentionForward(new Float32Array(nq), att, q, k, v, B, T, H, G, D);
  const qRow = (t: number, h: number) => (t * H + h) * D;
  const kRow = (t: number, g: number) => (t * G + g) * D;

  const vBad = copy(v);
  vBad[kRow(95, 1) + 3] = Infinity;
  const wantOut = new Float32Array(nq);
  ref.attentionForward(wantOut, new Float32Array(B * H * T * T), q, k, vBad, B, T, H, G, D);
  assert.ok(
    Number.isFinite(at(wantOut, qRow(94, 2) + 3, 'reference out at t=94 h=2')) && !Number.isFinite(at(wantOut, qRow(95, 2) + 3, 'reference out at t=95 h=2')),
  );
  both('attentionForward inf in v', { out: rand(nq), att: rand(B * H * T * T) }, (K, o) => K.attentionForward(o['out'], o['att'], q, k, vBad, B, T, H, G, D));

  const cases: [string, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array][] = [];
  const qBad = copy(q);
  qBad[qRow(100, 3) + 5] = Infinity;
  cases.push(['inf in q', qBad, k, v, dout, att]);
  const kBad = copy(k);
  kBad[kRow(90, 0)] = NaN;
  cases.push(['NaN in k', q, kBad, v, dout, att]);
  const vBad2 = copy(v);
  vBad2[kRow(60, 1) + 1] = -Infinity;
  cases.push(['-inf in v', q, k, vBad2, dout, att]);
  const doutBad = copy(dout);
  doutBad[qRow(110, 0) + 7] = -Infinity;
  cases.push(['-inf in dout', q, k, v, doutBad, att]);
  const attBad = copy(att);
  attBad[(0 * T + 10) * T + 50] = 0.5; // head 0, row 10, key 50 > 10: ignored by the reference
  attBad[(3 * T + 20) * T + 21] = NaN;
  cases.push(['non-zero and NaN above the diagonal of att', q, k, v, dout, attBad]);
  for (const [name, qq, kk, vv, dd, aa] of cases) {
    both(
      `attentionBackward ${name}`,
      { dq: rand(nq), dk: rand(nk), dv: rand(nk) },
      (K, o) => K.attentionBackward(o['dq'], o['dk'], o['dv'], dd, qq, kk, vv, aa, B, T, H, G, D),
      1e-5,
      4,
    );
  }
});

test('swiglu forward and backward (extreme gates, threads)', { skip }, () => {
  for (const n of [1, 37, 300007]) {
    const gate = rand(n, 12);
    gate[0] = 100;
    if (n > 1) gate[1] = -100;
    const up = rand(n);
    both(`swigluForward n=${n}`, { out: rand(n) }, (K, o) => K.swigluForward(o['out'], gate, up, n));
    const dout = rand(n);
    both(`swigluBackward n=${n}`, { dgate: rand(n), dup: rand(n) }, (K, o) => K.swigluBackward(o['dgate'], o['dup'], dout, gate, up, n));
  }
});

test('cross entropy forward and backward (ignored targets, in place, threads)', { skip }, () => {
  for (const [N, V] of [
    [5, 17],
    [1, 1],
    [3, 2],
    [50, 3001],
  ] as const) {
    const logits = rand(N * V, 8);
    const targets = randInt(N, 0, V);
    targets[0] = -1;
    if (N > 2) targets[2] = -100;
    const dlosses = rand(N);
    both(`crossEntropyForward N=${N} V=${V}`, { losses: rand(N) }, (K, o) => K.crossEntropyForward(o['losses'], logits, targets, N, V));
    const want = new Float32Array(N * V);
    ref.crossEntropyBackward(want, logits, targets, dlosses, N, V);
    // the target's p - 1 cancels as p nears 1: its error is an ulp of 1 times dloss, however small the result
    const largest = (x: Float32Array): number => x.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
    const atolScale = Math.max(1, largest(dlosses) / largest(want));
    both(
      `crossEntropyBackward N=${N} V=${V}`,
      { dlogits: rand(N * V) },
      (K, o) => K.crossEntropyBackward(o['dlogits'], logits, targets, dlosses, N, V),
      1e-5,
      atolScale,
    );
    const inPlace = copy(logits);
    nat().crossEntropyBackward(inPlace, inPlace, targets, dlosses, N, V);
    close(`crossEntropyBackward in place N=${N} V=${V}`, inPlace, want);
  }
  const k = nat();
  assert.throws(() => k.crossEntropyForward(new Float32Array(1), new Float32Array(3), new Int32Array([3]), 1, 3), RangeError);
});

test('add (aliasing), sumSquares, scale', { skip }, () => {
  for (const n of [0, 1, 13, 1048583]) {
    const a = rand(n);
    const b = rand(n);
    both(`add n=${n}`, { out: rand(n) }, (K, o) => K.add(o['out'], a, b, n), 0);
    both(`add out=a n=${n}`, { x: a }, (K, o) => K.add(o['x'], o['x'], b, n), 0);
    both(`add out=b n=${n}`, { x: b }, (K, o) => K.add(o['x'], a, o['x'], n), 0);
    const got = nat().sumSquares(a, n);
    const want = ref.sumSquares(a, n);
    assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(want, 1e-300), `sumSquares n=${n}: native ${got}, js ${want}, diff ${Math.abs(got - want)}`);
    both(`scale n=${n}`, { x: a }, (K, o) => K.scale(o['x'], 0.1, n), 0);
  }
  const buf = new Float32Array(10);
  throwsType(() => nat().add(buf.subarray(1, 6), buf.subarray(0, 5), buf.subarray(0, 5), 5), /overlap/, 'shifted add');
});

test('adamw matches the reference', { skip }, () => {
  for (const n of [1, 17, 100001]) {
    const grad = rand(n);
    for (const step of [1, 7]) {
      both(
        `adamw n=${n} step=${step}`,
        { param: rand(n), m: rand(n, 0.1), v: rand(n, 0.01).map(Math.abs) },
        (K, o) => K.adamw(o['param'], grad, o['m'], o['v'], n, 1e-3, 0.9, 0.999, 1e-8, 0.01, step),
        1e-6,
      );
    }
  }
});

test('argument checks throw TypeError instead of touching memory', { skip }, () => {
  const k = nat();
  const f = (n: number) => new Float32Array(n);
  throwsType(() => k.matmul(f(5), f(6), f(6), 2, 3, 3, false, false, 1, 0), /c .*m\*n = 6.*got 5/, 'short c');
  throwsType(() => k.matmul(f(6), f(5), f(9), 2, 3, 3, true, false, 1, 0), /\ba\b.*m\*k/, 'short a');
  throwsType(() => k.matmul(f(6), f(6), f(8), 2, 3, 3, false, true, 1, 0), /\bb\b.*k\*n/, 'short b');
  throwsType(() => k.matmul(new Float64Array(6) as unknown as Float32Array, f(6), f(9), 2, 3, 3, false, false, 1, 0), /Float32Array/, 'Float64Array');
  throwsType(() => k.matmul(f(6), f(6), f(9), 2.5, 3, 3, false, false, 1, 0), /integer/, 'fractional size');
  throwsType(() => k.matmul(f(6), f(6), f(9), -1, 3, 3, false, false, 1, 0), /integer/, 'negative size');
  throwsType(() => (k.matmul as unknown as (...a: unknown[]) => void)(f(6), f(6)), /must be a number/, 'missing arguments');
  throwsType(() => k.embeddingForward(f(5), new Int32Array(2), f(9), 2, 3), /out/, 'short out');
  throwsType(() => k.embeddingForward(f(6), new Int32Array(1), f(9), 2, 3), /ids/, 'short ids');
  throwsType(() => k.embeddingForward(f(6), new Float32Array(2) as unknown as Int32Array, f(9), 2, 3), /Int32Array/, 'float ids');
  throwsType(() => k.embeddingBackward(f(9), f(5), new Int32Array(2), 2, 3), /dout/, 'short dout');
  throwsType(() => k.rmsnormForward(f(6), f(1), f(6), f(3), 2, 3, 1e-5), /rstd/, 'short rstd');
  throwsType(() => k.rmsnormForward(f(6), f(2), f(6), f(2), 2, 3, 1e-5), /weight/, 'short weight');
  throwsType(() => k.rmsnormBackward(f(6), f(2), f(6), f(6), f(3), f(2), 2, 3), /dweight/, 'short dweight');
  throwsType(() => k.rmsnormBackward(f(6), null, f(6), f(5), f(3), f(2), 2, 3), /inp/, 'short inp');
  throwsType(() => k.ropeForward(f(12), f(12), f(2), f(3), 1, 1, 2, 6), /cos/, 'short cos');
  throwsType(() => k.ropeBackward(f(11), f(12), f(3), f(3), 1, 1, 2, 6), /dinp/, 'short dinp');
  const [B, T, H, G, D] = [1, 3, 4, 2, 5];
  const nq = B * T * H * D,
    nk = B * T * G * D,
    na = B * H * T * T;
  throwsType(() => k.attentionForward(f(nq), f(na - 1), f(nq), f(nk), f(nk), B, T, H, G, D), /att/, 'short att');
  throwsType(() => k.attentionForward(f(nq), f(na), f(nq), f(nk), f(nk - 1), B, T, H, G, D), /\bv\b/, 'short v');
  throwsType(() => k.attentionBackward(f(nq), f(nk - 1), f(nk), f(nq), f(nq), f(nk), f(nk), f(na), B, T, H, G, D), /dk/, 'short dk');
  throwsType(() => k.attentionBackward(f(nq), f(nk), f(nk), f(nq - 1), f(nq), f(nk), f(nk), f(na), B, T, H, G, D), /dout/, 'short dout');
  throwsType(() => k.swigluForward(f(4), f(4), f(3), 4), /up/, 'short up');
  throwsType(() => k.swigluBackward(f(4), f(3), f(4), f(4), f(4), 4), /dup/, 'short dup');
  throwsType(() => k.crossEntropyForward(f(2), f(5), new Int32Array(2), 2, 3), /logits/, 'short logits');
  throwsType(() => k.crossEntropyBackward(f(6), f(6), new Int32Array(2), f(1), 2, 3), /dlosses/, 'short dlosses');
  throwsType(() => k.add(f(3), f(4), f(4), 4), /out/, 'short add out');
  throwsType(() => k.sumSquares(f(3), 4), /\bx\b/, 'short sumSquares');
  throwsType(() => k.scale(f(3), 2, 4), /\bx\b/, 'short scale');
  throwsType(() => k.adamw(f(4), f(4), f(4), f(3), 4, 1e-3, 0.9, 0.999, 1e-8, 0, 1), /\bv\b/, 'short adam v');
  // a view's length is what counts, not its buffer's
  throwsType(() => k.add(f(10).subarray(0, 3), f(4), f(4), 4), /out/, 'short view');
});
