/**
 * HetLoRA (Cho, Liu, Xu, Fahrezi, Joshi, "Heterogeneous LoRA for Federated
 * Fine-tuning of On-Device Foundation Models", EMNLP 2024, arXiv 2401.06432).
 *
 * The server keeps a rank-R adapter (one scale alpha / R for every client,
 * as every method here). A client of rank r_i receives only the first r_i
 * rows of A and columns of B (the message carries just those, so the bytes
 * counted are r_i modules), trains them and sends its rank-r_i factors back.
 *
 * Aggregation ("sparsity-weighted"): updates are zero-padded to R and, for
 * every layer and target separately, client i gets the weight
 * w_i = ||B_i A_i||_F. Our choice: rank index j is averaged over the clients
 * that HAVE index j (r_i > j), with the weights normalised over those
 * clients only, so a high index trained by few clients is not shrunk towards
 * zero by the padding of the others (the paper normalises by the sum over
 * all clients, padded zeros included). An index nobody trained keeps its
 * value. When every weight of an index is 0 (all products zero) the clients
 * that have it are averaged uniformly.
 *
 * Local rank self-pruning (option `selfPruning: { gamma }`, default off):
 * after local training a client of rank r > 1 measures the contribution of
 * its last component,
 *     c = sum_{layers, targets} ||b_r a_r^T||_F / sum_{layers, targets} ||B A||_F,
 * and if c < 1 - gamma it announces rank r - 1 for later rounds (one step at
 * a time, never below 1). This round's update still carries all r modules.
 * The server remembers every client's pruned rank in its saved state.
 */
import type { LoraAdapter, LoraPair } from '../adapters/lora.js';
import { extractActive } from '../adapters/plora.js';
import { adapterFromPayload, adapterTensors } from './adapter-payload.js';
import { initialGlobalAdapter } from './fed-plora.js';
import type { AggregationStats, ClientInfo, ClientUpdate, Method, MethodContext } from './method.js';
import { denseDelta, relativeError } from './noise.js';
import { expectMetaInt, parseUpdates, payload, updateSource } from './payload.js';

export interface HetLoraOptions {
  /** lower a client's rank by one when its last component contributes less than 1 - gamma of its update; null = never */
  selfPruning: { gamma: number } | null;
}

export const DEFAULT_HETLORA: HetLoraOptions = { selfPruning: null };

const firstIds = (r: number): number[] => Array.from({ length: r }, (_, j) => j);

/** ||B A||_F of one rank-r pair, from the r x r Gram matrices: sum_jk (B^T B)_jk (A A^T)_jk. */
export function productNorm(pair: LoraPair, r: number): number {
  const inF = pair.A.length / r;
  const out = pair.B.length / r;
  let sq = 0;
  for (let j = 0; j < r; j++) {
    for (let k = 0; k < r; k++) {
      let gb = 0;
      for (let o = 0; o < out; o++) gb += pair.B[o * r + j]! * pair.B[o * r + k]!;
      let ga = 0;
      for (let i = 0; i < inF; i++) ga += pair.A[j * inF + i]! * pair.A[k * inF + i]!;
      sq += gb * ga;
    }
  }
  return Math.sqrt(Math.max(0, sq));
}

/** ||b_j a_j^T||_F = ||b_j|| ||a_j|| for module j of a rank-r pair. */
export function componentNorm(pair: LoraPair, r: number, j: number): number {
  const inF = pair.A.length / r;
  const out = pair.B.length / r;
  let b = 0;
  for (let o = 0; o < out; o++) b += pair.B[o * r + j]! ** 2;
  let a = 0;
  for (let i = 0; i < inF; i++) a += pair.A[j * inF + i]! ** 2;
  return Math.sqrt(b * a);
}

/** The self-pruning rule: the rank this client announces for later rounds. */
export function prunedRank(adapter: LoraAdapter, gamma: number): number {
  const r = adapter.rank;
  if (r <= 1) return r;
  let last = 0;
  let total = 0;
  for (const layer of adapter.layers) {
    for (const t of adapter.targets) {
      last += componentNorm(layer[t]!, r, r - 1);
      total += productNorm(layer[t]!, r);
    }
  }
  return total > 0 && last / total < 1 - gamma ? r - 1 : r;
}

/**
 * Zero-padded, norm-weighted aggregation into the rank-R `global` (in place):
 * per layer and target, index j becomes the ||B_i A_i||_F-weighted mean over
 * the clients with r_i > j. Returns the aggregation noise (weighted mean of the
 * products versus the product of the means), averaged over layers and targets.
 */
export function aggregateHetLora(ctx: MethodContext, global: LoraAdapter, updates: { adapter: LoraAdapter }[]): number {
  const R = global.rank;
  let noise = 0;
  let count = 0;
  if (updates.length === 0) return 0;
  const maxRank = Math.max(...updates.map((u) => u.adapter.rank));
  global.layers.forEach((layer, l) => {
    for (const t of global.targets) {
      const g = layer[t]!;
      const inF = g.A.length / R;
      const out = g.B.length / R;
      const norms = updates.map((u) => productNorm(u.adapter.layers[l]![t]!, u.adapter.rank));
      const total = new Float64Array(R);
      const have = new Int32Array(R);
      updates.forEach((u, i) => {
        for (let j = 0; j < u.adapter.rank; j++) {
          total[j]! += norms[i]!;
          have[j]!++;
        }
      });
      const weight = (i: number, j: number): number => (total[j]! > 0 ? norms[i]! / total[j]! : 1 / have[j]!);
      const sumA = new Float64Array(R * inF);
      const sumB = new Float64Array(out * R);
      const ideal = new Float32Array(out * inF);
      updates.forEach((u, i) => {
        const p = u.adapter.layers[l]![t]!;
        const r = u.adapter.rank;
        const Bw = new Float32Array(out * r);
        for (let j = 0; j < r; j++) {
          const w = weight(i, j);
          for (let x = 0; x < inF; x++) sumA[j * inF + x]! += w * p.A[j * inF + x]!;
          for (let o = 0; o < out; o++) {
            sumB[o * R + j]! += w * p.B[o * r + j]!;
            Bw[o * r + j] = w * p.B[o * r + j]!;
          }
        }
        denseDelta(ctx.kernels, { A: p.A, B: Bw }, r, 1, out, inF, ideal, true);
      });
      for (let j = 0; j < maxRank; j++) {
        for (let x = 0; x < inF; x++) g.A[j * inF + x] = sumA[j * inF + x]!;
        for (let o = 0; o < out; o++) g.B[o * R + j] = sumB[o * R + j]!;
      }
      const sub = extractActive(global, firstIds(maxRank)).layers[l]![t]!;
      noise += relativeError(denseDelta(ctx.kernels, sub, maxRank, 1, out, inF), ideal);
      count++;
    }
  });
  return noise / count;
}

export function createHetLora(ctx: MethodContext, options: Partial<HetLoraOptions> = {}): Method {
  const selfPruning = options.selfPruning ?? DEFAULT_HETLORA.selfPruning;
  if (selfPruning && !(selfPruning.gamma >= 0 && selfPruning.gamma <= 1)) {
    throw new Error(`HetLoRA selfPruning.gamma must be between 0 and 1, got ${selfPruning.gamma}`);
  }
  const R = ctx.rank;
  let global = initialGlobalAdapter(ctx);
  /** ranks lowered by self-pruning, by client id */
  let pruned = new Map<number, number>();
  const rankFor = (client: ClientInfo): number => {
    if (!Number.isInteger(client.rank) || client.rank < 1) throw new Error(`client ${client.id} has an invalid rank ${client.rank}`);
    return Math.min(client.rank, R, pruned.get(client.id) ?? R);
  };
  const parse = (u: ClientUpdate, source: string) => {
    const expected = rankFor(u.client);
    const r = expectMetaInt(u.payload, 'rank', source, 1, R);
    if (r !== expected) throw new Error(`${source}: sent rank ${r} but was given rank ${expected}`);
    const adapter = adapterFromPayload(u.payload, ctx, r, source);
    const next = selfPruning ? expectMetaInt(u.payload, 'nextRank', source, 1, r) : r;
    return { adapter, id: u.client.id, next };
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
        const aggregationNoise = aggregateHetLora(ctx, global, valid);
        let prunedNow = 0;
        for (const u of valid) {
          if (u.next < u.adapter.rank) {
            pruned.set(u.id, u.next);
            prunedNow++;
          }
        }
        return { aggregationNoise, rejected, extra: { pruned_clients: prunedNow } };
      },
      validate: (_round, u) => void parse(u, updateSource(u)),
      globalModel: () => ({ weights: ctx.base, adapter: global }),
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
      prepare(message, client) {
        const source = `message to client ${client.id}`;
        const r = expectMetaInt(message, 'rank', source, 1, Math.min(R, client.rank));
        return { weights: ctx.base, adapter: adapterFromPayload(message, ctx, r, source), meta: { rank: r } };
      },
      upload(local) {
        const meta: Record<string, unknown> = { rank: local.adapter.rank };
        if (selfPruning) meta['nextRank'] = prunedRank(local.adapter, selfPruning.gamma);
        return payload(meta, adapterTensors(local.adapter));
      },
    },
  };
}
