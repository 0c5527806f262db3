/**
 * A run served over the network: the simulation's round loop with the
 * coordinator as its client runner, the gRPC service and the status page
 * in front of it, and the same run folder as `fedplora run` (config,
 * metrics, round checkpoints, final adapter, report) plus `events.jsonl`
 * and `server.json` (the run id, kept across --resume).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildExperiment } from './build.js';
import { checkServable } from './build-client.js';
import type { RunConfig } from './config.js';
import { modelFingerprint } from '../model/fingerprint.js';
import { projectionShape } from '../model/weights.js';
import type { MethodContext } from '../methods/method.js';
import { startFederationServer } from '../transport/grpc-server.js';
import { runSimulation, type RoundMetrics } from '../federation/simulation.js';
import { checkpointedRounds } from '../federation/run-checkpoint.js';
import { createCoordinator } from '../federation/network/coordinator.js';
import { createEventLog, type EventLog } from '../federation/network/event-log.js';
import { statusSnapshot } from '../federation/network/status-snapshot.js';
import { startStatusPage } from '../federation/network/status-page.js';
import { loadTokenStore } from '../federation/network/token-store.js';

export interface ServeOptions {
  runDir: string;
  resume: boolean;
  /** called with every structured event line (the CLI prints them) */
  echo?: (line: string) => void;
  signal?: AbortSignal;
  /** told where the service and the status page listen once they do */
  onListening?: (where: { url: string; statusUrl: string | null }) => void;
}

export interface ServedRun {
  metrics: RoundMetrics[];
  experiment: Awaited<ReturnType<typeof buildExperiment>>;
}

/** Bytes of the largest update any method sends: a full rank-R adapter, each value in fp32. */
function fullAdapterBytes(ctx: MethodContext): number {
  let values = 0;
  for (const t of ctx.targets) {
    const [out, inF] = projectionShape(ctx.config, t);
    values += ctx.rank * (out + inF);
  }
  return 4 * values * ctx.config.numLayers;
}

function runIdOf(runDir: string, resume: boolean): string {
  const path = join(runDir, 'server.json');
  if (resume && existsSync(path)) {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { runId?: unknown };
    if (typeof saved.runId === 'string' && saved.runId) return saved.runId;
    throw new Error(`${path} holds no run id; the run folder is damaged (start the run again with --overwrite)`);
  }
  const runId = randomUUID();
  writeFileSync(path, `${JSON.stringify({ runId }, null, 2)}\n`);
  return runId;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read the TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function serveRun(config: RunConfig, o: ServeOptions): Promise<ServedRun> {
  checkServable(config);
  const s = config.server;
  const tokens = loadTokenStore(s.tokens);
  const tls = s.tls ? { cert: readPem(s.tls.cert, 'certificate'), key: readPem(s.tls.key, 'key') } : undefined;
  // The server trains nobody itself: it needs the clients' ranks and sizes, not their encoded examples.
  const experiment = await buildExperiment(config, { encodeClient: () => false });
  const { ctx, method } = experiment;
  const runId = runIdOf(o.runDir, o.resume);
  const events: EventLog = createEventLog({ file: join(o.runDir, 'events.jsonl'), ...(o.echo ? { echo: o.echo } : {}) });
  const metricsPath = join(o.runDir, 'metrics.jsonl');
  // The status page starts from the rounds a resumed run already has.
  let rounds: RoundMetrics[] =
    o.resume && existsSync(metricsPath)
      ? readFileSync(metricsPath, 'utf8')
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as RoundMetrics)
      : [];
  let phase: 'waiting-for-clients' | 'running' | 'finished' | 'stopping' = 'waiting-for-clients';
  const pollMs = s.pollSeconds * 1000;
  const coordinator = createCoordinator({
    runId,
    runConfigJson: JSON.stringify(config),
    totalRounds: config.rounds,
    method,
    clients: experiment.clients,
    maxRank: config.lora.rank,
    completedRounds: o.resume ? checkpointedRounds(o.runDir) : 0,
    modelFingerprint: modelFingerprint(ctx.config, ctx.base),
    tokens,
    events,
    roundTimeoutMs: s.roundTimeoutSeconds * 1000,
    pollMaxMs: pollMs,
    chunkBytes: s.chunkKb * 1024,
    maxResultBytes: Math.round(s.maxResultMb !== undefined ? s.maxResultMb * 1024 * 1024 : 2 * fullAdapterBytes(ctx) + 1024 * 1024),
    status: () =>
      statusSnapshot({
        runId,
        name: config.name,
        method: config.method.name,
        totalRounds: config.rounds,
        registry: coordinator.registry,
        book: coordinator.book,
        rounds,
        events: events.recent(50),
        phase,
        pollMs,
        now: Date.now(),
      }),
  });
  const grpc = await startFederationServer(coordinator, {
    host: s.host,
    port: s.port,
    ...(tls ? { tls } : {}),
    onCallError: (rpc, e) => {
      if (e.code === 'internal' || e.code === 'unauthenticated' || e.code === 'permission_denied')
        events.log('call_failed', { rpc, code: e.code, reason: e.message });
    },
  });
  const page =
    s.statusPort === null
      ? null
      : await startStatusPage({ host: s.host, port: s.statusPort, snapshot: () => coordinator.status() as ReturnType<typeof statusSnapshot> });
  const stop = (): void => {
    phase = 'stopping';
    events.log('server_stopping', {});
    coordinator.book.abort('the server is stopping');
  };
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    events.log('server_started', { run: runId, url: grpc.url, status: page?.url ?? null, tls: Boolean(tls), clients: config.clients, resume: o.resume });
    o.onListening?.({ url: grpc.url, statusUrl: page?.url ?? null });
    const wanted = s.startWith ?? config.clients;
    const joined = await coordinator.waitForClients(wanted, s.startTimeoutSeconds * 1000, o.signal);
    if (o.signal?.aborted) throw new Error('the server was stopped before the run started');
    if (joined < wanted) events.log('start_without_all', { joined, wanted, reason: `start timeout of ${s.startTimeoutSeconds} s` });
    phase = 'running';
    const metrics = await runSimulation(
      method,
      ctx,
      experiment.clients,
      experiment.evaluate,
      {
        ...experiment.simulation,
        runDir: o.runDir,
        resume: o.resume,
        runner: coordinator,
        minResults: s.minResults,
        ...(o.signal ? { signal: o.signal } : {}),
      },
      {
        onRound: (m) => {
          rounds = [...rounds.filter((r) => r.round !== m.round), m];
          appendFileSync(metricsPath, `${JSON.stringify(m)}\n`);
          events.log('round_finished', {
            round: m.round,
            metric_name: m.metric || null,
            metric: m.test_metric,
            train_loss: m.train_loss,
            aggregated: m.aggregated,
          });
        },
      },
    );
    if (o.signal?.aborted) throw new Error('the server was stopped; continue the run with --resume');
    phase = 'finished';
    coordinator.finish();
    // Give waiting clients a moment to hear that the run is over before the port closes.
    await coordinator.book.changed(Math.min(pollMs, 3000));
    return { metrics, experiment };
  } finally {
    await grpc.close();
    await page?.close();
    await events.close();
  }
}
