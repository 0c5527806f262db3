/**
 * What a partitioner is to the rest of the framework: the kind configs name,
 * the options a run config may give it (a zod schema with the defaults),
 * whether it splits by the examples' label or group, and how to build it.
 * Each built-in partitioner file declares its own, the registry collects
 * them, and a user's plugin adds more the same way.
 */
import type { ZodType } from 'zod';
import type { KeyOf, Partitioner } from './types.js';

/** What a partitioner is told about the run beyond its options. */
export interface PartitionerRun<T> {
  /** how many partitions to make: one per client */
  clients: number;
  /** fixes every random choice */
  seed: number;
  /**
   * Each item's label or group, as the config's partitionBy chooses: always
   * given to a definition with needsKey; otherwise given when known, for the
   * summary's histogram only.
   */
  keyOf: KeyOf<T> | undefined;
}

export interface PartitionerDefinition<Options = Record<string, unknown>> {
  /** the kind configs use (`partition: { kind: ... }`) */
  readonly name: string;
  /** one line for listings and errors */
  readonly description: string;
  /**
   * The options beside `kind` in a run config: a strict object schema whose
   * defaults fill what the config leaves out. Its errors are reported under
   * `partition.` in the config.
   */
  readonly options: ZodType<Options, unknown>;
  /**
   * Splits clients by each example's label or group (partitionBy), so the
   * training data must have one; without it the data needs neither.
   */
  readonly needsKey: boolean;
  /** The split of `items` among run.clients clients (partitionerFromParts turns index lists into one). */
  create<T>(items: readonly T[], options: Options, run: PartitionerRun<T>): Partitioner<T>;
}

/** Keeps a definition's option type while it is stored among others. */
export function definePartitioner<Options>(d: PartitionerDefinition<Options>): PartitionerDefinition<Options> {
  return d;
}

/**
 * A definition of any option type, as lists of partitioners hold them: each
 * definition's schema produces exactly what its own create accepts, which a
 * list cannot express per element, so the options are unknown here (create
 * is a method, whose parameters TypeScript compares bivariantly, so every
 * PartitionerDefinition<Options> is one).
 */
export type AnyPartitionerDefinition = PartitionerDefinition<unknown>;
