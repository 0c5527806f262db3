import { z } from 'zod';
import { got } from '../../util/checked.js';
import { BasePartitioner, checkClients, groupByKey, requireKeyOf } from './base.js';
import { definePartitioner } from './definition.js';
import type { KeyOf } from './types.js';

export interface NaturalOptions<T> {
  /** the natural group of each item (speaker, author, source, ...) */
  keyOf: KeyOf<T>;
  /**
   * Without it: one partition per distinct key, ids in sorted key order.
   * With it: the keys are merged into this many clients, greedily, largest
   * group first into the currently smallest client (ties: lowest id).
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
    if (n > keys.length) throw new RangeError(`natural partitioner: clients (${n}) is larger than the number of distinct keys (${keys.length})`);
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

/** A run's natural split merges the keys into its clients; one client per key is NaturalPartitioner without `clients`. */
export const naturalPartitioner = definePartitioner({
  name: 'natural',
  description: "the data's own groups (speaker, author, ...), merged greedily into the clients",
  options: z.strictObject({}),
  needsKey: true,
  create: (items, _options, { clients, keyOf }) => new NaturalPartitioner(items, { clients, keyOf: requireKeyOf('natural', keyOf) }),
});
