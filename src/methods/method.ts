/**
 * A federated LoRA method: a server half (what each client receives, how
 * updates are aggregated, what the global model is) and a client half (how a
 * client builds its local model from what it received, what it sends back).
 * Messages are payloads of named fp32 tensors plus small JSON metadata, so
 * the bytes counted are the bytes a transport would carry.
 */
import type { LoraAdapter } from '../layers/lora-branch.js';
import type { Kernels } from '../kernels/kernels.js';
import type { ModelConfig } from '../model/config.js';
import type { ModelWeights } from '../model/weights.js';
import type { TargetName } from '../layers/projections.js';
import type { LoraRegularizer } from '../train/trainer.js';
import type { Payload } from './payload.js';

/** What every method shares: the model and the adapter's global shape. */
export interface MethodContext {
  config: ModelConfig;
  /** the pristine base weights; never written */
  base: ModelWeights;
  kernels: Kernels;
  /** the global rank R */
  rank: number;
  alpha: number;
  /** scale = alpha / R for every client, whatever its rank */
  scale: number;
  targets: TargetName[];
  seed: number;
}

export interface ClientInfo {
  id: number;
  /** the largest LoRA rank this client can afford */
  rank: number;
  /** training examples it holds */
  numExamples: number;
}

export interface ClientUpdate {
  client: ClientInfo;
  payload: Payload;
}

/** A client's local starting point: the (possibly folded or merged) weights and the adapter it trains. */
export interface LocalModel {
  weights: ModelWeights;
  adapter: LoraAdapter;
  /** what the client half needs to remember between prepare and upload (e.g. module ids) */
  meta: Record<string, unknown>;
  /**
   * An extra term of this client's local loss (HetLoRA's penalty on its
   * trailing ranks): local training adds its gradient at every step, after
   * backward and before clipping. Methods without one leave it out, and their
   * training is exactly what it was.
   */
  regularizer?: LoraRegularizer;
}

/** The global model as evaluated: base weights (possibly with merged updates) plus an adapter, if any. */
export interface GlobalModel {
  weights: ModelWeights;
  adapter: LoraAdapter | null;
}

/** Diagnostics of one aggregation, relative Frobenius norms averaged over layers and targets. */
export interface AggregationStats {
  /** ||mean of products - product of means|| / ||mean of products||; null when nothing was aggregated or the method averages nothing */
  aggregationNoise: number | null;
  /** updates that failed validation (wrong shapes, NaN, bad metadata) and were left out */
  rejected: { clientId: number; reason: string }[];
  /** method-specific diagnostics by name (e.g. FlexLoRA's SVD truncation error) */
  extra?: Record<string, number>;
}

export interface ServerMethod {
  readonly name: string;
  /** the message for one sampled client this round */
  configure(round: number, client: ClientInfo): Payload;
  /**
   * Folds this round's valid updates into the global state; invalid ones are
   * rejected with their reason and no update at all keeps the state.
   */
  aggregate(round: number, updates: ClientUpdate[]): AggregationStats;
  /**
   * Throws the reason aggregate() would reject this update (names, shapes,
   * module ids, ranks, non-finite values), without changing any state, so a
   * server can refuse a bad upload when it arrives and tell the client why.
   */
  validate(round: number, update: ClientUpdate): void;
  /**
   * The client has lost its device state (it restarted or joined anew):
   * forget what was sent to it before, so its next message is complete.
   */
  clientReset?(clientId: number): void;
  /** the global model for evaluation */
  globalModel(): GlobalModel;
  /** models whose evaluations are averaged instead of the global model's (local-only training: some clients' own models) */
  evaluationModels?(): GlobalModel[];
  /**
   * The global model as it can be deployed at rank R at most, where the
   * method's own global model exceeds it (FlexLoRA's stacked sum of rank
   * sum r_i: its best rank-R approximation). Absent: globalModel() itself.
   */
  deployableModel?(): GlobalModel;
  /**
   * The model a client of rank r starts from when it is sampled next, where
   * that differs from the global model (HetLoRA's truncation, FlexLoRA's
   * rank-r SVD). Absent: every client starts from the global model itself.
   * Must not change any state.
   */
  receivedModel?(rank: number): GlobalModel;
  /** the global adapter as PEFT-exportable LoRA (FLoRA: the updates merged so far, as a rank-sum LoRA or null) */
  exportAdapter(): LoraAdapter | null;
  /** everything needed to resume, as tensors and JSON */
  saveState(): Payload;
  loadState(state: Payload): void;
}

export interface ClientMethod {
  /** builds the local model from the server's message */
  prepare(message: Payload, client: ClientInfo): LocalModel;
  /** what goes back after local training */
  upload(local: LocalModel, client: ClientInfo): Payload;
}

export interface Method {
  server: ServerMethod;
  client: ClientMethod;
  /**
   * The simulated client half reads state the server object keeps for it
   * (FLoRA's merged base, local training's per-client adapters), so its
   * clients must train in the server's process, not in worker processes.
   */
  clientsShareServerState?: boolean;
  /**
   * A client half that keeps its own device state (for clients in other
   * processes or machines) where `client` reads the server's; methods whose
   * client half is stateless leave it out and `client` serves everywhere.
   */
  deviceClient?(): ClientMethod;
  /**
   * Every client keeps a model of its own and none starts from a global one
   * (local-only training): initialization noise relative to a global model
   * is undefined, so only its absolute distance from the base is reported.
   */
  noGlobalModel?: boolean;
  /** the lowest rank a client needs to take part (FedIT trains every client at one rank); 1 when absent */
  minClientRank?: number;
}
