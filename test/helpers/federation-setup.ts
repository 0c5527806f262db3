/** A tiny federated setup: random model, clients with made-up encoded examples. */
import type { MethodContext } from '../../src/methods/method.js';
import type { ClientData } from '../../src/federation/client-data.js';
import type { LocalTrainingOptions } from '../../src/federation/local-train.js';
import type { SimulationOptions } from '../../src/federation/simulation.js';
import { IGNORE_INDEX } from '../../src/model/llama.js';
import { createRng } from '../../src/util/random.js';
import { getKernels } from '../../src/kernels/index.js';
import { tinyConfig, tinyWeights } from './tiny-model.js';

export function tinyContext(R = 4, seed = 3): MethodContext {
  const config = tinyConfig();
  return {
    config,
    base: tinyWeights(config, 5, 0.3),
    kernels: getKernels(),
    rank: R,
    alpha: 2 * R,
    scale: 2,
    targets: ['q_proj', 'v_proj', 'down_proj'],
    seed,
  };
}

export function tinyClients(ctx: MethodContext, ranks: number[]): ClientData[] {
  const rng = createRng(17);
  return ranks.map((rank, id) => {
    const n = 4 + id;
    const examples = Array.from({ length: n }, () => {
      const ids = Array.from({ length: 10 }, () => rng.int(ctx.config.vocabSize));
      return { ids, labels: ids.map((t, i) => (i < 4 ? IGNORE_INDEX : t)) };
    });
    return { info: { id, rank, numExamples: n }, examples };
  });
}

export const LOCAL: LocalTrainingOptions = { steps: 2, epochs: 0, batchSize: 2, optimizer: { lr: 5e-3 }, maxGradNorm: 1, padId: 0, packTo: 0 };

/** An evaluation that scores nothing, for simulations whose tests read other metrics. */
export const noEval = () => ({ metric: 'accuracy' as const, value: 0, scores: {}, examples: 0, seconds: 0 });

/** Simulation options for the tiny setup (2 rounds, 3 clients a round, noise measured, no checkpoints); `extra` overrides. */
export function tinySimulation(extra: Partial<SimulationOptions> = {}): SimulationOptions {
  return { rounds: 2, clientsPerRound: 3, evalEvery: 10, local: LOCAL, measureNoise: true, resume: false, ...extra };
}
