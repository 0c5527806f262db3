import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFedPlora } from '../src/methods/fed-plora.js';
import { createFedIt } from '../src/methods/fedit.js';
import { runSimulation, type SimulationOptions } from '../src/federation/simulation.js';
import { loraTensors } from '../src/lora/adapter.js';
import { inProcessRunner, type ClientRunner } from '../src/federation/client-runner.js';
import type { Payload } from '../src/methods/payload.js';
import { at, defined } from '../src/util/checked.js';
import { LOCAL, tinyClients, tinyContext, noEval, tinySimulation } from './helpers/federation-setup.js';
import { exportedAdapter, pairOf } from './helpers/lora-access.js';

const options = (extra: Partial<SimulationOptions> = {}): SimulationOptions => tinySimulation({ rounds: 3, ...extra });

test('Fed-PLoRA with every client at rank R and example weights equals FedIT at rank R', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [4, 4, 4, 4]);
  const plora = createFedPlora(ctx, { weighting: 'examples' });
  const fedit = createFedIt(ctx, { rank: 4 });
  const a = await runSimulation(plora, ctx, clients, noEval, options());
  const b = await runSimulation(fedit, ctx, clients, noEval, options());
  for (const [i, x] of loraTensors(exportedAdapter(plora)).entries()) assert.deepEqual(x, loraTensors(exportedAdapter(fedit))[i]);
  assert.deepEqual(
    a.map((m) => m.train_loss),
    b.map((m) => m.train_loss),
  );
  assert.ok(
    a.slice(1).every((m) => m.init_noise !== null && m.init_noise < 1e-6),
    'clients start exactly from the global model',
  );
});

test('heterogeneous Fed-PLoRA: clients start from the global model, untrained modules keep their value', async () => {
  const ctx = tinyContext(6);
  const clients = tinyClients(ctx, [1, 2, 1]);
  const method = createFedPlora(ctx, { selection: 'first' });
  const before = Float32Array.from(pairOf(exportedAdapter(method), 0, 'q_proj').A);
  const m = await runSimulation(method, ctx, clients, noEval, options({ rounds: 2 }));
  const after = pairOf(exportedAdapter(method), 0, 'q_proj').A;
  const inF = after.length / 6;
  // with selection 'first' and ranks <= 2 only modules 0 and 1 are ever trained
  assert.notDeepEqual(after.subarray(0, inF), before.subarray(0, inF));
  assert.deepEqual(after.subarray(2 * inF), before.subarray(2 * inF));
  assert.ok(
    m.slice(1).every((r) => r.init_noise !== null && r.init_noise < 1e-5),
    `initialization noise ${m.map((r) => r.init_noise)}`,
  );
  const noise = at(m, 1, 'round 1 metrics').aggregation_noise;
  assert.ok(noise !== null && noise > 0, 'averaging factors of different clients is not averaging products');
});

test('per-module aggregation by hand, and a NaN update is rejected without touching the model', async () => {
  const ctx = tinyContext(3);
  // `first` assigns modules 0..r-1: client 0 (rank 2) trains 0 and 1, clients 1 and 2 (rank 1) train 0
  const method = createFedPlora(ctx, { weighting: 'examples', selection: 'first' });
  const g = exportedAdapter(method);
  const info = (id: number, rank: number, numExamples: number) => ({ id, rank, numExamples });
  const msgFor = (c: ReturnType<typeof info>) => method.client.prepare(method.server.configure(1, c), c);
  const c0 = msgFor(info(0, 2, 1));
  const c1 = msgFor(info(1, 1, 3));
  for (const x of loraTensors(c0.adapter)) x.fill(1);
  for (const x of loraTensors(c1.adapter)) x.fill(4);
  const bad = msgFor(info(2, 1, 9));
  at(loraTensors(bad.adapter), 0, 'first tensor')[0] = NaN;
  const module2 = Float32Array.from(pairOf(g, 1, 'v_proj').A);
  const stats = method.server.aggregate(1, [
    { client: info(0, 2, 1), payload: method.client.upload(c0, info(0, 2, 1)) },
    { client: info(1, 1, 3), payload: method.client.upload(c1, info(1, 1, 3)) },
    { client: info(2, 1, 9), payload: method.client.upload(bad, info(2, 1, 9)) },
  ]);
  assert.equal(stats.rejected.length, 1);
  assert.match(at(stats.rejected, 0, 'rejected update').reason, /update from client 2: tensor "0\.q_proj\.A" holds a non-finite value \(NaN\) at index 0/);
  const A = pairOf(g, 1, 'v_proj').A;
  const inF = A.length / 3;
  assert.equal(A[0], (1 * 1 + 4 * 3) / 4, 'module 0: weighted by examples 1 and 3');
  assert.equal(A[inF], 1, 'module 1: only client 0 trained it');
  assert.equal(A[2 * inF], module2[2 * inF], 'module 2: nobody trained it');
});

test('an upload for modules the server did not assign is refused, and validate() says so without changing state', async () => {
  const ctx = tinyContext(4);
  const method = createFedPlora(ctx);
  const client = { id: 1, rank: 2, numExamples: 5 };
  const local = method.client.prepare(method.server.configure(3, client), client);
  const assigned = local.meta['modules'] as number[];
  const other = [0, 1, 2, 3].filter((j) => !assigned.includes(j));
  const forged = method.client.upload({ ...local, meta: { modules: other } }, client);
  const before = loraTensors(exportedAdapter(method)).map((x) => Float32Array.from(x));
  assert.throws(
    () => method.server.validate(3, { client, payload: forged }),
    new RegExp(`sent modules \\[${other}\\] but was assigned \\[${assigned}\\] in round 3`),
  );
  // the same upload is right for the round it was assigned in, not for another round's selection
  method.server.validate(3, { client, payload: method.client.upload(local, client) });
  const stats = method.server.aggregate(3, [{ client, payload: forged }]);
  assert.equal(stats.rejected.length, 1);
  for (const [i, x] of loraTensors(exportedAdapter(method)).entries()) assert.deepEqual(x, before[i]);
});

test('a resumed run reaches the same adapter bit for bit as an uninterrupted one', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [1, 2, 4, 2]);
  const whole = createFedPlora(ctx);
  await runSimulation(whole, ctx, clients, noEval, options({ rounds: 4, clientsPerRound: 2 }));
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-resume-'));
  await runSimulation(createFedPlora(ctx), ctx, clients, noEval, options({ rounds: 2, clientsPerRound: 2, runDir: dir }));
  const resumed = createFedPlora(ctx);
  const m = await runSimulation(resumed, ctx, clients, noEval, options({ rounds: 4, clientsPerRound: 2, runDir: dir, resume: true }));
  assert.deepEqual(
    m.map((r) => r.round),
    [0, 1, 2, 3, 4],
  );
  for (const [i, x] of loraTensors(exportedAdapter(resumed)).entries()) assert.deepEqual(x, loraTensors(exportedAdapter(whole))[i]);
});

test('communication counts the serialized tensors: R modules down, r_i modules up', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [1, 3]);
  const m = await runSimulation(createFedPlora(ctx), ctx, clients, noEval, options({ rounds: 1, clientsPerRound: 2 }));
  // values per module: q (in 24 + out 24), v (24 + 8: two kv heads of 4), down (40 + 24), in each of 2 layers
  const perModule = 2 * (24 + 24 + 24 + 8 + 40 + 24);
  const { bytes_down: down, bytes_up: up } = at(m, 1, 'round 1 metrics');
  // every message carries 4 bytes a value plus a header naming its 12 tensors (under 2 KB)
  assert.ok(down >= 2 * 4 * 4 * perModule && down < 2 * (4 * 4 * perModule + 2048), `down ${down}`);
  assert.ok(up >= 4 * 4 * perModule && up < 4 * 4 * perModule + 2 * 2048, `up ${up} for ranks 1 + 3`);
});

test('a dropped client is left out of the round; with fewer results than minResults the global state stays', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [2, 2, 4]);
  const full = createFedPlora(ctx);
  const inner = inProcessRunner(full, ctx, LOCAL);
  // A runner whose client 1 never answers, as a network client that went away would.
  const dropping = (method: typeof full): ClientRunner => {
    const own = inProcessRunner(method, ctx, LOCAL);
    return {
      run: async (jobs, onDone) => {
        const out = await own.run(
          jobs.filter((j) => j.client.info.id !== 1),
          onDone,
        );
        return jobs.map((j) =>
          j.client.info.id === 1
            ? { failure: 'dropped' as const, reason: 'no result by the deadline' }
            : defined(out.shift(), 'result of a client that answered'),
        );
      },
      close: inner.close,
    };
  };
  const partial = createFedPlora(ctx);
  const m = await runSimulation(partial, ctx, clients, noEval, options({ rounds: 1, runner: dropping(partial) }));
  const round1 = at(m, 1, 'round 1 metrics');
  assert.deepEqual(round1.dropped, [{ clientId: 1, reason: 'no result by the deadline' }]);
  assert.equal(round1.aggregated, true);
  // the same round with only clients 0 and 2 in it: their updates alone make the global adapter
  const reference = createFedPlora(ctx);
  const others = clients.map((c) => (c.info.id === 1 ? { ...c, info: { ...c.info } } : c));
  const only = await inProcessRunner(reference, ctx, LOCAL).run(
    [0, 2].map((id) => {
      const client = at(others, id, 'client');
      return { round: 1, client, message: reference.server.configure(1, client.info) };
    }),
  );
  reference.server.aggregate(
    1,
    only.map((r, i) => ({ client: at(others, at([0, 2], i, 'client id'), 'client').info, payload: (r as { update: Payload }).update })),
  );
  for (const [i, x] of loraTensors(exportedAdapter(partial)).entries()) assert.deepEqual(x, loraTensors(exportedAdapter(reference))[i]);

  const strict = createFedPlora(ctx);
  const before = loraTensors(exportedAdapter(strict)).map((x) => Float32Array.from(x));
  const s = await runSimulation(strict, ctx, clients, noEval, options({ rounds: 1, runner: dropping(strict), minResults: 3 }));
  const strictRound = at(s, 1, 'round 1 metrics');
  assert.equal(strictRound.aggregated, false);
  assert.equal(strictRound.aggregation_noise, null);
  for (const [i, x] of loraTensors(exportedAdapter(strict)).entries()) assert.deepEqual(x, before[i]);
});
