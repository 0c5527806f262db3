/**
 * The native kernels: build/Release/fedplora.node (native/*.c, built by
 * scripts/build-native.mjs at install time), wrapped as a Kernels object.
 * The addon checks every argument itself (a too-short buffer is a TypeError,
 * never a crash), so the wrappers here only forward.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kernels } from './kernels.js';

/** The addon's exports (native/addon.c). */
interface Addon {
  matmul: Kernels['matmul'];
  matmulBf16: Kernels['matmulBf16'];
  matmulInt8: Kernels['matmulInt8'];
  /** the bf16 product's kernel on this CPU: avx512bf16 or portable (native/gemm-bf16.c) */
  bf16Kernel(): string;
  embeddingForward: Kernels['embeddingForward'];
  embeddingBackward: Kernels['embeddingBackward'];
  rmsnormForward: Kernels['rmsnormForward'];
  rmsnormBackward: Kernels['rmsnormBackward'];
  ropeForward: Kernels['ropeForward'];
  ropeBackward: Kernels['ropeBackward'];
  attentionForward: Kernels['attentionForward'];
  attentionBackward: Kernels['attentionBackward'];
  swigluForward: Kernels['swigluForward'];
  swigluBackward: Kernels['swigluBackward'];
  crossEntropyForward: Kernels['crossEntropyForward'];
  crossEntropyBackward: Kernels['crossEntropyBackward'];
  add: Kernels['add'];
  sumSquares: Kernels['sumSquares'];
  scale: Kernels['scale'];
  /** adamw with the bias corrections c1 = 1 - beta1^step, c2 = 1 - beta2^step instead of step */
  adamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    c1: number,
    c2: number,
  ): void;
  /** threads of the fused kernels' pool (FEDPLORA_THREADS or the CPU count) */
  threads(): number;
  /** OpenBLAS's thread count, 0 when not OpenBLAS */
  blasThreads(): number;
  /** the BLAS build (openblas_get_config() on Linux) */
  blasInfo(): string;
  /** who computes the products that are not thin: "avx512" (native/gemm-avx512.c) or "blas" */
  gemmKernel(): string;
}

const ADDON_FUNCTIONS = [
  'matmul',
  'matmulBf16',
  'matmulInt8',
  'bf16Kernel',
  'embeddingForward',
  'embeddingBackward',
  'rmsnormForward',
  'rmsnormBackward',
  'ropeForward',
  'ropeBackward',
  'attentionForward',
  'attentionBackward',
  'swigluForward',
  'swigluBackward',
  'crossEntropyForward',
  'crossEntropyBackward',
  'add',
  'sumSquares',
  'scale',
  'adamw',
  'threads',
  'blasThreads',
  'blasInfo',
  'gemmKernel',
] as const;

/** The folder holding fedplora's package.json, from src/kernels or dist/src/kernels. */
function packageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'fedplora') return dir;
      } catch {
        // not ours or unreadable: keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Where the addon is, or would be once built. */
export function nativeAddonPath(): string | undefined {
  const root = packageRoot();
  return root === undefined ? undefined : path.join(root, 'build', 'Release', 'fedplora.node');
}

let loaded: { addon: Addon } | { error: string } | undefined;

function loadAddon(): { addon: Addon } | { error: string } {
  loaded ??= openAddon();
  return loaded;
}

function openAddon(): { addon: Addon } | { error: string } {
  const file = nativeAddonPath();
  if (file === undefined) return { error: 'cannot find the fedplora package root (package.json)' };
  if (!existsSync(file)) {
    return { error: `native addon not built (${file} is missing; run "node scripts/build-native.mjs")` };
  }
  // OpenBLAS reads this when the addon pulls it in. By default its idle
  // workers spin for 2^28 cycles (~0.1 s) after every call, which takes a
  // core from the fused kernels' pool that runs right after a matmul (on 2
  // cores it cancelled the pool's speed-up, see bench/kernels.ts); 2^16 cycles
  // still keeps back-to-back matmuls warm. A value the user set is kept.
  if (process.env['OPENBLAS_THREAD_TIMEOUT'] === undefined) process.env['OPENBLAS_THREAD_TIMEOUT'] = '16';
  try {
    const addon = createRequire(import.meta.url)(file) as Partial<Record<string, unknown>>;
    const missing = ADDON_FUNCTIONS.filter((name) => typeof addon[name] !== 'function');
    if (missing.length > 0) {
      return { error: `native addon ${file} is stale (missing ${missing.join(', ')}); rebuild it` };
    }
    return { addon: addon as unknown as Addon };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { error: `cannot load native addon ${file}: ${message}` };
  }
}

/** Threads the native fused kernels use, or 0 when the addon is not available. */
export function nativeThreadCount(): number {
  const r = loadAddon();
  return 'addon' in r ? r.addon.threads() : 0;
}

/** OpenBLAS's build string and thread count, and who computes the products that are not thin, when the addon is available. */
export function nativeBlasInfo(): { config: string; threads: number; gemm: string } | undefined {
  const r = loadAddon();
  return 'addon' in r ? { config: r.addon.blasInfo(), threads: r.addon.blasThreads(), gemm: r.addon.gemmKernel() } : undefined;
}

/** The bf16 product's kernel on this CPU (avx512bf16 or portable), when the addon is available. */
export function nativeBf16Kernel(): string | undefined {
  const r = loadAddon();
  return 'addon' in r ? r.addon.bf16Kernel() : undefined;
}

export function loadNativeKernels(): { kernels: Kernels } | { error: string } {
  const r = loadAddon();
  if ('error' in r) return { error: r.error };
  const a = r.addon;
  const kernels: Kernels = {
    name: 'native',
    matmul: (c, x, y, m, n, k, transA, transB, alpha, beta) => a.matmul(c, x, y, m, n, k, transA, transB, alpha, beta),
    matmulBf16: (c, x, w, m, n, k, transW, alpha, beta) => a.matmulBf16(c, x, w, m, n, k, transW, alpha, beta),
    matmulInt8: (c, x, q, s, m, n, k, transW, alpha, beta) => a.matmulInt8(c, x, q, s, m, n, k, transW, alpha, beta),
    embeddingForward: (out, ids, table, N, C) => a.embeddingForward(out, ids, table, N, C),
    embeddingBackward: (dtable, dout, ids, N, C) => a.embeddingBackward(dtable, dout, ids, N, C),
    rmsnormForward: (out, rstd, inp, weight, N, C, eps) => a.rmsnormForward(out, rstd, inp, weight, N, C, eps),
    rmsnormBackward: (dinp, dweight, dout, inp, weight, rstd, N, C) => a.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C),
    ropeForward: (out, inp, cos, sin, B, T, nHeads, D) => a.ropeForward(out, inp, cos, sin, B, T, nHeads, D),
    ropeBackward: (dinp, dout, cos, sin, B, T, nHeads, D) => a.ropeBackward(dinp, dout, cos, sin, B, T, nHeads, D),
    attentionForward: (out, att, q, k, v, B, T, H, G, D) => a.attentionForward(out, att, q, k, v, B, T, H, G, D),
    attentionBackward: (dq, dk, dv, dout, q, k, v, att, B, T, H, G, D) => a.attentionBackward(dq, dk, dv, dout, q, k, v, att, B, T, H, G, D),
    swigluForward: (out, gate, up, n) => a.swigluForward(out, gate, up, n),
    swigluBackward: (dgate, dup, dout, gate, up, n) => a.swigluBackward(dgate, dup, dout, gate, up, n),
    crossEntropyForward: (losses, logits, targets, N, V) => a.crossEntropyForward(losses, logits, targets, N, V),
    crossEntropyBackward: (dlogits, logits, targets, dlosses, N, V) => a.crossEntropyBackward(dlogits, logits, targets, dlosses, N, V),
    add: (out, x, y, n) => a.add(out, x, y, n),
    sumSquares: (x, n) => a.sumSquares(x, n),
    scale: (x, s, n) => a.scale(x, s, n),
    adamw: (param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step) =>
      // the bias corrections exactly as the reference computes them
      a.adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, 1 - beta1 ** step, 1 - beta2 ** step),
  };
  return { kernels };
}
