/**
 * A client process of a networked run (`fedplora join`): it hosts one or
 * more client ids, each with its own token. Each hosted client joins,
 * then asks for work; when it is sampled it trains exactly as the
 * simulation's client would (same preparation, batches and seeds) and
 * submits. The server being unreachable is not an error but a wait: the
 * client retries with exponential back-off and joins again, so a restarted
 * server finds its clients back. Every event is one line for a person.
 */
import {
  FederationError,
  type FetchTaskRequest,
  type JoinReply,
  type JoinRequest,
  type ResultHeader,
  type RunInfo,
  type SubmitReply,
  type TaskReply,
} from '../../transport/service.js';
import { decodePayload, encodePayload } from '../../methods/payload.js';
import type { EncodedExample } from '../../data/encode.js';
import type { ClientInfo, ClientMethod, MethodContext } from '../../methods/method.js';
import type { LocalTrainingOptions } from '../local-train.js';
import { runClientJob, type ClientResult } from '../client-runner.js';

/** What a device needs to train its hosted clients: built from the run config by experiment/build-client.ts. */
export interface ClientSide {
  ctx: MethodContext;
  /** the method's client half as it runs on a device (keeping its own state where the method has any) */
  client: ClientMethod;
  local: LocalTrainingOptions;
  fingerprint: string;
  /** the training examples of each hosted client */
  examples: Map<number, EncodedExample[]>;
}

/** The calls a client makes; the gRPC client implements them. */
export interface FederationConnection {
  getRun(clientId: number): Promise<RunInfo>;
  join(req: JoinRequest): Promise<JoinReply>;
  fetchTask(req: FetchTaskRequest, signal?: AbortSignal): Promise<TaskReply>;
  submitResult(header: Omit<ResultHeader, 'totalBytes' | 'sha256'>, update: Uint8Array): Promise<SubmitReply>;
  close(): void | Promise<void>;
}

export interface BackOff {
  initialMs: number;
  maxMs: number;
  /** give up after the server has been unreachable this long */
  giveUpMs: number;
}

export const DEFAULT_BACKOFF: BackOff = { initialMs: 500, maxMs: 10_000, giveUpMs: 15 * 60_000 };

export interface HostedClientOptions {
  id: number;
  connection: FederationConnection;
  /** the rank to declare; 0 takes the server's */
  rank: number;
  side: ClientSide;
  runId: string;
  waitSeconds: number;
  backoff: BackOff;
  say: (line: string) => void;
  signal?: AbortSignal;
}

export type HostedClientEnd = { kind: 'finished'; rounds: number } | { kind: 'failed'; message: string } | { kind: 'stopped' };

/** Errors after which retrying cannot help: the person has to change something. */
const FATAL = new Set(['unauthenticated', 'permission_denied', 'not_found']);

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const kb = (n: number): string => `${(n / 1024).toFixed(0)} KB`;

/** Runs one hosted client until the run finishes, a fatal error, or the signal. */
export async function runHostedClient(o: HostedClientOptions): Promise<HostedClientEnd> {
  const { id, connection, side, say } = o;
  const prefix = `client ${id}:`;
  let unreachableSince: number | null = null;
  let attempt = 0;
  let joined: { rank: number } | null = null;
  const examples = side.examples.get(id);
  if (!examples) return { kind: 'failed', message: `${prefix} this process holds no data for it` };

  /** waits out an unreachable server; false when it has been gone too long */
  const backOff = async (e: FederationError): Promise<boolean> => {
    const now = Date.now();
    if (unreachableSince === null) {
      unreachableSince = now;
      say(`${prefix} ${e.message}; retrying with back-off (up to ${Math.round(o.backoff.giveUpMs / 1000)} s)`);
    }
    if (now - unreachableSince > o.backoff.giveUpMs) return false;
    const delay = Math.min(o.backoff.maxMs, o.backoff.initialMs * 2 ** attempt++) * (0.5 + Math.random() / 2);
    await sleep(delay, o.signal);
    joined = null;
    return true;
  };

  const join = async (): Promise<void> => {
    const run = await connection.getRun(id);
    if (run.runId !== o.runId)
      throw new FederationError(
        'failed_precondition',
        `the server now runs run ${run.runId}, not run ${o.runId} this client prepared for: start fedplora join again`,
      );
    const reply = await connection.join({ runId: o.runId, clientId: id, rank: o.rank, numExamples: examples.length, modelFingerprint: side.fingerprint });
    joined = { rank: reply.rank };
    say(`${prefix} joined run ${o.runId} at round ${reply.currentRound} (rank ${reply.rank}, ${examples.length} examples)`);
  };

  const train = async (task: Extract<TaskReply, { status: 'task' }>): Promise<void> => {
    const info: ClientInfo = { id, rank: task.rank, numExamples: examples.length };
    let result: ClientResult;
    try {
      const message = decodePayload(task.message, `round ${task.round} message to client ${id}`);
      result = runClientJob(side.client, side.ctx, side.local, { round: task.round, client: { info, examples }, message });
    } catch (e) {
      // The message does not fit what this device holds (e.g. it lost state): join again to be sent everything.
      say(`${prefix} round ${task.round}: could not train: ${(e as Error).message}; joining again`);
      joined = null;
      return;
    }
    const update = encodePayload(result.update);
    try {
      const reply = await connection.submitResult(
        {
          runId: o.runId,
          round: task.round,
          clientId: id,
          trainLoss: result.loss,
          trainSeconds: result.seconds,
          trainableParameters: result.trainableParameters,
        },
        update,
      );
      say(
        `${prefix} round ${task.round}: trained in ${result.seconds.toFixed(1)} s, loss ${result.loss.toFixed(4)}; ${reply.message} (${kb(update.length)} up)`,
      );
    } catch (e) {
      if (!(e instanceof FederationError) || e.code === 'unavailable' || FATAL.has(e.code)) throw e;
      // Refused (bad payload, round closed, replay): nothing to resend; the server has said why.
      say(`${prefix} round ${task.round}: ${e.message}`);
    }
  };

  while (!o.signal?.aborted) {
    // Which call failed decides what a failed precondition means.
    let joining = false;
    try {
      if (!joined) {
        joining = true;
        await join();
        joining = false;
      }
      const task = await connection.fetchTask({ runId: o.runId, clientId: id, waitSeconds: o.waitSeconds }, o.signal);
      unreachableSince = null;
      attempt = 0;
      if (task.status === 'done') {
        say(`${prefix} the run is finished (${task.totalRounds} rounds)`);
        return { kind: 'finished', rounds: task.totalRounds };
      }
      if (task.status === 'task') await train(task);
    } catch (e) {
      if (o.signal?.aborted) break;
      if (!(e instanceof FederationError)) return { kind: 'failed', message: `${prefix} ${(e as Error).message}` };
      if (e.code === 'unavailable') {
        if (!(await backOff(e)))
          return { kind: 'failed', message: `${prefix} the server has been unreachable for over ${Math.round(o.backoff.giveUpMs / 1000)} s; giving up` };
        continue;
      }
      // A refused join (another run, another model, a rank too low) or a refused token needs a person to act.
      if (FATAL.has(e.code) || joining) return { kind: 'failed', message: `${prefix} ${e.message}` };
      if (e.code === 'failed_precondition') {
        // Asking for work failed: the server forgot this client (it restarted) or runs another run; joining again tells which.
        joined = null;
        continue;
      }
      say(`${prefix} ${e.message}`);
      await sleep(1000, o.signal);
    }
  }
  return { kind: 'stopped' };
}
