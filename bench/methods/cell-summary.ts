/**
 * What one finished cell says, read from its metrics.jsonl: the final test
 * metric, the test metric at the round of the best validation metric (model
 * selection never looks at test), what is deployable at rank R, costs per
 * round and the measured noise. "Best" follows the metric's direction: the
 * highest accuracy, the lowest error rate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundMetrics } from '../../src/federation/simulation.js';
import { lowerIsBetter } from '../../src/metrics/index.js';

/** Whether `a` is a strictly better score than `b` on this metric. */
export function isBetter(metric: string, a: number, b: number): boolean {
  return lowerIsBetter(metric) ? a < b : a > b;
}

export interface CellSummary {
  metric: string;
  finalTest: number;
  bestValidation: number;
  /** the test metric of the round whose validation metric was best (the earliest such round) */
  selectedTest: number;
  finalDeployable: number | null;
  finalReceived: Record<string, number> | null;
  bytesUpPerRound: number;
  bytesDownPerRound: number;
  /** mean seconds one sampled client spent on a round, its fold or merge included */
  clientSecondsPerRound: number;
  /** share of the clients' time spent preparing their local models */
  foldShare: number | null;
  clientStateMb: number | null;
  initNoise: number | null;
  initNoiseAbs: number | null;
  aggregationNoise: number | null;
  /** the global step along the clients' mean step (methods/step-ratio.ts), mean over rounds; null where not recorded */
  stepRatio: number | null;
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const present = (xs: (number | null)[]): number[] => xs.filter((x): x is number => x !== null && Number.isFinite(x));

export function readMetrics(runDir: string): RoundMetrics[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RoundMetrics);
}

type Tested = RoundMetrics & { test_metric: number };
type Validated = RoundMetrics & { validation_metric: number };

export function summarizeCell(rounds: RoundMetrics[]): CellSummary {
  const evaluated = rounds.filter((r): r is Tested => r.test_metric !== null);
  const last = evaluated.at(-1);
  if (!last) throw new Error('the run has no evaluated round');
  const validated = evaluated.filter((r): r is Tested & Validated => r.validation_metric !== null);
  const best = validated.reduce<(Tested & Validated) | null>(
    (b, r) => (b === null || isBetter(last.metric, r.validation_metric, b.validation_metric) ? r : b),
    null,
  );
  const trained = rounds.filter((r) => r.round > 0);
  const local = trained.reduce((a, r) => a + r.local_seconds, 0);
  const prepare = present(trained.map((r) => r.prepare_seconds));
  return {
    metric: last.metric,
    finalTest: last.test_metric,
    bestValidation: best?.validation_metric ?? NaN,
    selectedTest: best?.test_metric ?? NaN,
    finalDeployable: last.deployable_metric,
    finalReceived: last.received_metric,
    bytesUpPerRound: mean(trained.map((r) => r.bytes_up)) ?? 0,
    bytesDownPerRound: mean(trained.map((r) => r.bytes_down)) ?? 0,
    clientSecondsPerRound: mean(trained.map((r) => r.local_seconds / Math.max(1, r.sampled.length))) ?? 0,
    foldShare: prepare.length && local > 0 ? prepare.reduce((a, b) => a + b, 0) / local : null,
    clientStateMb: mean(present(trained.map((r) => r.client_state_mb))),
    initNoise: mean(present(trained.map((r) => r.init_noise))),
    initNoiseAbs: mean(present(trained.map((r) => r.init_noise_abs))),
    aggregationNoise: mean(present(trained.map((r) => r.aggregation_noise))),
    // metrics written before the step ratio was recorded have no such field
    stepRatio: mean(present(trained.map((r) => r.step_ratio ?? null))),
  };
}
