/**
 * Shared types of the partitioners that split a task's training examples
 * among federated clients, in the style of flwr-datasets: a partitioner is
 * built over an array of items with its options and a seed, computes the split
 * once, and hands out each client's share as indices into that array.
 */

/** The label or group of an item (its class label, speaker, author, ...). */
export type KeyOf<T> = (item: T, index: number) => string;

export interface Partitioner<T> {
  /** the partitioner's registered name (iid, dirichlet, ... or a plugin's) */
  readonly kind: string;
  /** number of clients (partitions); ids are 0 .. numPartitions-1 */
  readonly numPartitions: number;
  /** length of the input array */
  readonly numItems: number;
  /**
   * Indices into the input array of client `id`'s items, ascending (the input
   * order). The split is fixed at construction; every index is in exactly one
   * partition. Returns a fresh copy.
   */
  loadPartition(id: number): number[];
  /** All partitions, `[loadPartition(0), loadPartition(1), ...]`. */
  partitions(): number[][];
  /**
   * Examples per client and, when a label function is known (the argument, or
   * else the partitioner's own key), a label histogram per client.
   */
  summary(labelOf?: KeyOf<T>): PartitionSummary;
}

export interface ClientSummary {
  id: number;
  size: number;
  /** label -> number of this client's items with that label (labels it lacks are absent) */
  labels: Record<string, number>;
}

export interface PartitionSummary {
  kind: string;
  numItems: number;
  numPartitions: number;
  /** sizes[i] = number of items of client i */
  sizes: number[];
  /** every label in the data, sorted; empty when no label function was given */
  labels: string[];
  /** label -> count over all items */
  labelTotals: Record<string, number>;
  clients: ClientSummary[];
}

/** How the pathological partitioner chooses each client's k labels. */
export type LabelAssignment = 'round-robin' | 'first-deterministic' | 'random';

/**
 * A partitioning as configuration (CLI flags, run config): a registered
 * partitioner's kind, the number of clients, and that partitioner's options;
 * see createPartitioner. Only natural may leave out `clients` (one client
 * per key).
 */
export type PartitionSpec = { kind: string; clients?: number } & Record<string, unknown>;
