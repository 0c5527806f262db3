import { z } from 'zod';
import { at, got } from '../../util/checked.js';
import { createRng, type Rng } from '../../util/random.js';
import { BasePartitioner, checkClients, checkSeed, groupByKey, requireKeyOf, shuffleInPlace } from './base.js';
import { definePartitioner } from './definition.js';
import type { KeyOf } from './types.js';

/** as flwr-datasets */
const DEFAULT_MAX_RETRIES = 10;

export interface DirichletOptions<T> {
  clients: number;
  /**
   * Concentration: one value for every client, or one per client. Small
   * (0.01-0.1) gives clients dominated by one or two labels, large (100+) gives
   * every client nearly the global label mix.
   */
  alpha: number | readonly number[];
  /** the label (or group) each item is split by */
  keyOf: KeyOf<T>;
  seed: number;
  /**
   * Every partition must end with at least this many items, else the draw is
   * repeated. Default min(10, floor(items / (2 clients))), but at least 1.
   * 0 allows empty partitions.
   */
  minPartitionSize?: number;
  /** how many further draws after the first before giving up; default 10 (as flwr-datasets) */
  maxRetries?: number;
  /**
   * flwr-datasets' self_balancing: while splitting a label, a client that
   * already holds more than items/clients gets none of it. Default false.
   */
  selfBalancing?: boolean;
}

/**
 * Label-skewed split as flwr-datasets' DirichletPartitioner: for each label
 * (in sorted order) draw proportions p ~ Dirichlet(alpha) over the clients and
 * cut that label's items (shuffled) at floor(cumsum(p) * count); repeat the
 * whole draw while any partition is below minPartitionSize, up to maxRetries
 * times, then throw.
 */
export class DirichletPartitioner<T> extends BasePartitioner<T> {
  readonly kind = 'dirichlet' as const;
  /** how many draws the split took (1 = the first was accepted) */
  readonly attempts: number;

  constructor(items: readonly T[], options: DirichletOptions<T>) {
    const keyOf = requireKeyOf('dirichlet', options.keyOf);
    super(items, keyOf);
    const n = options.clients;
    const N = items.length;
    checkClients(this.kind, n, N);
    checkSeed(this.kind, options.seed);
    const alpha = typeof options.alpha === 'number' ? new Array<number>(n).fill(options.alpha) : [...options.alpha];
    if (alpha.length !== n)
      throw new RangeError(`dirichlet partitioner: alpha has ${alpha.length} values but clients is ${n}; give one alpha or one per client`);
    for (const a of alpha) {
      if (!(a > 0) || !Number.isFinite(a)) throw new RangeError(`dirichlet partitioner: alpha must be a finite number > 0, got ${a}`);
    }
    const minSize = options.minPartitionSize ?? Math.max(1, Math.min(10, Math.floor(N / (2 * n))));
    if (!Number.isInteger(minSize) || minSize < 0) throw new RangeError(`dirichlet partitioner: minPartitionSize must be an integer >= 0, got ${minSize}`);
    if (minSize * n > N) {
      throw new RangeError(`dirichlet partitioner: minPartitionSize ${minSize} x clients ${n} = ${minSize * n} is more than the ${N} items`);
    }
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new RangeError(`dirichlet partitioner: maxRetries must be an integer >= 0, got ${maxRetries}`);
    const selfBalancing = options.selfBalancing ?? false;

    const rng = createRng(options.seed);
    const { keys, groups } = groupByKey(items, keyOf);
    const byLabel = keys.map((k) => shuffleInPlace(got(groups, k, 'items by label').slice(), rng));
    const average = N / n;

    let smallest = 0;
    for (let attempt = 1; attempt <= maxRetries + 1; attempt++) {
      const parts: number[][] = Array.from({ length: n }, () => []);
      for (const members of byLabel) {
        const logw = alpha.map((a) => logGamma(a, rng));
        if (selfBalancing) {
          for (const [c, part] of parts.entries()) if (part.length > average) logw[c] = -Infinity;
        }
        const p = normalizeLog(logw);
        let start = 0;
        let cum = 0;
        for (const [c, part] of parts.entries()) {
          cum += at(p, c, 'Dirichlet proportions');
          const end = c === n - 1 ? members.length : Math.min(members.length, Math.max(start, Math.floor(cum * members.length)));
          for (const m of members.slice(start, end)) part.push(m);
          start = end;
        }
      }
      smallest = Math.min(...parts.map((p) => p.length));
      if (smallest >= minSize) {
        this.attempts = attempt;
        this.setPartitions(parts);
        return;
      }
    }
    throw new Error(
      `dirichlet partitioner: after ${maxRetries + 1} draws (maxRetries ${maxRetries}) the smallest partition still has ${smallest} items, ` +
        `below minPartitionSize ${minSize} (alpha ${fmtAlpha(alpha)}, clients ${n}, items ${N}, labels ${keys.length}); ` +
        `raise alpha, lower clients or minPartitionSize, or allow more retries`,
    );
  }
}

export const dirichletPartitioner = definePartitioner({
  name: 'dirichlet',
  description: 'label skew: each label spread over the clients by proportions drawn from Dirichlet(alpha)',
  options: z.strictObject({
    /** concentration; small = skewed (near one label per client), large = near IID */
    alpha: z.number().positive(),
    /** default min(10, floor(items / (2 clients))), at least 1 */
    minPartitionSize: z.number().int().positive().optional(),
    /** further draws when some partition is below minPartitionSize */
    maxRetries: z.number().int().nonnegative().default(DEFAULT_MAX_RETRIES),
    /** flwr-datasets' self_balancing */
    selfBalancing: z.boolean().default(false),
  }),
  needsKey: true,
  create: (items, o, { clients, seed, keyOf }) =>
    new DirichletPartitioner(items, {
      clients,
      seed,
      alpha: o.alpha,
      keyOf: requireKeyOf('dirichlet', keyOf),
      maxRetries: o.maxRetries,
      selfBalancing: o.selfBalancing,
      ...(o.minPartitionSize !== undefined ? { minPartitionSize: o.minPartitionSize } : {}),
    }),
});

function fmtAlpha(alpha: readonly number[]): string {
  return alpha.every((a) => a === alpha[0]) ? String(alpha[0]) : `[${alpha.join(', ')}]`;
}

/** exp(l - max) / sum: proportions from log-weights without underflow; -Infinity entries get 0. */
function normalizeLog(logw: readonly number[]): number[] {
  const max = Math.max(...logw);
  const w = logw.map((l) => Math.exp(l - max));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/**
 * log of a Gamma(shape, 1) draw, Marsaglia-Tsang (2000). For shape < 1 uses
 * G(shape) = G(shape + 1) * U^(1/shape), kept in log space because U^(1/shape)
 * underflows to 0 for tiny shapes (alpha 0.01 gives exponents of -100 and below).
 */
export function logGamma(shape: number, rng: Rng): number {
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng.next();
    return logGamma(shape + 1, rng) + Math.log(u) / shape;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return Math.log(d * v);
  }
}

/** A Gamma(shape, 1) draw. */
export function sampleGamma(shape: number, rng: Rng): number {
  return Math.exp(logGamma(shape, rng));
}

/** A draw from Dirichlet(alpha), computed in log space so tiny alphas give exact zeros rather than NaN. */
export function sampleDirichlet(alpha: readonly number[], rng: Rng): number[] {
  return normalizeLog(alpha.map((a) => logGamma(a, rng)));
}
