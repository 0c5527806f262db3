/**
 * FLoRA (Wang et al., "FLoRA: Federated Fine-Tuning Large Language Models
 * with Heterogeneous Low-Rank Adaptations", NeurIPS 2024).
 *
 * Each round the server stacks the clients' factors,
 *     B = [p_1 B_1 ... p_K B_K],  A = [A_1; ...; A_K],
 * so s B A = s sum_i p_i B_i A_i exactly (no aggregation noise; p_i by
 * example count, or uniform), and merges this stack into the global base:
 * the server keeps merged copies of the targeted projections,
 * W <- W + s B A in fp32, in round order. Clients start a FRESH LoRA every
 * round on the merged base (A kaiming-uniform from a seed of (run seed,
 * round, client), B zero) at their own rank r_i, with the one scale
 * s = alpha / R that every method here uses.
 *
 * Downlink (what the bytes count): a client needs every stack it has not
 * merged yet. The server remembers, per client, how many stacks it has
 * already sent it; a client's message carries all stacks aggregated since
 * the last round it was sampled in (the whole history for a client never
 * sampled before), so the downlink grows with the rounds a client missed and
 * with the number of clients per round. A client on its own device
 * (deviceClient()) keeps its merged weights between rounds and merges the
 * received stacks onto them in order; a message that starts from stack 0
 * (the server forgot the client, clientReset) makes it start again from the
 * base. The simulation does not keep one copy per client: its client half
 * reads the server's merged weights, which are bit for bit what a device
 * computes (the same fp32 operations in the same order). The received
 * stacks are validated either way (shapes, finite values).
 *
 * globalModel() is the merged base with no adapter. exportAdapter() is the
 * sum of all stacks as one LoRA of rank sum_t K_t (so PEFT export works), or
 * null when nothing was merged yet or that rank exceeds `maxExportRank`.
 * The saved state holds the whole stack history (and the per-client sync
 * counts); loading replays the merges from the pristine base in the same
 * order, so a resumed run is bit-exact.
 */
import { initLora } from '../lora/adapter.js';
import type { LoraAdapter } from '../layers/lora-branch.js';
import type { TensorToWrite } from '../io/safetensors.js';
import { foldInactive } from '../lora/plora.js';
import type { ModelWeights } from '../model/weights.js';
import { createRng, mixSeed } from '../util/random.js';
import { adapterFromPayload, adapterTensors } from './adapter-payload.js';
import { stackAdapters } from './aggregate/stack.js';
import type { ClientInfo, ClientUpdate, LocalModel, Method, MethodContext } from './method.js';
import { expectMetaInt, expectMetaInts, parseUpdates, payload, updateSource, type Payload } from './payload.js';
import { stackedProductNoise } from './noise.js';
import { z } from 'zod';
import { defineMethod } from './definition.js';

export interface FloraOptions {
  /** p_i: by example count (the paper) or equal */
  weighting: 'examples' | 'uniform';
  /** exportAdapter() returns null when the stacked history is of a larger rank */
  maxExportRank: number;
}

export const DEFAULT_FLORA: FloraOptions = { weighting: 'examples', maxExportRank: 4096 };

interface Stack {
  round: number;
  adapter: LoraAdapter;
}

function pairList(v: unknown, key: string, source: string): [number, number][] {
  if (!Array.isArray(v) || !v.every((e) => Array.isArray(e) && e.length === 2 && e.every((x) => Number.isInteger(x)))) {
    throw new Error(`${source}: metadata "${key}" must be a list of integer pairs`);
  }
  return v as [number, number][];
}

/** Tensor names of stack number `index` in messages and checkpoints. */
const stackPrefix = (index: number): string => `s${index}.`;

export function createFlora(ctx: MethodContext, options: Partial<FloraOptions> = {}): Method {
  const o: FloraOptions = { weighting: options.weighting ?? DEFAULT_FLORA.weighting, maxExportRank: options.maxExportRank ?? DEFAULT_FLORA.maxExportRank };
  if (!Number.isInteger(o.maxExportRank) || o.maxExportRank < 1) throw new Error(`FLoRA maxExportRank must be a positive integer, got ${o.maxExportRank}`);
  const R = ctx.rank;
  let history: Stack[] = [];
  /** the base with every stack so far merged into the targeted projections */
  let merged: ModelWeights = ctx.base;
  /** per client: how many stacks (from the start of the history) it has received */
  let synced = new Map<number, number>();
  const rankFor = (client: ClientInfo): number => {
    if (!Number.isInteger(client.rank) || client.rank < 1) throw new Error(`client ${client.id} has an invalid rank ${client.rank}`);
    return Math.min(client.rank, R);
  };
  const merge = (stack: LoraAdapter): void => {
    // activeIds = [] folds every module of the stack: W + s B A, into fresh copies of the targeted projections
    merged = foldInactive(ctx.kernels, merged, stack, []);
  };
  const parse = (u: ClientUpdate, source: string) => {
    const expected = rankFor(u.client);
    const r = expectMetaInt(u.payload, 'rank', source, 1, R);
    if (r !== expected) throw new Error(`${source}: sent rank ${r} but was given rank ${expected}`);
    return { adapter: adapterFromPayload(u.payload, ctx, r, source), n: o.weighting === 'examples' ? u.client.numExamples : 1 };
  };
  /** the round, rank and received stacks of a message, every stack checked (shapes, finite values) */
  const readMessage = (message: Payload, client: ClientInfo) => {
    const source = `message to client ${client.id}`;
    const round = expectMetaInt(message, 'round', source, 0, Number.MAX_SAFE_INTEGER);
    const rank = expectMetaInt(message, 'rank', source, 1, Math.min(R, client.rank));
    const from = expectMetaInt(message, 'from', source, 0, Number.MAX_SAFE_INTEGER);
    const stacks = expectMetaInts(message, 'stackRanks', source).map((K, k) => {
      if (K < 1) throw new Error(`${source}: stack ${from + k} has rank ${K}`);
      return adapterFromPayload(message, ctx, K, source, stackPrefix(from + k));
    });
    return { round, rank, from, stacks };
  };
  const freshLora = (round: number, client: ClientInfo, r: number): LoraAdapter =>
    initLora(ctx.config, { rank: r, alpha: ctx.alpha, targets: ctx.targets, scale: ctx.scale }, createRng(mixSeed(ctx.seed, round, client.id, 0xf10a)));
  const upload = (local: LocalModel): Payload => payload({ rank: local.adapter.rank }, adapterTensors(local.adapter));
  return {
    // the simulated client half reads the merged base the server keeps; deviceClient() keeps its own
    clientsShareServerState: true,
    server: {
      name: 'flora',
      configure(round, client) {
        const r = rankFor(client);
        const from = synced.get(client.id) ?? 0;
        const tensors = new Map<string, TensorToWrite>();
        const ranks: number[] = [];
        history.slice(from).forEach((s, k) => {
          for (const [name, t] of adapterTensors(s.adapter, stackPrefix(from + k))) tensors.set(name, t);
          ranks.push(s.adapter.rank);
        });
        synced.set(client.id, history.length);
        return payload({ round, rank: r, from, stackRanks: ranks }, tensors);
      },
      aggregate(round, updates) {
        const { valid, rejected } = parseUpdates(updates, parse);
        let aggregationNoise: number | null = null;
        if (valid.length > 0) {
          const total = valid.reduce((s, u) => s + u.n, 0);
          const parts = valid.map((u) => ({ adapter: u.adapter, weight: total > 0 ? u.n / total : 1 / valid.length }));
          const stack = stackAdapters(ctx, parts);
          merge(stack);
          history.push({ round, adapter: stack });
          // Stacking keeps the weighted sum of products exactly; measured, it is fp32 rounding.
          aggregationNoise = stackedProductNoise(ctx, stack, parts);
        }
        const historyRank = history.reduce((n, s) => n + s.adapter.rank, 0);
        return { aggregationNoise, rejected, extra: { stacks: history.length, history_rank: historyRank } };
      },
      validate: (_round, u) => void parse(u, updateSource(u)),
      clientReset(clientId) {
        synced.delete(clientId);
      },
      globalModel: () => ({ weights: merged, adapter: null }),
      exportAdapter() {
        const K = history.reduce((n, s) => n + s.adapter.rank, 0);
        if (K === 0 || K > o.maxExportRank) return null;
        return stackAdapters(
          ctx,
          history.map((s) => ({ adapter: s.adapter, weight: 1 })),
        );
      },
      saveState() {
        const tensors = new Map<string, TensorToWrite>();
        history.forEach((s, k) => {
          for (const [name, t] of adapterTensors(s.adapter, stackPrefix(k))) tensors.set(name, t);
        });
        return payload(
          {
            method: 'flora',
            stacks: history.map((s) => [s.round, s.adapter.rank]),
            synced: [...synced].sort((a, b) => a[0] - b[0]),
          },
          tensors,
        );
      },
      loadState(state) {
        const source = 'flora checkpoint';
        const stacks = pairList(state.meta['stacks'], 'stacks', source);
        const sync = pairList(state.meta['synced'], 'synced', source);
        history = stacks.map(([round, rank], k) => ({ round, adapter: adapterFromPayload(state, ctx, rank, source, stackPrefix(k)) }));
        merged = ctx.base;
        for (const s of history) merge(s.adapter);
        synced = new Map(sync);
      },
    },
    client: {
      prepare(message, client) {
        const m = readMessage(message, client);
        if (m.from + m.stacks.length !== history.length) {
          throw new Error(`message to client ${client.id}: holds stacks ${m.from}..${m.from + m.stacks.length - 1} but ${history.length} have been merged`);
        }
        return { weights: merged, adapter: freshLora(m.round, client, m.rank), meta: { rank: m.rank } };
      },
      upload,
    },
    deviceClient() {
      /** per client hosted here: its base with every received stack merged, and how many that is */
      const devices = new Map<number, { merged: ModelWeights; stacks: number }>();
      return {
        prepare(message, client) {
          const m = readMessage(message, client);
          // A message from stack 0 is a full history (the server forgot this client's state): start again from the base.
          const device = m.from === 0 ? { merged: ctx.base, stacks: 0 } : devices.get(client.id);
          if (!device || device.stacks !== m.from) {
            throw new Error(
              `client ${client.id} holds ${device?.stacks ?? 0} merged stacks but the message continues from stack ${m.from}: join again to receive the full history`,
            );
          }
          for (const stack of m.stacks) device.merged = foldInactive(ctx.kernels, device.merged, stack, []);
          device.stacks += m.stacks.length;
          devices.set(client.id, device);
          return { weights: device.merged, adapter: freshLora(m.round, client, m.rank), meta: { rank: m.rank } };
        },
        upload,
      };
    },
  };
}

export const floraMethod = defineMethod<FloraOptions>({
  name: 'flora',
  description: "stacks the clients' adapters, merges the stack into the base each round and restarts from zero",
  options: z.strictObject({
    weighting: z.enum(['examples', 'uniform']).default(DEFAULT_FLORA.weighting),
    maxExportRank: z.number().int().positive().default(DEFAULT_FLORA.maxExportRank),
  }),
  create: (ctx, o) => createFlora(ctx, o),
});
