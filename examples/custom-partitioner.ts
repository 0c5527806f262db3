/**
 * A partitioner of one's own, as a plugin: the shard split of McMahan et
 * al. (2017), the original pathological non-IID setting. The training
 * examples are sorted by label, cut into clients x shardsPerClient equal
 * shards, and each client is dealt shardsPerClient random shards, so most
 * clients see only a few labels.
 *
 * Use it from a run config:   plugins: [./custom-partitioner.js]
 *                             partition: { kind: label-shards, shardsPerClient: 2 }
 * from the CLI:               fedplora data show spam --plugin dist/examples/custom-partitioner.js --partition label-shards
 * or from a program:          registerPartitioner(labelShards)
 * Outside this repository, import from 'fedplora' instead of '../src/index.js'.
 */
import { createRng, definePartitioner, partitionerFromParts, z, type FedploraPlugin, type KeyOf } from '../src/index.js';

/** Item indices ordered by label, ties in input order, so the shards do not depend on how the labels sort by locale. */
export function labelOrder<T>(items: readonly T[], keyOf: KeyOf<T>): number[] {
  return items
    .map((item, i) => ({ i, key: keyOf(item, i) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i))
    .map(({ i }) => i);
}

/** Shard k of `count` over n items: [floor(k n / count), floor((k + 1) n / count)), so sizes differ by at most one. */
export function shardBounds(k: number, count: number, n: number): [number, number] {
  return [Math.floor((k * n) / count), Math.floor(((k + 1) * n) / count)];
}

export const labelShards = definePartitioner({
  name: 'label-shards',
  description: 'examples sorted by label, cut into equal shards, shardsPerClient random shards per client (McMahan et al.)',
  options: z.strictObject({ shardsPerClient: z.number().int().positive().default(2) }),
  needsKey: true,
  create(items, { shardsPerClient }, { clients, seed, keyOf }) {
    if (!keyOf) throw new Error("label-shards needs each example's label or group");
    const shards = clients * shardsPerClient;
    if (shards > items.length) throw new Error(`label-shards: ${clients} clients x ${shardsPerClient} shards is more than the ${items.length} examples`);
    const order = labelOrder(items, keyOf);
    // Fisher-Yates over the shard ids with the run's seeded generator, so a seed gives one split everywhere
    const rng = createRng(seed);
    const dealt = Array.from({ length: shards }, (_, k) => k);
    for (let i = shards - 1; i > 0; i--) swap(dealt, i, rng.int(i + 1));
    const parts = Array.from({ length: clients }, (_, c) =>
      dealt.slice(c * shardsPerClient, (c + 1) * shardsPerClient).flatMap((k) => order.slice(...shardBounds(k, shards, items.length))),
    );
    return partitionerFromParts('label-shards', items, parts, keyOf);
  },
});

/** Swaps xs[i] and xs[j]. */
function swap(xs: number[], i: number, j: number): void {
  const xi = xs[i];
  const xj = xs[j];
  if (xi === undefined || xj === undefined) throw new RangeError(`swap: ${i} or ${j} is outside 0..${xs.length - 1}`);
  xs[i] = xj;
  xs[j] = xi;
}

const plugin: FedploraPlugin = { partitioners: [labelShards] };
export default plugin;
