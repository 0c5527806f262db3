/**
 * HetLoRA (Cho, Liu, Xu, Fahrezi, Joshi, "Heterogeneous LoRA for Federated
 * Fine-tuning of On-Device Foundation Models", EMNLP 2024, arXiv 2401.06432).
 *
 * The server keeps a rank-R adapter (one scale alpha / R for every client,
 * as every method here). A client of rank r_i receives only the first r_i
 * rows of A and columns of B (the message carries just those, so the bytes
 * counted are r_i modules), trains them and sends its rank-r_i factors back.
 *
 * Aggregation (hetlora-aggregate.ts), option `aggregation`:
 * - `paper` (default, as published): updates are zero-padded to R and
 *   client i gets the weight ||B_i A_i||_F / Z, Z summed over all sampled
 *   clients; the global modules are the weighted sum of the padded modules.
 *   The padding pulls high indices towards zero, and an index no sampled
 *   client reaches becomes zero. It is the default so the benchmark runs
 *   HetLoRA as its authors did. Note: an index with A = 0 and B = 0 gets no
 *   gradient, so once zeroed it stays zero for the rest of the run.
 * - `present-clients` (our variant, the behaviour before `paper`): index j is
 *   normalised over the clients that have it, and an untrained index keeps
 *   its value.
 * Option `weighting`: `uniform` (default, the paper's pure sparsity weights)
 * or `examples` (each weight times the client's example count n_i, to run
 * every method under one weighting). Option `sparsity`: the norm per layer
 * and target (`per-matrix`, default) or over the whole adapter (`model`);
 * the paper writes one weight matrix, so this is our choice.
 *
 * Local rank self-pruning (hetlora-prune.ts), option `selfPruning`, default
 * off (null): the client adds lambda * ||B_tail|| ||A_tail|| over its last
 * (1 - gamma) r ranks to its local loss (the gradient joins every local
 * step) and, if after training that tail is smaller than in the modules it
 * received, prunes to rank floor(gamma r): this round it sends only those
 * modules, and the server gives it that rank from then on (remembered in
 * its saved state). The paper's values of lambda and gamma were not
 * available to us: the defaults gamma = 0.99, lambda = 0.01, minRank = 1 are
 * ours. Self-pruning stays off by default until those values are set for a
 * benchmark.
 */
import { extractActive } from '../lora/plora.js';
import { adapterFromPayload, adapterTensors } from './adapter-payload.js';
import { initialGlobalAdapter } from './aggregate/initial-adapter.js';
import { aggregateHetLora, type AggregationOptions } from './hetlora-aggregate.js';
import { checkSelfPruning, DEFAULT_SELF_PRUNING, pruneTarget, tailNorm, tailRegularizer, type SelfPruningOptions } from './hetlora-prune.js';
import type { AggregationStats, ClientInfo, ClientUpdate, LocalModel, Method, MethodContext } from './method.js';
import { expectMetaInt, parseUpdates, payload, updateSource } from './payload.js';
import { z } from 'zod';
import { defineMethod } from './definition.js';

export { productNorm } from './hetlora-aggregate.js';
export { pruneTarget, tailNorm, tailRegularizer, type SelfPruningOptions } from './hetlora-prune.js';

export interface HetLoraOptions extends AggregationOptions {
  /** the paper's local rank self-pruning; null = off */
  selfPruning: SelfPruningOptions | null;
}

export const DEFAULT_HETLORA: HetLoraOptions = { aggregation: 'paper', weighting: 'uniform', sparsity: 'per-matrix', selfPruning: null };

/** What createHetLora accepts: any option left out takes its default, also inside selfPruning. */
export type HetLoraSpec = Partial<Omit<HetLoraOptions, 'selfPruning'>> & { selfPruning?: Partial<SelfPruningOptions> | null };

const firstIds = (r: number): number[] => Array.from({ length: r }, (_, j) => j);

function resolveOptions(spec: HetLoraSpec): HetLoraOptions {
  const o: HetLoraOptions = {
    aggregation: spec.aggregation ?? DEFAULT_HETLORA.aggregation,
    weighting: spec.weighting ?? DEFAULT_HETLORA.weighting,
    sparsity: spec.sparsity ?? DEFAULT_HETLORA.sparsity,
    selfPruning: spec.selfPruning ? { ...DEFAULT_SELF_PRUNING, ...spec.selfPruning } : null,
  };
  if (!['paper', 'present-clients'].includes(o.aggregation)) throw new Error(`HetLoRA aggregation must be paper or present-clients, got ${o.aggregation}`);
  if (!['uniform', 'examples'].includes(o.weighting)) throw new Error(`HetLoRA weighting must be uniform or examples, got ${o.weighting}`);
  if (!['per-matrix', 'model'].includes(o.sparsity)) throw new Error(`HetLoRA sparsity must be per-matrix or model, got ${o.sparsity}`);
  if (o.selfPruning) checkSelfPruning(o.selfPruning);
  return o;
}

export function createHetLora(ctx: MethodContext, spec: HetLoraSpec = {}): Method {
  const options = resolveOptions(spec);
  const selfPruning = options.selfPruning;
  const R = ctx.rank;
  let global = initialGlobalAdapter(ctx);
  /** ranks lowered by self-pruning, by client id */
  let pruned = new Map<number, number>();
  const rankFor = (client: ClientInfo): number => {
    if (!Number.isInteger(client.rank) || client.rank < 1) throw new Error(`client ${client.id} has an invalid rank ${client.rank}`);
    return Math.min(client.rank, R, pruned.get(client.id) ?? R);
  };
  const parse = (u: ClientUpdate, source: string) => {
    const given = rankFor(u.client);
    const r = expectMetaInt(u.payload, 'rank', source, 1, R);
    // a self-pruning client sends either its full rank or, having pruned, exactly floor(gamma r)
    const prunable = selfPruning ? pruneTarget(given, selfPruning) : given;
    if (r !== given && r !== prunable) {
      throw new Error(`${source}: sent rank ${r} but was given rank ${given}${prunable < given ? ` (${prunable} after self-pruning)` : ''}`);
    }
    const adapter = adapterFromPayload(u.payload, ctx, r, source);
    return { adapter, id: u.client.id, given, numExamples: u.client.numExamples };
  };
  return {
    server: {
      name: 'hetlora',
      configure(_round, client) {
        const r = rankFor(client);
        return payload({ rank: r }, adapterTensors(extractActive(global, firstIds(r))));
      },
      aggregate(_round, updates): AggregationStats {
        const { valid, rejected } = parseUpdates(updates, parse);
        const aggregationNoise = aggregateHetLora(ctx, global, valid, options);
        let prunedNow = 0;
        for (const u of valid) {
          if (u.adapter.rank < u.given) {
            pruned.set(u.id, u.adapter.rank);
            prunedNow++;
          }
        }
        return { aggregationNoise, rejected, extra: { pruned_clients: prunedNow } };
      },
      validate: (_round, u) => void parse(u, updateSource(u)),
      globalModel: () => ({ weights: ctx.base, adapter: global }),
      // A client of rank r starts from the first r modules only (pruned ranks aside: they depend on the client).
      receivedModel: (r) => ({ weights: ctx.base, adapter: extractActive(global, firstIds(Math.min(r, R))) }),
      exportAdapter: () => global,
      saveState: () => payload({ method: 'hetlora', prunedRanks: [...pruned].sort((a, b) => a[0] - b[0]) }, adapterTensors(global)),
      loadState(state) {
        const source = 'hetlora checkpoint';
        const list = state.meta['prunedRanks'];
        if (!Array.isArray(list) || !list.every((e) => Array.isArray(e) && e.length === 2 && e.every((x) => Number.isInteger(x)))) {
          throw new Error(`${source}: metadata "prunedRanks" must be a list of [client id, rank] pairs`);
        }
        global = adapterFromPayload(state, ctx, R, source);
        pruned = new Map(list as [number, number][]);
      },
    },
    client: {
      prepare(message, client): LocalModel {
        const source = `message to client ${client.id}`;
        const r = expectMetaInt(message, 'rank', source, 1, Math.min(R, client.rank));
        const adapter = adapterFromPayload(message, ctx, r, source);
        if (!selfPruning || pruneTarget(r, selfPruning) >= r) return { weights: ctx.base, adapter, meta: { rank: r } };
        // the tail as received is what the pruning test compares against after training
        const local: LocalModel = { weights: ctx.base, adapter, meta: { rank: r, tailBefore: tailNorm(adapter, selfPruning) } };
        if (selfPruning.lambda > 0) local.regularizer = tailRegularizer(selfPruning);
        return local;
      },
      upload(local) {
        const r = local.adapter.rank;
        const before = local.meta['tailBefore'];
        if (selfPruning && typeof before === 'number' && tailNorm(local.adapter, selfPruning) < before) {
          const p = pruneTarget(r, selfPruning);
          return payload({ rank: p }, adapterTensors(extractActive(local.adapter, firstIds(p))));
        }
        return payload({ rank: r }, adapterTensors(local.adapter));
      },
    },
  };
}

export const hetLoraMethod = defineMethod<HetLoraOptions>({
  name: 'hetlora',
  description: 'zero-padding to R, sparsity-weighted aggregation, truncation to each client rank (optional self-pruning)',
  options: z.strictObject({
    /** paper: zero-pad to R, weights normalised over all sampled clients (as published); present-clients: per rank index over the clients that have it (our variant) */
    aggregation: z.enum(['paper', 'present-clients']).default(DEFAULT_HETLORA.aggregation),
    /** each client's sparsity weight ||B_i A_i|| times 1 (the paper) or its example count */
    weighting: z.enum(['uniform', 'examples']).default(DEFAULT_HETLORA.weighting),
    /** the sparsity norm per layer and target, or over the whole adapter */
    sparsity: z.enum(['per-matrix', 'model']).default(DEFAULT_HETLORA.sparsity),
    /** local rank self-pruning: penalty lambda on the last (1 - gamma) r ranks, prune to floor(gamma r) when that tail shrank; null = off */
    selfPruning: z
      .strictObject({
        gamma: z.number().gt(0).lt(1).default(DEFAULT_SELF_PRUNING.gamma),
        lambda: z.number().nonnegative().default(DEFAULT_SELF_PRUNING.lambda),
        minRank: z.number().int().positive().default(DEFAULT_SELF_PRUNING.minRank),
      })
      .nullable()
      .default(DEFAULT_HETLORA.selfPruning),
  }),
  create: (ctx, o) => createHetLora(ctx, o),
});
