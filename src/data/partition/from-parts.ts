import { BasePartitioner } from './base.js';
import type { KeyOf, Partitioner } from './types.js';

class ListedPartitioner<T> extends BasePartitioner<T> {
  readonly kind: string;

  constructor(kind: string, items: readonly T[], parts: readonly (readonly number[])[], keyOf: KeyOf<T> | undefined) {
    super(items, keyOf);
    this.kind = kind;
    this.setPartitions(parts.map((p) => [...p]));
  }
}

/**
 * A partitioner from a split computed elsewhere: `parts[i]` are the indices
 * into `items` of client i. Every index must be in exactly one part (else
 * this throws, naming the index); each part is stored ascending. `keyOf`
 * only feeds the summary's histogram. For a PartitionerDefinition's create.
 */
export function partitionerFromParts<T>(kind: string, items: readonly T[], parts: readonly (readonly number[])[], keyOf?: KeyOf<T>): Partitioner<T> {
  return new ListedPartitioner(kind, items, parts, keyOf);
}
