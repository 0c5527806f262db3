/**
 * Fed-PLoRA (Zhang, Hu, Xu, "Heterogeneous Federated Fine-Tuning with
 * Parallel One-Rank Adaptation", ICLR 2026): the global adapter is R
 * one-rank modules with one scale alpha / R. A client of rank r_i receives
 * every module, selects r_i of them, folds the rest into its frozen weight
 * (from the pristine base, so it starts exactly from the global model),
 * trains the selected ones and sends them back. The server averages each
 * module over the clients that trained it; untrained modules keep their value.
 */
import { checkModuleIds, extractActive, foldInactive } from '../lora/plora.js';
import { adapterFromPayload, adapterTensors } from './adapter-payload.js';
import type { ClientInfo, ClientUpdate, Method, MethodContext } from './method.js';
import { aggregateModules } from './aggregate/module-average.js';
import { initialGlobalAdapter } from './aggregate/initial-adapter.js';
import { expectMetaInts, parseUpdates, payload, updateSource } from './payload.js';
import { selectModules, type ModuleSelection } from './selection.js';
import { z } from 'zod';
import { defineMethod } from './definition.js';

export interface FedPloraOptions {
  selection: ModuleSelection;
  /** module averages weighted equally (the paper's analysis) or by example count */
  weighting: 'uniform' | 'examples';
}

export const DEFAULT_FED_PLORA: FedPloraOptions = { selection: 'random', weighting: 'uniform' };

export function createFedPlora(ctx: MethodContext, options: Partial<FedPloraOptions> = {}): Method {
  const o = { ...DEFAULT_FED_PLORA, ...options };
  let global = initialGlobalAdapter(ctx);
  const R = ctx.rank;
  const assigned = (round: number, client: ClientInfo): number[] => selectModules(o.selection, R, Math.min(client.rank, R), ctx.seed, round, client.id);
  const parse = (round: number, u: ClientUpdate, source: string) => {
    const ids = expectMetaInts(u.payload, 'modules', source);
    checkModuleIds(ids, R);
    if (ids.length > u.client.rank) throw new Error(`${source}: trained ${ids.length} modules but its rank is ${u.client.rank}`);
    // The selection is a function of (seed, round, client): an upload for other modules was not asked for.
    const expected = assigned(round, u.client);
    if (ids.length !== expected.length || ids.some((j, k) => j !== expected[k])) {
      throw new Error(`${source}: sent modules [${ids}] but was assigned [${expected}] in round ${round}`);
    }
    const adapter = adapterFromPayload(u.payload, ctx, ids.length, source);
    return { adapter, ids, weight: o.weighting === 'uniform' ? 1 : u.client.numExamples };
  };
  return {
    server: {
      name: 'fed-plora',
      configure(round, client) {
        const ids = assigned(round, client);
        return payload({ modules: ids }, adapterTensors(global));
      },
      aggregate(round, updates: ClientUpdate[]) {
        const { valid, rejected } = parseUpdates(updates, (u, source) => parse(round, u, source));
        return { ...aggregateModules(ctx, global, valid), rejected };
      },
      validate: (round, u) => void parse(round, u, updateSource(u)),
      globalModel: () => ({ weights: ctx.base, adapter: global }),
      exportAdapter: () => global,
      saveState: () => payload({ method: 'fed-plora' }, adapterTensors(global)),
      loadState(state) {
        global = adapterFromPayload(state, ctx, R, 'fed-plora checkpoint');
      },
    },
    client: {
      prepare(message, client) {
        const source = `message to client ${client.id}`;
        const ids = expectMetaInts(message, 'modules', source);
        checkModuleIds(ids, R);
        const received = adapterFromPayload(message, ctx, R, source);
        return { weights: foldInactive(ctx.kernels, ctx.base, received, ids), adapter: extractActive(received, ids), meta: { modules: ids } };
      },
      upload: (local) => payload({ modules: local.meta['modules'] }, adapterTensors(local.adapter)),
    },
  };
}

export const fedPloraMethod = defineMethod<FedPloraOptions>({
  name: 'fed-plora',
  description: 'R parallel one-rank modules; each client trains r_i of them and folds the rest (Select-N-Fold)',
  options: z.strictObject({
    selection: z.enum(['random', 'cyclic', 'first']).default(DEFAULT_FED_PLORA.selection),
    weighting: z.enum(['uniform', 'examples']).default(DEFAULT_FED_PLORA.weighting),
  }),
  create: (ctx, o) => createFedPlora(ctx, o),
  // PEFT sees a rank-R LoRA; the metadata keeps what makes it PLoRA (R one-rank modules, one scale alpha / R).
  exportMetadata: (o, ctx) => ({ plora_modules: String(ctx.rank), plora_scale: String(ctx.alpha / ctx.rank), plora_selection: o.selection }),
});
