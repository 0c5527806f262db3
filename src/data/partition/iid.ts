import { z } from 'zod';
import { createRng } from '../../util/random.js';
import { BasePartitioner, checkClients, checkSeed, cut, range, shuffleInPlace } from './base.js';
import { definePartitioner } from './definition.js';
import type { KeyOf } from './types.js';

export interface IidOptions<T> {
  clients: number;
  seed: number;
  /** only used by summary() for the label histogram */
  keyOf?: KeyOf<T>;
}

/**
 * IID: shuffles the items and cuts them into `clients` parts whose sizes
 * differ by at most one (the first `numItems % clients` clients get the extra item).
 */
export class IidPartitioner<T> extends BasePartitioner<T> {
  readonly kind = 'iid' as const;

  constructor(items: readonly T[], options: IidOptions<T>) {
    super(items, options.keyOf);
    checkClients(this.kind, options.clients, items.length);
    checkSeed(this.kind, options.seed);
    const order = shuffleInPlace(range(items.length), createRng(options.seed));
    this.setPartitions(cut(order, evenSizes(items.length, options.clients)));
  }
}

export const iidPartitioner = definePartitioner({
  name: 'iid',
  description: 'shuffled, then cut into equal parts (sizes differ by at most one)',
  options: z.strictObject({}),
  needsKey: false,
  create: (items, _options, { clients, seed, keyOf }) => new IidPartitioner(items, { clients, seed, ...(keyOf ? { keyOf } : {}) }),
});

/** n items into k sizes differing by at most one, larger first. */
export function evenSizes(n: number, k: number): number[] {
  const base = Math.floor(n / k);
  return Array.from({ length: k }, (_, i) => base + (i < n % k ? 1 : 0));
}
