/**
 * The method benchmark's cells: every method and bound on the same data,
 * clients, ranks, sampling, local steps and evaluation, differing only in
 * the method and its learning rate. A learning rate is chosen per method,
 * task and split on the validation split of the first seed's runs; the
 * other seeds then run at that rate.
 */
import { defined } from '../../src/util/checked.js';

export type SplitName = 'iid' | 'dirichlet' | 'natural';
export type RankDistribution = 'uniform' | 'all-max' | 'heavy-tail';
export type Weighting = 'examples' | 'uniform';

export const METHODS = ['fed-plora', 'fedit', 'hetlora', 'flexlora', 'flora', 'centralized', 'local'] as const;
export type BenchMethod = (typeof METHODS)[number];

export interface Scale {
  clients: number;
  clientsPerRound: number;
  rounds: number;
  evalEvery: number;
  steps: number;
  batchSize: number;
  maxLength: number;
  evalExamples: number;
  maxExamplesPerClient: number;
  rank: number;
  choices: number[];
  lrs: number[];
  seeds: number[];
}

export interface Setting {
  task: string;
  split: SplitName;
  ranks: RankDistribution;
  weighting: Weighting;
  /** which table the setting feeds */
  table: 'main' | 'ranks' | 'weighting';
  /** the methods it compares */
  methods: readonly BenchMethod[];
  /**
   * The main setting whose chosen learning rates it runs at, or null when it
   * tunes its own. The rank and weighting tables vary one thing of their main
   * setting, so they keep its rates, and the difference is that one thing.
   */
  ratesFrom: Setting | null;
}

export interface Cell {
  id: string;
  setting: Setting;
  method: BenchMethod;
  seed: number;
  lr: number;
  /** the cell's run config (fedplora run) */
  config: Record<string, unknown>;
  /** the base model's fingerprint (model/fingerprint.ts): a finished cell counts only for the model it ran on */
  model: string;
}

/**
 * Full scale: 20 clients, 25% sampled, ranks over {2, 4, 8, 16}, three seeds,
 * 20 rounds of 8 local steps. Prompts keep their last 160 tokens (the question
 * is at the end): the whole prompt of a third of the spam and 43% of the
 * State of the Union examples, which is what a step on two cores affords.
 */
export const FULL: Scale = {
  clients: 20,
  clientsPerRound: 5,
  rounds: 20,
  evalEvery: 5,
  steps: 8,
  batchSize: 8,
  maxLength: 160,
  evalExamples: 200,
  maxExamplesPerClient: 96,
  rank: 16,
  choices: [2, 4, 8, 16],
  lrs: [1e-3, 2e-3, 4e-3],
  seeds: [0, 1, 2],
};

/**
 * One task, one split, one seed, in minutes: every method at one shared
 * learning rate (the same for all, so as fair as a sweep, but untuned), 10
 * rounds of 8 steps on prompts of at most 160 tokens.
 */
export const QUICK: Scale = { ...FULL, rounds: 10, evalEvery: 5, evalExamples: 100, maxExamplesPerClient: 64, lrs: [2e-3], seeds: [0] };

/** Non-IID first: the paper's claim is about it, and the rank and weighting tables build on spam's. */
const SPLITS: Record<string, SplitName[]> = { spam: ['dirichlet', 'iid'], 'sotu-era': ['natural', 'iid'], cmudict: ['natural', 'iid'] };

/**
 * The metric a task is compared on where its own headline metric cannot
 * separate the methods: at this scale no cmudict run under natural splits,
 * of any method, rate or round, got one pronunciation exactly right, so
 * exact match tied every method at 0 and tuning on it picked by the tie
 * rule. The phoneme error rate, the usual measure of grapheme-to-phoneme
 * models, scores each phoneme.
 */
const BENCH_METRIC: Readonly<Record<string, string>> = { cmudict: 'phoneme_error_rate' };

/** The methods that aggregate client updates: the ones a weighting changes. */
export const FEDERATED: readonly BenchMethod[] = METHODS.filter((m) => m !== 'centralized' && m !== 'local');

/**
 * The settings in the order they run: each main setting, then the rank and
 * weighting variants of spam under Dirichlet splits. `centralized` trains one
 * adapter of rank R, so the rank table leaves it out; neither bound
 * aggregates, so the weighting table leaves both out.
 */
export function settings(quick: boolean): Setting[] {
  const main = (task: string, split: SplitName): Setting => ({
    task,
    split,
    ranks: 'uniform',
    weighting: 'examples',
    table: 'main',
    methods: METHODS,
    ratesFrom: null,
  });
  if (quick) return [main('spam', 'dirichlet')];
  const mains = Object.entries(SPLITS).flatMap(([task, splits]) => splits.map((s) => main(task, s)));
  const spamDirichlet = defined(
    mains.find((s) => s.task === 'spam' && s.split === 'dirichlet'),
    'the spam setting with Dirichlet splits',
  );
  return [
    ...mains,
    ...(['all-max', 'heavy-tail'] as const).map(
      (ranks): Setting => ({ ...spamDirichlet, ranks, table: 'ranks', methods: METHODS.filter((m) => m !== 'centralized'), ratesFrom: spamDirichlet }),
    ),
    { ...spamDirichlet, weighting: 'uniform', table: 'weighting', methods: FEDERATED, ratesFrom: spamDirichlet },
  ];
}

function partition(split: SplitName): Record<string, unknown> {
  return split === 'dirichlet' ? { kind: 'dirichlet', alpha: 0.5 } : { kind: split };
}

function ranks(d: RankDistribution, s: Scale): Record<string, unknown> {
  if (d === 'all-max') return { kind: 'list', ranks: Array.from({ length: s.clients }, () => s.rank) };
  return { kind: d, choices: s.choices };
}

/** Each method's options under the setting's weighting; HetLoRA keeps its norm weights and multiplies them by it. */
function methodSpec(m: BenchMethod, w: Weighting): Record<string, unknown> {
  switch (m) {
    case 'centralized':
    case 'local':
      return { name: m };
    case 'hetlora':
      return { name: m, aggregation: 'paper', weighting: w };
    default:
      return { name: m, weighting: w };
  }
}

export function settingId(s: Setting): string {
  return [s.task, s.split, s.ranks, s.weighting].join('.');
}

export function cellFor(s: Setting, method: BenchMethod, seed: number, lr: number, scale: Scale, output: string, model: string): Cell {
  const id = `${settingId(s)}.${method}.lr${lr}.seed${seed}`;
  const config = {
    name: id,
    seed,
    model: 'models/fedplora-base',
    task: s.task,
    ...(BENCH_METRIC[s.task] ? { metric: BENCH_METRIC[s.task] } : {}),
    partition: partition(s.split),
    // a natural split groups by the data's own groups (president, first letter), not by the label a classification task defaults to
    ...(s.split === 'natural' ? { partitionBy: 'group' } : {}),
    clients: scale.clients,
    ranks: ranks(s.ranks, scale),
    lora: { rank: scale.rank, alpha: 2 * scale.rank, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
    method: methodSpec(method, s.weighting),
    rounds: scale.rounds,
    clientsPerRound: scale.clientsPerRound,
    evalEvery: scale.evalEvery,
    testExamples: scale.evalExamples,
    maxLength: scale.maxLength,
    maxExamplesPerClient: scale.maxExamplesPerClient,
    local: { steps: scale.steps, batchSize: scale.batchSize, lr },
    // Every method trains the same way when timed: in the cell's own single-threaded process.
    workers: 1,
    measureNoise: true,
    evaluateValidation: true,
    evaluateDeployable: true,
    output,
  };
  return { id, setting: s, method, seed, lr, config, model };
}
