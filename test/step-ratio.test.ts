/**
 * The step ratio: how far the server moves the global model along the mean
 * of its clients' local steps. Checked against plain-array arithmetic, and
 * on whole rounds where the answer is known in closed form: two Fed-PLoRA
 * clients on disjoint modules are both taken whole (2), one method that
 * averages whole updates takes their mean (about 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoraAdapter } from '../src/layers/lora-branch.js';
import { runSimulation, type SimulationOptions } from '../src/federation/simulation.js';
import { createFedPlora } from '../src/methods/fed-plora.js';
import { createFedIt } from '../src/methods/fedit.js';
import { createLocal } from '../src/methods/local.js';
import type { MethodContext } from '../src/methods/method.js';
import { globalEffectiveWeights, stepRatio, type ClientStep } from '../src/methods/step-ratio.js';
import { at, defined } from '../src/util/checked.js';
import { tinyClients, tinyContext, noEval, tinySimulation } from './helpers/federation-setup.js';
import { pairOf } from './helpers/lora-access.js';
import { randomAdapter } from './helpers/tiny-model.js';

const options = (extra: Partial<SimulationOptions> = {}): SimulationOptions => tinySimulation({ clientsPerRound: 2, ...extra });

/** scale * B A over plain numbers, (out, in) row-major */
function product(adapter: LoraAdapter, l: number, t: MethodContext['targets'][number], out: number, inF: number): number[] {
  const { A, B } = pairOf(adapter, l, t);
  const r = adapter.rank;
  const d: number[] = [];
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let c = 0; c < r; c++) s += B[o * r + c]! * A[c * inF + i]!;
      d.push(adapter.scale * s);
    }
  }
  return d;
}

function shapes(ctx: MethodContext): { l: number; t: MethodContext['targets'][number]; out: number; inF: number }[] {
  return ctx.base.layers.flatMap((layer, l) => ctx.targets.map((t) => ({ l, t, out: layer.proj[t].outFeatures, inF: layer.proj[t].inFeatures })));
}

test('the step ratio is the global step projected on the weighted mean client step, as plain arithmetic computes it', () => {
  const ctx = tinyContext(4);
  const steps: ClientStep[] = [
    { start: randomAdapter(ctx.config, 2, 4, ctx.targets, 11), trained: randomAdapter(ctx.config, 2, 4, ctx.targets, 12), weight: 1 },
    { start: randomAdapter(ctx.config, 3, 4, ctx.targets, 13), trained: randomAdapter(ctx.config, 3, 4, ctx.targets, 14), weight: 3 },
  ];
  const before = globalEffectiveWeights(ctx, { weights: ctx.base, adapter: null });
  // the mean step in plain numbers, weights 1/4 and 3/4
  const mean = shapes(ctx).map(({ l, t, out, inF }) => {
    const m = new Array<number>(out * inF).fill(0);
    steps.forEach((s, c) => {
      const p = c === 0 ? 0.25 : 0.75;
      const trained = product(s.trained, l, t, out, inF);
      const start = product(s.start, l, t, out, inF);
      trained.forEach((x, k) => {
        m[k]! += p * (x - start[k]!);
      });
    });
    return m;
  });
  const moved = (f: (m: number, k: number) => number): Float32Array[] =>
    before.map((b, i) => Float32Array.from(b, (x, k) => x + f(at(mean, i, 'mean step')[k]!, k)));
  const close = (a: number | null, b: number, what: string): void =>
    assert.ok(a !== null && Math.abs(a - b) < 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} against ${b}`);

  close(
    stepRatio(
      ctx,
      before,
      moved((m) => m),
      steps,
    ),
    1,
    'the server took the mean step',
  );
  close(
    stepRatio(
      ctx,
      before,
      moved((m) => 2.5 * m),
      steps,
    ),
    2.5,
    'two and a half mean steps',
  );
  close(stepRatio(ctx, before, before, steps), 0, 'no step');

  // a step with a part off the mean's direction: the oracle's projection
  const other = (k: number): number => Math.sin(k * 0.37);
  const after = moved((m, k) => 0.7 * m + other(k));
  let along = 0;
  let norm = 0;
  for (const m of mean) {
    m.forEach((x, k) => {
      along += (0.7 * x + other(k)) * x;
      norm += x * x;
    });
  }
  close(stepRatio(ctx, before, after, steps), along / norm, 'a step partly off the mean');
});

test('two Fed-PLoRA clients on disjoint modules: the server adds their steps, twice their mean', async () => {
  const ctx = tinyContext(2);
  // cyclic selection with rank 1 of R = 2: clients 0 and 1 take different modules every round
  const method = createFedPlora(ctx, { selection: 'cyclic', weighting: 'uniform' });
  const m = await runSimulation(method, ctx, tinyClients(ctx, [1, 1]), noEval, options({ stepWeighting: 'uniform' }));
  for (const r of m.slice(1)) {
    const ratio = defined(r.step_ratio, `round ${r.round} step ratio`);
    assert.ok(Math.abs(ratio - 2) < 1e-3, `round ${r.round}: ${ratio}`);
  }
});

test('averaging whole updates takes about the mean step; the ratio is null where it cannot be measured', async () => {
  const ctx = tinyContext(4);
  const clients = tinyClients(ctx, [4, 4]);
  for (const method of [createFedIt(ctx, { rank: 4 }), createFedPlora(ctx, { selection: 'first', weighting: 'examples' })]) {
    const m = await runSimulation(method, ctx, clients, noEval, options());
    for (const r of m.slice(1)) {
      const ratio = defined(r.step_ratio, `${r.method} round ${r.round} step ratio`);
      // only the product of averaged factors differs from the average of products: a second-order gap
      assert.ok(Math.abs(ratio - 1) < 0.05, `${r.method} round ${r.round}: ${ratio}`);
    }
  }
  const unmeasured = await runSimulation(createFedIt(ctx, { rank: 4 }), ctx, clients, noEval, options({ measureNoise: false }));
  const local = await runSimulation(createLocal(ctx), ctx, clients, noEval, options());
  for (const r of [...unmeasured, ...local]) assert.equal(r.step_ratio, null, `${r.method} round ${r.round}`);
});
