/**
 * The benchmark's tables from the cells' summaries: mean and standard
 * deviation over seeds, as Markdown for the README and JSON for tools.
 */
import { settingId, type BenchMethod, type Setting } from './grid.js';
import type { CellSummary } from './cell-summary.js';
import { lowerIsBetter } from '../../src/metrics/index.js';

export interface Stat {
  mean: number;
  sd: number;
  n: number;
}

interface RowStats {
  setting: Setting;
  method: BenchMethod;
  lr: number;
  seeds: number[];
  metric: string;
  finalTest: Stat;
  selectedTest: Stat;
  /** the final and best-validation test metrics seed by seed, in the order of seeds */
  finalTestBySeed: number[];
  selectedTestBySeed: number[];
  deployable: Stat | null;
  received: Record<string, Stat> | null;
}

/** Costs and noise are averaged over seeds, field by field as a cell reports them. */
type Averaged = Pick<
  CellSummary,
  | 'bytesUpPerRound'
  | 'bytesDownPerRound'
  | 'clientSecondsPerRound'
  | 'foldShare'
  | 'clientStateMb'
  | 'initNoise'
  | 'initNoiseAbs'
  | 'aggregationNoise'
  | 'stepRatio'
>;

export type Row = RowStats & Averaged;

export function stat(xs: number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  // the sample standard deviation; 0 with one seed
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

const avg = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};

export function makeRow(setting: Setting, method: BenchMethod, lr: number, seeds: number[], s: CellSummary[]): Row {
  const deployables = s.map((x) => x.finalDeployable).filter((x): x is number => x !== null);
  const deployable = deployables.length === s.length ? stat(deployables) : null;
  const ranks = s[0]?.finalReceived ? Object.keys(s[0].finalReceived) : [];
  return {
    setting,
    method,
    lr,
    seeds,
    metric: s[0]?.metric ?? '',
    finalTest: stat(s.map((x) => x.finalTest)),
    selectedTest: stat(s.map((x) => x.selectedTest)),
    finalTestBySeed: s.map((x) => x.finalTest),
    selectedTestBySeed: s.map((x) => x.selectedTest),
    deployable,
    received: ranks.length ? Object.fromEntries(ranks.map((r) => [r, stat(s.map((x) => x.finalReceived?.[r] ?? NaN))])) : null,
    bytesUpPerRound: avg(s.map((x) => x.bytesUpPerRound)) ?? 0,
    bytesDownPerRound: avg(s.map((x) => x.bytesDownPerRound)) ?? 0,
    clientSecondsPerRound: avg(s.map((x) => x.clientSecondsPerRound)) ?? 0,
    foldShare: avg(s.map((x) => x.foldShare)),
    clientStateMb: avg(s.map((x) => x.clientStateMb)),
    initNoise: avg(s.map((x) => x.initNoise)),
    initNoiseAbs: avg(s.map((x) => x.initNoiseAbs)),
    aggregationNoise: avg(s.map((x) => x.aggregationNoise)),
    stepRatio: avg(s.map((x) => x.stepRatio)),
  };
}

/**
 * A row's metric minus the reference row's, seed by seed over the seeds both
 * ran. Seeds fix the data, clients, ranks and sampling, so the difference of
 * one seed is a like-for-like comparison, and its spread over seeds says
 * whether a gap exceeds the noise; null without a shared seed.
 */
export function pairedDifference(row: Row, reference: Row, pick: (r: Row) => number[]): Stat | null {
  const ref = new Map(reference.seeds.map((seed, i) => [seed, pick(reference)[i]]));
  const diffs = row.seeds.flatMap((seed, i) => {
    const a = pick(row)[i];
    const b = ref.get(seed);
    return a === undefined || b === undefined ? [] : [a - b];
  });
  return diffs.length ? stat(diffs) : null;
}

/** Differences carry their sign, so a reader sees at once which side of the reference a method is. */
const signedPm = (s: Stat | null): string => {
  if (s === null || !Number.isFinite(s.mean)) return '–';
  const mean = `${s.mean >= 0 ? '+' : ''}${s.mean.toFixed(3)}`;
  return s.n > 1 ? `${mean} ± ${s.sd.toFixed(3)}` : mean;
};

const pm = (s: Stat | null): string =>
  s === null || !Number.isFinite(s.mean) ? '–' : s.n > 1 ? `${s.mean.toFixed(3)} ± ${s.sd.toFixed(3)}` : s.mean.toFixed(3);
const num = (x: number | null, digits = 3): string => (x === null || !Number.isFinite(x) ? 'null' : x < 1e-3 && x > 0 ? x.toExponential(1) : x.toFixed(digits));
const ratio = (x: number | null): string => (x === null ? '–' : x.toFixed(2));
const kb = (x: number): string => (x / 1024).toFixed(0);
const direction = (metric: string): string => `${metric} ${lowerIsBetter(metric) ? '↓' : '↑'}`;

const finalTest = (x: Row): number[] => x.finalTestBySeed;
const selectedTest = (x: Row): number[] => x.selectedTestBySeed;

/** A row's final and best-validation gaps to Fed-PLoRA in its own setting, seed by seed; null for Fed-PLoRA itself or a setting without it. */
function gapsToFedPlora(r: Row, rows: Row[]): [string, string] | null {
  const reference = rows.find((x) => x.method === 'fed-plora' && settingId(x.setting) === settingId(r.setting));
  if (!reference || r === reference) return null;
  return [signedPm(pairedDifference(r, reference, finalTest)), signedPm(pairedDifference(r, reference, selectedTest))];
}

/** A weighting-table row's best-validation change from the same method under example weights (its main setting), seed by seed. */
function changeFromExampleWeights(r: Row, rows: Row[]): string {
  const reference = rows.find(
    (x) => x.method === r.method && x.setting.table === 'main' && x.setting.task === r.setting.task && x.setting.split === r.setting.split,
  );
  return reference ? signedPm(pairedDifference(r, reference, selectedTest)) : '–';
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function markdownTables(rows: Row[], bounds: { title: string; text: string }[] = []): string {
  const main = rows.filter((r) => r.setting.table === 'main');
  const parts: string[] = [];
  parts.push(
    '### Methods',
    table(
      [
        'task',
        'split',
        'metric',
        'method',
        'lr',
        'final test',
        'test at best validation',
        'deployable at rank R',
        'KB up / round',
        'KB down / round',
        'client s / round',
        'fold or merge share',
        'client state MB',
      ],
      main.map((r) => [
        r.setting.task,
        r.setting.split,
        direction(r.metric),
        r.method,
        String(r.lr),
        pm(r.finalTest),
        pm(r.selectedTest),
        pm(r.deployable),
        kb(r.bytesUpPerRound),
        kb(r.bytesDownPerRound),
        r.clientSecondsPerRound.toFixed(2),
        num(r.foldShare, 3),
        num(r.clientStateMb, 2),
      ]),
    ),
  );
  const paired = main.flatMap((r) => {
    const gaps = gapsToFedPlora(r, rows);
    return gaps ? [[r.setting.task, r.setting.split, r.method, ...gaps]] : [];
  });
  if (paired.length) {
    parts.push(
      '### Against Fed-PLoRA, seed by seed',
      "Each method's test metric minus Fed-PLoRA's on the same seed (same data, clients, ranks and sampling), mean ± standard deviation over seeds: a positive figure means the method is ahead of Fed-PLoRA on a higher-better metric (↑, accuracy) and behind it on an error rate (↓); a gap smaller than its spread is not a difference.",
      table(['task', 'split', 'method', 'final test − Fed-PLoRA', 'test at best validation − Fed-PLoRA'], paired),
    );
  }
  const ranks = rows.filter((r) => r.setting.table === 'ranks' || (r.setting.table === 'main' && r.setting.task === 'spam' && r.setting.split === 'dirichlet'));
  if (ranks.some((r) => r.setting.table === 'ranks')) {
    parts.push(
      '### Rank distributions (spam, Dirichlet 0.5)',
      table(
        [
          'client ranks',
          'method',
          'final test',
          'test at best validation',
          'final test − Fed-PLoRA',
          'test at best validation − Fed-PLoRA',
          'client s / round',
          'step ratio',
        ],
        ranks.map((r) => [
          r.setting.ranks,
          r.method,
          pm(r.finalTest),
          pm(r.selectedTest),
          ...(gapsToFedPlora(r, rows) ?? ['', '']),
          r.clientSecondsPerRound.toFixed(2),
          ratio(r.stepRatio),
        ]),
      ),
    );
  }
  const weighting = rows.filter((r) => r.setting.table === 'weighting');
  if (weighting.length) {
    parts.push(
      '### Uniform client weights (spam, Dirichlet 0.5)',
      table(
        [
          'method',
          'final test',
          'test at best validation',
          'final test − Fed-PLoRA',
          'test at best validation − Fed-PLoRA',
          'step ratio',
          'test at best validation − same method under example weights',
        ],
        weighting.map((r) => [
          r.method,
          pm(r.finalTest),
          pm(r.selectedTest),
          ...(gapsToFedPlora(r, rows) ?? ['', '']),
          ratio(r.stepRatio),
          changeFromExampleWeights(r, rows),
        ]),
      ),
    );
  }
  parts.push(
    "### Noise, the paper's mechanism, next to accuracy",
    "Step ratio: how far the server moves the global model along the weighted mean of its clients' local steps, in units of that step (1 for FedAvg of whole models; above 1 where the server adds up what clients did on different parts), mean over rounds and over the seeds that recorded it; – where no cell recorded it.",
    table(
      ['task', 'split', 'method', 'initialization noise (relative)', 'initialization noise (absolute)', 'aggregation noise', 'step ratio', 'final test'],
      main.map((r) => [
        r.setting.task,
        r.setting.split,
        r.method,
        num(r.initNoise),
        num(r.initNoiseAbs),
        num(r.aggregationNoise),
        ratio(r.stepRatio),
        pm(r.finalTest),
      ]),
    ),
  );
  for (const b of bounds) parts.push(`### ${b.title}`, b.text);
  return `${parts.join('\n\n')}\n`;
}
