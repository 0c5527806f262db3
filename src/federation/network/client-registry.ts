/**
 * The clients a server knows: which of the run's client ids have joined
 * since it started, with the rank and example count each declared, when it
 * was last heard from, and how many of its results were accepted or refused.
 * The ClientInfo objects are the ones the round loop reads, so a rank
 * declared at join time is the rank the method configures from then on.
 */
import type { ClientInfo } from '../../methods/method.js';

export interface RegisteredClient {
  info: ClientInfo;
  /** the rank the run config gives this client, whatever it declares */
  configuredRank: number;
  joined: boolean;
  /** joins since the server started (more than one: the client restarted or lost its connection) */
  joins: number;
  lastSeenUnixMs: number | null;
  accepted: number;
  rejected: number;
}

export interface ClientRegistry {
  readonly size: number;
  get(id: number): RegisteredClient | undefined;
  all(): RegisteredClient[];
  joinedCount(): number;
  /** records a join; returns true when this client had joined before (a rejoin) */
  join(id: number, rank: number, numExamples: number, now: number): boolean;
  touch(id: number, now: number): void;
}

export function createClientRegistry(infos: readonly ClientInfo[]): ClientRegistry {
  const clients = infos.map(
    (info): RegisteredClient => ({ info, configuredRank: info.rank, joined: false, joins: 0, lastSeenUnixMs: null, accepted: 0, rejected: 0 }),
  );
  return {
    size: clients.length,
    get: (id) => clients[id],
    all: () => clients,
    joinedCount: () => clients.filter((c) => c.joined).length,
    join(id, rank, numExamples, now) {
      const c = clients[id];
      if (!c) throw new RangeError(`no client ${id}`);
      const again = c.joined;
      c.info.rank = rank;
      c.info.numExamples = numExamples;
      c.joined = true;
      c.joins++;
      c.lastSeenUnixMs = now;
      return again;
    },
    touch(id, now) {
      const c = clients[id];
      if (c) c.lastSeenUnixMs = now;
    },
  };
}
