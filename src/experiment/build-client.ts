/**
 * A networked client's side of a run, from the server's resolved config:
 * the same base model, method and local training as the server's
 * simulation would use, and the training examples of the clients this
 * process hosts, either their partitions of the run's data (so a run on
 * the network reproduces the simulation) or one client's own local file.
 */
import { encodeExample } from '../data/encode.js';
import { loadExamples } from '../data/loaders/index.js';
import type { LoadOptions } from '../data/loaders/types.js';
import { getTask } from '../data/tasks/index.js';
import type { ClientSide } from '../federation/network/remote-client.js';
import { createMethod, getMethodDefinition } from '../methods/registry.js';
import { modelFingerprint } from '../model/fingerprint.js';
import { buildExperiment, encodeOptions, loadRunBase, localTrainingOptions } from './build.js';
import { at } from '../util/checked.js';
import type { RunConfig } from './config.js';

/** One client's own file instead of its partition of the run's data. */
export interface LocalDataSource {
  path: string;
  options: LoadOptions;
}

export function checkServable(c: RunConfig): void {
  if (getMethodDefinition(c.method.name).simulationOnly) {
    throw new Error(`${c.method.name} is a bound for simulations (fedplora run), not a federation: it has no server to join`);
  }
}

export async function buildClientSide(c: RunConfig, hosted: readonly number[], clientRanks: readonly number[], own?: LocalDataSource): Promise<ClientSide> {
  checkServable(c);
  for (const id of hosted)
    if (!Number.isInteger(id) || id < 0 || id >= c.clients) throw new Error(`the run has clients 0..${c.clients - 1}; there is no client ${id}`);
  if (own) {
    if (hosted.length !== 1) throw new Error(`a local data file belongs to one client; this process hosts ${hosted.length}`);
    const { ctx, tokenizer } = loadRunBase(c);
    const loaded = await loadExamples(own.path, own.options);
    if (loaded.examples.length === 0) throw new Error(`${own.path} holds no examples`);
    const kind = c.task ? getTask(c.task).kind : (c.data?.kind ?? (loaded.labels ? 'classification' : 'generation'));
    const encode = encodeOptions(c, kind === 'classification' ? { kind, metric: 'accuracy', labels: loaded.labels ?? [] } : { kind, metric: 'rouge_l' });
    const examples = loaded.examples.slice(0, c.maxExamplesPerClient ?? Infinity).map((e) => encodeExample(tokenizer, e, encode));
    const method = createMethod(c.method, ctx, clientRanks);
    return {
      ctx,
      client: method.deviceClient?.() ?? method.client,
      local: localTrainingOptions(c, tokenizer),
      fingerprint: modelFingerprint(ctx.config, ctx.base),
      examples: new Map([[at(hosted, 0, 'hosted client ids'), examples]]),
    };
  }
  const e = await buildExperiment(c, { encodeClient: (id) => hosted.includes(id) });
  return {
    ctx: e.ctx,
    client: e.method.deviceClient?.() ?? e.method.client,
    local: e.simulation.local,
    fingerprint: modelFingerprint(e.ctx.config, e.ctx.base),
    examples: new Map(hosted.map((id) => [id, at(e.clients, id, 'clients of the run').examples])),
  };
}
