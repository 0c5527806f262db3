/**
 * A worker process of the client pool: builds the same experiment as the
 * server from the resolved run config, then trains the clients it is sent,
 * one at a time, answering with the serialized update.
 */
import { buildExperiment, type Experiment } from './build.js';
import type { RunConfig } from './config.js';
import { loadPlugins } from './plugins.js';
import { decodePayload, encodePayload } from '../methods/payload.js';
import { runClientJob } from '../federation/client-runner.js';

export type WorkerRequest = { type: 'init'; config: RunConfig } | { type: 'train'; job: number; round: number; clientId: number; message: Uint8Array };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'result'; job: number; update: Uint8Array; loss: number; seconds: number; trainableParameters: number }
  | { type: 'error'; job: number | null; message: string };

let experiment: Experiment | null = null;

function reply(r: WorkerReply): void {
  if (!process.send) throw new Error('a client worker needs the IPC channel of a forked process to reply');
  process.send(r);
}

async function handle(req: WorkerRequest): Promise<void> {
  if (req.type === 'init') {
    await loadPlugins(req.config.plugins, process.cwd());
    experiment = await buildExperiment(req.config);
    reply({ type: 'ready' });
    return;
  }
  if (!experiment) throw new Error('the worker received a job before its config');
  const client = experiment.clients[req.clientId];
  if (!client) throw new Error(`no client ${req.clientId}`);
  const message = decodePayload(req.message, `message to client ${req.clientId}`);
  const r = runClientJob(experiment.method.client, experiment.ctx, experiment.simulation.local, { round: req.round, client, message });
  reply({ type: 'result', job: req.job, update: encodePayload(r.update), loss: r.loss, seconds: r.seconds, trainableParameters: r.trainableParameters });
}

process.on('message', (req: WorkerRequest) => {
  handle(req).catch((e: unknown) => reply({ type: 'error', job: req.type === 'train' ? req.job : null, message: (e as Error).message }));
});
