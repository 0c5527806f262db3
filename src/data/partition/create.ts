import type { Example } from '../example.js';
import { DirichletPartitioner } from './dirichlet.js';
import { IidPartitioner } from './iid.js';
import { NaturalPartitioner } from './natural.js';
import { PathologicalPartitioner } from './pathological.js';
import { SizeSkewPartitioner } from './size-skew.js';
import type { KeyOf, PartitionSpec, Partitioner } from './types.js';

/**
 * Builds the partitioner a spec describes over `items`. `keyOf` gives the
 * label or group the label-based kinds split by (required for 'dirichlet',
 * 'pathological' and 'natural'; for 'iid' and 'size-skew' it only feeds the
 * summary's label histogram). `seed` fixes every random choice ('natural'
 * ignores it).
 */
export function createPartitioner<T>(spec: PartitionSpec, items: readonly T[], keyOf: KeyOf<T> | undefined, seed: number): Partitioner<T> {
  const need = (): KeyOf<T> => {
    if (typeof keyOf !== 'function') throw new TypeError(`${spec.kind} partitioner needs a key function (keyOf) giving each item's label or group`);
    return keyOf;
  };
  switch (spec.kind) {
    case 'iid':
      return new IidPartitioner(items, { clients: spec.clients, seed, ...(keyOf ? { keyOf } : {}) });
    case 'dirichlet':
      return new DirichletPartitioner(items, {
        clients: spec.clients,
        alpha: spec.alpha,
        keyOf: need(),
        seed,
        ...(spec.minPartitionSize !== undefined ? { minPartitionSize: spec.minPartitionSize } : {}),
        ...(spec.maxRetries !== undefined ? { maxRetries: spec.maxRetries } : {}),
        ...(spec.selfBalancing !== undefined ? { selfBalancing: spec.selfBalancing } : {}),
      });
    case 'pathological':
      return new PathologicalPartitioner(items, {
        clients: spec.clients,
        labelsPerClient: spec.labelsPerClient,
        keyOf: need(),
        seed,
        ...(spec.assignment !== undefined ? { assignment: spec.assignment } : {}),
      });
    case 'natural':
      return new NaturalPartitioner(items, { keyOf: need(), ...(spec.clients !== undefined ? { clients: spec.clients } : {}) });
    case 'size-skew':
      return new SizeSkewPartitioner(items, {
        clients: spec.clients,
        seed,
        ...(spec.sigma !== undefined ? { sigma: spec.sigma } : {}),
        ...(spec.exponent !== undefined ? { exponent: spec.exponent } : {}),
        ...(spec.minPartitionSize !== undefined ? { minPartitionSize: spec.minPartitionSize } : {}),
        ...(keyOf ? { keyOf } : {}),
      });
    default: {
      const kind: unknown = (spec as { kind?: unknown }).kind;
      throw new RangeError(`unknown partition kind '${String(kind)}': expected iid, dirichlet, pathological, natural or size-skew`);
    }
  }
}

/** Key function over Examples by their label or group, failing clearly on an example without one. */
export function exampleKeyOf(by: 'label' | 'group'): KeyOf<Example> {
  return (ex, i) => {
    const k = ex[by];
    if (typeof k !== 'string') throw new Error(`example ${i} ('${ex.id}') has no ${by} to partition by`);
    return k;
  };
}

/** The partition kinds that split clients by a label or group; the others need no key. */
const KEYED_KINDS: ReadonlySet<PartitionSpec['kind']> = new Set(['dirichlet', 'pathological', 'natural']);

/**
 * The key a partition of these examples splits by, or undefined when its kind
 * needs none. Every example is checked first, so data without the key is one
 * error that names the config keys to change, not a failure mid-partition.
 */
export function partitionKey(kind: PartitionSpec['kind'], by: 'label' | 'group', examples: readonly Example[], byDefault: boolean): KeyOf<Example> | undefined {
  if (!KEYED_KINDS.has(kind)) return undefined;
  const missing = examples.filter((e) => typeof e[by] !== 'string');
  if (missing.length > 0) {
    const how = by === 'group' ? 'map a field to it with data.mapping.group' : 'map a field to it with data.mapping.label or use the text-label layout';
    throw new Error(
      `config: partitionBy: partition '${kind}' splits clients by ${by}${byDefault ? ' (the default for this data)' : ''}, but ${missing.length} of ${examples.length} training examples have none (first: '${missing[0]!.id}'); ` +
        `${how}, set partitionBy to ${by === 'group' ? 'label' : 'group'} if the data has that, or use partition: { kind: iid } or { kind: size-skew }, which need no key`,
    );
  }
  return exampleKeyOf(by);
}
