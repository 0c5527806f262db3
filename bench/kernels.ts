/**
 * Kernel benchmark: native vs TypeScript per kernel, sgemm GFLOP/s against a
 * 1024^3 sgemm measured in the same run, and a check that the fused kernels'
 * thread pool does not slow OpenBLAS down (sgemm alternating with fused
 * kernels, in child processes with FEDPLORA_THREADS=1 and 2), and attention
 * per implementation of native/attention.c (loops, BLAS tiles, chosen by T)
 * at the bench:step presets' shapes and across T, and the thin (LoRA) matmuls
 * of the presets through OpenBLAS and through native/gemm.c's own kernels.
 *
 *   npx tsc -p . && node dist/bench/kernels.js [--quick] [--attention] [--thin]
 *
 * --attention prints only the attention table, --thin only the thin matmuls.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createJsKernels } from '../src/kernels/js-kernels.js';
import { loadNativeKernels, nativeBlasInfo, nativeThreadCount } from '../src/kernels/native-kernels.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { at } from '../src/util/checked.js';

const quick = process.argv.includes('--quick');

function rand(n: number, scale = 1): Float32Array {
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return x;
}

/** The middle value of xs once sorted (sorts xs in place). */
function median(xs: number[]): number {
  xs.sort((a, b) => a - b);
  return at(xs, Math.floor(xs.length / 2), 'median of the samples');
}

/** The faster of two timings of the same cells, cell by cell. */
function fastest(best: number[], fresh: number[]): number[] {
  return best.map((t, j) => Math.min(t, at(fresh, j, 'timing of a cell')));
}

/** Median seconds per call of fn, calling it until `budget` seconds have passed (at least `min` calls). */
function time(fn: () => void, budget = quick ? 0.1 : 0.4, min = 3): number {
  fn(); // warm up (and start the pool's threads)
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < min || (performance.now() - start) / 1000 < budget) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1000);
    if (samples.length >= 1000) break;
  }
  return median(samples);
}

const fmt = (s: number): string => (s >= 1 ? `${s.toFixed(2)} s` : s >= 1e-3 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(1)} us`);

function gemmSeconds(K: Kernels, m: number, n: number, k: number, transA = false, transB = false): number {
  const a = rand(m * k);
  const b = rand(k * n);
  const c = new Float32Array(m * n);
  return time(() => K.matmul(c, a, b, m, n, k, transA, transB, 1, 0));
}

/** A model-like set of shapes (a ~1B LLaMA layer, sequence 256). */
const S = { B: 1, T: 256, C: 2048, H: 32, G: 4, D: 64, I: 5632, V: 32000 };

interface Case {
  name: string;
  run: (K: Kernels) => () => void;
}

function cases(): Case[] {
  const { B, T, C, H, G, D, I } = S;
  const N = B * T;
  const V = 8000; // a smaller vocabulary keeps the TS reference bearable
  const x = rand(N * C, 2);
  const w = rand(C);
  const out = new Float32Array(N * C);
  const rstd = new Float32Array(N);
  const dx = new Float32Array(N * C);
  const dw = new Float32Array(C);
  const q = rand(N * H * D, 2);
  const kk = rand(N * G * D, 2);
  const v = rand(N * G * D);
  const att = new Float32Array(B * H * T * T);
  const ao = new Float32Array(N * H * D);
  const dq = new Float32Array(N * H * D);
  const rq = new Float32Array(N * H * D);
  const dk = new Float32Array(N * G * D);
  const dv = new Float32Array(N * G * D);
  const cos = rand((T * D) / 2);
  const sin = rand((T * D) / 2);
  const gate = rand(N * I, 4);
  const up = rand(N * I);
  const act = new Float32Array(N * I);
  const dgate = new Float32Array(N * I);
  const dup = new Float32Array(N * I);
  const logits = rand(N * V, 5);
  const dlogits = new Float32Array(N * V);
  const targets = new Int32Array(N).map((_, i) => (i * 7919) % V);
  const losses = new Float32Array(N);
  const dlosses = new Float32Array(N).fill(1 / N);
  const ids = new Int32Array(N).map((_, i) => (i * 31) % 1000);
  const table = rand(1000 * C);
  const dtable = new Float32Array(1000 * C);
  const P = 1 << 20;
  const param = rand(P);
  const grad = rand(P);
  const m = new Float32Array(P);
  const vv = new Float32Array(P);
  createJsKernels().attentionForward(ao, att, q, kk, v, B, T, H, G, D);
  return [
    { name: `embeddingForward N=${N} C=${C}`, run: (K) => () => K.embeddingForward(out, ids, table, N, C) },
    { name: `embeddingBackward N=${N} C=${C}`, run: (K) => () => K.embeddingBackward(dtable, x, ids, N, C) },
    { name: `rmsnormForward N=${N} C=${C}`, run: (K) => () => K.rmsnormForward(out, rstd, x, w, N, C, 1e-5) },
    { name: `rmsnormBackward N=${N} C=${C}`, run: (K) => () => K.rmsnormBackward(dx, dw, x, x, w, rstd, N, C) },
    { name: `ropeForward B=${B} T=${T} H=${H} D=${D}`, run: (K) => () => K.ropeForward(rq, q, cos, sin, B, T, H, D) },
    { name: `ropeBackward B=${B} T=${T} H=${H} D=${D}`, run: (K) => () => K.ropeBackward(rq, q, cos, sin, B, T, H, D) },
    { name: `attentionForward B=${B} T=${T} H=${H} G=${G} D=${D}`, run: (K) => () => K.attentionForward(ao, att, q, kk, v, B, T, H, G, D) },
    { name: `attentionBackward B=${B} T=${T} H=${H} G=${G} D=${D}`, run: (K) => () => K.attentionBackward(dq, dk, dv, ao, q, kk, v, att, B, T, H, G, D) },
    { name: `swigluForward n=${N}*${I}`, run: (K) => () => K.swigluForward(act, gate, up, N * I) },
    { name: `swigluBackward n=${N}*${I}`, run: (K) => () => K.swigluBackward(dgate, dup, act, gate, up, N * I) },
    { name: `crossEntropyForward N=${N} V=${V}`, run: (K) => () => K.crossEntropyForward(losses, logits, targets, N, V) },
    { name: `crossEntropyBackward N=${N} V=${V}`, run: (K) => () => K.crossEntropyBackward(dlogits, logits, targets, dlosses, N, V) },
    { name: `add n=${N}*${C}`, run: (K) => () => K.add(out, out, x, N * C) },
    { name: `sumSquares n=${P}`, run: (K) => () => void K.sumSquares(param, P) },
    { name: `scale n=${P}`, run: (K) => () => K.scale(grad, 1, P) },
    { name: `adamw n=${P}`, run: (K) => () => K.adamw(param, grad, m, vv, P, 1e-4, 0.9, 0.999, 1e-8, 0, 10) },
    {
      name: 'matmul 256x256x256',
      run: (K) => {
        const a = rand(65536),
          b = rand(65536),
          c = new Float32Array(65536);
        return () => K.matmul(c, a, b, 256, 256, 256, false, false, 1, 0);
      },
    },
  ];
}

/** What one interference child reports. */
interface InterferenceReport {
  threads: number;
  gemmAloneMs: number;
  fusedAloneMs: number;
  gemmMixedMs: number;
  fusedMixedMs: number;
  mixedRoundMs: number;
  gemmGflops: number;
}

/**
 * Child mode: sgemm alone, a fused mix alone, then the two alternating,
 * reporting sgemm's median time in each setting as JSON.
 */
function interferenceChild(native: Kernels): void {
  const { B, T, C, H, G, D, I } = S;
  const N = B * T;
  const [m, n, k] = [N, C, C];
  const a = rand(m * k);
  const b = rand(k * n);
  const c = new Float32Array(m * n);
  const x = rand(N * C);
  const w = rand(C);
  const out = new Float32Array(N * C);
  const rstd = new Float32Array(N);
  const q = rand(N * H * D);
  const kk = rand(N * G * D);
  const v = rand(N * G * D);
  const att = new Float32Array(B * H * T * T);
  const ao = new Float32Array(N * H * D);
  const gate = rand(N * I);
  const up = rand(N * I);
  const act = new Float32Array(N * I);
  const sgemm = () => native.matmul(c, a, b, m, n, k, false, true, 1, 0);
  const fused = () => {
    native.rmsnormForward(out, rstd, x, w, N, C, 1e-5);
    native.attentionForward(ao, att, q, kk, v, B, T, H, G, D);
    native.swigluForward(act, gate, up, N * I);
  };
  const rounds = quick ? 20 : 60;
  const gemmAlone: number[] = [];
  const fusedAlone: number[] = [];
  const gemmMixed: number[] = [];
  const fusedMixed: number[] = [];
  sgemm();
  fused();
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    sgemm();
    gemmAlone.push(performance.now() - t0);
  }
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fused();
    fusedAlone.push(performance.now() - t0);
  }
  const mixedStart = performance.now();
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    sgemm();
    gemmMixed.push(performance.now() - t0);
    t0 = performance.now();
    fused();
    fusedMixed.push(performance.now() - t0);
  }
  const mixedTotal = (performance.now() - mixedStart) / rounds;
  const report: InterferenceReport = {
    threads: nativeThreadCount(),
    gemmAloneMs: median(gemmAlone),
    fusedAloneMs: median(fusedAlone),
    gemmMixedMs: median(gemmMixed),
    fusedMixedMs: median(fusedMixed),
    mixedRoundMs: mixedTotal,
    gemmGflops: (2 * m * n * k) / (median(gemmMixed) * 1e6),
  };
  process.stdout.write(JSON.stringify(report));
}

/** [B, T, H, G, D, label]: bench:step's presets, then T around the choice of loops or tiles. */
const ATTENTION_SHAPES: [number, number, number, number, number, string][] = [
  [8, 128, 4, 4, 64, 'tiny'],
  [4, 256, 8, 8, 64, 'small'],
  [2, 256, 9, 3, 64, 'smollm2-135m'],
  [4, 32, 8, 8, 64, ''],
  [4, 48, 8, 8, 64, ''],
  [4, 64, 8, 8, 64, ''],
  [4, 96, 8, 8, 64, ''],
  [4, 112, 8, 8, 64, ''],
  [4, 128, 8, 8, 64, ''],
  [2, 128, 8, 8, 128, ''],
  [2, 192, 8, 8, 128, ''],
  [2, 256, 8, 8, 128, ''],
];

/** Child mode: ms per attention forward and backward call for each of ATTENTION_SHAPES, as JSON. */
function attentionChild(native: Kernels): void {
  const rows = ATTENTION_SHAPES.map(([B, T, H, G, D]) => {
    const q = rand(B * T * H * D, 2);
    const k = rand(B * T * G * D, 2);
    const v = rand(B * T * G * D);
    const out = new Float32Array(B * T * H * D);
    const att = new Float32Array(B * H * T * T);
    const dq = new Float32Array(B * T * H * D);
    const dk = new Float32Array(B * T * G * D);
    const dv = new Float32Array(B * T * G * D);
    const fwd = time(() => native.attentionForward(out, att, q, k, v, B, T, H, G, D), quick ? 0.1 : 0.3);
    const bwd = time(() => native.attentionBackward(dq, dk, dv, out, q, k, v, att, B, T, H, G, D), quick ? 0.1 : 0.3);
    return [fwd, bwd] satisfies [number, number];
  });
  process.stdout.write(JSON.stringify(rows));
}

/**
 * Attention by each implementation (FEDPLORA_ATTENTION=loops / tiles, and
 * unset: chosen by T), each in a child process. GFLOP/s counts the causal
 * products only: 2 (forward) or 4 (backward) of B H T(T+1)/2 D multiply-adds.
 */
function attentionTable(script: string): void {
  console.log('\nattention (native/attention.c): time per call, GFLOP/s of the causal products');
  const modes: [string, string | undefined][] = [
    ['loops', 'loops'],
    ['tiles', 'tiles'],
    ['chosen', undefined],
  ];
  // Each mode runs in `repeats` processes, taken in turn, and keeps the fastest time per cell:
  // on a shared 2-core VM a whole process can land in a slow spell.
  const repeats = quick ? 1 : 3;
  const results: [number, number][][] = modes.map(() => []);
  for (let rep = 0; rep < repeats; rep++) {
    for (const [m, [label, mode]] of modes.entries()) {
      const env: NodeJS.ProcessEnv = { ...process.env };
      if (mode === undefined) delete env['FEDPLORA_ATTENTION'];
      else env['FEDPLORA_ATTENTION'] = mode;
      const child = spawnSync(process.execPath, [script, '--attention-child', ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' });
      if (child.status !== 0) {
        console.log(`  ${label}: child failed: ${child.stderr}`);
        return;
      }
      const rows = JSON.parse(child.stdout) as [number, number][];
      results[m] =
        rep === 0
          ? rows
          : at(results, m, `attention timings of ${label}`).map(([fwd, bwd], i) => {
              const [fwdNow, bwdNow] = at(rows, i, `attention timings of ${label} in this process`);
              return [Math.min(fwd, fwdNow), Math.min(bwd, bwdNow)];
            });
    }
  }
  console.log(`  ${'B T H G D'.padEnd(30)} ${modes.map(([l]) => `${l} fwd`.padStart(17) + `${l} bwd`.padStart(17)).join('')}`);
  ATTENTION_SHAPES.forEach(([B, T, H, G, D, label], i) => {
    const macs = B * H * ((T * (T + 1)) / 2) * D;
    const cell = (s: number, products: number) => `${fmt(s)} ${((2 * products * macs) / s / 1e9).toFixed(0).padStart(3)}`.padStart(17);
    const name = `${B} ${T} ${H} ${G} ${D}${label ? ` (${label})` : ''}`;
    const cells = results.map((r) => {
      const [fwd, bwd] = at(r, i, `attention timings of ${name}`);
      return cell(fwd, 2) + cell(bwd, 4);
    });
    console.log(`  ${name.padEnd(30)} ${cells.join('')}`);
  });
}

/** [label, m, n, k, transA, transB, beta]: the LoRA products of one training step (lora-branch.ts) */
type ThinShape = [string, number, number, number, boolean, boolean, number];

/**
 * The thin products of bench:step's presets with rank r = 16 on all seven
 * projections: q, k, v share their input (48 rows of A), gate and up (32),
 * o and down are alone (16).
 */
function thinShapes(): ThinShape[] {
  const presets: [string, number, number, number][] = [
    ['tiny', 1024, 256, 688],
    ['small', 1024, 512, 1376],
    ['smollm2-135m', 512, 576, 1536],
  ];
  const r = 16;
  const list: ThinShape[] = [];
  for (const [name, N, C, I] of presets) {
    list.push(
      [`${name} hT = A x^T (qkv)`, 3 * r, N, C, false, true, 0],
      [`${name} hT = A x^T (o)`, r, N, C, false, true, 0],
      [`${name} hT = A x^T (down)`, r, N, I, false, true, 0],
      [`${name} y += s hT^T B^T`, N, C, r, true, true, 1],
      [`${name} y += s hT^T B^T (I)`, N, I, r, true, true, 1],
      [`${name} dhT = s B^T dy^T`, r, N, C, true, true, 0],
      [`${name} dhT = s B^T dy^T (I)`, r, N, I, true, true, 0],
      [`${name} dB += s dy^T hT^T`, C, r, N, true, true, 1],
      [`${name} dB += s dy^T hT^T (I)`, I, r, N, true, true, 1],
      [`${name} dA += dhT x (qkv)`, 3 * r, C, N, false, false, 1],
      [`${name} dA += dhT x (gate,up)`, 2 * r, C, N, false, false, 1],
      [`${name} dA += dhT x (down)`, r, I, N, false, false, 1],
      [`${name} dx += dhT^T A (qkv)`, N, C, 3 * r, true, false, 1],
      [`${name} dx += dhT^T A (down)`, N, I, r, true, false, 1],
    );
  }
  // rank 64 on a 2048-wide model; sg_plan leaves the first two to BLAS (rows of B 8 KB apart)
  list.push(
    ['r64 dA += dhT x (BLAS)', 64, 2048, 1024, false, false, 1],
    ['r64 dB += s dy^T hT^T (BLAS)', 2048, 64, 1024, true, true, 1],
    ['r64 y += s hT^T B^T', 1024, 2048, 64, true, true, 1],
    ['r64 dhT = s B^T dy^T', 64, 1024, 2048, true, true, 0],
    ['r16 hT = A x^T, C = 2048', 16, 1024, 2048, false, true, 0],
  );
  return list;
}

/** Child mode: seconds per call (median) of each thin shape, as JSON; FEDPLORA_SMALL_GEMM picks the path. */
function thinChild(native: Kernels): void {
  const times = thinShapes().map(([, m, n, k, tA, tB, beta]) => {
    const a = rand(m * k);
    const b = rand(k * n);
    const c = rand(m * n);
    return time(() => native.matmul(c, a, b, m, n, k, tA, tB, 0.5, beta), quick ? 0.05 : 0.2);
  });
  process.stdout.write(JSON.stringify(times));
}

/**
 * The thin products through OpenBLAS (FEDPLORA_SMALL_GEMM=off) and through
 * native/gemm.c's own kernels (unset), in child processes taken in turn,
 * keeping the fastest time per cell. Operands are warm (the same call
 * repeated): in a training step they arrive colder, and both run slower.
 */
function thinTable(script: string): void {
  console.log('\nthin matmuls (LoRA r = 16 unless said, native/gemm.c): time per call and GFLOP/s, warm operands');
  const modes: [string, string | undefined][] = [
    ['OpenBLAS', 'off'],
    ['gemm.c', undefined],
  ];
  const repeats = quick ? 1 : 3;
  const results: [number[], number[]] = [[], []];
  for (let rep = 0; rep < repeats; rep++) {
    for (const [i, [label, mode]] of modes.entries()) {
      const env: NodeJS.ProcessEnv = { ...process.env };
      if (mode === undefined) delete env['FEDPLORA_SMALL_GEMM'];
      else env['FEDPLORA_SMALL_GEMM'] = mode;
      const child = spawnSync(process.execPath, [script, '--thin-child', ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' });
      if (child.status !== 0) {
        console.log(`  ${label}: child failed: ${child.stderr}`);
        return;
      }
      const row = JSON.parse(child.stdout) as number[];
      results[i] = rep === 0 ? row : fastest(at(results, i, `thin timings of ${label}`), row);
    }
  }
  console.log(`  ${'product'.padEnd(34)} ${'m x n x k'.padEnd(19)} ${modes.map(([l]) => l.padStart(19)).join('')}  speed-up`);
  thinShapes().forEach(([label, m, n, k, tA, tB, beta], j) => {
    const flops = 2 * m * n * k;
    const cell = (s: number) => `${fmt(s)} ${(flops / s / 1e9).toFixed(0).padStart(4)}`.padStart(19);
    const shape = `${m}x${n}x${k} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} b${beta}`;
    console.log(
      `  ${label.padEnd(34)} ${shape.padEnd(19)} ${results.map((r) => cell(at(r, j, label))).join('')}  ${(at(results[0], j, label) / at(results[1], j, label)).toFixed(2).padStart(6)}x`,
    );
  });
}

function main(): void {
  const loaded = loadNativeKernels();
  if (!('kernels' in loaded)) {
    console.error(`native kernels unavailable: ${loaded.error}`);
    process.exit(1);
  }
  const native = loaded.kernels;
  if (process.argv.includes('--interference-child')) {
    interferenceChild(native);
    return;
  }
  if (process.argv.includes('--attention-child')) {
    attentionChild(native);
    return;
  }
  if (process.argv.includes('--attention')) {
    attentionTable(fileURLToPath(import.meta.url));
    return;
  }
  if (process.argv.includes('--thin-child')) {
    thinChild(native);
    return;
  }
  if (process.argv.includes('--thin')) {
    thinTable(fileURLToPath(import.meta.url));
    return;
  }
  const js = createJsKernels();
  const blas = nativeBlasInfo();
  console.log(`native: ${nativeThreadCount()} pool threads; BLAS:${blas?.config ?? ' ?'} (${blas?.threads ?? '?'} threads)`);
  console.log(
    `env: OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE'] ?? ''} OPENBLAS_THREAD_TIMEOUT=${process.env['OPENBLAS_THREAD_TIMEOUT'] ?? ''} OPENBLAS_NUM_THREADS=${process.env['OPENBLAS_NUM_THREADS'] ?? ''} FEDPLORA_THREADS=${process.env['FEDPLORA_THREADS'] ?? ''}`,
  );

  // sgemm peak and model-shaped matmuls
  const peakSec = gemmSeconds(native, 1024, 1024, 1024);
  const peak = (2 * 1024 ** 3) / peakSec / 1e9;
  console.log(`\nsgemm 1024^3: ${fmt(peakSec)} = ${peak.toFixed(1)} GFLOP/s (the peak below is relative to this)`);
  const { T, C, I, V } = S;
  const shapes: [string, number, number, number, boolean, boolean][] = [
    ['x @ Wq^T   (T,C)x(C,C)^T', T, C, C, false, true],
    ['x @ Wup^T  (T,C)x(I,C)^T', T, I, C, false, true],
    ['dx = dy @ W (T,I)x(I,C)', T, C, I, false, false],
    ['dW = dy^T x (C,T)^T x(T,C)', C, C, T, true, false],
    ['lm head    (T,C)x(V,C)^T', T, V, C, false, true],
    ['LoRA A     (T,C)x(16,C)^T', T, 16, C, false, true],
  ];
  for (const [label, m, n, k, tA, tB] of shapes) {
    const s = gemmSeconds(native, m, n, k, tA, tB);
    const g = (2 * m * n * k) / s / 1e9;
    console.log(
      `  ${label.padEnd(28)} m=${m} n=${n} k=${k}: ${fmt(s).padStart(9)}  ${g.toFixed(1).padStart(6)} GFLOP/s  ${((g / peak) * 100).toFixed(0).padStart(3)}% of peak`,
    );
  }

  console.log('\nkernel                                       native        js   native/js');
  for (const c of cases()) {
    const tn = time(c.run(native));
    const tj = time(c.run(js), quick ? 0.2 : 0.5, 1);
    console.log(`  ${c.name.padEnd(42)} ${fmt(tn).padStart(9)} ${fmt(tj).padStart(9)}   ${(tn / tj).toExponential(2)} (${(tj / tn).toFixed(0)}x faster)`);
  }

  console.log('\nthread interference: sgemm (T,C)x(C,C)^T alternating with fused kernels (rmsnorm + attention + swiglu)');
  const script = fileURLToPath(import.meta.url);
  // The loader sets OPENBLAS_THREAD_TIMEOUT=16 unless it is set; 28 is OpenBLAS's own default, shown for comparison.
  const runs: [string, string | undefined][] = [
    ['1', undefined],
    ['2', undefined],
    ['2', '28'],
  ];
  const repeats = quick ? 2 : 3; // placement of the threads varies per process, so several processes each
  for (const [threads, timeout] of runs) {
    const env: NodeJS.ProcessEnv = { ...process.env, FEDPLORA_THREADS: threads };
    if (timeout !== undefined) env['OPENBLAS_THREAD_TIMEOUT'] = timeout;
    const label = `FEDPLORA_THREADS=${threads}${timeout !== undefined ? ` OPENBLAS_THREAD_TIMEOUT=${timeout}` : ''}`;
    const results: InterferenceReport[] = [];
    for (let i = 0; i < repeats; i++) {
      const child = spawnSync(process.execPath, [script, '--interference-child', ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' });
      if (child.status !== 0) {
        console.log(`  ${label}: child failed: ${child.stderr}`);
        break;
      }
      results.push(JSON.parse(child.stdout) as InterferenceReport);
    }
    if (results.length === 0) continue;
    const list = (key: keyof InterferenceReport) => results.map((r) => r[key].toFixed(2)).join('/');
    console.log(
      `  ${label} (${results.length} processes, ms):\n` +
        `    sgemm alone ${list('gemmAloneMs')}, alternating ${list('gemmMixedMs')}\n` +
        `    fused alone ${list('fusedAloneMs')}, alternating ${list('fusedMixedMs')}; sgemm+fused round ${list('mixedRoundMs')}`,
    );
  }

  attentionTable(script);
  thinTable(script);
}

main();
