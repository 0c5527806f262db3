/**
 * The centralized upper bound sees exactly the federation's data (every
 * client's partition, capped by maxExamplesPerClient, pooled) and takes as
 * many gradient steps a round as the whole federation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchesPerPass, buildExperiment, centralizedFederation } from '../src/experiment/build.js';
import type { ClientData } from '../src/federation/client-data.js';
import { at } from '../src/util/checked.js';
import { bundledConfig } from './helpers/bundled-experiment.js';
import { LOCAL } from './helpers/federation-setup.js';

// 4 clients, 2 a round, non-IID; the cap of 16 keeps every client far below its ~900 examples.
const shared = {
  clients: 4,
  clientsPerRound: 2,
  maxExamplesPerClient: 16,
  partition: { kind: 'dirichlet', alpha: 1, minPartitionSize: 20 },
  local: { steps: 3, batchSize: 4 },
};

test("centralized pools exactly the examples the federation's clients hold and takes steps x clientsPerRound steps", async () => {
  const fed = await buildExperiment(bundledConfig({ ...shared, method: { name: 'fed-plora' } }));
  const central = await buildExperiment(bundledConfig({ ...shared, method: { name: 'centralized' } }));
  assert.deepEqual(
    fed.clients.map((c) => c.info.numExamples),
    [16, 16, 16, 16],
    'every client capped at 16',
  );
  assert.equal(central.clients.length, 1);
  const pooled = at(central.clients, 0, 'centralized clients');
  assert.deepEqual(pooled.info, { id: 0, rank: 4, numExamples: 64 }, 'rank R, 4 x 16 examples');
  // the same encoded examples, client after client: the union of what the federation trains on
  assert.deepEqual(
    pooled.examples,
    fed.clients.flatMap((c) => c.examples),
  );
  assert.equal(fed.simulation.local.steps, 3);
  assert.equal(fed.simulation.clientsPerRound, 2);
  assert.equal(central.simulation.clientsPerRound, 1);
  assert.equal(central.simulation.local.steps, 3 * 2, 'the 2 sampled clients take 3 steps each');
  assert.deepEqual({ ...central.simulation.local, steps: 0 }, { ...fed.simulation.local, steps: 0 }, 'same batch size, optimizer and clipping');
  assert.equal(central.simulation.rounds, fed.simulation.rounds);
  assert.equal(central.method.server.name, 'fedit');
  assert.match(central.summary, /centralized: one client pools the 64 examples of the 4 clients above and takes 6 steps a round/);
});

/** Clients holding `sizes` examples of `tokens` tokens each. */
function clients(sizes: number[], tokens = 5): ClientData[] {
  return sizes.map((n, id) => ({
    info: { id, rank: 1, numExamples: n },
    examples: Array.from({ length: n }, () => ({ ids: new Array<number>(tokens).fill(1), labels: new Array<number>(tokens).fill(1) })),
  }));
}

test("with epochs, centralized takes the federation's expected steps a round", () => {
  const local = { ...LOCAL, steps: 0, epochs: 2, batchSize: 4 };
  // batches a pass: ceil(10/4) + ceil(3/4) + ceil(8/4) + ceil(1/4) = 3 + 1 + 2 + 1 = 7.
  // 2 of 4 clients a round, 2 epochs each: 2 x 2/4 x 7 = 7 steps in expectation.
  const c = centralizedFederation({ clients: clients([10, 3, 8, 1]), clientsPerRound: 2, local }, 4);
  assert.equal(c.local.steps, 7);
  assert.equal(c.local.epochs, 0, 'the pooled client trains by steps');
  assert.equal(at(c.clients, 0, 'centralized clients').info.numExamples, 22);
  // every client every round: exactly the federation's 2 x 7 = 14 steps
  assert.equal(centralizedFederation({ clients: clients([10, 3, 8, 1]), clientsPerRound: 4, local }, 4).local.steps, 14);
  // packed into 16-token rows: 10 x 5 = 50 tokens = 4 rows = 1 batch of 4; 3 x 5 = 15 tokens = 1 row = 1 batch;
  // both clients every round, 2 epochs: 2 x (1 + 1) = 4 steps
  assert.equal(batchesPerPass(at(clients([10]), 0, 'clients').examples, 4, 16), 1);
  assert.equal(centralizedFederation({ clients: clients([10, 3]), clientsPerRound: 2, local: { ...local, packTo: 16 } }, 4).local.steps, 4);
});

test('centralized refuses to pool clients whose examples were not encoded', () => {
  const partial = clients([3, 2]);
  at(partial, 1, 'clients').examples = [];
  assert.throws(() => centralizedFederation({ clients: partial, clientsPerRound: 1, local: LOCAL }, 4), /client 1's were not encoded/);
});
