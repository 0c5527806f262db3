/**
 * Load benchmark of the federation server: the real coordinator and gRPC
 * server in this process on 127.0.0.1, running Fed-PLoRA rounds through
 * runSimulation (real validation, aggregation and checkpoints in a temporary
 * run folder), with every client in one forked process talking gRPC over
 * loopback (server-load-clients.ts). Clients do not train, so the numbers
 * are the server's: transport, upload checks, aggregation, checkpoints.
 * Prints one JSON line on stdout and a table on stderr; exits 1 if any
 * sampled client's result was lost.
 *
 *   npm run bench:server
 *   npm run bench:server -- --clients 200 --rounds 3 --per-round 100 --model tiny
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createCoordinator } from '../src/federation/network/coordinator.js';
import { createEventLog } from '../src/federation/network/event-log.js';
import { createTokens, loadTokenStore } from '../src/federation/network/token-store.js';
import { runSimulation, type RoundMetrics } from '../src/federation/simulation.js';
import type { ClientData } from '../src/federation/client-data.js';
import { createFedPlora } from '../src/methods/fed-plora.js';
import type { MethodContext } from '../src/methods/method.js';
import { modelFingerprint } from '../src/model/fingerprint.js';
import { projectionShape } from '../src/model/weights.js';
import { startFederationServer } from '../src/transport/grpc-server.js';
import { at } from '../src/util/checked.js';
import type { ClientsStart, ClientsSummary } from './server-load-clients.js';
import { benchContext, isModelPreset, MODEL_PRESETS, rankOf } from './server-load-model.js';
import { createServerRecorder, sampleHeap, type RoundRecord } from './server-load-record.js';

const CLIENTS_SCRIPT = fileURLToPath(new URL('./server-load-clients.js', import.meta.url));
const HOST = '127.0.0.1';
const POLL_SECONDS = 20;
const START_TIMEOUT_MS = 60_000;
const NOTE =
  'clients do not train: each returns the modules it was assigned, with small noise added, so this measures the server (transport, upload checks, aggregation, checkpoints), not training';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '5' },
    'per-round': { type: 'string' },
    model: { type: 'string', default: 'small' },
    'round-timeout': { type: 'string', default: '60' },
    noise: { type: 'string', default: '0.001' },
    keep: { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
}

const numClients = positiveInt('clients', values.clients);
const rounds = positiveInt('rounds', values.rounds);
const perRound = positiveInt('per-round', values['per-round'] ?? values.clients);
const roundTimeoutMs = positiveInt('round-timeout', values['round-timeout']) * 1000;
const noise = Number(values.noise);
const model = values.model;
if (perRound > numClients) throw new Error(`--per-round ${perRound} is more than the ${numClients} clients`);
if (!isModelPreset(model)) throw new Error(`--model must be one of ${MODEL_PRESETS.join(', ')}, got ${model}`);
if (!Number.isFinite(noise) || noise < 0) throw new Error(`--noise must be a non-negative number, got ${values.noise}`);

/** serve-run.ts's result limit: twice a full rank-R fp32 adapter plus 1 MiB. */
function maxResultBytes(ctx: MethodContext): number {
  let values = 0;
  for (const t of ctx.targets) {
    const [out, inF] = projectionShape(ctx.config, t);
    values += ctx.rank * (out + inF);
  }
  return 2 * 4 * values * ctx.config.numLayers + 1024 * 1024;
}

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

function table(rows: RoundRecord[]): string {
  const head = [
    'round',
    'sampled',
    'accepted',
    'rejected',
    'dropped',
    'prepare ms',
    'open→close ms',
    'server cpu ms',
    'validate ms',
    'aggregate ms',
    'close→saved ms',
    'up MB',
    'down MB',
  ];
  const body = rows.map((r) =>
    [
      r.round,
      r.sampled,
      r.accepted,
      r.rejected,
      r.dropped,
      r.prepare_ms,
      r.open_to_close_ms,
      r.server_cpu_open_ms,
      r.validate_ms,
      r.aggregate_ms,
      r.close_to_saved_ms,
      mb(r.bytes_up),
      mb(r.bytes_down),
    ].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => at(b, i, `${h} cell`).length)));
  return [head, ...body].map((cells) => cells.map((c, i) => c.padStart(at(widths, i, 'column width'))).join('  ')).join('\n');
}

const ctx = benchContext(model);
const runDir = mkdtempSync(join(tmpdir(), 'fedplora-server-load-'));
const recorder = createServerRecorder();
const method = recorder.timed(createFedPlora(ctx));
// The server knows each client's id and configured rank; the rank and example count it uses are the ones the client declares on joining.
const clients: ClientData[] = Array.from({ length: numClients }, (_, id) => ({ info: { id, rank: rankOf(id, ctx.rank), numExamples: 1 }, examples: [] }));
const ids = clients.map((c) => c.info.id);
const storePath = join(runDir, 'tokens.json');
const issued = createTokens(storePath, ids, 'server-load');
const events = createEventLog({ file: join(runDir, 'events.jsonl') });
const callErrors: Record<string, number> = {};
const runId = randomUUID();
const coordinator = createCoordinator({
  runId,
  runConfigJson: JSON.stringify({ bench: 'server-load', model, clients: numClients, rounds, perRound }),
  totalRounds: rounds,
  method,
  clients,
  maxRank: ctx.rank,
  modelFingerprint: modelFingerprint(ctx.config, ctx.base),
  tokens: loadTokenStore(storePath),
  events: recorder.sink(events),
  roundTimeoutMs,
  pollMaxMs: POLL_SECONDS * 1000,
  chunkBytes: 1024 * 1024,
  maxResultBytes: maxResultBytes(ctx),
  status: () => ({}),
});
const grpc = await startFederationServer(coordinator, {
  host: HOST,
  port: 0,
  onCallError: (rpc, e) => {
    callErrors[`${rpc} ${e.code}`] = (callErrors[`${rpc} ${e.code}`] ?? 0) + 1;
  },
});

const heap = sampleHeap();
const stop = new AbortController();
let runOver = false;
let childTrouble: string | null = null;
const child = fork(CLIENTS_SCRIPT, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const summary = new Promise<ClientsSummary | null>((resolve) => {
  child.once('message', (m) => resolve(m as ClientsSummary));
  child.once('exit', () => resolve(null));
});
// A client process that dies mid-run would leave every round waiting for its deadline: stop at once instead.
child.once('exit', (code, signal) => {
  if (runOver) return;
  childTrouble = `the client process exited (${signal ?? `code ${code}`}) before the run finished`;
  stop.abort();
  coordinator.book.abort(childTrouble);
});
child.send({ url: grpc.url, runId, tokens: issued, model, waitSeconds: POLL_SECONDS, noise } satisfies ClientsStart);

const started = performance.now();
let metrics: RoundMetrics[] = [];
let clientSummary: ClientsSummary | null = null;
try {
  const joined = await coordinator.waitForClients(numClients, START_TIMEOUT_MS, stop.signal);
  if (joined < numClients) throw new Error(childTrouble ?? `only ${joined} of ${numClients} clients joined within ${START_TIMEOUT_MS / 1000} s`);
  const joinedAfterMs = performance.now() - started;
  const roundsStarted = performance.now();
  const cpuAtStart = process.cpuUsage();
  // The runner is the coordinator, so `local` is never used; evaluation is a no-op because it is not what is measured here.
  const noEval = () => ({ metric: 'accuracy' as const, value: 0, scores: {}, examples: 0, seconds: 0 });
  metrics = await runSimulation(
    method,
    ctx,
    clients,
    noEval,
    {
      rounds,
      clientsPerRound: perRound,
      evalEvery: rounds,
      measureNoise: false,
      runDir,
      resume: false,
      runner: coordinator,
      minResults: 1,
      signal: stop.signal,
      local: { steps: 1, epochs: 0, batchSize: 1, optimizer: { lr: 0 }, maxGradNorm: 1, padId: 0, packTo: 0 },
    },
    { onRound: (m) => recorder.saved(m.round) },
  );
  const runSeconds = (performance.now() - roundsStarted) / 1000;
  const serverCpu = process.cpuUsage(cpuAtStart);
  runOver = true;
  coordinator.finish();
  // Every client hears 'done' on its next FetchTask, at the latest one long-poll from now.
  clientSummary = await Promise.race([summary, delay((POLL_SECONDS + 10) * 1000, null, { ref: false })]);
  heap.stop();

  const rows = recorder.rows(metrics);
  const counts = recorder.eventCounts();
  const droppedEvents = counts['client_dropped'] ?? 0;
  const rejectedEvents = counts['result_rejected'] ?? 0;
  const missingRounds = rounds - rows.length;
  // Counted two ways, from round_closed's counts and from the drop and refusal events, so a disagreement between them cannot hide a loss.
  const lost = Math.max(rows.reduce((n, r) => n + r.sampled - r.accepted, 0) + missingRounds * perRound, droppedEvents + rejectedEvents);
  const sum = (f: (r: RoundRecord) => number): number => rows.reduce((s, r) => s + f(r), 0);
  const mean = (f: (r: RoundRecord) => number): number => Math.round((sum(f) / Math.max(1, rows.length)) * 10) / 10;
  const clientErrors = clientSummary?.clients.filter((c) => c.error).map((c) => `client ${c.clientId}: ${c.error}`) ?? ['the client process sent no summary'];
  const refusals = clientSummary?.clients.flatMap((c) => c.refused.map((r) => `client ${c.clientId} ${r}`)) ?? [];
  const turnarounds = clientSummary?.clients.flatMap((c) => c.turnaroundMs).sort((a, b) => a - b) ?? [];
  const quantile = (q: number): number => Math.round(turnarounds[Math.min(turnarounds.length - 1, Math.floor(q * turnarounds.length))] ?? NaN);
  const report = {
    bench: 'server-load',
    note: NOTE,
    model: {
      preset: model,
      hidden: ctx.config.hiddenSize,
      layers: ctx.config.numLayers,
      rank: ctx.rank,
      targets: ctx.targets,
      message_bytes: rows[0] ? Math.round(rows[0].bytes_down / rows[0].sampled) : null,
    },
    clients: numClients,
    per_round: perRound,
    rounds,
    round_timeout_s: roundTimeoutMs / 1000,
    joined_after_ms: Math.round(joinedAfterMs),
    rounds_s: Math.round(runSeconds * 100) / 100,
    per_round_detail: rows,
    mean: {
      prepare_ms: mean((r) => r.prepare_ms),
      open_to_close_ms: mean((r) => r.open_to_close_ms),
      server_cpu_open_ms: mean((r) => r.server_cpu_open_ms),
      validate_ms: mean((r) => r.validate_ms),
      aggregate_ms: mean((r) => r.aggregate_ms),
      close_to_saved_ms: mean((r) => r.close_to_saved_ms),
    },
    totals: {
      accepted: sum((r) => r.accepted),
      rejected: sum((r) => r.rejected),
      dropped: sum((r) => r.dropped),
      bytes_up: sum((r) => r.bytes_up),
      bytes_down: sum((r) => r.bytes_down),
    },
    server: {
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      heap_peak_mb: mb(heap.peakBytes()),
      heap_end_mb: mb(process.memoryUsage().heapUsed),
      cpu_s_during_rounds: Math.round(((serverCpu.user + serverCpu.system) / 1e6) * 100) / 100,
    },
    client_process: {
      peak_rss_mb: clientSummary ? Math.round(clientSummary.maxRssKb / 1024) : null,
      cpu_s: clientSummary ? Math.round(clientSummary.cpuSeconds * 100) / 100 : null,
      results_accepted: clientSummary?.clients.reduce((n, c) => n + c.accepted, 0) ?? null,
      turnaround_ms: { p50: quantile(0.5), p90: quantile(0.9), max: Math.round(turnarounds.at(-1) ?? NaN) },
      errors: clientErrors,
      refusals,
    },
    events: { client_dropped: droppedEvents, result_rejected: rejectedEvents, call_failed: counts['call_failed'] ?? 0, task_sent: counts['task_sent'] ?? 0 },
    call_errors: callErrors,
    lost,
    ...(childTrouble ? { failure: childTrouble } : {}),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.stderr.write(`${table(rows)}\n`);
  process.stderr.write(
    `server: peak RSS ${report.server.peak_rss_mb} MB, heap peak ${report.server.heap_peak_mb} MB, CPU ${report.server.cpu_s_during_rounds} s over ${report.rounds_s} s of rounds; ` +
      (clientSummary
        ? `client process: peak RSS ${report.client_process.peak_rss_mb} MB, CPU ${report.client_process.cpu_s} s\n`
        : 'the client process sent no summary\n'),
  );
  process.stderr.write(`lost ${lost} (client_dropped ${droppedEvents}, result_rejected ${rejectedEvents} in the event log); ${NOTE}\n`);
  if (values.keep) process.stderr.write(`run folder kept: ${runDir}\n`);
  if (lost > 0 || droppedEvents > 0 || rejectedEvents > 0 || clientErrors.length > 0) process.exitCode = 1;
} finally {
  heap.stop();
  runOver = true;
  await grpc.close();
  await events.close();
  if (child.exitCode === null && child.signalCode === null) child.kill();
  if (!values.keep) rmSync(runDir, { recursive: true, force: true });
}
