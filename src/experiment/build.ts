/**
 * From a validated run config to everything a simulation needs: the base
 * model and tokenizer, the task's examples, the partition into clients with
 * their ranks, the method, and the evaluation of a global model.
 */
import { loadModelFolder } from '../model/checkpoint.js';
import { createModel } from '../model/llama.js';
import { getKernels } from '../kernels/index.js';
import { loadTokenizer, type LoadedTokenizer } from '../data/tokenizer.js';
import { getTask } from '../data/tasks/index.js';
import { loadExamples } from '../data/loaders/index.js';
import { encodeExample, type EncodeOptions } from '../data/encode.js';
import type { Example } from '../data/example.js';
import { createPartitioner, exampleKeyOf, formatPartitionSummary, type PartitionSpec } from '../data/partition/index.js';
import { evaluate, type EvalResult, type EvalTask } from '../eval/evaluate.js';
import { clientRanks, type RankSpec } from '../federation/resources.js';
import type { ClientData, SimulationOptions } from '../federation/simulation.js';
import type { LocalTrainingOptions } from '../federation/local-train.js';
import type { GlobalModel, Method, MethodContext } from '../methods/method.js';
import { createMethod, type MethodSpec } from '../methods/registry.js';
import type { RunConfig } from './config.js';

export interface Experiment {
  ctx: MethodContext;
  method: Method;
  clients: ClientData[];
  task: EvalTask;
  evaluate: (g: GlobalModel) => EvalResult;
  simulation: Omit<SimulationOptions, 'runDir' | 'resume'>;
  tokenizer: LoadedTokenizer;
  /** a human-readable description of the data split, printed before a run */
  summary: string;
}

export async function taskData(c: RunConfig): Promise<{ task: EvalTask; train: Example[]; test: Example[] }> {
  if (c.task) {
    const t = getTask(c.task);
    const splits = t.load(c.seed);
    return { task: { kind: t.kind, metric: t.metric, ...(t.labels ? { labels: t.labels } : {}) }, train: splits.train, test: splits.test };
  }
  const d = c.data!;
  const opts = { layout: d.layout, ...(d.format ? { format: d.format } : {}), ...(d.mapping ? { mapping: d.mapping } : {}) };
  const train = await loadExamples(d.train, opts as Parameters<typeof loadExamples>[1]);
  const test = await loadExamples(d.test, opts as Parameters<typeof loadExamples>[1]);
  const kind = d.kind ?? (train.labels ? 'classification' : 'generation');
  const task: EvalTask = kind === 'classification' ? { kind, metric: 'accuracy', labels: train.labels ?? [] } : { kind, metric: 'rouge_l' };
  return { task, train: train.examples, test: test.examples };
}

function rankSpec(c: RunConfig): RankSpec {
  const r = c.ranks;
  return r.kind === 'memory' ? { kind: 'memory', budgetsMb: r.budgetsMb, batchSize: c.local.batchSize, seqLen: c.maxLength } : r;
}

/** The base model, its tokenizer, the kernels and the method context every side of a run shares. */
export function loadRunBase(c: RunConfig): { ctx: MethodContext; tokenizer: LoadedTokenizer } {
  const { config, weights } = loadModelFolder(c.model);
  const tokenizer = loadTokenizer(c.model);
  if (tokenizer.vocabSize > config.vocabSize) throw new Error(`${c.model}: the tokenizer has ${tokenizer.vocabSize} tokens, the model ${config.vocabSize}`);
  const ctx: MethodContext = {
    config, base: weights, kernels: getKernels(), rank: c.lora.rank, alpha: c.lora.alpha, scale: c.lora.alpha / c.lora.rank, targets: c.lora.targets, seed: c.seed,
  };
  return { ctx, tokenizer };
}

export function encodeOptions(c: RunConfig, task: EvalTask): EncodeOptions {
  return { maxLength: c.maxLength, truncation: c.truncation, appendEos: task.kind === 'generation' };
}

/** What the config says the method is (centralized is FedIT at rank R on one client holding everything). */
export function methodSpecOf(c: RunConfig): MethodSpec {
  return c.method.name === 'centralized' ? { name: 'fedit', rank: c.lora.rank } : (c.method as MethodSpec);
}

export function localTrainingOptions(c: RunConfig, tokenizer: LoadedTokenizer): LocalTrainingOptions {
  return {
    steps: c.local.steps, epochs: c.local.epochs, batchSize: c.local.batchSize, maxGradNorm: c.local.maxGradNorm, padId: tokenizer.padId,
    packTo: c.batching === 'pack' ? c.maxLength : 0,
    optimizer: { lr: c.local.lr, weightDecay: c.local.weightDecay },
  };
}

export interface BuildOptions {
  /** encode the training examples of these clients only (a networked client needs just its own); default all */
  encodeClient?: (id: number) => boolean;
}

export async function buildExperiment(c: RunConfig, b: BuildOptions = {}): Promise<Experiment> {
  const { ctx, tokenizer } = loadRunBase(c);
  const { config, kernels } = ctx;
  const { task, train, test } = await taskData(c);
  const centralized = c.method.name === 'centralized';
  const numClients = centralized ? 1 : c.clients;
  const by = c.partitionBy ?? (task.kind === 'classification' ? 'label' : 'group');
  const partitioner = createPartitioner((centralized ? { kind: 'iid', clients: 1 } : { ...c.partition, clients: numClients }) as PartitionSpec, train, centralized ? undefined : exampleKeyOf(by), c.seed);
  const ranks = centralized ? [c.lora.rank] : clientRanks(rankSpec(c), numClients, c.lora.rank, c.seed, { config, targets: c.lora.targets });
  const encode = encodeOptions(c, task);
  const clients: ClientData[] = ranks.map((rank, id) => {
    const indices = partitioner.loadPartition(id).slice(0, c.maxExamplesPerClient ?? Infinity);
    const examples = b.encodeClient && !b.encodeClient(id) ? [] : indices.map((i) => encodeExample(tokenizer, train[i]!, encode));
    return { info: { id, rank, numExamples: indices.length }, examples };
  });
  const method = createMethod(methodSpecOf(c), ctx, ranks);
  const testSet = test.slice(0, c.testExamples);
  const labelOf = task.kind === 'classification' ? exampleKeyOf('label') : undefined;
  const summary = [
    `${c.task ?? c.data!.train}: ${train.length} training examples, ${testSet.length} test examples; ${task.kind}, metric ${task.metric}`,
    `ranks: ${ranks.join(' ')} (R = ${c.lora.rank}, alpha ${c.lora.alpha}, targets ${c.lora.targets.join(', ')})`,
    formatPartitionSummary(partitioner.summary(labelOf)),
  ].join('\n');
  const perRound = centralized ? 1 : (c.clientsPerRound ?? Math.max(1, Math.round((c.fractionPerRound ?? 0.3) * numClients)));
  return {
    ctx,
    method,
    clients,
    task,
    tokenizer,
    summary,
    evaluate: (g) => evaluate(createModel(config, g.weights, { lora: g.adapter, kernels }), tokenizer, task, testSet, { maxLength: c.maxLength }),
    simulation: {
      rounds: c.rounds,
      clientsPerRound: perRound,
      evalEvery: c.evalEvery,
      measureNoise: c.measureNoise,
      local: localTrainingOptions(c, tokenizer),
    },
  };
}
