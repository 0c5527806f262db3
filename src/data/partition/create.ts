import type { Example } from '../example.js';
import { BasePartitioner, requireKeyOf } from './base.js';
import { partitionerFromParts } from './from-parts.js';
import { NaturalPartitioner } from './natural.js';
import { getPartitionerDefinition } from './registry.js';
import type { KeyOf, PartitionSpec, Partitioner } from './types.js';

/**
 * Builds the partitioner a spec describes over `items`. The spec's options
 * reach the partitioner as they are: a run config's were checked and
 * completed by the partitioner's schema (parsePartitionOptions), and the
 * built-in partitioners check theirs again, naming the value. `keyOf` gives
 * the label or group the kinds with needsKey split by (for the others it
 * only feeds the summary's label histogram). `seed` fixes every random
 * choice ('natural' ignores it).
 */
export function createPartitioner<T>(spec: PartitionSpec, items: readonly T[], keyOf: KeyOf<T> | undefined, seed: number): Partitioner<T> {
  const definition = getPartitionerDefinition(spec.kind);
  const { kind, clients, ...options } = spec;
  if (definition.needsKey) requireKeyOf(kind, keyOf);
  if (clients === undefined) {
    if (kind !== 'natural') throw new TypeError(`${kind} partitioner: clients is not given`);
    // only the data's own grouping can choose how many clients there are: one per key
    return new NaturalPartitioner(items, { keyOf: requireKeyOf(kind, keyOf) });
  }
  const partitioner = definition.create(items, options, { clients, seed, keyOf });
  checkSplit(partitioner, kind, items, clients);
  return partitioner;
}

/**
 * A plugin's partitioner is held to what the built-in ones guarantee: one
 * partition per client, every item in exactly one of them.
 */
function checkSplit<T>(p: Partitioner<T>, kind: string, items: readonly T[], clients: number): void {
  if (p.numItems !== items.length || p.numPartitions !== clients) {
    throw new Error(
      `${kind} partitioner: split ${p.numItems} items into ${p.numPartitions} partitions, but was given ${items.length} items for ${clients} clients`,
    );
  }
  // a BasePartitioner checked its own cover; partitionerFromParts runs the same check on any other
  if (!(p instanceof BasePartitioner)) partitionerFromParts(kind, items, p.partitions());
}

/** Key function over Examples by their label or group, failing clearly on an example without one. */
export function exampleKeyOf(by: 'label' | 'group'): KeyOf<Example> {
  return (ex, i) => {
    const k = ex[by];
    if (typeof k !== 'string') throw new Error(`example ${i} ('${ex.id}') has no ${by} to partition by`);
    return k;
  };
}

/**
 * The key a partition of these examples splits by, or undefined when its kind
 * needs none. Every example is checked first, so data without the key is one
 * error that names the config keys to change, not a failure mid-partition.
 */
export function partitionKey(kind: string, by: 'label' | 'group', examples: readonly Example[], byDefault: boolean): KeyOf<Example> | undefined {
  if (!getPartitionerDefinition(kind).needsKey) return undefined;
  const missing = examples.filter((e) => typeof e[by] !== 'string');
  const [first] = missing;
  if (first !== undefined) {
    const how = by === 'group' ? 'map a field to it with data.mapping.group' : 'map a field to it with data.mapping.label or use the text-label layout';
    throw new Error(
      `config: partitionBy: partition '${kind}' splits clients by ${by}${byDefault ? ' (the default for this data)' : ''}, but ${missing.length} of ${examples.length} training examples have none (first: '${first.id}'); ` +
        `${how}, set partitionBy to ${by === 'group' ? 'label' : 'group'} if the data has that, or use partition: { kind: iid } or { kind: size-skew }, which need no key`,
    );
  }
  return exampleKeyOf(by);
}
