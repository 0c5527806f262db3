/**
 * The public API of fedplora. Everything a program needs to load a model,
 * build and run a federated experiment from a config, evaluate, export a
 * PEFT adapter, and add methods, tasks and partitioners of its own; the CLI
 * is built on the same functions. Anything not exported here is internal and
 * may change.
 */

// models and adapters
export { loadModel, simulate, type LoadedModel, type SimulateOptions } from './experiment/simulate.js';
export { loadModelFolder } from './model/checkpoint.js';
export { createModel, type Model } from './model/llama.js';
export type { ModelConfig } from './model/config.js';
export type { ModelWeights } from './model/weights.js';
export { baseWeightBytes, PRECISIONS, type Precision, withPrecision } from './model/precision.js';
export type { TargetName } from './layers/projections.js';
export { generate, type GenerateOptions } from './model/generate.js';
export { loadTokenizer, type LoadedTokenizer } from './data/tokenizer.js';
export { loadPeftAdapter, savePeftAdapter } from './lora/peft.js';
export type { LoraAdapter } from './layers/lora-branch.js';
export { getKernels } from './kernels/index.js';

// experiments
export { parseRunConfig, loadRunConfig, type RunConfig } from './experiment/config.js';
export { buildExperiment, type Experiment } from './experiment/build.js';
export type { RoundMetrics } from './federation/simulation.js';
export { evaluate, type EvalResult, type EvalTask } from './eval/evaluate.js';

// extension points
export { defineMethod, type AnyMethodDefinition, type MethodDefinition, type MethodRunInfo } from './methods/definition.js';
export { registerMethod, getMethodDefinition, methodNames, createMethod, type MethodSpec } from './methods/registry.js';
export type {
  AggregationStats,
  ClientInfo,
  ClientMethod,
  ClientUpdate,
  GlobalModel,
  LocalModel,
  Method,
  MethodContext,
  ServerMethod,
} from './methods/method.js';
export { payload, parseUpdates, updateSource, expectMetaInts, type Payload } from './methods/payload.js';
export { adapterFromPayload, adapterTensors } from './methods/adapter-payload.js';
export { initialGlobalAdapter } from './methods/aggregate/initial-adapter.js';
export { registerTask, getTask, taskNames, type TaskDefinition } from './data/tasks/index.js';
export { labelTarget, splitExamples } from './data/tasks/index.js';
export type { Example, TaskSplits } from './data/example.js';
export {
  definePartitioner,
  type AnyPartitionerDefinition,
  type PartitionerDefinition,
  type PartitionerRun,
} from './data/partition/definition.js';
export { registerPartitioner, getPartitionerDefinition, partitionerNames } from './data/partition/registry.js';
export { createPartitioner } from './data/partition/create.js';
export { partitionerFromParts } from './data/partition/from-parts.js';
export type { KeyOf, PartitionSpec, PartitionSummary, Partitioner } from './data/partition/types.js';
export { createRng, type Rng } from './util/random.js';
export { registerPlugin, loadPlugins, type FedploraPlugin } from './experiment/plugins.js';
export { z } from 'zod';
