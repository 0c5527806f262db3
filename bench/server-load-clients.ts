/**
 * The client process of the server load benchmark (forked by
 * server-load.ts): it hosts every client of the run, each with its own gRPC
 * connection and token, over loopback. A client does what `fedplora join`
 * does except the training: it decodes its task, builds its local model with
 * the method's client half (`prepare`), adds small noise to the assigned
 * modules it received so the server averages distinct updates, and sends
 * them back (`upload`). Any error ends that client and is reported, so the
 * server's accounting (drops, refusals) is what the benchmark measures.
 */
import { encodePayload, decodePayload } from '../src/methods/payload.js';
import { createFedPlora } from '../src/methods/fed-plora.js';
import type { ClientInfo, ClientMethod, LocalModel } from '../src/methods/method.js';
import { modelFingerprint } from '../src/model/fingerprint.js';
import { createFederationClient } from '../src/transport/grpc-client.js';
import { at } from '../src/util/checked.js';
import { createRng, mixSeed } from '../src/util/random.js';
import { benchContext, examplesOf, type ModelPreset } from './server-load-model.js';

export interface ClientsStart {
  url: string;
  runId: string;
  tokens: { clientId: number; token: string }[];
  model: ModelPreset;
  /** long-poll length of each FetchTask */
  waitSeconds: number;
  /** standard deviation of the noise added to each returned value */
  noise: number;
}

export interface ClientStats {
  clientId: number;
  rounds: number;
  accepted: number;
  refused: string[];
  bytesUp: number;
  bytesDown: number;
  /** time from receiving a task to its accepted reply, in ms, one entry per round */
  turnaroundMs: number[];
  /** set when the client stopped on an error instead of hearing that the run is done */
  error?: string;
}

export interface ClientsSummary {
  clients: ClientStats[];
  maxRssKb: number;
  /** CPU time of the whole client process: near the run's wall time means the clients, not the server, set the pace */
  cpuSeconds: number;
}

function perturb(local: LocalModel, seed: number, std: number): void {
  if (std === 0) return;
  const rng = createRng(seed);
  for (const layer of local.adapter.layers) {
    for (const pair of Object.values(layer)) {
      for (const x of [pair.A, pair.B]) for (const [i, v] of x.entries()) x[i] = v + std * rng.normal();
    }
  }
}

async function runClient(start: ClientsStart, clientId: number, token: string, method: ClientMethod, fingerprint: string, seed: number): Promise<ClientStats> {
  const stats: ClientStats = { clientId, rounds: 0, accepted: 0, refused: [], bytesUp: 0, bytesDown: 0, turnaroundMs: [] };
  const connection = createFederationClient({ url: start.url, token, timeoutMs: 60_000 });
  try {
    const run = await connection.getRun(clientId);
    if (run.runId !== start.runId) throw new Error(`the server runs ${run.runId}, not ${start.runId}`);
    const numExamples = examplesOf(clientId);
    await connection.join({
      runId: run.runId,
      clientId,
      rank: at(run.clientRanks, clientId, 'the rank of the client'),
      numExamples,
      modelFingerprint: fingerprint,
    });
    for (;;) {
      const task = await connection.fetchTask({ runId: run.runId, clientId, waitSeconds: start.waitSeconds });
      if (task.status === 'done') return stats;
      if (task.status === 'wait') continue;
      const received = performance.now();
      stats.rounds++;
      stats.bytesDown += task.message.length;
      const info: ClientInfo = { id: clientId, rank: task.rank, numExamples };
      const local = method.prepare(decodePayload(task.message, `round ${task.round} message to client ${clientId}`), info);
      perturb(local, mixSeed(seed, task.round, clientId), start.noise);
      const update = encodePayload(method.upload(local, info));
      const trainableParameters = local.adapter.layers.reduce((n, layer) => n + Object.values(layer).reduce((m, p) => m + p.A.length + p.B.length, 0), 0);
      try {
        // No training happened: the loss is a placeholder and the seconds are the time spent building the update.
        await connection.submitResult(
          { runId: run.runId, round: task.round, clientId, trainLoss: 0, trainSeconds: (performance.now() - received) / 1000, trainableParameters },
          update,
        );
        stats.accepted++;
        stats.bytesUp += update.length;
        stats.turnaroundMs.push(performance.now() - received);
      } catch (e) {
        // A refusal is the server's verdict on this round, not the end of the client: it waits for its next task.
        stats.refused.push(`round ${task.round}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    stats.error = (e as Error).message;
    return stats;
  } finally {
    connection.close();
  }
}

async function runAll(start: ClientsStart): Promise<ClientsSummary> {
  const ctx = benchContext(start.model);
  // Fed-PLoRA's client half is stateless, so one instance serves every hosted client.
  const method = createFedPlora(ctx);
  const fingerprint = modelFingerprint(ctx.config, ctx.base);
  const clients = await Promise.all(start.tokens.map(({ clientId, token }) => runClient(start, clientId, token, method.client, fingerprint, ctx.seed)));
  const cpu = process.cpuUsage();
  return { clients, maxRssKb: process.resourceUsage().maxRSS, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

// Without its parent there is nobody to report to: end rather than linger.
process.on('disconnect', () => process.exit(1));
process.once('message', (start: ClientsStart) => {
  runAll(start).then(
    (summary) => {
      if (!process.send) throw new Error('server-load clients: no parent process to report to');
      process.send(summary, () => process.exit(0));
    },
    (e: Error) => {
      process.stderr.write(`server-load clients: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
});
