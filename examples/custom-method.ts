/**
 * A method of one's own, as a plugin: full-rank FedAvg, where every client
 * trains the whole rank-R adapter whatever its rank (a homogeneous baseline
 * that ignores the clients' resources). It shows both halves a method
 * implements: the server (what each client receives, how updates are
 * aggregated, the global model, checkpoint state) and the client (its local
 * model from the message, what it sends back).
 *
 * Use it from a run config:   plugins: [./custom-method.js]
 *                             method: { name: fedavg-full-rank }
 * or from a program:          registerMethod(fedAvgFullRank)
 * Outside this repository, import from 'fedplora' instead of '../src/index.js'.
 */
import {
  adapterFromPayload,
  adapterTensors,
  defineMethod,
  initialGlobalAdapter,
  parseUpdates,
  payload,
  updateSource,
  z,
  type ClientUpdate,
  type FedploraPlugin,
  type LoraAdapter,
  type Method,
  type MethodContext,
  type TargetName,
} from '../src/index.js';

/** The example-weighted mean of the clients' adapters, tensor by tensor (FedAvg). */
function weightedMean(updates: readonly { adapter: LoraAdapter; weight: number }[], into: LoraAdapter): void {
  const total = updates.reduce((s, u) => s + u.weight, 0);
  for (const l of into.layers.keys()) {
    for (const t of into.targets) {
      for (const which of ['A', 'B'] as const) {
        const out = pairOf(into, l, t)[which];
        out.fill(0);
        for (const { adapter, weight } of updates) addScaled(out, weight / total, pairOf(adapter, l, t)[which]);
      }
    }
  }
}

/** The A and B of target t in layer l (adapterFromPayload checked that every adapter here has the run's layers, targets and shapes). */
function pairOf(adapter: LoraAdapter, l: number, t: TargetName): { A: Float32Array; B: Float32Array } {
  const pair = adapter.layers[l]?.[t];
  if (!pair) throw new Error(`the adapter has no ${t} in layer ${l}`);
  return pair;
}

/** out += w x, element by element. */
function addScaled(out: Float32Array, w: number, x: Float32Array): void {
  for (const [k, o] of out.entries()) {
    const v = x[k];
    if (v === undefined) throw new RangeError(`cannot add ${x.length} elements to ${out.length}`);
    out[k] = o + w * v;
  }
}

function createFedAvgFullRank(ctx: MethodContext, o: { weighting: 'examples' | 'uniform' }): Method {
  let global = initialGlobalAdapter(ctx);
  // validation and aggregation read an update the same way, so a bad upload is refused on arrival with the same reason
  const parse = (u: ClientUpdate, source: string) => ({
    adapter: adapterFromPayload(u.payload, ctx, ctx.rank, source),
    weight: o.weighting === 'examples' ? u.client.numExamples : 1,
  });
  return {
    // every client trains rank R, so a client must afford it
    minClientRank: ctx.rank,
    server: {
      name: 'fedavg-full-rank',
      configure: () => payload({}, adapterTensors(global)),
      aggregate(_round, updates) {
        const { valid, rejected } = parseUpdates(updates, parse);
        if (valid.length > 0) weightedMean(valid, global);
        return { aggregationNoise: null, rejected };
      },
      validate: (_round, u) => void parse(u, updateSource(u)),
      globalModel: () => ({ weights: ctx.base, adapter: global }),
      exportAdapter: () => global,
      saveState: () => payload({ method: 'fedavg-full-rank' }, adapterTensors(global)),
      loadState(state) {
        global = adapterFromPayload(state, ctx, ctx.rank, 'fedavg-full-rank checkpoint');
      },
    },
    client: {
      prepare: (message, client) => ({ weights: ctx.base, adapter: adapterFromPayload(message, ctx, ctx.rank, `message to client ${client.id}`), meta: {} }),
      upload: (local) => payload({}, adapterTensors(local.adapter)),
    },
  };
}

export const fedAvgFullRank = defineMethod<{ weighting: 'examples' | 'uniform' }>({
  name: 'fedavg-full-rank',
  description: 'FedAvg with every client at rank R, whatever it affords (an example plugin)',
  options: z.strictObject({ weighting: z.enum(['examples', 'uniform']).default('examples') }),
  create: (ctx, o) => createFedAvgFullRank(ctx, o),
});

const plugin: FedploraPlugin = { methods: [fedAvgFullRank] };
export default plugin;
