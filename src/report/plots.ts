/**
 * Vega-Lite specs for the report's plots: one line per run, colours fixed by
 * run so that a run keeps its colour across plots.
 */
import type { TopLevelSpec } from 'vega-lite';
import { at } from '../util/checked.js';
import { lowerIsBetter } from '../metrics/index.js';
import type { ReportRound, RunData } from './runs.js';

export interface PlotSpec {
  id: string;
  title: string;
  /** a sentence under the plot */
  caption: string;
  spec: TopLevelSpec;
}

interface Point {
  run: string;
  round: number;
  x: number;
  y: number;
}

interface Series {
  id: string;
  title: string;
  caption: string;
  yTitle: string;
  xTitle: string;
  /** the x value of a round, or null to leave the round out */
  x: (m: ReportRound) => number | null;
  y: (m: ReportRound) => number | null;
  logX?: boolean;
  /** a Vega expression for the x axis labels */
  xLabels?: string;
}

/** Vega's default categorical scheme (tableau10), assigned by run so a run keeps its colour in every plot. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

const WIDTH = 520;
const HEIGHT = 260;

function points(runs: RunData[], s: Series): Point[] {
  const out: Point[] = [];
  for (const r of runs) {
    for (const m of r.rounds) {
      const x = s.x(m);
      const y = s.y(m);
      if (x === null || y === null || !Number.isFinite(x) || !Number.isFinite(y)) continue;
      out.push({ run: r.label, round: m.round, x, y });
    }
  }
  return out;
}

function lineSpec(runs: RunData[], s: Series, values: Point[]): TopLevelSpec {
  const present = runs.filter((r) => values.some((v) => v.run === r.label));
  return {
    // biome-ignore lint/style/useNamingConvention: Vega-Lite's own key
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    config: { font: 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif', legend: { orient: 'bottom', columns: 2, labelLimit: 400 } },
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 1.8 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: s.xTitle,
        scale: s.logX ? { type: 'log' } : { zero: false, nice: true },
        axis: s.xLabels ? { labelExpr: s.xLabels } : { tickMinStep: 1 },
      },
      y: { field: 'y', type: 'quantitative', title: s.yTitle, scale: { zero: false } },
      color: {
        field: 'run',
        type: 'nominal',
        title: 'run',
        scale: { domain: present.map((r) => r.label), range: present.map((r) => at(PALETTE, runs.indexOf(r) % PALETTE.length, 'palette')) },
      },
      order: { field: 'x', type: 'quantitative' },
    },
  };
}

/** The name of the headline metric shared by every run, or null when runs disagree. */
function sharedMetric(runs: RunData[]): string | null {
  const names = new Set(runs.flatMap((r) => r.rounds.filter((m) => m.test_metric !== null).map((m) => m.metric)));
  return names.size === 1 ? at([...names], 0, 'metric names') : null;
}

/** The plots with at least one point, in report order. */
export function buildPlots(runs: RunData[]): PlotSpec[] {
  const metric = sharedMetric(runs);
  const metricTitle = metric ?? 'test metric';
  const direction = metric === null ? '' : lowerIsBetter(metric) ? ' Lower is better.' : ' Higher is better.';
  const series: Series[] = [
    {
      id: 'metric-round',
      title: `Test ${metricTitle} vs round`,
      yTitle: metricTitle,
      xTitle: 'round',
      caption: `Evaluations of the global model; round 0 is the starting model before any training.${direction}`,
      x: (m) => m.round,
      y: (m) => m.test_metric,
    },
    {
      id: 'metric-bytes',
      title: `Test ${metricTitle} vs communication`,
      yTitle: metricTitle,
      xTitle: 'cumulative bytes communicated (up + down, log scale)',
      caption: `The same evaluations against the bytes sent both ways so far; round 0 (no bytes yet) cannot sit on a log axis and is left out.${direction}`,
      x: (m) => (m.cumulative_bytes > 0 ? m.cumulative_bytes : null),
      y: (m) => m.test_metric,
      logX: true,
      xLabels: "format(datum.value, '~s') + 'B'",
    },
    {
      id: 'init-noise',
      title: 'Initialization noise vs round',
      yTitle: 'initialization noise',
      xTitle: 'round',
      caption: "Mean over the round's sampled clients.",
      x: (m) => m.round,
      y: (m) => m.init_noise,
    },
    {
      id: 'aggregation-noise',
      title: 'Aggregation noise vs round',
      yTitle: 'aggregation noise',
      xTitle: 'round',
      caption: "As reported by the method's aggregation.",
      x: (m) => m.round,
      y: (m) => m.aggregation_noise,
    },
    {
      id: 'step-ratio',
      title: 'Step ratio vs round',
      yTitle: 'server step / mean client step',
      xTitle: 'round',
      caption:
        "How far the server moved the global model along the weighted mean of its clients' local steps, in units of that step: 1 for FedAvg of whole models, above 1 where the clients' steps on different parts add up.",
      x: (m) => m.round,
      y: (m) => m.step_ratio,
    },
    {
      id: 'train-loss',
      title: 'Train loss vs round',
      yTitle: 'train loss',
      xTitle: 'round',
      caption: "Mean local training loss over the round's sampled clients.",
      x: (m) => m.round,
      y: (m) => m.train_loss,
    },
  ];
  const plots: PlotSpec[] = [];
  for (const s of series) {
    const values = points(runs, s);
    if (values.length === 0) continue;
    plots.push({ id: s.id, title: s.title, caption: s.caption, spec: lineSpec(runs, s, values) });
  }
  return plots;
}
