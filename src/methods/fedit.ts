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
import { z } from 'zod';
import { defineMethod } from './definition.js';

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

export const fedItMethod = defineMethod<{ rank?: number | undefined; weighting: 'examples' | 'uniform' }>({
  name: 'fedit',
  description: 'FedAvg of one LoRA rank every client can train (default: the smallest client rank)',
  options: z.strictObject({ rank: z.number().int().positive().optional(), weighting: z.enum(['examples', 'uniform']).default('examples') }),
  check: (o, run) => (o.rank !== undefined && o.rank > run.rank ? { key: 'rank', message: `FedIT rank ${o.rank} exceeds lora.rank (R = ${run.rank})` } : null),
  create: (ctx, o, run) => createFedIt(ctx, { weighting: o.weighting, rank: o.rank ?? Math.min(...run.clientRanks) }),
});

/** The centralized upper bound: FedIT at rank R on one client that pools every client's data. */
export const centralizedMethod = defineMethod<Record<string, never>>({
  name: 'centralized',
  description: "upper bound: one rank-R adapter trained on all the clients' examples, with the federation's steps",
  options: z.strictObject({}),
  create: (ctx) => createFedIt(ctx, { rank: ctx.rank }),
  poolsClients: true,
  simulationOnly: true,
});
