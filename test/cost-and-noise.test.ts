/**
 * The comparison's bookkeeping: a quantity a method does not have is null,
 * not 0; relative and absolute initialization noise are kept apart; the
 * client's preparation (Select-N-Fold's fold, FLoRA's merge) counts in its
 * time, and the weight copies it makes count in its memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFedPlora } from '../src/methods/fed-plora.js';
import { createFlexLora } from '../src/methods/flexlora.js';
import { createFlora } from '../src/methods/flora.js';
import { createHetLora } from '../src/methods/hetlora.js';
import { createLocal } from '../src/methods/local.js';
import { initializationNoise } from '../src/methods/noise.js';
import { runSimulation } from '../src/federation/simulation.js';
import { projectionShape } from '../src/model/weights.js';
import { at, defined } from '../src/util/checked.js';
import { tinyClients, tinyContext, noEval, tinySimulation } from './helpers/federation-setup.js';
import { pairOf } from './helpers/lora-access.js';

const options = tinySimulation;

test('relative initialization noise is undefined against an unmoved global model; the absolute one is still measured', () => {
  const ctx = tinyContext(4);
  const method = createFedPlora(ctx);
  const client = { id: 0, rank: 2, numExamples: 3 };
  const local = method.client.prepare(method.server.configure(1, client), client);
  // B starts at zero: the client starts exactly at the (unmoved) global model.
  assert.deepEqual(initializationNoise(ctx, local, method.server.globalModel()), { relative: 0, absolute: 0 });
  pairOf(local.adapter, 0, 'q_proj').B.fill(0.5);
  const moved = initializationNoise(ctx, local, method.server.globalModel());
  assert.equal(moved.relative, null);
  assert.ok(moved.absolute > 0);
});

test('local training has no aggregation noise and no relative initialization noise: null, with the absolute distance reported apart', async () => {
  const ctx = tinyContext(4);
  const m = await runSimulation(createLocal(ctx), ctx, tinyClients(ctx, [1, 2, 4]), noEval, options());
  for (const r of m.slice(1)) {
    assert.equal(r.aggregation_noise, null);
    assert.equal(r.init_noise, null);
  }
  const absolute = at(m, 2, 'round 2 metrics').init_noise_abs;
  assert.ok(absolute !== null && absolute > 0, 'in round 2 its clients start from their own adapters, away from the base');
});

test('stacking methods measure their aggregation noise: fp32 rounding, not an assumed 0', async () => {
  const ctx = tinyContext(4);
  for (const make of [createFlexLora, createFlora]) {
    const m = await runSimulation(make(ctx), ctx, tinyClients(ctx, [1, 2, 4]), noEval, options());
    for (const r of m.slice(1)) {
      assert.notEqual(r.aggregation_noise, null, r.method);
      assert.ok(r.aggregation_noise !== null && r.aggregation_noise < 1e-5, `${r.method}: ${r.aggregation_noise}`);
    }
  }
});

test("the fold counts in the client's time and its weight copies in its memory", async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [1, 2, 4]);
  const plora = await runSimulation(createFedPlora(ctx), ctx, clients, noEval, options({ measureNoise: false }));
  const het = await runSimulation(createHetLora(ctx), ctx, clients, noEval, options({ measureNoise: false }));
  const r = at(plora, 1, 'Fed-PLoRA round 1 metrics');
  assert.ok(r.prepare_seconds !== null && r.prepare_seconds > 0 && r.prepare_seconds < r.local_seconds, `${r.prepare_seconds} within ${r.local_seconds}`);
  // Fed-PLoRA folds into a copy of every targeted projection; HetLoRA trains on the shared base.
  const copies = ctx.targets.reduce((n, t) => n + 4 * projectionShape(ctx.config, t).reduce((a, b) => a * b, 1), 0) * ctx.config.numLayers;
  const ploraState = defined(r.client_state_mb, 'Fed-PLoRA client state');
  const hetState = defined(at(het, 1, 'HetLoRA round 1 metrics').client_state_mb, 'HetLoRA client state');
  const diff = (ploraState - hetState) * 1048576;
  // the same ranks train in both, so the adapters (and their optimizer state) cost the same
  assert.ok(Math.abs(diff - copies) < 1e-6 * copies, `difference ${diff} bytes, folded copies ${copies} bytes`);
});
