/**
 * Every method served on loopback, its clients running the device-side
 * client half of their own method instance (as a client process does),
 * ends exactly where the in-process simulation does. FLoRA's devices keep
 * their own merged base; one that restarts and joins again is sent the whole
 * history and still agrees.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loraTensors } from '../src/lora/adapter.js';
import { createFedIt } from '../src/methods/fedit.js';
import { createFlexLora } from '../src/methods/flexlora.js';
import { createFlora } from '../src/methods/flora.js';
import { createHetLora } from '../src/methods/hetlora.js';
import type { ClientMethod, Method, MethodContext } from '../src/methods/method.js';
import { decodePayload, encodePayload } from '../src/methods/payload.js';
import { runClientJob } from '../src/federation/client-runner.js';
import { runSimulation } from '../src/federation/simulation.js';
import { sampleClients } from '../src/federation/sampling.js';
import { weightTensors } from '../src/model/weights.js';
import { at, defined, got } from '../src/util/checked.js';
import { LOCAL, tinyClients } from './helpers/federation-setup.js';
import { startServedRun } from './helpers/served-run.js';

const RANKS = [1, 2, 4, 2];
const ROUNDS = 3;
const PER_ROUND = 3;

const METHODS: Record<string, (ctx: MethodContext) => Method> = {
  fedit: (ctx) => createFedIt(ctx, { rank: 1 }),
  hetlora: (ctx) => createHetLora(ctx),
  flexlora: (ctx) => createFlexLora(ctx),
  flora: (ctx) => createFlora(ctx),
};

for (const [name, make] of Object.entries(METHODS)) {
  test(`${name} served to device clients ends where the simulation does`, async () => {
    const run = await startServedRun({ ranks: RANKS, rounds: ROUNDS, clientsPerRound: PER_ROUND, roundTimeoutMs: 20_000, method: make });
    try {
      // The client side builds its own method instance, as another process would.
      let device: ClientMethod = (() => {
        const m = make(run.ctx);
        return m.deviceClient?.() ?? m.client;
      })();
      const conn = new Map(RANKS.map((_, id) => [id, run.connect(id)]));
      const join = (id: number) =>
        got(conn, id, 'connections').join({
          runId: run.runId,
          clientId: id,
          rank: 0,
          numExamples: at(run.clients, id, 'clients').info.numExamples,
          modelFingerprint: run.fingerprint,
        });
      for (const id of conn.keys()) await join(id);
      // One device process serves its clients one at a time, as a process hosting several does.
      for (let round = 1; round <= ROUNDS; round++) {
        const sampled = sampleClients(RANKS.length, PER_ROUND, run.ctx.seed, round);
        for (const id of sampled) {
          const c = got(conn, id, 'connections');
          let t = await c.fetchTask({ runId: run.runId, clientId: id, waitSeconds: 5 });
          while (t.status === 'wait') t = await c.fetchTask({ runId: run.runId, clientId: id, waitSeconds: 5 });
          assert.ok(t.status === 'task' && t.round === round, `client ${id} expected its round ${round} task`);
          const r = runClientJob(device, run.ctx, LOCAL, { round, client: at(run.clients, id, 'clients'), message: decodePayload(t.message, 'test') });
          await c.submitResult(
            { runId: run.runId, round, clientId: id, trainLoss: r.loss, trainSeconds: r.seconds, trainableParameters: r.trainableParameters },
            encodePayload(r.update),
          );
        }
        if (name === 'flora' && round === 1) {
          // The device loses everything it merged, and its clients join again.
          device = make(run.ctx).deviceClient?.() ?? device;
          for (const id of conn.keys()) await join(id);
        }
      }
      const metrics = await run.done;
      assert.ok(
        metrics.slice(1).every((m) => m.rejected.length === 0 && m.dropped.length === 0),
        JSON.stringify(metrics.map((m) => [m.rejected, m.dropped])),
      );

      const reference = make(run.ctx);
      await runSimulation(
        reference,
        run.ctx,
        tinyClients(run.ctx, RANKS),
        () => ({ metric: 'accuracy' as const, value: 0, scores: {}, examples: 0, seconds: 0 }),
        {
          rounds: ROUNDS,
          clientsPerRound: PER_ROUND,
          evalEvery: 100,
          local: LOCAL,
          measureNoise: false,
          resume: false,
        },
      );
      const served_ = run.method.server.globalModel();
      const simulated = reference.server.globalModel();
      const weights = (g: typeof served_) => [...weightTensors(run.ctx.config, g.weights).values()];
      for (const [i, x] of weights(served_).entries()) assert.deepEqual(x, weights(simulated)[i]);
      if (served_.adapter)
        for (const [i, x] of loraTensors(served_.adapter).entries()) assert.deepEqual(x, loraTensors(defined(simulated.adapter, 'the simulated adapter'))[i]);
    } finally {
      await run.stop();
    }
  });
}

test('a client declaring a rank below the FedIT rank is refused when it joins, with the rank to use', async () => {
  const run = await startServedRun({ ranks: [2, 2], rounds: 1, clientsPerRound: 1, roundTimeoutMs: 5_000, method: (ctx) => createFedIt(ctx, { rank: 2 }) });
  try {
    const c = run.connect(0);
    await assert.rejects(
      c.join({ runId: run.runId, clientId: 0, rank: 1, numExamples: 3, modelFingerprint: run.fingerprint }),
      /fedit trains every client at rank 2: join with --rank 2 or more/,
    );
    assert.equal((await c.join({ runId: run.runId, clientId: 0, rank: 2, numExamples: 3, modelFingerprint: run.fingerprint })).rank, 2);
  } finally {
    await run.stop();
  }
});

test("a declared rank holds until the client joins again without one, which restores the config's rank", async () => {
  const run = await startServedRun({ ranks: [4, 2], rounds: 1, clientsPerRound: 1, roundTimeoutMs: 5_000 });
  try {
    const c = run.connect(0);
    const join = (rank: number) => c.join({ runId: run.runId, clientId: 0, rank, numExamples: 3, modelFingerprint: run.fingerprint });
    assert.equal((await join(2)).rank, 2);
    assert.equal(at(run.clients, 0, 'clients').info.rank, 2, 'the round loop configures the declared rank');
    assert.deepEqual((await c.getRun(0)).clientRanks, [4, 2], "the run still reports the config's ranks");
    assert.equal((await join(0)).rank, 4);
  } finally {
    await run.stop();
  }
});
