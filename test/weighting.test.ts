/**
 * Every method can weight clients by example count or equally, so a
 * benchmark can give all of them the same weighting. Two clients with
 * different example counts must aggregate differently under the two, to
 * values worked out by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loraTensors } from '../src/lora/adapter.js';
import type { LoraAdapter } from '../src/layers/lora-branch.js';
import { buildExperiment } from '../src/experiment/build.js';
import { createFedPlora } from '../src/methods/fed-plora.js';
import { createFedIt } from '../src/methods/fedit.js';
import { createFlexLora } from '../src/methods/flexlora.js';
import { createFlora } from '../src/methods/flora.js';
import type { ClientInfo, Method, MethodContext } from '../src/methods/method.js';
import { defined } from '../src/util/checked.js';
import { bundledConfig } from './helpers/bundled-experiment.js';
import { tinyContext } from './helpers/federation-setup.js';
import { exportedAdapter } from './helpers/lora-access.js';

type Weighting = 'examples' | 'uniform';

// Both clients at rank R = 2: client 0 holds 1 example and trains to A = 1, B = 2;
// client 1 holds 3 examples and trains to A = 3, B = 4 (every entry).
const CLIENTS = [
  { info: { id: 0, rank: 2, numExamples: 1 }, A: 1, B: 2 },
  { info: { id: 1, rank: 2, numExamples: 3 }, A: 3, B: 4 },
];

/** One round: each client receives its message, "trains" to its constants, uploads; the server aggregates. */
function handRound(method: Method): void {
  const updates = CLIENTS.map((c) => {
    const info: ClientInfo = c.info;
    const local = method.client.prepare(method.server.configure(1, info), info);
    for (const layer of local.adapter.layers) {
      for (const entry of Object.values(layer)) {
        const pair = defined(entry, 'LoRA pair');
        pair.A.fill(c.A);
        pair.B.fill(c.B);
      }
    }
    return { client: info, payload: method.client.upload(local, info) };
  });
  const stats = method.server.aggregate(1, updates);
  assert.deepEqual(stats.rejected, []);
}

const allEqual = (x: Float32Array, v: number): boolean => x.every((e) => e === v);

/** Factor averaging (FedIT, Fed-PLoRA): every module of the global adapter is the weighted mean of the clients' modules. */
function assertFactorMeans(adapter: LoraAdapter, A: number, B: number, what: string): void {
  assert.equal(adapter.rank, 2);
  for (const layer of adapter.layers) {
    for (const entry of Object.values(layer)) {
      const pair = defined(entry, `${what}: LoRA pair`);
      assert.ok(allEqual(pair.A, A), `${what}: A should be ${A}, got ${pair.A[0]}`);
      assert.ok(allEqual(pair.B, B), `${what}: B should be ${B}, got ${pair.B[0]}`);
    }
  }
}

/** Stacking (FlexLoRA, FLoRA): A = [A_0; A_1], B = [p_0 B_0, p_1 B_1], so each column of B carries its client's weight. */
function assertStack(adapter: LoraAdapter, p: [number, number], what: string): void {
  assert.equal(adapter.rank, 4, 'two rank-2 clients stacked');
  const Bcols = [p[0] * 2, p[0] * 2, p[1] * 4, p[1] * 4];
  const Arows = [1, 1, 3, 3];
  for (const layer of adapter.layers) {
    for (const entry of Object.values(layer)) {
      const pair = defined(entry, `${what}: LoRA pair`);
      const inF = pair.A.length / 4;
      const out = pair.B.length / 4;
      for (const [c, row] of Arows.entries()) {
        assert.ok(allEqual(pair.A.subarray(c * inF, (c + 1) * inF), row), `${what}: row ${c} of A`);
        for (let o = 0; o < out; o++) assert.equal(pair.B[o * 4 + c], Bcols[c], `${what}: column ${c} of B`);
      }
    }
  }
}

const makers: Record<string, (ctx: MethodContext, weighting: Weighting) => Method> = {
  'fed-plora': (ctx, weighting) => createFedPlora(ctx, { selection: 'first', weighting }),
  fedit: (ctx, weighting) => createFedIt(ctx, { rank: 2, weighting }),
  flexlora: (ctx, weighting) => createFlexLora(ctx, { weighting }),
  flora: (ctx, weighting) => createFlora(ctx, { weighting }),
};

// By hand: examples weights are 1/4 and 3/4, uniform weights 1/2 and 1/2.
//   factor means, examples: A = (1*1 + 3*3) / 4 = 2.5, B = (1*2 + 3*4) / 4 = 3.5
//   factor means, uniform:  A = (1 + 3) / 2 = 2,       B = (2 + 4) / 2 = 3
//   stacks: p = [1/4, 3/4] or [1/2, 1/2] on B's columns
const expected: Record<Weighting, { A: number; B: number; p: [number, number] }> = {
  examples: { A: 2.5, B: 3.5, p: [0.25, 0.75] },
  uniform: { A: 2, B: 3, p: [0.5, 0.5] },
};

for (const [name, make] of Object.entries(makers)) {
  test(`${name}: weighting by examples and uniformly aggregate two clients differently, as computed by hand`, () => {
    const results = (['examples', 'uniform'] as const).map((weighting) => {
      const method = make(tinyContext(2), weighting);
      handRound(method);
      const adapter = exportedAdapter(method);
      const e = expected[weighting];
      if (name === 'flexlora' || name === 'flora') assertStack(adapter, e.p, `${name} ${weighting}`);
      else assertFactorMeans(adapter, e.A, e.B, `${name} ${weighting}`);
      return loraTensors(adapter).map((x) => Float32Array.from(x));
    });
    assert.notDeepEqual(results[0], results[1]);
  });
}

test('the config gives FedIT example weights by default and refuses an unknown weighting', () => {
  const c = bundledConfig({ method: { name: 'fedit' } });
  assert.deepEqual(c.method, { name: 'fedit', weighting: 'examples' });
  assert.throws(() => bundledConfig({ method: { name: 'fedit', weighting: 'rank' } }), /config: method\.weighting/);
});

test("the config's FedIT weighting reaches the server of the built experiment", async () => {
  for (const weighting of ['examples', 'uniform'] as const) {
    const c = bundledConfig({ clients: 2, ranks: { kind: 'list', ranks: [2, 2] }, maxExamplesPerClient: 2, method: { name: 'fedit', weighting } });
    const { method } = await buildExperiment(c);
    handRound(method);
    const e = expected[weighting];
    assertFactorMeans(exportedAdapter(method), e.A, e.B, `built fedit ${weighting}`);
  }
});
