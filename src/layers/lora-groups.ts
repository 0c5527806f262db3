/**
 * Binds a layer's LoRA pairs (and their gradients) into shared-input groups
 * for lora-branch.ts, falling back to one group per projection when the A
 * matrices are not packed side by side.
 */
import type { Kernels } from '../kernels/kernels.js';
import { at, defined } from '../util/checked.js';
import { loraGroupBackward, loraGroupForward, loraPair, type LoraAdapter, type LoraGroup, type LoraGroupGrads } from './lora-branch.js';
import { targetGroups, type TargetName } from './projections.js';

interface BoundGroup {
  group: LoraGroup;
  grads: LoraGroupGrads | null;
  /** row offset of this group's hidden values within the saved buffer */
  rowOffset: number;
  targets: TargetName[];
}

function bind(lora: LoraAdapter, grads: LoraAdapter | null, l: number, targets: TargetName[], outFeatures: (t: TargetName) => number): BoundGroup[] {
  const pairs = targets.map((t) => loraPair(lora, l, t));
  const gradPairs = grads ? targets.map((t) => loraPair(grads, l, t)) : null;
  const A = contiguousSpan(pairs.map((p) => p.A));
  const gA = gradPairs ? contiguousSpan(gradPairs.map((p) => p.A)) : null;
  /** the group of targets [first, first + count) */
  const make = (first: number, count: number, stackedA: Float32Array, stackedGradA: Float32Array | null): BoundGroup => {
    const end = first + count;
    const ts = targets.slice(first, end);
    return {
      group: {
        A: stackedA,
        members: pairs.slice(first, end),
        outFeatures: ts.map(outFeatures),
        rank: lora.rank,
        scale: lora.scale,
      },
      grads: gradPairs ? { A: defined(stackedGradA, 'stacked LoRA gradient of A'), B: gradPairs.slice(first, end).map((p) => p.B) } : null,
      rowOffset: first * lora.rank,
      targets: ts,
    };
  };
  if (A && (!gradPairs || gA)) return [make(0, targets.length, A, gA)];
  return pairs.map((p, i) => make(i, 1, p.A, gradPairs ? at(gradPairs, i, 'LoRA gradient pair').A : null));
}

/** The LoRA targets among `members` of one shared-input set, as bound groups. */
export function boundGroups(
  lora: LoraAdapter | null,
  grads: LoraAdapter | null,
  l: number,
  members: readonly TargetName[],
  outFeatures: (t: TargetName) => number,
): BoundGroup[] {
  if (!lora) return [];
  const present = targetGroups(lora.targets).find((g) => members.includes(g[0]));
  return present ? bind(lora, grads, l, present, outFeatures) : [];
}

/** Rows of the saved hidden buffer for a shared-input set: rank times its LoRA targets. */
export function hiddenRows(lora: LoraAdapter | null, members: readonly TargetName[]): number {
  return lora ? lora.rank * lora.targets.filter((t) => members.includes(t)).length : 0;
}

export function loraForward(
  k: Kernels,
  groups: BoundGroup[],
  ys: Partial<Record<TargetName, Float32Array>>,
  hidden: Float32Array,
  x: Float32Array,
  N: number,
  inF: number,
): void {
  for (const b of groups) {
    const hT = hidden.subarray(b.rowOffset * N, (b.rowOffset + b.group.rank * b.targets.length) * N);
    loraGroupForward(
      k,
      b.targets.map((t) => defined(ys[t], `output of ${t}`)),
      hT,
      x,
      b.group,
      N,
      inF,
    );
  }
}

export function loraBackward(
  k: Kernels,
  groups: BoundGroup[],
  dx: Float32Array | null,
  dhT: Float32Array,
  dys: Partial<Record<TargetName, Float32Array>>,
  hidden: Float32Array,
  x: Float32Array,
  N: number,
  inF: number,
): void {
  for (const b of groups) {
    const rows = b.group.rank * b.targets.length;
    const hT = hidden.subarray(b.rowOffset * N, (b.rowOffset + rows) * N);
    loraGroupBackward(
      k,
      dx,
      b.grads,
      dhT.subarray(0, rows * N),
      b.targets.map((t) => defined(dys[t], `output gradient of ${t}`)),
      x,
      hT,
      b.group,
      N,
      inF,
    );
  }
}

/**
 * One view over arrays that lie back to back in the same allocation, or
 * null when they do not (then each is handled on its own).
 */
export function contiguousSpan(parts: readonly Float32Array[]): Float32Array | null {
  const first = at(parts, 0, 'arrays to span');
  if (parts.length === 1) return first;
  let end = first.byteOffset + first.byteLength;
  for (const p of parts.slice(1)) {
    if (p.buffer !== first.buffer || p.byteOffset !== end) return null;
    end += p.byteLength;
  }
  return new Float32Array(first.buffer, first.byteOffset, (end - first.byteOffset) / 4);
}
