import { z } from 'zod';
import { at, got } from '../../util/checked.js';
import { BasePartitioner, checkClients, groupByKey, requireKeyOf } from './base.js';
import { definePartitioner } from './definition.js';
import type { KeyOf } from './types.js';

export interface NaturalOptions<T> {
  /** the natural group of each item (speaker, author, source, ...) */
  keyOf: KeyOf<T>;
  /**
   * Without it: one partition per distinct key, ids in sorted key order.
   * With fewer clients than keys: the keys are merged into this many
   * clients, greedily, largest group first into the currently smallest
   * client (ties: lowest id). With more: each key keeps clients of its own,
   * the largest groups being divided (see divideKeys), so every client
   * still holds one group's data.
   */
  clients?: number;
}

/**
 * Natural (by-key) split, as flwr-datasets' NaturalIdPartitioner: the data's
 * own grouping defines the clients. Deterministic; there is no seed.
 */
export class NaturalPartitioner<T> extends BasePartitioner<T> {
  readonly kind = 'natural' as const;
  /** keysOf[i] = the keys (sorted) merged into client i */
  readonly keysOf: readonly (readonly string[])[];

  constructor(items: readonly T[], options: NaturalOptions<T>) {
    const keyOf = requireKeyOf('natural', options.keyOf);
    super(items, keyOf);
    const { keys, groups } = groupByKey(items, keyOf);
    if (items.length === 0) throw new RangeError('natural partitioner: there are no items to partition');
    if (options.clients === undefined) {
      this.keysOf = keys.map((k) => [k]);
      this.setPartitions(keys.map((k) => got(groups, k, 'items by key')));
      return;
    }
    const n = options.clients;
    checkClients(this.kind, n, items.length);
    if (n > keys.length) {
      const parts = divideKeys(
        keys.map((k) => got(groups, k, 'items by key')),
        n,
      );
      this.keysOf = parts.map((p) => [at(keys, p.key, 'keys')]);
      this.setPartitions(parts.map((p) => p.items));
      return;
    }
    const bySize = [...groups].sort(([a, ga], [b, gb]) => gb.length - ga.length || (a < b ? -1 : a > b ? 1 : 0));
    const bins: { keys: string[]; items: number[] }[] = Array.from({ length: n }, () => ({ keys: [], items: [] }));
    for (const [key, members] of bySize) {
      // the smallest bin, the first of equals (n >= 1, so there is one)
      const smallest = bins.reduce((best, bin) => (bin.items.length < best.items.length ? bin : best));
      smallest.keys.push(key);
      smallest.items.push(...members);
    }
    this.keysOf = bins.map((b) => b.keys.sort((a, c) => (a < c ? -1 : a > c ? 1 : 0)));
    this.setPartitions(bins.map((b) => b.items));
  }
}

/**
 * More clients than groups: every group gets one client, then each further
 * client goes to the group with the most items per client (ties: the first
 * key), and a group's items, in their order, are cut into that many
 * contiguous runs of nearly equal size. Clients are numbered key by key.
 */
export function divideKeys(groups: readonly (readonly number[])[], clients: number): { key: number; items: number[] }[] {
  const counts = groups.map(() => 1);
  for (let extra = clients - groups.length; extra > 0; extra--) {
    let best = 0;
    groups.forEach((g, k) => {
      if (g.length / at(counts, k, 'clients per key') > at(groups, best, 'groups').length / at(counts, best, 'clients per key')) best = k;
    });
    counts[best] = at(counts, best, 'clients per key') + 1;
  }
  return groups.flatMap((g, key) => {
    const c = at(counts, key, 'clients per key');
    if (c > g.length) throw new RangeError(`natural partitioner: a group of ${g.length} items cannot be divided among ${c} clients`);
    return Array.from({ length: c }, (_, j) => ({ key, items: g.slice(Math.floor((j * g.length) / c), Math.floor(((j + 1) * g.length) / c)) }));
  });
}

/** A run's natural split merges the keys into its clients; one client per key is NaturalPartitioner without `clients`. */
export const naturalPartitioner = definePartitioner({
  name: 'natural',
  description: "the data's own groups (speaker, author, ...), merged greedily into the clients",
  options: z.strictObject({}),
  needsKey: true,
  create: (items, _options, { clients, keyOf }) => new NaturalPartitioner(items, { clients, keyOf: requireKeyOf('natural', keyOf) }),
});
