/**
 * The server's side of a networked run. It is the round loop's ClientRunner
 * (so a served run goes through exactly the simulation's sampling,
 * aggregation, evaluation and checkpoints) and the FederationService the
 * gRPC layer calls. A round opens with the sampled clients' messages; each
 * sampled client fetches its message, trains and submits; an upload is
 * checked (run, round, sampling, replay, size, then the method's own
 * validation) when it arrives, so a refused one is answered with its reason
 * and never reaches aggregation. The round closes when every sampled client
 * has answered or at its deadline; whoever has not answered by then is
 * dropped and a later upload for that round is refused.
 */
import type { ClientJob, ClientOutcome, ClientRunner } from '../client-runner.js';
import type { ClientData } from '../client-data.js';
import type { Method } from '../../methods/method.js';
import { decodePayload, encodePayload, type Payload } from '../../methods/payload.js';
import { defined } from '../../util/checked.js';
import {
  FederationError,
  type FederationService,
  type JoinReply,
  type JoinRequest,
  type ResultHeader,
  type RunInfo,
  type SubmitReply,
  type TaskReply,
} from '../../transport/service.js';
import { createClientRegistry, type ClientRegistry } from './client-registry.js';
import { createRoundBook, type OpenJob, type RoundBook } from './round-book.js';
import type { EventSink } from './event-log.js';

export interface CoordinatorOptions {
  runId: string;
  /** the resolved run config, as clients receive it */
  runConfigJson: string;
  totalRounds: number;
  method: Method;
  /** the run's clients; their ClientInfo objects take the rank and example count each declares when it joins */
  clients: ClientData[];
  /** the global rank R: the largest rank a client may declare */
  maxRank: number;
  modelFingerprint: string;
  tokens: { clientIdOf(token: string): number | null };
  events: EventSink;
  roundTimeoutMs: number;
  pollMaxMs: number;
  chunkBytes: number;
  maxResultBytes: number;
  /** rounds a resumed run completed before this server started */
  completedRounds?: number;
  /** the status page's data, served by GetStatus too */
  status: () => unknown;
  now?: () => number;
}

export interface Coordinator extends FederationService, ClientRunner {
  readonly registry: ClientRegistry;
  readonly book: RoundBook;
  /** resolves with the number joined once `count` clients have joined, or at the timeout with however many have */
  waitForClients(count: number, timeoutMs: number, signal?: AbortSignal): Promise<number>;
  /** the run is over: waiting clients are told so */
  finish(): void;
}

const fail = (code: ConstructorParameters<typeof FederationError>[0], message: string): never => {
  throw new FederationError(code, message);
};

export function createCoordinator(o: CoordinatorOptions): Coordinator {
  const now = o.now ?? Date.now;
  const registry = createClientRegistry(o.clients.map((c) => c.info));
  const book = createRoundBook(o.events, now, o.completedRounds ?? 0);
  let finished = false;

  const checkRun = (runId: string): void => {
    if (runId !== o.runId)
      fail('failed_precondition', `this server runs run ${o.runId}, not ${runId || '(none)'}: start the client again to join the current run`);
  };
  const joined = (caller: number) => {
    const c = registry.get(caller);
    if (!c?.joined) return fail('failed_precondition', `client ${caller} has not joined this server: join first (the server may have restarted)`);
    registry.touch(caller, now());
    return c;
  };
  const taskFor = (job: OpenJob, round: number): TaskReply => ({
    status: 'task',
    runId: o.runId,
    round,
    clientId: job.job.client.info.id,
    rank: job.job.client.info.rank,
    totalRounds: o.totalRounds,
    deadlineUnixMs: book.deadline(),
    message: job.bytes,
  });

  /** the open round's job this result settles, or why it cannot settle any */
  const resultJob = (caller: number, h: ResultHeader): OpenJob => {
    checkRun(h.runId);
    if (h.clientId !== caller) fail('permission_denied', `this token belongs to client ${caller}, not client ${h.clientId}`);
    joined(caller);
    return book.jobForResult(caller, h.round);
  };
  /** settles the client's job as refused (it is left out of the round), logs why, and throws the error the client sees */
  const refuseResult = (caller: number, h: ResultHeader, error: FederationError, reason = error.message): never => {
    const job = resultJob(caller, h);
    const c = registry.get(caller);
    if (c) c.rejected++;
    book.settle(job, { failure: 'rejected', reason });
    o.events.log('result_rejected', { client: caller, round: h.round, code: error.code, reason });
    throw error;
  };

  return {
    registry,
    book,
    runId: () => o.runId,
    chunkBytes: () => o.chunkBytes,
    maxResultBytes: () => o.maxResultBytes,

    authenticate(token) {
      if (!token) return fail('unauthenticated', 'the call carries no token: pass --token (the operator creates one with `fedplora tokens create`)');
      const id = o.tokens.clientIdOf(token);
      if (id === null)
        return fail('unauthenticated', 'the server does not know this token: check --token, or ask the operator for a new one (`fedplora tokens create`)');
      return id;
    },

    getRun(caller): RunInfo {
      registry.touch(caller, now());
      return {
        runId: o.runId,
        runConfigJson: o.runConfigJson,
        modelFingerprint: o.modelFingerprint,
        clientRanks: registry.all().map((c) => c.configuredRank),
        currentRound: book.currentRound(),
        totalRounds: o.totalRounds,
        chunkBytes: o.chunkBytes,
        maxResultBytes: o.maxResultBytes,
      };
    },

    join(caller, req: JoinRequest): JoinReply {
      checkRun(req.runId);
      if (req.clientId !== caller) fail('permission_denied', `this token belongs to client ${caller}, not client ${req.clientId}`);
      const c = registry.get(req.clientId);
      if (!c) return fail('not_found', `the run has clients 0..${registry.size - 1}; there is no client ${req.clientId}`);
      if (req.modelFingerprint !== o.modelFingerprint) {
        fail(
          'failed_precondition',
          `client ${req.clientId} loaded another base model than the server (fingerprint ${req.modelFingerprint.slice(0, 12)}, the server's ${o.modelFingerprint.slice(0, 12)}): use the same model folder`,
        );
      }
      if (!Number.isSafeInteger(req.numExamples) || req.numExamples < 1)
        fail('invalid_argument', `client ${req.clientId} declares ${req.numExamples} training examples; it needs at least one`);
      const rank = req.rank === 0 ? c.configuredRank : req.rank;
      if (!Number.isInteger(rank) || rank < 1 || rank > o.maxRank)
        fail('invalid_argument', `client ${req.clientId} declares rank ${rank}, outside 1..${o.maxRank} (the run's global rank R)`);
      const least = o.method.minClientRank ?? 1;
      if (rank < least)
        fail(
          'failed_precondition',
          `client ${req.clientId} declares rank ${rank}, but ${o.method.server.name} trains every client at rank ${least}: join with --rank ${least} or more`,
        );
      const again = registry.join(req.clientId, rank, req.numExamples, now());
      // A joining client holds no device state from before: methods that remember what they sent it start over.
      if (o.method.server.clientReset) {
        o.method.server.clientReset(req.clientId);
        book.reconfigure(req.clientId, (job) => o.method.server.configure(job.round, job.client.info));
      }
      o.events.log(again ? 'client_rejoined' : 'client_joined', { client: req.clientId, rank, examples: req.numExamples, joins: c.joins });
      book.notify();
      return { runId: o.runId, clientId: req.clientId, rank, currentRound: book.currentRound() };
    },

    async fetchTask(caller, req, signal) {
      checkRun(req.runId);
      joined(caller);
      const until = now() + Math.min(Math.max(0, req.waitSeconds) * 1000, o.pollMaxMs);
      for (;;) {
        if (finished) return { status: 'done', runId: o.runId, totalRounds: o.totalRounds };
        const job = book.pendingJob(caller);
        if (job) {
          const first = job.status === 'pending';
          job.status = 'sent';
          o.events.log('task_sent', { client: caller, round: job.job.round, bytes: job.bytes.length, again: !first });
          return taskFor(job, job.job.round);
        }
        const left = until - now();
        if (left <= 0 || signal.aborted) return { status: 'wait', runId: o.runId, totalRounds: o.totalRounds };
        await book.changed(left, signal);
        registry.touch(caller, now());
      }
    },

    checkResultHeader(caller, h: ResultHeader) {
      resultJob(caller, h);
      if (h.totalBytes > o.maxResultBytes) {
        refuseResult(
          caller,
          h,
          new FederationError('resource_exhausted', `the result is ${h.totalBytes} bytes, over the server's limit of ${o.maxResultBytes} (server.maxResultMb)`),
        );
      }
    },

    refuseResult,

    submitResult(caller, h, update): SubmitReply {
      this.checkResultHeader(caller, h);
      const job = resultJob(caller, h);
      const info = job.job.client.info;
      const refuse = (reason: string): never =>
        refuseResult(caller, h, new FederationError('invalid_argument', `round ${h.round}: the server refused this result: ${reason}`), reason);
      let payload: Payload;
      try {
        payload = decodePayload(update, `update from client ${caller}`);
        o.method.server.validate(h.round, { client: info, payload });
      } catch (e) {
        return refuse((e as Error).message);
      }
      if (!Number.isFinite(h.trainLoss) || !Number.isFinite(h.trainSeconds))
        return refuse(`train_loss ${h.trainLoss} and train_seconds ${h.trainSeconds} must be finite`);
      defined(registry.get(caller), `registered client ${caller}`).accepted++;
      o.events.log('result_accepted', { client: caller, round: h.round, bytes: update.length, loss: h.trainLoss, seconds: h.trainSeconds });
      book.settle(job, { update: payload, updateBytes: update.length, loss: h.trainLoss, seconds: h.trainSeconds, trainableParameters: h.trainableParameters });
      return { round: h.round, accepted: true, message: `round ${h.round}: result accepted` };
    },

    async run(jobs: ClientJob[], onDone?: (done: number) => void): Promise<ClientOutcome[]> {
      const open = jobs.map((job) => ({ job, bytes: job.encoded ?? encodePayload(job.message) }));
      const absent = (id: number): string | null => (registry.get(id)?.joined ? null : 'not connected when the round opened');
      return book.open(open, o.roundTimeoutMs, absent, onDone);
    },

    async close() {
      book.abort('the server is stopping');
    },

    async waitForClients(count, timeoutMs, signal) {
      const until = now() + timeoutMs;
      while (registry.joinedCount() < count && now() < until && !signal?.aborted) await book.changed(until - now(), signal);
      return registry.joinedCount();
    },

    finish() {
      finished = true;
      o.events.log('run_finished', { rounds: o.totalRounds });
      book.notify();
    },

    status: () => o.status(),
  };
}
