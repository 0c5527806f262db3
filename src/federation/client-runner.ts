/**
 * Where clients train: in this process one after another, or in a pool of
 * worker processes (client-pool.ts). Results come back in job order, so
 * aggregation is the same whichever runs them.
 */
import type { ClientMethod, LocalModel, Method, MethodContext } from '../methods/method.js';
import type { Payload } from '../methods/payload.js';
import { trainLocally, type LocalTrainingOptions } from './local-train.js';
import { localStateBytes } from './client-cost.js';
import type { ClientData } from './client-data.js';

export interface ClientJob {
  round: number;
  client: ClientData;
  message: Payload;
  /** the message as serialized once for the byte count, so transports send these bytes instead of encoding again */
  encoded?: Uint8Array;
  /** the model prepare() already built from the message (in this process), to avoid building it twice */
  prepared?: LocalModel;
  /** how long that prepare() took, so it still counts in the client's time */
  prepareSeconds?: number;
}

export interface ClientResult {
  update: Payload;
  loss: number;
  /** the client's whole round: preparing its local model (fold, merge) and training */
  seconds: number;
  /** the preparing part, where the client reports it */
  prepareSeconds?: number;
  trainableParameters: number;
  /** bytes of the update as it arrived, where a transport already has them */
  updateBytes?: number;
  /** fp32 bytes the client held beyond the base model (see client-cost.ts), where reported */
  stateBytes?: number;
  /** the trained local model, when the caller built it (job.prepared) and so shares this process with it */
  trainedModel?: LocalModel;
}

/**
 * A job that produced no update: the client did not answer in time or went
 * away (`dropped`), or its upload was refused on arrival (`rejected`).
 */
export interface ClientFailure {
  failure: 'dropped' | 'rejected';
  reason: string;
}

export type ClientOutcome = ClientResult | ClientFailure;

export const isFailure = (o: ClientOutcome): o is ClientFailure => 'failure' in o;

export interface ClientRunner {
  /** trains every job, one outcome per job in job order; `onDone` is called as each finishes */
  run(jobs: ClientJob[], onDone?: (done: number) => void): Promise<ClientOutcome[]>;
  close(): Promise<void>;
}

/** One client's round: prepare from the message, train, upload. */
export function runClientJob(client: ClientMethod, ctx: MethodContext, local: LocalTrainingOptions, job: ClientJob): ClientResult {
  const { info, examples } = job.client;
  const t0 = performance.now();
  const model = job.prepared ?? client.prepare(job.message, info);
  const prepareSeconds = job.prepared ? (job.prepareSeconds ?? 0) : (performance.now() - t0) / 1000;
  const r = trainLocally(ctx.config, ctx.kernels, model, examples, local, ctx.seed, job.round, info.id);
  return {
    update: client.upload(model, info),
    loss: r.loss,
    seconds: prepareSeconds + r.seconds,
    prepareSeconds,
    trainableParameters: r.trainableParameters,
    stateBytes: localStateBytes(ctx, model),
    ...(job.prepared ? { trainedModel: model } : {}),
  };
}

export function inProcessRunner(method: Method, ctx: MethodContext, local: LocalTrainingOptions): ClientRunner {
  return {
    async run(jobs, onDone) {
      return jobs.map((job, i) => {
        const r = runClientJob(method.client, ctx, local, job);
        onDone?.(i + 1);
        return r;
      });
    },
    close: async () => {},
  };
}
