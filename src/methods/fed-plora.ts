/**
 * Fed-PLoRA (Zhang, Hu, Xu, "Heterogeneous Federated Fine-Tuning with
 * Parallel One-Rank Adaptation", ICLR 2026): the global adapter is R
 * one-rank modules with one scale alpha / R. A client of rank r_i receives
 * every module, selects r_i of them, folds the rest into its frozen weight
 * (from the pristine base, so it starts exactly from the global model),
 * trains the selected ones and sends them back. The server averages each
 * module over the clients that trained it; untrained modules keep their value.
 */
import { initLora, type LoraAdapter } from '../adapters/lora.js';
import { checkModuleIds, extractActive, foldInactive } from '../adapters/plora.js';
import { createRng, mixSeed } from '../util/random.js';
import { adapterFromPayload, adapterTensors } from './adapter-payload.js';
import type { AggregationStats, ClientInfo, ClientUpdate, Method, MethodContext } from './method.js';
import { denseDelta, relativeError } from './noise.js';
import { expectMetaInts, parseUpdates, payload, updateSource } from './payload.js';
import { selectModules, type ModuleSelection } from './selection.js';

export interface FedPloraOptions {
  selection: ModuleSelection;
  /** module averages weighted equally (the paper's analysis) or by example count */
  weighting: 'uniform' | 'examples';
}

export const DEFAULT_FED_PLORA: FedPloraOptions = { selection: 'random', weighting: 'uniform' };

/** The server's initial global adapter: PEFT's init (A kaiming-uniform, B zero) from the run seed. */
export function initialGlobalAdapter(ctx: MethodContext): LoraAdapter {
  return initLora(ctx.config, { rank: ctx.rank, alpha: ctx.alpha, targets: ctx.targets, scale: ctx.scale }, createRng(mixSeed(ctx.seed, 0x91a0)));
}

/** Per-module weighted averages of the updates; modules nobody trained keep their value. */
export function aggregateModules(
  ctx: MethodContext, global: LoraAdapter, updates: { adapter: LoraAdapter; ids: number[]; weight: number }[],
): Omit<AggregationStats, 'rejected'> {
  const R = ctx.rank;
  let noise = 0;
  let count = 0;
  global.layers.forEach((layer, l) => {
    for (const t of ctx.targets) {
      const g = layer[t]!;
      const inF = g.A.length / R;
      const out = g.B.length / R;
      const sumA = new Float64Array(R * inF);
      const sumB = new Float64Array(out * R);
      const total = new Float64Array(R);
      for (const u of updates) {
        const p = u.adapter.layers[l]![t]!;
        const m = u.ids.length;
        u.ids.forEach((j, c) => {
          total[j]! += u.weight;
          for (let i = 0; i < inF; i++) sumA[j * inF + i]! += u.weight * p.A[c * inF + i]!;
          for (let o = 0; o < out; o++) sumB[o * R + j]! += u.weight * p.B[o * m + c]!;
        });
      }
      // ideal: the weighted mean of each module's products; actual: the product of the averaged module
      const ideal = new Float32Array(out * inF);
      for (const u of updates) {
        const p = u.adapter.layers[l]![t]!;
        const m = u.ids.length;
        const Bw = new Float32Array(out * m);
        u.ids.forEach((j, c) => {
          for (let o = 0; o < out; o++) Bw[o * m + c] = (p.B[o * m + c]! * u.weight) / total[j]!;
        });
        denseDelta(ctx.kernels, { A: p.A, B: Bw }, m, 1, out, inF, ideal, true);
      }
      for (let j = 0; j < R; j++) {
        if (total[j] === 0) continue;
        for (let i = 0; i < inF; i++) g.A[j * inF + i] = sumA[j * inF + i]! / total[j]!;
        for (let o = 0; o < out; o++) g.B[o * R + j] = sumB[o * R + j]! / total[j]!;
      }
      const trained = Array.from({ length: R }, (_, j) => j).filter((j) => total[j]! > 0);
      if (trained.length > 0) {
        const sub = extractActive(global, trained).layers[l]![t]!;
        const actual = denseDelta(ctx.kernels, sub, trained.length, 1, out, inF);
        noise += relativeError(actual, ideal);
        count++;
      }
    }
  });
  return { aggregationNoise: count > 0 ? noise / count : null };
}

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
