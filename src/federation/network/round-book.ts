/**
 * The open round of a served run: every sampled client's job and what has
 * become of it (waiting to be fetched, fetched, or settled with a result, a
 * refusal or a drop), the deadline, and which results may still come in.
 * Clients waiting for work wait on changes here.
 */
import type { ClientJob, ClientOutcome } from '../client-runner.js';
import { isFailure } from '../client-runner.js';
import { encodePayload, type Payload } from '../../methods/payload.js';
import { FederationError } from '../../transport/service.js';
import type { EventSink } from './event-log.js';

export interface OpenJob {
  job: ClientJob;
  /** the serialized message */
  bytes: Uint8Array;
  status: 'pending' | 'sent' | 'settled';
  outcome: ClientOutcome | null;
}

interface OpenRound {
  round: number;
  deadline: number;
  jobs: OpenJob[];
  settled: number;
  resolve: (outcomes: ClientOutcome[]) => void;
  timer: NodeJS.Timeout;
  onDone?: ((done: number) => void) | undefined;
}

export interface RoundBook {
  /** the open round, or the last closed one (0 before the first) */
  currentRound(): number;
  /** the open round's deadline (ms since the epoch), or 0 */
  deadline(): number;
  isOpen(): boolean;
  /**
   * Opens a round and resolves, one outcome per job in job order, when every
   * job is settled or at the deadline. Clients for which `absent` gives a
   * reason are dropped at once.
   */
  open(
    jobs: { job: ClientJob; bytes: Uint8Array }[],
    timeoutMs: number,
    absent: (clientId: number) => string | null,
    onDone?: (done: number) => void,
  ): Promise<ClientOutcome[]>;
  /** the client's job in the open round while it still waits for a result */
  pendingJob(clientId: number): OpenJob | null;
  /** the job a result for `round` from this client settles, or the reason it cannot be accepted */
  jobForResult(clientId: number, round: number): OpenJob;
  settle(job: OpenJob, outcome: ClientOutcome): void;
  /** rebuilds the message of an unsettled job (the client lost what it was sent before) */
  reconfigure(clientId: number, configure: (job: ClientJob) => Payload): void;
  /** closes the open round now, dropping whoever has not answered */
  abort(reason: string): void;
  notify(): void;
  /** resolves at the next notify(), after `ms`, or when the signal aborts */
  changed(ms: number, signal?: AbortSignal): Promise<void>;
}

const fail = (code: ConstructorParameters<typeof FederationError>[0], message: string): never => {
  throw new FederationError(code, message);
};

/** `completed`: rounds finished before this server started (a resumed run). */
export function createRoundBook(events: EventSink, now: () => number, completed = 0): RoundBook {
  let open: OpenRound | null = null;
  let lastClosed = completed;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  const close = (r: OpenRound, reason: string): void => {
    if (open !== r) return;
    clearTimeout(r.timer);
    for (const j of r.jobs) {
      if (j.status === 'settled') continue;
      j.status = 'settled';
      j.outcome = { failure: 'dropped', reason };
      events.log('client_dropped', { client: j.job.client.info.id, round: r.round, reason });
    }
    const outcomes = r.jobs.map((j) => j.outcome as ClientOutcome);
    const count = (f: (o: ClientOutcome) => boolean) => outcomes.filter(f).length;
    events.log('round_closed', {
      round: r.round,
      accepted: count((x) => !isFailure(x)),
      rejected: count((x) => isFailure(x) && x.failure === 'rejected'),
      dropped: count((x) => isFailure(x) && x.failure === 'dropped'),
    });
    open = null;
    lastClosed = r.round;
    notify();
    r.resolve(outcomes);
  };
  const settleInto = (r: OpenRound, job: OpenJob, outcome: ClientOutcome): void => {
    job.status = 'settled';
    job.outcome = outcome;
    r.settled++;
    r.onDone?.(r.settled);
  };
  const find = (r: OpenRound | null, clientId: number): OpenJob | undefined => r?.jobs.find((j) => j.job.client.info.id === clientId);

  return {
    currentRound: () => open?.round ?? lastClosed,
    deadline: () => open?.deadline ?? 0,
    isOpen: () => open !== null,
    open(jobs, timeoutMs, absent, onDone) {
      if (open) throw new Error(`round ${open.round} is still open`);
      const round = jobs[0]?.job.round ?? lastClosed + 1;
      return new Promise((resolve) => {
        const r: OpenRound = {
          round,
          deadline: now() + timeoutMs,
          jobs: jobs.map((j) => ({ ...j, status: 'pending', outcome: null })),
          settled: 0,
          resolve,
          onDone,
          timer: setTimeout(() => close(r, `no result by the round deadline (${Math.round(timeoutMs / 1000)} s)`), timeoutMs),
        };
        open = r;
        events.log('round_opened', { round, clients: jobs.map((j) => j.job.client.info.id), deadline: new Date(r.deadline).toISOString() });
        for (const j of r.jobs) {
          const why = absent(j.job.client.info.id);
          if (why === null) continue;
          settleInto(r, j, { failure: 'dropped', reason: why });
          events.log('client_dropped', { client: j.job.client.info.id, round, reason: why });
        }
        if (r.settled === r.jobs.length) close(r, 'every client answered');
        else notify();
      });
    },
    pendingJob(clientId) {
      const j = find(open, clientId);
      return j && j.status !== 'settled' ? j : null;
    },
    jobForResult(clientId, round) {
      if (!open || open.round !== round) {
        if (round <= lastClosed || (open && round < open.round)) {
          return fail(
            'failed_precondition',
            `round ${round} is closed (its deadline passed or every sampled client answered); this result was discarded and the client waits for its next round`,
          );
        }
        return fail('failed_precondition', `round ${round} has not opened; the current round is ${open?.round ?? lastClosed}`);
      }
      const j = find(open, clientId);
      if (!j) return fail('failed_precondition', `client ${clientId} was not sampled in round ${round}; only sampled clients submit results`);
      if (j.status === 'settled') {
        const o = j.outcome;
        if (o && !isFailure(o)) return fail('already_exists', `client ${clientId}'s result for round ${round} was already accepted; this copy was ignored`);
        return fail(
          'failed_precondition',
          `client ${clientId}'s result for round ${round} was already ${o && isFailure(o) ? `${o.failure} (${o.reason})` : 'settled'}; wait for the next round`,
        );
      }
      return j;
    },
    settle(job, outcome) {
      const r = open;
      if (!r?.jobs.includes(job) || job.status === 'settled') return;
      settleInto(r, job, outcome);
      if (r.settled === r.jobs.length) close(r, 'every client answered');
    },
    reconfigure(clientId, configure) {
      const j = find(open, clientId);
      if (!j || j.status === 'settled') return;
      const message = configure(j.job);
      j.bytes = encodePayload(message);
      j.job = { ...j.job, message, encoded: j.bytes };
      j.status = 'pending';
    },
    abort(reason) {
      if (open) close(open, reason);
    },
    notify,
    changed(ms, signal) {
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, ms));
        listeners.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
  };
}
