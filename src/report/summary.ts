/** The numbers of the results table, one row per run. */
import { lowerIsBetter } from '../metrics/index.js';
import type { RunData } from './runs.js';

export interface RunSummary {
  label: string;
  method: string;
  name: string;
  seed: number | null;
  task: string | null;
  /** the headline metric's name at the final evaluation, or null without any evaluation */
  metric: string | null;
  finalMetric: number | null;
  /** the round of the final evaluation */
  finalRound: number | null;
  /** best over every evaluation, round 0 included */
  bestMetric: number | null;
  bestRound: number | null;
  /** training rounds completed (the highest round recorded) */
  rounds: number;
  plannedRounds: number | null;
  bytesUp: number;
  bytesDown: number;
  /** mean wall-clock seconds of the training rounds (round 0 excluded) */
  meanSeconds: number | null;
  peakRssMb: number | null;
  /** mean over the rounds that recorded it, or null where none did (older runs, or a method that measures no noise) */
  meanStepRatio: number | null;
  /** every score at the final evaluation */
  finalScores: Record<string, number>;
}

export function summarize(run: RunData): RunSummary {
  const training = run.rounds.filter((m) => m.round > 0);
  const evaluated = run.rounds.filter((m) => m.test_metric !== null);
  const last = evaluated.at(-1);
  const stepRatios = run.rounds.flatMap((m) => (m.step_ratio === null ? [] : [m.step_ratio]));
  const metric = last?.metric ?? null;
  let best: { round: number; value: number } | undefined;
  if (metric !== null) {
    const lower = lowerIsBetter(metric);
    for (const { metric: name, test_metric: value, round } of evaluated) {
      if (name !== metric || value === null) continue;
      if (best === undefined || (lower ? value < best.value : value > best.value)) best = { round, value };
    }
  }
  return {
    label: run.label,
    method: run.method,
    name: run.name,
    seed: run.seed,
    task: run.task,
    metric,
    finalMetric: last?.test_metric ?? null,
    finalRound: last?.round ?? null,
    bestMetric: best?.value ?? null,
    bestRound: best?.round ?? null,
    rounds: run.rounds.reduce((n, m) => Math.max(n, m.round), 0),
    plannedRounds: run.plannedRounds,
    bytesUp: run.rounds.reduce((s, m) => s + m.bytes_up, 0),
    bytesDown: run.rounds.reduce((s, m) => s + m.bytes_down, 0),
    meanSeconds: training.length > 0 ? training.reduce((s, m) => s + m.seconds, 0) / training.length : null,
    peakRssMb: run.rounds.length > 0 ? run.rounds.reduce((p, m) => Math.max(p, m.peak_rss_mb), 0) : null,
    meanStepRatio: stepRatios.length > 0 ? stepRatios.reduce((a, b) => a + b, 0) / stepRatios.length : null,
    finalScores: last?.scores ?? {},
  };
}

/** Score names across runs, the headline metrics first, then alphabetical. */
export function scoreColumns(summaries: RunSummary[]): string[] {
  const all = new Set(summaries.flatMap((s) => Object.keys(s.finalScores)));
  const headline = new Set(summaries.map((s) => s.metric).filter((m): m is string => m !== null));
  return [...all].sort((a, b) => Number(headline.has(b)) - Number(headline.has(a)) || a.localeCompare(b));
}

export const formatMetric = (v: number | null): string => (v === null ? '–' : v.toFixed(4));
/** megabytes of 10^6 bytes */
export const formatMb = (bytes: number): string => (bytes / 1e6).toFixed(2);
export const formatSeconds = (v: number | null): string => (v === null ? '–' : v.toFixed(1));
export const formatRatio = (v: number | null): string => (v === null ? '–' : v.toFixed(2));
