/**
 * FedIT (Zhang et al., "Towards Building the Federated GPT: Federated
 * Instruction Tuning", 2024): homogeneous LoRA, every client at one rank
 * (by default the smallest any client affords), FedAvg of A and B weighted
 * by example count (the paper's FedAvg) or, as an option, equally. The scale
 * stays alpha / R like every method here.
 */
import { adapterFromPayload, adapterTensors } from './adapter-payload.js';
import { aggregateModules, initialGlobalAdapter } from './aggregate/index.js';
import type { ClientUpdate, Method, MethodContext } from './method.js';
import { parseUpdates, payload, updateSource } from './payload.js';

export interface FedItOptions {
  /** the one rank every client trains; must not exceed any sampled client's rank */
  rank: number;
  /** FedAvg weights: by example count (default) or equal, so a benchmark can weight every method alike */
  weighting?: 'examples' | 'uniform';
}

export function createFedIt(ctx: MethodContext, options: FedItOptions): Method {
  const r = options.rank;
  const weighting = options.weighting ?? 'examples';
  if (!Number.isInteger(r) || r < 1 || r > ctx.rank) throw new Error(`FedIT rank ${r} must be between 1 and R = ${ctx.rank}`);
  const local: MethodContext = { ...ctx, rank: r };
  let global = initialGlobalAdapter(local);
  const all = Array.from({ length: r }, (_, j) => j);
  const parse = (u: ClientUpdate, source: string) => {
    if (u.client.rank < r) throw new Error(`${source}: client rank ${u.client.rank} is below the FedIT rank ${r}`);
    return { adapter: adapterFromPayload(u.payload, local, r, source), ids: all, weight: weighting === 'uniform' ? 1 : u.client.numExamples };
  };
  return {
    minClientRank: r,
    server: {
      name: 'fedit',
      configure: () => payload({ rank: r }, adapterTensors(global)),
      aggregate(_round, updates) {
        const { valid, rejected } = parseUpdates(updates, parse);
        // FedAvg is the per-module average with every client training every module.
        return { ...aggregateModules(local, global, valid), rejected };
      },
      validate: (_round, u) => void parse(u, updateSource(u)),
      globalModel: () => ({ weights: ctx.base, adapter: global }),
      exportAdapter: () => global,
      saveState: () => payload({ method: 'fedit' }, adapterTensors(global)),
      loadState(state) {
        global = adapterFromPayload(state, local, r, 'fedit checkpoint');
      },
    },
    client: {
      prepare(message, client) {
        if (client.rank < r) throw new Error(`client ${client.id} affords rank ${client.rank}, below the FedIT rank ${r}`);
        return { weights: ctx.base, adapter: adapterFromPayload(message, local, r, `message to client ${client.id}`), meta: {} };
      },
      upload: (l) => payload({}, adapterTensors(l.adapter)),
    },
  };
}
