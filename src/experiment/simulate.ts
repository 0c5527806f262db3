/** The library's entry points over an experiment: run its simulation, load a model with or without an adapter. */
import { loadModelFolder } from '../model/checkpoint.js';
import { createModel, type Model } from '../model/llama.js';
import { type Precision, withPrecision } from '../model/precision.js';
import { loadPeftAdapter } from '../lora/peft.js';
import type { LoraAdapter } from '../layers/lora-branch.js';
import { loadTokenizer, type LoadedTokenizer } from '../data/tokenizer.js';
import { runSimulation, type RoundMetrics } from '../federation/simulation.js';
import type { Experiment } from './build.js';

export interface SimulateOptions {
  /** called after every round (round 0 is the evaluation before training) */
  onRound?: (m: RoundMetrics) => void;
  /** called as each sampled client finishes its local training */
  onClient?: (round: number, done: number, of: number) => void;
  /** a folder for round checkpoints; without it nothing is written */
  runDir?: string;
  /** continue from the newest checkpoint in runDir */
  resume?: boolean;
  /** stops the run between rounds */
  signal?: AbortSignal;
}

/** Runs the experiment's federated simulation in this process and returns every round's metrics. */
export function simulate(e: Experiment, o: SimulateOptions = {}): Promise<RoundMetrics[]> {
  return runSimulation(
    e.method,
    e.ctx,
    e.clients,
    e.evaluate,
    { ...e.simulation, resume: o.resume ?? false, ...(o.runDir !== undefined ? { runDir: o.runDir } : {}), ...(o.signal ? { signal: o.signal } : {}) },
    { ...(o.onRound ? { onRound: o.onRound } : {}), ...(o.onClient ? { onClient: o.onClient } : {}) },
  );
}

export interface LoadedModel {
  model: Model;
  tokenizer: LoadedTokenizer;
  adapter: LoraAdapter | null;
}

/**
 * A Hugging Face model folder (config.json, safetensors, tokenizer.json), with a PEFT adapter folder applied
 * when given and the frozen base held at `precision` (fp32 by default; model/precision.ts).
 */
export function loadModel(folder: string, o: { adapter?: string; precision?: Precision } = {}): LoadedModel {
  const loaded = loadModelFolder(folder);
  const { config } = loaded;
  const weights = withPrecision(loaded.weights, o.precision ?? 'fp32');
  const tokenizer = loadTokenizer(folder);
  const adapter = o.adapter !== undefined ? loadPeftAdapter(o.adapter, config) : null;
  return { model: createModel(config, weights, { lora: adapter }), tokenizer, adapter };
}
