/**
 * Local-only training, the lower bound of the heterogeneous-rank comparison
 * in Fed-PLoRA (Zhang, Hu, Xu, "Heterogeneous Federated Fine-Tuning with
 * Parallel One-Rank Adaptation", ICLR 2026, which lists it as a bound): every client
 * trains alone, at its own rank r_i, on its own data, and keeps its adapter
 * across rounds. Nothing is averaged and nothing is sent.
 *
 * Honest accounting: messages carry no tensors, only the small JSON header
 * ({rank}), so the bytes the simulation counts are just the framing of empty
 * messages (a few dozen bytes each), not adapters. The adapters live on the
 * devices; the simulation keeps that device storage inside the method (one
 * adapter per client that has trained, A kaiming-uniform from (run seed,
 * client) and B zero before its first round) and saves it in the
 * checkpoint. A client's trained adapter is committed only if it is valid
 * (right shapes, finite values); otherwise the update is rejected with its
 * reason and the client keeps its previous adapter.
 *
 * Scale: alpha / R, as every method here. There is no global model:
 * globalModel() is the pretrained base without adapter (noGlobalModel:
 * relative initialization noise is reported as null, and only the absolute
 * distance of a client's start from the base, init_noise_abs) and
 * exportAdapter() is null. evaluationModels() returns the models of up to
 * `evalClients` clients that have trained (the lowest ids), whose scores the
 * simulation averages; aggregationNoise is null (nothing is averaged).
 */
import { initLora, mapLora } from '../lora/adapter.js';
import type { LoraAdapter } from '../layers/lora-branch.js';
import type { TensorToWrite } from '../io/safetensors.js';
import { createRng, mixSeed } from '../util/random.js';
import { adapterFromPayload, adapterTensors } from './adapter-payload.js';
import type { ClientInfo, ClientUpdate, GlobalModel, Method, MethodContext } from './method.js';
import { expectMetaInt, parseUpdates, payload, updateSource } from './payload.js';
import { z } from 'zod';
import { defineMethod } from './definition.js';

export interface LocalOptions {
  /** how many clients' own models (lowest ids that have trained) are evaluated and averaged */
  evalClients: number;
}

export const DEFAULT_LOCAL: LocalOptions = { evalClients: 4 };

const clonePrefix = (id: number): string => `c${id}.`;

export function createLocal(ctx: MethodContext, options: Partial<LocalOptions> = {}): Method {
  const evalClients = options.evalClients ?? DEFAULT_LOCAL.evalClients;
  if (!Number.isInteger(evalClients) || evalClients < 1) throw new Error(`local evalClients must be a positive integer, got ${evalClients}`);
  const R = ctx.rank;
  /** device storage: each client's adapter after its last valid round */
  let adapters = new Map<number, LoraAdapter>();
  /** adapters trained this round, committed (or rejected) by aggregate */
  let pending = new Map<number, LoraAdapter>();
  const rankFor = (client: ClientInfo): number => {
    if (!Number.isInteger(client.rank) || client.rank < 1) throw new Error(`client ${client.id} has an invalid rank ${client.rank}`);
    return Math.min(client.rank, R);
  };
  /** a validated copy: every shape and value checked as for a received update */
  const checked = (a: LoraAdapter, r: number, source: string): LoraAdapter => adapterFromPayload(payload({}, adapterTensors(a)), ctx, r, source);
  const parse = (u: ClientUpdate, source: string) => {
    const r = expectMetaInt(u.payload, 'rank', source, 1, R);
    if (r !== rankFor(u.client)) throw new Error(`${source}: trained rank ${r} but its rank is ${rankFor(u.client)}`);
    const a = pending.get(u.client.id);
    if (!a) throw new Error(`${source}: the client holds no trained adapter`);
    return { id: u.client.id, adapter: checked(a, r, source) };
  };
  return {
    noGlobalModel: true,
    // the client half reads the adapter the server keeps for each client
    clientsShareServerState: true,
    server: {
      name: 'local',
      configure: (_round, client) => payload({ rank: rankFor(client) }),
      aggregate(_round, updates) {
        const { valid, rejected } = parseUpdates(updates, parse);
        for (const u of valid) adapters.set(u.id, u.adapter);
        pending = new Map();
        // Nothing is averaged, so there is no aggregation noise to speak of.
        return { aggregationNoise: null, rejected };
      },
      validate: (_round, u) => void parse(u, updateSource(u)),
      globalModel: () => ({ weights: ctx.base, adapter: null }),
      evaluationModels(): GlobalModel[] {
        return [...adapters]
          .sort(([a], [b]) => a - b)
          .slice(0, evalClients)
          .map(([, adapter]) => ({ weights: ctx.base, adapter }));
      },
      exportAdapter: () => null,
      saveState() {
        const clients = [...adapters].sort(([a], [b]) => a - b);
        const tensors = new Map<string, TensorToWrite>();
        for (const [id, adapter] of clients) for (const [name, t] of adapterTensors(adapter, clonePrefix(id))) tensors.set(name, t);
        return payload({ method: 'local', clients: clients.map(([id, adapter]) => [id, adapter.rank]) }, tensors);
      },
      loadState(state) {
        const source = 'local checkpoint';
        const list = state.meta['clients'];
        if (!Array.isArray(list) || !list.every((e) => Array.isArray(e) && e.length === 2 && e.every((x) => Number.isInteger(x)))) {
          throw new Error(`${source}: metadata "clients" must be a list of [client id, rank] pairs`);
        }
        adapters = new Map((list as [number, number][]).map(([id, r]) => [id, adapterFromPayload(state, ctx, r, source, clonePrefix(id))]));
        pending = new Map();
      },
    },
    client: {
      prepare(message, client) {
        const source = `message to client ${client.id}`;
        const r = expectMetaInt(message, 'rank', source, 1, Math.min(R, client.rank));
        const own = adapters.get(client.id);
        if (own && own.rank !== r) throw new Error(`${source}: rank ${r} but the client's adapter has rank ${own.rank}`);
        const adapter = own
          ? mapLora(own, (x) => Float32Array.from(x))
          : initLora(ctx.config, { rank: r, alpha: ctx.alpha, targets: ctx.targets, scale: ctx.scale }, createRng(mixSeed(ctx.seed, client.id, 0x10ca)));
        return { weights: ctx.base, adapter, meta: { rank: r } };
      },
      upload(local, client) {
        // The trained adapter stays on the device; the message says only which rank was trained.
        pending.set(client.id, local.adapter);
        return payload({ rank: local.adapter.rank });
      },
    },
  };
}

export const localMethod = defineMethod<LocalOptions>({
  name: 'local',
  description: 'lower bound: every client trains alone at its own rank; the evaluation averages a few clients',
  options: z.strictObject({ evalClients: z.number().int().positive().default(DEFAULT_LOCAL.evalClients) }),
  create: (ctx, o) => createLocal(ctx, o),
  simulationOnly: true,
});
