/**
 * The client loop's reactions, against a scripted connection: a server that
 * forgot the client gets it joined again; a server now running another run
 * ends the client with a message saying so instead of asking forever; an
 * unreachable server is waited out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runHostedClient, type FederationConnection } from '../src/federation/network/remote-client.js';
import { FederationError, type RunInfo, type TaskReply } from '../src/transport/service.js';
import type { ClientSide } from '../src/federation/network/remote-client.js';
import { tinyContext } from './helpers/federation-setup.js';

function scripted(runIds: string[], fetches: (() => TaskReply)[]): FederationConnection & { joins: number } {
  const conn = {
    joins: 0,
    getRun: async (): Promise<RunInfo> => ({
      runId: runIds.shift() ?? 'run-a',
      runConfigJson: '{}',
      modelFingerprint: 'f',
      clientRanks: [2],
      currentRound: 0,
      totalRounds: 1,
      chunkBytes: 1024,
      maxResultBytes: 1 << 20,
    }),
    join: async () => {
      conn.joins++;
      return { runId: 'run-a', clientId: 0, rank: 2, currentRound: 0 };
    },
    fetchTask: async (): Promise<TaskReply> => {
      const next = fetches.shift();
      if (!next) throw new Error('the script ran out');
      return next();
    },
    submitResult: async () => ({ round: 1, accepted: true, message: 'ok' }),
    close: () => {},
  };
  return conn;
}

const side = (): ClientSide => ({
  ctx: tinyContext(4),
  client: {
    prepare: () => {
      throw new Error('unused');
    },
    upload: () => {
      throw new Error('unused');
    },
  },
  local: {} as ClientSide['local'],
  fingerprint: 'f',
  examples: new Map([[0, [{ ids: [1, 2], labels: [1, 2] }]]]),
});
const options = (connection: FederationConnection, lines: string[]) => ({
  id: 0,
  connection,
  rank: 0,
  side: side(),
  runId: 'run-a',
  waitSeconds: 1,
  backoff: { initialMs: 1, maxMs: 2, giveUpMs: 1000 },
  say: (l: string) => void lines.push(l),
});
const refuse = (code: ConstructorParameters<typeof FederationError>[0], message: string) => (): TaskReply => {
  throw new FederationError(code, message);
};
const done = (): TaskReply => ({ status: 'done', runId: 'run-a', totalRounds: 1 });

test('a server that forgot the client (it restarted) gets it joined again, and the run ends normally', async () => {
  const lines: string[] = [];
  const conn = scripted([], [refuse('failed_precondition', 'client 0 has not joined this server: join first'), done]);
  assert.deepEqual(await runHostedClient(options(conn, lines)), { kind: 'finished', rounds: 1 });
  assert.equal(conn.joins, 2);
});

test('a server that now runs another run ends the client with a message, instead of asking again forever', async () => {
  const lines: string[] = [];
  const conn = scripted(['run-a', 'run-b'], [refuse('failed_precondition', 'this server runs run run-b, not run-a'), done]);
  const end = await runHostedClient(options(conn, lines));
  assert.equal(end.kind, 'failed');
  assert.match((end as { message: string }).message, /the server now runs run run-b, not run run-a .*start fedplora join again/);
});

test('an unreachable server is waited out with back-off, then the client joins again', async () => {
  const lines: string[] = [];
  const conn = scripted([], [refuse('unavailable', 'cannot reach the server'), refuse('unavailable', 'cannot reach the server'), done]);
  assert.deepEqual(await runHostedClient(options(conn, lines)), { kind: 'finished', rounds: 1 });
  assert.equal(lines.filter((l) => /retrying with back-off/.test(l)).length, 1, 'one line per outage, not per attempt');
  // it joins again after every failed attempt, since the server may have restarted in between
  assert.equal(conn.joins, 3);
});
