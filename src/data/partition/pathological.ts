import { z } from 'zod';
import { at, got } from '../../util/checked.js';
import { createRng, type Rng } from '../../util/random.js';
import { BasePartitioner, checkClients, checkSeed, cut, groupByKey, range, requireKeyOf, shuffleInPlace } from './base.js';
import { definePartitioner } from './definition.js';
import { evenSizes } from './iid.js';
import type { KeyOf, LabelAssignment } from './types.js';

const DEFAULT_ASSIGNMENT: LabelAssignment = 'round-robin';

export interface PathologicalOptions<T> {
  clients: number;
  /** k: how many distinct labels each client holds */
  labelsPerClient: number;
  keyOf: KeyOf<T>;
  seed: number;
  /**
   * How labels are assigned to clients (default 'round-robin'):
   * - 'round-robin': the labels in a seeded random order are dealt out in
   *   consecutive runs of k, client i getting order[(i*k + j) mod L] for
   *   j < k. Every label is held as soon as clients * k >= L, and the number of
   *   holders per label differs by at most one.
   * - 'first-deterministic' (flwr-datasets): client i gets label i mod L (labels
   *   sorted) plus k-1 other random labels; covers every label only when
   *   clients >= L.
   * - 'random' (flwr-datasets): k random distinct labels per client, the whole
   *   assignment redrawn (up to 10 times) until every label is held.
   */
  assignment?: LabelAssignment;
}

/**
 * "k labels per client" (McMahan et al.'s pathological non-IID split, as
 * flwr-datasets' PathologicalPartitioner): every client holds exactly k
 * distinct labels, and each label's items (shuffled) are split evenly among
 * the clients holding it. Unlike flwr-datasets, no item is dropped: an
 * assignment that leaves a label with no client is an error, as is a label
 * with fewer items than clients holding it (which would leave a client
 * short of k labels).
 */
export class PathologicalPartitioner<T> extends BasePartitioner<T> {
  readonly kind = 'pathological' as const;
  /** labelsOf[i] = the k labels client i holds, sorted */
  readonly labelsOf: readonly (readonly string[])[];

  constructor(items: readonly T[], options: PathologicalOptions<T>) {
    const keyOf = requireKeyOf('pathological', options.keyOf);
    super(items, keyOf);
    const n = options.clients;
    const k = options.labelsPerClient;
    const assignment = options.assignment ?? DEFAULT_ASSIGNMENT;
    checkClients(this.kind, n, items.length);
    checkSeed(this.kind, options.seed);
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`pathological partitioner: labelsPerClient must be an integer >= 1, got ${k}`);
    const { keys, groups } = groupByKey(items, keyOf);
    const L = keys.length;
    if (k > L) throw new RangeError(`pathological partitioner: labelsPerClient (${k}) is larger than the number of labels (${L})`);
    if (n * k < L) {
      throw new RangeError(
        `pathological partitioner: clients (${n}) x labelsPerClient (${k}) = ${n * k} is less than the ${L} labels, so some labels would belong to no client`,
      );
    }
    const rng = createRng(options.seed);
    const held = assignLabels(assignment, n, k, L, rng);

    const holders: number[][] = Array.from({ length: L }, () => []);
    for (const [client, labels] of held.entries()) {
      for (const l of labels) at(holders, l, 'holders by label').push(client);
    }
    const empty = holders.findIndex((h) => h.length === 0);
    if (empty >= 0) {
      throw new Error(
        `pathological partitioner: assignment '${assignment}' left label '${keys[empty]}' with no client ` +
          `(clients ${n}, labelsPerClient ${k}, labels ${L}); use assignment 'round-robin', which covers every label when clients x labelsPerClient >= labels`,
      );
    }
    const parts: number[][] = Array.from({ length: n }, () => []);
    keys.forEach((key, l) => {
      const members = shuffleInPlace(got(groups, key, 'items by label').slice(), rng);
      const who = shuffleInPlace(at(holders, l, 'holders by label').slice(), rng);
      if (members.length < who.length) {
        throw new RangeError(
          `pathological partitioner: label '${key}' has ${members.length} items but ${who.length} clients hold it ` +
            `(clients ${n}, labelsPerClient ${k}); lower clients or labelsPerClient`,
        );
      }
      for (const [j, share] of cut(members, evenSizes(members.length, who.length)).entries()) {
        at(parts, at(who, j, 'holders of a label'), 'client parts').push(...share);
      }
    });
    this.labelsOf = held.map((labels) => labels.map((l) => at(keys, l, 'labels')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    this.setPartitions(parts);
  }
}

export const pathologicalPartitioner = definePartitioner({
  name: 'pathological',
  description: 'k labels per client, each label split evenly among the clients holding it',
  options: z.strictObject({
    labelsPerClient: z.number().int().positive(),
    assignment: z.enum(['round-robin', 'first-deterministic', 'random']).default(DEFAULT_ASSIGNMENT),
  }),
  needsKey: true,
  create: (items, o, { clients, seed, keyOf }) =>
    new PathologicalPartitioner(items, {
      clients,
      seed,
      labelsPerClient: o.labelsPerClient,
      assignment: o.assignment,
      keyOf: requireKeyOf('pathological', keyOf),
    }),
});

/** held[i] = the k distinct label indices (into the sorted labels) of client i. */
function assignLabels(mode: LabelAssignment, n: number, k: number, L: number, rng: Rng): number[][] {
  switch (mode) {
    case 'round-robin': {
      const order = shuffleInPlace(range(L), rng);
      return range(n).map((i) => range(k).map((j) => at(order, (i * k + j) % L, 'label order')));
    }
    case 'first-deterministic':
      return range(n).map((i) => {
        const first = i % L;
        const others = shuffleInPlace(
          range(L).filter((l) => l !== first),
          rng,
        );
        return [first, ...others.slice(0, k - 1)];
      });
    case 'random': {
      let held: number[][] = [];
      for (let attempt = 0; attempt <= 10; attempt++) {
        held = range(n).map(() => shuffleInPlace(range(L), rng).slice(0, k));
        if (new Set(held.flat()).size === L) break;
      }
      return held;
    }
    default:
      throw new RangeError(`pathological partitioner: assignment must be 'round-robin', 'first-deterministic' or 'random', got '${String(mode)}'`);
  }
}
