/**
 * FlexLoRA (Bai et al., "Federated Fine-tuning of Large Language Models
 * under Heterogeneous Tasks and Client Resources", NeurIPS 2024).
 *
 * The server averages full products, not factors: M = sum_i p_i B_i A_i
 * (p_i by example count, the paper's choice; uniform is an option), kept
 * exactly as stacked factors B = [p_1 B_1 ... p_K B_K] (out x sum r_i) and
 * A = [A_1; ...; A_K] (sum r_i x in). A client of rank r_i receives the best
 * rank-r_i approximation of M (Eckart-Young), computed without ever forming
 * the dense out x in matrix:
 *     B = Q_B R_B,  A^T = Q_A R_A               (thin QR of each side)
 *     R_B R_A^T = U S V^T                        (SVD of the small core)
 *     B_i = Q_B U_r S_r,  A_i = V_r^T Q_A^T      (rank r_i factors)
 * with ml-matrix for the small QR and SVD (in float64). One scale alpha / R
 * for every client, as every method here.
 *
 * Choices where the paper is silent:
 * - Before the first round the global adapter is the usual init (A
 *   kaiming-uniform from the run seed, B zero) and a client of rank r_i
 *   receives its first r_i modules (so B = 0, as in plain LoRA).
 * - When M has fewer than r_i singular directions (sum of the round's ranks,
 *   or the side dimensions, below r_i), the missing modules get B = 0 and a
 *   fresh kaiming-uniform A seeded by (run seed, round, client): the product
 *   is unchanged and the modules stay trainable.
 * - A round without a valid update keeps the previous M.
 * - globalModel() is the base plus the exact M as an unmerged LoRA of rank
 *   sum r_i (weights p folded into B); exportAdapter() is that LoRA.
 * - Aggregation is exact in real arithmetic (aggregationNoise measures the fp32 rest). stats.extra.truncation_error
 *   is the mean, over the clients configured this round (the redistribution
 *   they trained from) and over layers and targets, of ||M - M_r||_F / ||M||_F
 *   = sqrt(sum_{c >= r} s_c^2 / sum_c s_c^2); 0 before the first aggregation.
 */
import { buildLoraLike } from '../lora/adapter.js';
import { layerPair, type LoraAdapter } from '../layers/lora-branch.js';
import { extractActive } from '../lora/plora.js';
import type { TargetName } from '../layers/projections.js';
import { at, defined } from '../util/checked.js';
import { createRng, mixSeed } from '../util/random.js';
import { adapterFromPayload, adapterTensors } from './adapter-payload.js';
import { initialGlobalAdapter } from './aggregate/initial-adapter.js';
import { factoredSvd, truncatedFactors, truncationError, type FactoredSvd } from './aggregate/factored-svd.js';
import { stackAdapters } from './aggregate/stack.js';
import type { ClientInfo, ClientUpdate, Method, MethodContext } from './method.js';
import { expectMetaInt, parseUpdates, payload, updateSource } from './payload.js';
import { stackedProductNoise } from './noise.js';
import { z } from 'zod';
import { defineMethod } from './definition.js';

export interface FlexLoraOptions {
  /** p_i: by example count (the paper) or equal */
  weighting: 'examples' | 'uniform';
}

export const DEFAULT_FLEXLORA: FlexLoraOptions = { weighting: 'examples' };

export function createFlexLora(ctx: MethodContext, options: Partial<FlexLoraOptions> = {}): Method {
  const weighting = options.weighting ?? DEFAULT_FLEXLORA.weighting;
  const R = ctx.rank;
  /** the initial rank-R adapter, or (after the first aggregation) the stacked factors of M */
  let global = initialGlobalAdapter(ctx);
  let stacked = false;
  /** factored SVD per layer and target of the stacked M, computed on first use */
  let cache: Array<Partial<Record<TargetName, FactoredSvd>>> | null = null;
  /** truncation errors of this round's redistributions, reported by aggregate */
  let truncation: number[] = [];
  const rankFor = (client: ClientInfo): number => {
    if (!Number.isInteger(client.rank) || client.rank < 1) throw new Error(`client ${client.id} has an invalid rank ${client.rank}`);
    return Math.min(client.rank, R);
  };
  const parse = (u: ClientUpdate, source: string) => {
    const expected = rankFor(u.client);
    const r = expectMetaInt(u.payload, 'rank', source, 1, R);
    if (r !== expected) throw new Error(`${source}: sent rank ${r} but was given rank ${expected}`);
    return { adapter: adapterFromPayload(u.payload, ctx, r, source), n: weighting === 'examples' ? u.client.numExamples : 1 };
  };
  const svds = (): Array<Partial<Record<TargetName, FactoredSvd>>> => {
    cache ??= global.layers.map((layer, l) => Object.fromEntries(global.targets.map((t) => [t, factoredSvd(layerPair(layer, t, l), global.rank)])));
    return cache;
  };
  const svdOf = (f: Array<Partial<Record<TargetName, FactoredSvd>>>, l: number, t: TargetName): FactoredSvd =>
    defined(at(f, l, 'factored SVDs of layer')[t], `factored SVD of ${t} in layer ${l}`);
  /** the best rank-r factors of the stacked global product, without touching the round's bookkeeping */
  const truncatedAdapter = (r: number, seed: number): LoraAdapter => {
    const f = svds();
    const rng = createRng(seed);
    return buildLoraLike(global, r, (pair, l, t) => truncatedFactors(svdOf(f, l, t), r, pair.B.length / global.rank, pair.A.length / global.rank, rng));
  };
  /** the rank-r adapter a client receives this round */
  const redistribute = (round: number, clientId: number, r: number): LoraAdapter => {
    if (!stacked) {
      truncation.push(0);
      return extractActive(
        global,
        Array.from({ length: r }, (_, j) => j),
      );
    }
    const f = svds();
    const rng = createRng(mixSeed(ctx.seed, round, clientId, 0xf1e7));
    let err = 0;
    let n = 0;
    const out = buildLoraLike(global, r, (pair, l, t) => {
      const s = svdOf(f, l, t);
      err += truncationError(s.sigma, r);
      n++;
      return truncatedFactors(s, r, pair.B.length / global.rank, pair.A.length / global.rank, rng);
    });
    truncation.push(err / n);
    return out;
  };
  return {
    server: {
      name: 'flexlora',
      configure(round, client) {
        const r = rankFor(client);
        return payload({ rank: r }, adapterTensors(redistribute(round, client.id, r)));
      },
      aggregate(_round, updates) {
        const { valid, rejected } = parseUpdates(updates, parse);
        const extra = { truncation_error: truncation.length > 0 ? truncation.reduce((a, b) => a + b, 0) / truncation.length : 0 };
        truncation = [];
        let aggregationNoise: number | null = null;
        if (valid.length > 0) {
          const total = valid.reduce((s, u) => s + u.n, 0);
          const parts = valid.map((u) => ({ adapter: u.adapter, weight: total > 0 ? u.n / total : 1 / valid.length }));
          global = stackAdapters(ctx, parts);
          stacked = true;
          cache = null;
          // The average of products is kept exactly as stacked factors; measured, it is fp32 rounding.
          aggregationNoise = stackedProductNoise(ctx, global, parts);
        }
        return { aggregationNoise, rejected, extra };
      },
      validate: (_round, u) => void parse(u, updateSource(u)),
      globalModel: () => ({ weights: ctx.base, adapter: global }),
      deployableModel: () => ({ weights: ctx.base, adapter: global.rank <= R ? global : truncatedAdapter(R, mixSeed(ctx.seed, 0xde91)) }),
      receivedModel: (r) => ({
        weights: ctx.base,
        adapter: stacked
          ? truncatedAdapter(Math.min(r, R), mixSeed(ctx.seed, r, 0x4ec0))
          : extractActive(
              global,
              Array.from({ length: Math.min(r, R) }, (_, j) => j),
            ),
      }),
      exportAdapter: () => global,
      saveState: () => payload({ method: 'flexlora', stacked, rank: global.rank }, adapterTensors(global)),
      loadState(state) {
        const source = 'flexlora checkpoint';
        if (typeof state.meta['stacked'] !== 'boolean') throw new Error(`${source}: metadata "stacked" must be true or false`);
        const rank = expectMetaInt(state, 'rank', source, 1, Number.MAX_SAFE_INTEGER);
        stacked = state.meta['stacked'] as boolean;
        if (!stacked && rank !== R) throw new Error(`${source}: the initial adapter has rank ${rank}, expected R = ${R}`);
        global = adapterFromPayload(state, ctx, rank, source);
        cache = null;
        truncation = [];
      },
    },
    client: {
      prepare(message, client) {
        const source = `message to client ${client.id}`;
        const r = expectMetaInt(message, 'rank', source, 1, Math.min(R, client.rank));
        return { weights: ctx.base, adapter: adapterFromPayload(message, ctx, r, source), meta: { rank: r } };
      },
      upload: (local) => payload({ rank: local.adapter.rank }, adapterTensors(local.adapter)),
    },
  };
}

export const flexLoraMethod = defineMethod<FlexLoraOptions>({
  name: 'flexlora',
  description: 'averages the full products B_i A_i and gives each client a rank-r_i SVD of the sum',
  options: z.strictObject({ weighting: z.enum(['examples', 'uniform']).default(DEFAULT_FLEXLORA.weighting) }),
  create: (ctx, o) => createFlexLora(ctx, o),
});
