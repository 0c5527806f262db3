/**
 * A served run in this process on loopback: the tiny model, a coordinator
 * as the round loop's runner, the real gRPC server, and a token per client,
 * so tests act as network clients with the real gRPC client.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFedPlora } from '../../src/methods/fed-plora.js';
import type { Method, MethodContext } from '../../src/methods/method.js';
import { modelFingerprint } from '../../src/model/fingerprint.js';
import { createCoordinator, type Coordinator } from '../../src/federation/network/coordinator.js';
import { createEventLog, type EventLog } from '../../src/federation/network/event-log.js';
import { createTokens, loadTokenStore } from '../../src/federation/network/token-store.js';
import { runSimulation, type RoundMetrics } from '../../src/federation/simulation.js';
import type { ClientData } from '../../src/federation/client-data.js';
import { startFederationServer, type FederationServer } from '../../src/transport/grpc-server.js';
import { createFederationClient, type FederationClient } from '../../src/transport/grpc-client.js';
import { got } from '../../src/util/checked.js';
import { LOCAL, tinyClients, tinyContext } from './federation-setup.js';

export interface ServedRun {
  ctx: MethodContext;
  method: Method;
  clients: ClientData[];
  coordinator: Coordinator;
  server: FederationServer;
  events: EventLog;
  tokens: Map<number, string>;
  fingerprint: string;
  runId: string;
  /** a gRPC client holding client `id`'s token (or the given one) */
  connect(id: number, token?: string): FederationClient;
  /** the rounds, once the run has finished */
  done: Promise<RoundMetrics[]>;
  stop(): Promise<void>;
}

export interface ServedRunOptions {
  ranks: number[];
  rounds: number;
  clientsPerRound: number;
  roundTimeoutMs: number;
  maxResultBytes?: number;
  method?: (ctx: MethodContext) => Method;
  runDir?: string;
}

export async function startServedRun(o: ServedRunOptions): Promise<ServedRun> {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, o.ranks);
  const method = (o.method ?? createFedPlora)(ctx);
  const store = join(mkdtempSync(join(tmpdir(), 'fedplora-served-')), 'tokens.json');
  const issued = createTokens(
    store,
    clients.map((c) => c.info.id),
  );
  const tokens = new Map(issued.map((t) => [t.clientId, t.token]));
  const events = createEventLog();
  const fingerprint = modelFingerprint(ctx.config, ctx.base);
  const runId = 'test-run';
  const coordinator = createCoordinator({
    runId,
    runConfigJson: '{}',
    totalRounds: o.rounds,
    method,
    clients,
    maxRank: ctx.rank,
    modelFingerprint: fingerprint,
    tokens: loadTokenStore(store),
    events,
    roundTimeoutMs: o.roundTimeoutMs,
    pollMaxMs: 2000,
    chunkBytes: 4096,
    maxResultBytes: o.maxResultBytes ?? 256 * 1024,
    status: () => ({ runId }),
  });
  const server = await startFederationServer(coordinator, { host: '127.0.0.1', port: 0 });
  const open: FederationClient[] = [];
  const connect = (id: number, token?: string): FederationClient => {
    const c = createFederationClient({ url: server.url, token: token ?? got(tokens, id, 'client tokens') });
    open.push(c);
    return c;
  };
  const noEval = () => ({ metric: 'accuracy' as const, value: 0, scores: {}, examples: 0, seconds: 0 });
  const done = (async () => {
    await coordinator.waitForClients(clients.length, 30_000);
    const m = await runSimulation(method, ctx, clients, noEval, {
      rounds: o.rounds,
      clientsPerRound: o.clientsPerRound,
      evalEvery: 100,
      local: LOCAL,
      measureNoise: false,
      resume: Boolean(o.runDir),
      runner: coordinator,
      ...(o.runDir ? { runDir: o.runDir } : {}),
    });
    coordinator.finish();
    return m;
  })();
  return {
    ctx,
    method,
    clients,
    coordinator,
    server,
    events,
    tokens,
    fingerprint,
    runId,
    connect,
    done,
    async stop() {
      for (const c of open) c.close();
      coordinator.book.abort('the test is over');
      await server.close();
    },
  };
}
