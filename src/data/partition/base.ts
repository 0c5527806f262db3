import { at } from '../../util/checked.js';
import type { Rng } from '../../util/random.js';
import type { ClientSummary, KeyOf, PartitionSummary, Partitioner } from './types.js';

/**
 * What every partitioner shares: the stored split (computed once, in the
 * subclass constructor, so bad options or data fail at construction), the
 * exactly-once check, loadPartition and summary.
 */
export abstract class BasePartitioner<T> implements Partitioner<T> {
  abstract readonly kind: string;
  readonly numItems: number;
  protected readonly items: readonly T[];
  protected readonly keyOf: KeyOf<T> | undefined;
  private parts: number[][] = [];

  protected constructor(items: readonly T[], keyOf: KeyOf<T> | undefined) {
    this.items = items;
    this.numItems = items.length;
    this.keyOf = keyOf;
  }

  get numPartitions(): number {
    return this.parts.length;
  }

  /** Stores the split, each partition sorted ascending, after checking that every index is in exactly one partition. */
  protected setPartitions(parts: number[][]): void {
    const seen = new Uint8Array(this.numItems);
    for (const part of parts) {
      for (const i of part) {
        if (!Number.isInteger(i) || i < 0 || i >= this.numItems) throw new Error(`${this.kind} partitioner: index ${i} out of range`);
        if (seen[i]) throw new Error(`${this.kind} partitioner: index ${i} assigned twice`);
        seen[i] = 1;
      }
    }
    const missing = seen.indexOf(0);
    if (missing >= 0) throw new Error(`${this.kind} partitioner: index ${missing} assigned to no partition`);
    this.parts = parts.map((p) => Array.from(Int32Array.from(p).sort()));
  }

  loadPartition(id: number): number[] {
    const part = Number.isInteger(id) ? this.parts[id] : undefined;
    if (part === undefined) {
      throw new RangeError(`partition id ${id} out of range: this ${this.kind} partitioner has ${this.parts.length} partitions (0..${this.parts.length - 1})`);
    }
    return part.slice();
  }

  partitions(): number[][] {
    return this.parts.map((p) => p.slice());
  }

  summary(labelOf?: KeyOf<T>): PartitionSummary {
    const keyOf = labelOf ?? this.keyOf;
    const labelTotals: Record<string, number> = {};
    const clients: ClientSummary[] = this.parts.map((part, id) => {
      const labels: Record<string, number> = {};
      if (keyOf) {
        for (const i of part) {
          const k = keyAt(keyOf, this.items, i);
          labels[k] = (labels[k] ?? 0) + 1;
          labelTotals[k] = (labelTotals[k] ?? 0) + 1;
        }
      }
      return { id, size: part.length, labels };
    });
    return {
      kind: this.kind,
      numItems: this.numItems,
      numPartitions: this.parts.length,
      sizes: clients.map((c) => c.size),
      labels: sortKeys(Object.keys(labelTotals)),
      labelTotals,
      clients,
    };
  }
}

/** The key of item i, with a clear error when keyOf yields no string (e.g. an Example without a label). */
export function keyAt<T>(keyOf: KeyOf<T>, items: readonly T[], i: number): string {
  const k: unknown = keyOf(at(items, i, 'items to partition'), i);
  if (typeof k !== 'string') throw new Error(`item ${i} has no key: the key function returned ${k === undefined ? 'undefined' : typeof k}`);
  return k;
}

/** Code-unit order, independent of locale, so partition ids are stable everywhere. */
export function sortKeys(keys: string[]): string[] {
  return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Item indices grouped by key, keys sorted; each group in input order. */
export function groupByKey<T>(items: readonly T[], keyOf: KeyOf<T>): { keys: string[]; groups: Map<string, number[]> } {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < items.length; i++) {
    const k = keyAt(keyOf, items, i);
    let g = groups.get(k);
    if (!g) {
      g = [];
      groups.set(k, g);
    }
    g.push(i);
  }
  return { keys: sortKeys([...groups.keys()]), groups };
}

/** Fisher-Yates with the project RNG. */
export function shuffleInPlace<U>(xs: U[], rng: Rng): U[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = at(xs, i, 'items to shuffle');
    xs[i] = at(xs, j, 'items to shuffle');
    xs[j] = t;
  }
  return xs;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** `clients` must be an integer in [1, numItems]. */
export function checkClients(kind: string, clients: number, numItems: number): void {
  if (!Number.isInteger(clients) || clients < 1) throw new RangeError(`${kind} partitioner: clients must be an integer >= 1, got ${clients}`);
  if (clients > numItems) throw new RangeError(`${kind} partitioner: clients (${clients}) is larger than the number of items (${numItems})`);
}

export function checkSeed(kind: string, seed: number): void {
  if (!Number.isFinite(seed)) throw new RangeError(`${kind} partitioner: seed must be a finite number, got ${seed}`);
}

export function requireKeyOf<T>(kind: string, keyOf: KeyOf<T> | undefined): KeyOf<T> {
  if (typeof keyOf !== 'function') throw new TypeError(`${kind} partitioner needs a key function (keyOf) giving each item's label or group`);
  return keyOf;
}

/** Cuts `order` into consecutive pieces of the given sizes (which must sum to order.length). */
export function cut(order: readonly number[], sizes: readonly number[]): number[][] {
  const out: number[][] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(order.slice(at, at + s));
    at += s;
  }
  return out;
}

export interface FormatSummaryOptions {
  /** at most this many label columns (the most frequent); the rest are summed under "(other)". Default 12. */
  maxLabels?: number;
}

/**
 * Renders a summary as aligned text: a header with the split sizes, then one
 * row per client with its size and per-label counts, then a total row.
 */
export function formatPartitionSummary(summary: PartitionSummary, options: FormatSummaryOptions = {}): string {
  const maxLabels = Math.max(1, options.maxLabels ?? 12);
  const { sizes } = summary;
  const mean = sizes.length ? summary.numItems / sizes.length : 0;
  const lines: string[] = [];
  lines.push(
    `${summary.kind}: ${summary.numItems} items over ${summary.numPartitions} clients; ` +
      `size min ${sizes.length ? Math.min(...sizes) : 0} / mean ${mean.toFixed(1)} / max ${sizes.length ? Math.max(...sizes) : 0}`,
  );
  lines.push(`split sizes: ${sizes.join(' ')}`);

  let shown = summary.labels;
  let other = false;
  if (shown.length > maxLabels) {
    const total = (l: string): number => summary.labelTotals[l] ?? 0;
    const top = new Set([...shown].sort((a, b) => total(b) - total(a) || (a < b ? -1 : a > b ? 1 : 0)).slice(0, maxLabels));
    shown = shown.filter((l) => top.has(l));
    other = true;
  }
  const clip = (s: string): string => (s.length > 16 ? `${s.slice(0, 15)}…` : s);
  const header = ['client', 'size', ...shown.map(clip), ...(other ? ['(other)'] : [])];
  const row = (name: string, size: number, counts: Record<string, number>): string[] => {
    const cells = [name, String(size), ...shown.map((l) => String(counts[l] ?? 0))];
    if (other) cells.push(String(size - shown.reduce((s, l) => s + (counts[l] ?? 0), 0)));
    return cells;
  };
  const rows = [header, ...summary.clients.map((c) => row(String(c.id), c.size, c.labels)), row('total', summary.numItems, summary.labelTotals)];
  const widths = header.map((_, j) => Math.max(...rows.map((r) => at(r, j, 'summary table cells').length)));
  for (const r of rows)
    lines.push(
      r
        .map((cell, j) => {
          const width = at(widths, j, 'summary column widths');
          return j === 0 ? cell.padEnd(width) : cell.padStart(width);
        })
        .join('  ')
        .trimEnd(),
    );
  return lines.join('\n');
}
