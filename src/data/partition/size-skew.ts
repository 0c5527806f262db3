import { z } from 'zod';
import { at } from '../../util/checked.js';
import { createRng, type Rng } from '../../util/random.js';
import { BasePartitioner, checkClients, checkSeed, cut, range, shuffleInPlace } from './base.js';
import { definePartitioner } from './definition.js';
import type { KeyOf } from './types.js';

const DEFAULT_MIN_SIZE = 1;

export interface SizeSkewOptions<T> {
  clients: number;
  seed: number;
  /**
   * Lognormal sizes: client weights exp(sigma * z), z ~ N(0, 1). Default 1
   * (the largest of 10 clients is then typically ~10x the smallest); 0 gives
   * equal sizes. Ignored when `exponent` is given.
   */
  sigma?: number;
  /** Power-law sizes instead: weights (r + 1)^-exponent for ranks r dealt to the clients in random order. */
  exponent?: number;
  /** each client gets at least this many items; default 1 */
  minPartitionSize?: number;
  /** only used by summary() for the label histogram */
  keyOf?: KeyOf<T>;
}

/**
 * Quantity skew: client sizes drawn from a lognormal (or power law), rounded
 * by largest remainder so they sum to the number of items, each filled with
 * random items (label mix IID).
 */
export class SizeSkewPartitioner<T> extends BasePartitioner<T> {
  readonly kind = 'size-skew' as const;

  constructor(items: readonly T[], options: SizeSkewOptions<T>) {
    super(items, options.keyOf);
    const n = options.clients;
    const N = items.length;
    checkClients(this.kind, n, N);
    checkSeed(this.kind, options.seed);
    const minSize = options.minPartitionSize ?? DEFAULT_MIN_SIZE;
    if (!Number.isInteger(minSize) || minSize < 0) throw new RangeError(`size-skew partitioner: minPartitionSize must be an integer >= 0, got ${minSize}`);
    if (minSize * n > N) throw new RangeError(`size-skew partitioner: minPartitionSize ${minSize} x clients ${n} = ${minSize * n} is more than the ${N} items`);
    const rng = createRng(options.seed);
    let weights: number[];
    if (options.exponent !== undefined) {
      const e = options.exponent;
      if (!Number.isFinite(e) || e < 0) throw new RangeError(`size-skew partitioner: exponent must be a finite number >= 0, got ${e}`);
      weights = shuffleInPlace(
        range(n).map((r) => (r + 1) ** -e),
        rng,
      );
    } else {
      const sigma = options.sigma ?? 1;
      if (!Number.isFinite(sigma) || sigma < 0) throw new RangeError(`size-skew partitioner: sigma must be a finite number >= 0, got ${sigma}`);
      weights = lognormalWeights(n, sigma, rng);
    }
    const sizes = apportion(N - minSize * n, weights).map((s) => s + minSize);
    this.setPartitions(cut(shuffleInPlace(range(N), rng), sizes));
  }
}

export const sizeSkewPartitioner = definePartitioner({
  name: 'size-skew',
  description: 'quantity skew: lognormal (or power-law) client sizes, labels mixed as in IID',
  options: z.strictObject({
    /** lognormal sigma, default 1; ignored when exponent is given */
    sigma: z.number().positive().optional(),
    /** power-law sizes instead */
    exponent: z.number().nonnegative().optional(),
    minPartitionSize: z.number().int().nonnegative().default(DEFAULT_MIN_SIZE),
  }),
  needsKey: false,
  create: (items, o, { clients, seed, keyOf }) =>
    new SizeSkewPartitioner(items, {
      clients,
      seed,
      minPartitionSize: o.minPartitionSize,
      ...(o.sigma !== undefined ? { sigma: o.sigma } : {}),
      ...(o.exponent !== undefined ? { exponent: o.exponent } : {}),
      ...(keyOf ? { keyOf } : {}),
    }),
});

/** exp(sigma z_i) / max, so huge sigmas stay finite. */
function lognormalWeights(n: number, sigma: number, rng: Rng): number[] {
  const logs = range(n).map(() => sigma * rng.normal());
  const max = Math.max(...logs);
  return logs.map((l) => Math.exp(l - max));
}

/** Largest-remainder rounding of total * w / sum(w) to integers summing to total (ties to the lower index). */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((w, i) => {
    const quota = (total * w) / sum;
    const size = Math.floor(quota);
    return { i, size, remainder: quota - size };
  });
  let left = total - shares.reduce((a, s) => a + s.size, 0);
  const byRemainder = [...shares].sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (let j = 0; left > 0; j = (j + 1) % shares.length, left--) at(byRemainder, j, 'shares by remainder').size++;
  return shares.map((s) => s.size);
}
