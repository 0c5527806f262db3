/**
 * The status page's picture of a served run, from the coordinator's
 * registry and open round, the rounds completed so far, and the recent
 * events. A joined client not heard from for two poll intervals (while it
 * is not training) is shown as gone.
 */
import type { RoundMetrics } from '../simulation.js';
import type { ClientRegistry } from './client-registry.js';
import type { RoundBook } from './round-book.js';
import type { StatusSnapshot } from './status-page.js';

export interface SnapshotSources {
  runId: string;
  name: string;
  method: string;
  totalRounds: number;
  registry: ClientRegistry;
  book: RoundBook;
  rounds: readonly RoundMetrics[];
  events: StatusSnapshot['events'];
  phase: 'waiting-for-clients' | 'running' | 'finished' | 'stopping';
  pollMs: number;
  now: number;
}

export function statusSnapshot(s: SnapshotSources): StatusSnapshot {
  const state: StatusSnapshot['state'] = s.phase === 'running' ? (s.book.isOpen() ? 'round-open' : 'aggregating') : s.phase;
  const metricName = s.rounds.find((m) => m.metric)?.metric ?? '';
  return {
    runId: s.runId,
    name: s.name,
    method: s.method,
    state,
    round: s.book.currentRound(),
    totalRounds: s.totalRounds,
    roundDeadlineUnixMs: s.book.isOpen() ? s.book.deadline() : null,
    metricName,
    clients: s.registry.all().map((c) => {
      const training = s.book.pendingJob(c.info.id)?.status === 'sent';
      const quiet = c.lastSeenUnixMs === null || s.now - c.lastSeenUnixMs > 2 * s.pollMs;
      const clientState = !c.joined ? 'never-joined' : training ? 'training' : quiet ? 'gone' : 'idle';
      return { id: c.info.id, rank: c.info.rank, state: clientState, lastSeenUnixMs: c.lastSeenUnixMs, accepted: c.accepted, rejected: c.rejected };
    }),
    rounds: s.rounds
      .filter((m) => m.round > 0)
      .map((m) => ({
        round: m.round,
        metric: m.test_metric,
        trainLoss: m.train_loss,
        accepted: m.sampled.length - m.rejected.length - m.dropped.length,
        rejected: m.rejected.length,
        dropped: m.dropped.length,
        seconds: m.seconds,
      })),
    events: s.events,
  };
}
