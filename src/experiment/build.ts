/**
 * From a validated run config to everything a simulation needs: the base
 * model and tokenizer, the task's examples, the partition into clients with
 * their ranks, the method, and the evaluation of a global model.
 */
import { loadModelFolder } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import { fingerprintAs, modelFingerprint } from '../model/fingerprint.js';
import { baseWeightBytesOf, withPrecision } from '../model/precision.js';
import { createModel } from '../model/llama.js';
import { getKernels } from '../kernels/index.js';
import { loadTokenizer, type LoadedTokenizer } from '../data/tokenizer.js';
import { getTask } from '../data/tasks/index.js';
import { loadUserData } from '../data/user-data.js';
import { encodeExample, type EncodedExample, type EncodeOptions } from '../data/encode.js';
import { METRICS_OF, type Example, type MetricName, type TaskKind } from '../data/example.js';
import { createPartitioner, exampleKeyOf, formatPartitionSummary, partitionKey, type Partitioner } from '../data/partition/index.js';
import { evaluate, type EvalResult, type EvalTask } from '../eval/evaluate.js';
import { clientRanks, type RankSpec } from '../federation/resources.js';
import type { ClientData } from '../federation/client-data.js';
import type { SimulationOptions } from '../federation/simulation.js';
import type { LocalTrainingOptions } from '../federation/local-train.js';
import type { GlobalModel, Method, MethodContext } from '../methods/method.js';
import { createMethod, getMethodDefinition, parseMethodOptions } from '../methods/registry.js';
import { at, defined } from '../util/checked.js';
import type { RunConfig } from './config.js';

export interface Experiment {
  ctx: MethodContext;
  method: Method;
  clients: ClientData[];
  task: EvalTask;
  /** the task's metric on its test split (at most testExamples examples) */
  evaluate: (g: GlobalModel) => EvalResult;
  /**
   * The same metric on the task's validation split (at most testExamples
   * examples), for choosing hyperparameters without looking at the test
   * split. User data has no validation split: this throws.
   */
  evaluateValidation: (g: GlobalModel) => EvalResult;
  simulation: Omit<SimulationOptions, 'runDir' | 'resume'>;
  tokenizer: LoadedTokenizer;
  /** a human-readable description of the data split, printed before a run */
  summary: string;
}

export interface TaskData {
  task: EvalTask;
  train: Example[];
  /** null for user data, which has no validation split */
  validation: Example[] | null;
  test: Example[];
}

/** The run's headline metric: the config's, if it names one this kind of task is scored by, else the task's default. */
function headlineMetric(c: RunConfig, kind: TaskKind, fallback: MetricName): MetricName {
  if (c.metric === undefined) return fallback;
  const allowed = METRICS_OF[kind];
  if (!allowed.includes(c.metric)) throw new Error(`config: metric: ${kind} tasks are scored by ${allowed.join(', ')}, not ${c.metric}`);
  return c.metric;
}

export async function taskData(c: RunConfig): Promise<TaskData> {
  if (c.task) {
    const t = getTask(c.task);
    const splits = t.load(c.seed);
    return {
      task: { kind: t.kind, metric: headlineMetric(c, t.kind, t.metric), ...(t.labels ? { labels: t.labels } : {}) },
      train: splits.train,
      validation: splits.validation,
      test: splits.test,
    };
  }
  const data = defined(c.data, 'the data of a run without a task');
  const d = await loadUserData(data, c.seed);
  const kind = data.kind ?? (d.labels ? 'classification' : 'generation');
  const task: EvalTask =
    kind === 'classification'
      ? { kind, metric: headlineMetric(c, kind, 'accuracy'), labels: d.labels ?? [] }
      : { kind, metric: headlineMetric(c, kind, 'rouge_l') };
  return { task, train: d.train, validation: d.validation, test: d.test };
}

/** What the run's data is called in messages. */
function dataName(c: RunConfig): string {
  return c.task ?? c.data?.path ?? c.data?.train ?? 'user data';
}

function rankSpec(c: RunConfig, config: ModelConfig): RankSpec {
  const r = c.ranks;
  return r.kind === 'memory'
    ? { kind: 'memory', budgetsMb: r.budgetsMb, batchSize: c.local.batchSize, seqLen: c.maxLength, baseBytes: baseWeightBytesOf(config, c.precision) }
    : r;
}

/** The run's split of its training examples among its clients (by label for a classification task unless partitionBy says otherwise). */
export function partitionTraining(c: RunConfig, task: EvalTask, train: readonly Example[]): Partitioner<Example> {
  const by = c.partitionBy ?? (task.kind === 'classification' ? 'label' : 'group');
  const keyOf = partitionKey(c.partition.kind, by, train, c.partitionBy === undefined);
  return createPartitioner({ ...c.partition, clients: c.clients }, train, keyOf, c.seed);
}

/** The base model, its tokenizer, the kernels and the method context every side of a run shares. */
export function loadRunBase(c: RunConfig): { ctx: MethodContext; tokenizer: LoadedTokenizer } {
  const loaded = loadModelFolder(c.model);
  const { config } = loaded;
  // fingerprinted as loaded, so a base held in bf16 or int8 joins runs of the same checkpoint
  const weights = fingerprintAs(withPrecision(loaded.weights, c.precision), modelFingerprint(config, loaded.weights));
  const tokenizer = loadTokenizer(c.model);
  if (tokenizer.vocabSize > config.vocabSize) throw new Error(`${c.model}: the tokenizer has ${tokenizer.vocabSize} tokens, the model ${config.vocabSize}`);
  const ctx: MethodContext = {
    config,
    base: weights,
    kernels: getKernels(),
    rank: c.lora.rank,
    alpha: c.lora.alpha,
    scale: c.lora.alpha / c.lora.rank,
    targets: c.lora.targets,
    seed: c.seed,
  };
  return { ctx, tokenizer };
}

export function encodeOptions(c: RunConfig, task: EvalTask): EncodeOptions {
  return { maxLength: c.maxLength, truncation: c.truncation, appendEos: task.kind === 'generation' };
}

export function localTrainingOptions(c: RunConfig, tokenizer: LoadedTokenizer): LocalTrainingOptions {
  return {
    steps: c.local.steps,
    epochs: c.local.epochs,
    batchSize: c.local.batchSize,
    maxGradNorm: c.local.maxGradNorm,
    padId: tokenizer.padId,
    packTo: c.batching === 'pack' ? c.maxLength : 0,
    optimizer: { lr: c.local.lr, weightDecay: c.local.weightDecay },
  };
}

export interface BuildOptions {
  /** encode the training examples of these clients only (a networked client needs just its own); default all */
  encodeClient?: (id: number) => boolean;
}

/** Clients sampled per round by the federation the config describes. */
function federatedClientsPerRound(c: RunConfig): number {
  return c.clientsPerRound ?? Math.max(1, Math.round((c.fractionPerRound ?? 0.3) * c.clients));
}

/** Batches in one pass over `examples` as local training cuts them (padded or packed); the order does not change the count. */
export function batchesPerPass(examples: readonly EncodedExample[], batchSize: number, packTo: number): number {
  if (packTo === 0) return Math.ceil(examples.length / batchSize);
  const tokens = examples.reduce((n, e) => n + e.ids.length, 0);
  return Math.ceil(Math.ceil(tokens / packTo) / batchSize);
}

/** The clients, how many take part each round, and how each trains locally. */
export interface Federation {
  clients: ClientData[];
  clientsPerRound: number;
  local: LocalTrainingOptions;
}

/**
 * What the centralized upper bound is, given the federation it bounds: one
 * client at rank R that holds exactly the examples the federation's clients
 * hold (each partition as capped by maxExamplesPerClient), pooled in client
 * order, takes part in every round and takes as many gradient steps a round
 * as the whole federation does, with the same batch size, optimizer and
 * clipping:
 * - local.steps S: S x clientsPerRound steps (exact: every sampled client takes S).
 * - local.epochs E: the federation's expected steps a round. The K sampled
 *   clients each make E passes over their own data and every client is
 *   sampled with probability K / C, so that is E x K / C x (the sum of every
 *   client's batches per pass), rounded, at least 1: E x K / C passes over
 *   the pooled data, counted in the clients' own batches. Exact when every
 *   client takes part in every round (K = C).
 * The pooled client then trains by steps (epochs 0).
 */
export function centralizedFederation(federation: Federation, rank: number): Federation {
  const { clients, clientsPerRound: K, local } = federation;
  const missing = clients.find((c) => c.examples.length !== c.info.numExamples);
  if (missing) throw new Error(`centralized pools every client's examples, but client ${missing.info.id}'s were not encoded`);
  const examples = clients.flatMap((c) => c.examples);
  const batches = clients.reduce((n, c) => n + batchesPerPass(c.examples, local.batchSize, local.packTo), 0);
  const steps = local.steps > 0 ? local.steps * K : Math.max(1, Math.round((local.epochs * K * batches) / clients.length));
  return {
    clients: [{ info: { id: 0, rank, numExamples: examples.length }, examples }],
    clientsPerRound: 1,
    local: { ...local, steps, epochs: 0 },
  };
}

export async function buildExperiment(c: RunConfig, b: BuildOptions = {}): Promise<Experiment> {
  const { ctx, tokenizer } = loadRunBase(c);
  const { config, kernels } = ctx;
  const { task, train, validation, test } = await taskData(c);
  const partitioner = partitionTraining(c, task, train);
  const ranks = clientRanks(rankSpec(c, config), c.clients, c.lora.rank, c.seed, { config, targets: c.lora.targets });
  const encode = encodeOptions(c, task);
  const federation: Federation = {
    clients: ranks.map((rank, id) => {
      const indices = partitioner.loadPartition(id).slice(0, c.maxExamplesPerClient ?? Infinity);
      const examples = b.encodeClient && !b.encodeClient(id) ? [] : indices.map((i) => encodeExample(tokenizer, at(train, i, 'training examples'), encode));
      return { info: { id, rank, numExamples: indices.length }, examples };
    }),
    clientsPerRound: federatedClientsPerRound(c),
    local: localTrainingOptions(c, tokenizer),
  };
  const centralized = getMethodDefinition(c.method.name).poolsClients ? centralizedFederation(federation, c.lora.rank) : null;
  const run = centralized ?? federation;
  const runRanks = run.clients.map((x) => x.info.rank);
  const method = createMethod(c.method, ctx, runRanks);
  const testSet = test.slice(0, c.testExamples);
  const validationSet = validation?.slice(0, c.testExamples) ?? null;
  // The summary counts labels, or groups where examples have them: an IID split of data without groups is no error.
  const labelOf = task.kind === 'classification' ? exampleKeyOf('label') : (ex: Example) => ex.group ?? '(no group)';
  const summary = [
    `${dataName(c)}: ${train.length} training examples, ${testSet.length} test examples; ${task.kind}, metric ${task.metric}`,
    `ranks: ${runRanks.join(' ')} (R = ${c.lora.rank}, alpha ${c.lora.alpha}, targets ${c.lora.targets.join(', ')})`,
    formatPartitionSummary(partitioner.summary(labelOf)),
    ...(centralized
      ? [
          `${c.method.name}: one client pools the ${at(centralized.clients, 0, 'pooled client').info.numExamples} examples of the ${c.clients} clients above and takes ${centralized.local.steps} steps a round`,
        ]
      : []),
  ].join('\n');
  const evaluateOn =
    (examples: readonly Example[]) =>
    (g: GlobalModel): EvalResult =>
      evaluate(createModel(config, g.weights, { lora: g.adapter, kernels }), tokenizer, task, examples, { maxLength: c.maxLength });
  const noValidation = (): Error =>
    new Error(
      `${dataName(c)}: this data has no validation split, so there is nothing to tune on without touching the test split; give data.validation (a file) or data.validationFraction`,
    );
  if (c.evaluateValidation && !validationSet) throw noValidation();
  const evaluateValidation = validationSet
    ? evaluateOn(validationSet)
    : (): never => {
        throw noValidation();
      };
  return {
    ctx,
    method,
    clients: run.clients,
    task,
    tokenizer,
    summary,
    evaluate: evaluateOn(testSet),
    evaluateValidation,
    simulation: {
      rounds: c.rounds,
      clientsPerRound: run.clientsPerRound,
      evalEvery: c.evalEvery,
      measureNoise: c.measureNoise,
      stepWeighting: methodWeighting(c.method),
      local: run.local,
      evaluateDeployable: c.evaluateDeployable,
      ...(c.evaluateValidation ? { validate: evaluateValidation } : {}),
    },
  };
}

/** The weighting a method's options resolve to (their defaults included); examples where a method has none. */
function methodWeighting(spec: RunConfig['method']): 'examples' | 'uniform' {
  const parsed = parseMethodOptions(spec);
  return parsed.ok && parsed.options['weighting'] === 'uniform' ? 'uniform' : 'examples';
}
