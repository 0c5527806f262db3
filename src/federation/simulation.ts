/**
 * The federated simulation: every round, sample clients, send each its
 * message, train locally (through a ClientRunner: in this process, or in
 * worker processes), collect updates in sampling order, aggregate, and every
 * few rounds evaluate the global model. Peak RSS is this process's; worker
 * processes hold their own copy of the model.
 */
import type { ClientData } from './client-data.js';
import type { EvalResult } from '../eval/evaluate.js';
import type { LocalTrainingOptions } from './local-train.js';
import { inProcessRunner, isFailure, type ClientJob, type ClientResult, type ClientRunner } from './client-runner.js';
import { sampleClients } from './sampling.js';
import { loadLatestCheckpoint, saveCheckpoint } from './run-checkpoint.js';
import type { ClientUpdate, GlobalModel, LocalModel, Method, MethodContext } from '../methods/method.js';
import { initializationNoise, type InitializationNoise } from '../methods/noise.js';
import { globalEffectiveWeights, stepRatio, type ClientStep } from '../methods/step-ratio.js';
import { mapLora } from '../lora/adapter.js';
import { encodePayload, payloadBytes } from '../methods/payload.js';
import { at } from '../util/checked.js';

export interface SimulationOptions {
  rounds: number;
  clientsPerRound: number;
  /** evaluate the global model every this many rounds (and before the first, and after the last) */
  evalEvery: number;
  local: LocalTrainingOptions;
  /** measure initialization noise and the step ratio (dense products per target and client: costs time on big models) */
  measureNoise: boolean;
  /** the clients' weights in the mean client step of step_ratio: the method's own weighting; default examples */
  stepWeighting?: 'examples' | 'uniform';
  /** folder for checkpoints; none when undefined */
  runDir?: string;
  /** continue from the newest checkpoint in runDir */
  resume: boolean;
  /** where clients train; in this process, one after another, by default */
  runner?: ClientRunner;
  /** a round with fewer results than this aggregates nothing (the global state stays); default 1 */
  minResults?: number;
  /**
   * After the last round, also evaluate what can be deployed at rank R
   * (deployable_metric) and what a client of each rank starts from
   * (received_metric); each costs an evaluation where it differs from the global model.
   */
  evaluateDeployable?: boolean;
  /** also evaluate on the validation split at every evaluation (model selection and tuning use it, never the test split) */
  validate?: (g: GlobalModel) => EvalResult;
  /** stops the run between rounds; a round interrupted by it is neither aggregated nor checkpointed */
  signal?: AbortSignal;
}

export interface RoundMetrics {
  round: number;
  method: string;
  sampled: number[];
  ranks: number[];
  train_loss: number | null;
  /** the task's headline metric; null in rounds without evaluation */
  test_metric: number | null;
  /** the same metric on the validation split (when the run validates) */
  validation_metric: number | null;
  /** the metric of the global model capped at rank R (evaluateDeployable; null otherwise or without a global model) */
  deployable_metric: number | null;
  /** by client rank: the metric of the model such a client starts from (evaluateDeployable) */
  received_metric: Record<string, number> | null;
  metric: string;
  scores: Record<string, number> | null;
  bytes_up: number;
  bytes_down: number;
  cumulative_bytes: number;
  seconds: number;
  local_seconds: number;
  trainable_parameters: number;
  peak_rss_mb: number;
  /** relative initialization noise, mean over the sampled clients; null when not measured or not defined (the global model equals the base) */
  init_noise: number | null;
  /** the same in weight units (||start - global||), where relative sizes do not apply */
  init_noise_abs: number | null;
  aggregation_noise: number | null;
  /**
   * the global model's step along the weighted mean of the clients' local steps, in units of that
   * step (methods/step-ratio.ts): 1 for FedAvg; null when not measured (clients training in other
   * processes, no global model, nothing aggregated)
   */
  step_ratio: number | null;
  /** seconds the sampled clients spent preparing their local models (fold, merge), included in local_seconds */
  prepare_seconds: number | null;
  /** mean fp32 state a sampled client held beyond the base model (copies of weights, adapter with gradient and moments) */
  client_state_mb: number | null;
  /** method-specific diagnostics of the aggregation (e.g. FlexLoRA's truncation error) */
  extra: Record<string, number>;
  rejected: { clientId: number; reason: string }[];
  /** sampled clients that sent no result: they did not answer by the deadline or went away */
  dropped: { clientId: number; reason: string }[];
  /** false when too few results arrived and the global state was kept */
  aggregated: boolean;
}

export interface SimulationHooks {
  onRound?: (m: RoundMetrics) => void;
  onClient?: (round: number, done: number, of: number) => void;
}

export async function runSimulation(
  method: Method,
  ctx: MethodContext,
  clients: ClientData[],
  evaluate: (g: GlobalModel) => EvalResult,
  o: SimulationOptions,
  hooks: SimulationHooks = {},
): Promise<RoundMetrics[]> {
  const { server, client } = method;
  const runner = o.runner ?? inProcessRunner(method, ctx, o.local);
  let metrics: RoundMetrics[] = [];
  let start = 1;
  if (o.resume) {
    if (!o.runDir) throw new Error('resume needs a run folder');
    const state = loadLatestCheckpoint(o.runDir, server);
    if (state) {
      metrics = state.metrics as RoundMetrics[];
      start = state.round + 1;
    }
  }
  const base = (round: number): RoundMetrics => ({
    round,
    method: server.name,
    sampled: [],
    ranks: [],
    train_loss: null,
    test_metric: null,
    validation_metric: null,
    deployable_metric: null,
    received_metric: null,
    metric: '',
    scores: null,
    bytes_up: 0,
    bytes_down: 0,
    cumulative_bytes: metrics.at(-1)?.cumulative_bytes ?? 0,
    seconds: 0,
    local_seconds: 0,
    trainable_parameters: 0,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    init_noise: null,
    init_noise_abs: null,
    aggregation_noise: null,
    step_ratio: null,
    prepare_seconds: null,
    client_state_mb: null,
    extra: {},
    rejected: [],
    dropped: [],
    aggregated: round > 0,
  });
  const withEval = (m: RoundMetrics): RoundMetrics => {
    // A method without one global model (local-only training) names the models whose scores are averaged.
    const models = server.evaluationModels?.() ?? [];
    const results = (models.length > 0 ? models : [server.globalModel()]).map((g) => evaluate(g));
    const mean = (f: (r: EvalResult) => number): number => results.reduce((s, r) => s + f(r), 0) / results.length;
    const first = at(results, 0, 'evaluation results');
    const scores = Object.fromEntries(Object.keys(first.scores).map((k) => [k, mean((r) => r.scores[k] ?? NaN)]));
    const value = mean((r) => r.value);
    const out: RoundMetrics = { ...m, test_metric: value, metric: first.metric, scores };
    const { validate } = o;
    if (validate) {
      const validated = (models.length > 0 ? models : [server.globalModel()]).map((g) => validate(g).value);
      out.validation_metric = validated.reduce((a, b) => a + b, 0) / validated.length;
    }
    // Deployable and received models describe the outcome: scored once, after the last round.
    if (o.evaluateDeployable && models.length === 0 && m.round === o.rounds) {
      out.deployable_metric = server.deployableModel ? evaluate(server.deployableModel()).value : value;
      const ranks = [...new Set(clients.map((c) => c.info.rank))].sort((a, b) => a - b);
      out.received_metric = Object.fromEntries(ranks.map((r) => [String(r), server.receivedModel ? evaluate(server.receivedModel(r)).value : value]));
    }
    return out;
  };
  if (start === 1) {
    const m = withEval(base(0));
    metrics.push(m);
    hooks.onRound?.(m);
  }
  for (let round = start; round <= o.rounds && !o.signal?.aborted; round++) {
    const t0 = performance.now();
    const sampled = sampleClients(clients.length, o.clientsPerRound, ctx.seed, round);
    const m = base(round);
    const noise: InitializationNoise[] = [];
    // adapters as the clients start, copied before training changes them in place
    const startAdapters = new Map<number, LocalModel['adapter']>();
    const jobs = sampled.map((id): ClientJob => {
      const c = at(clients, id, 'clients');
      const message = server.configure(round, c.info);
      const encoded = encodePayload(message);
      m.bytes_down += encoded.length;
      if (!o.measureNoise) return { round, client: c, message, encoded };
      const t = performance.now();
      const prepared = client.prepare(message, c.info);
      const prepareSeconds = (performance.now() - t) / 1000;
      noise.push(initializationNoise(ctx, prepared, server.globalModel()));
      startAdapters.set(
        c.info.id,
        mapLora(prepared.adapter, (x) => Float32Array.from(x)),
      );
      return { round, client: c, message, encoded, prepared, prepareSeconds };
    });
    const outcomes = await runner.run(jobs, (done) => hooks.onClient?.(round, done, sampled.length));
    if (o.signal?.aborted) break;
    const results: { job: (typeof jobs)[number]; result: ClientResult }[] = [];
    const refused: RoundMetrics['rejected'] = [];
    outcomes.forEach((r, i) => {
      const job = at(jobs, i, 'jobs of the round');
      if (isFailure(r)) (r.failure === 'rejected' ? refused : m.dropped).push({ clientId: job.client.info.id, reason: r.reason });
      else results.push({ job, result: r });
    });
    const updates: ClientUpdate[] = results.map(({ job, result }) => {
      m.bytes_up += result.updateBytes ?? payloadBytes(result.update);
      m.local_seconds += result.seconds;
      m.trainable_parameters += result.trainableParameters / results.length;
      return { client: job.client.info, payload: result.update };
    });
    const reported = <K extends 'prepareSeconds' | 'stateBytes'>(k: K): number[] =>
      results.flatMap(({ result }) => (result[k] === undefined ? [] : [result[k]]));
    const prepare = reported('prepareSeconds');
    const state = reported('stateBytes');
    const loss = results.reduce((a, { result }) => a + result.loss, 0);
    const relativeNoise = noise.flatMap((x) => (x.relative === null ? [] : [x.relative]));
    // Too few results: aggregate nothing, so methods still close the round's bookkeeping but keep the global state.
    const aggregated = updates.length >= (o.minResults ?? 1);
    const steps = aggregated && !method.noGlobalModel ? clientSteps(results, startAdapters, o.stepWeighting ?? 'examples') : null;
    const before = steps ? globalEffectiveWeights(ctx, server.globalModel()) : null;
    const stats = server.aggregate(round, aggregated ? updates : []);
    Object.assign(m, {
      sampled,
      ranks: sampled.map((id) => at(clients, id, 'clients').info.rank),
      train_loss: results.length > 0 ? loss / results.length : null,
      init_noise:
        !method.noGlobalModel && noise.length > 0 && relativeNoise.length === noise.length ? relativeNoise.reduce((a, x) => a + x, 0) / noise.length : null,
      init_noise_abs: noise.length > 0 ? noise.reduce((a, x) => a + x.absolute, 0) / noise.length : null,
      prepare_seconds: prepare.length > 0 ? prepare.reduce((a, b) => a + b, 0) : null,
      client_state_mb: state.length > 0 ? state.reduce((a, b) => a + b, 0) / state.length / 1048576 : null,
      aggregation_noise: aggregated ? stats.aggregationNoise : null,
      step_ratio: steps && before ? stepRatio(ctx, before, globalEffectiveWeights(ctx, server.globalModel()), steps) : null,
      extra: stats.extra ?? {},
      rejected: [...refused, ...stats.rejected],
      aggregated,
      cumulative_bytes: m.cumulative_bytes + m.bytes_up + m.bytes_down,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    });
    const evaluated = round % o.evalEvery === 0 || round === o.rounds ? withEval(m) : m;
    evaluated.seconds = (performance.now() - t0) / 1000;
    metrics.push(evaluated);
    if (o.runDir) saveCheckpoint(o.runDir, { round, method: server.name, metrics }, server);
    hooks.onRound?.(evaluated);
  }
  return metrics;
}

/** Each result's local step, or null when any client trained out of this process (its trained model is not here). */
function clientSteps(
  results: readonly { job: ClientJob; result: ClientResult }[],
  startAdapters: ReadonlyMap<number, LocalModel['adapter']>,
  weighting: 'examples' | 'uniform',
): ClientStep[] | null {
  const steps: ClientStep[] = [];
  for (const { job, result } of results) {
    const start = startAdapters.get(job.client.info.id);
    if (!start || !result.trainedModel) return null;
    steps.push({ start, trained: result.trainedModel.adapter, weight: weighting === 'uniform' ? 1 : job.client.info.numExamples });
  }
  return steps.length > 0 ? steps : null;
}
