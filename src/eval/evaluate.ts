/**
 * Evaluation of a model on examples: classification by the log-likelihood
 * of each label's target (no free generation), generation by greedy decoding
 * with the KV cache, scored by exact match, ROUGE-L and error rates. Nothing
 * here keeps gradient state.
 */
import type { Example, MetricName, TaskKind } from '../data/example.js';
import type { TextEncoder } from '../data/encode.js';
import type { Model } from '../model/llama.js';
import { generate } from '../model/generate.js';
import { argmax } from '../model/sampling.js';
import { labelTarget } from '../data/tasks/task.js';
import { corpusCharErrorRate, corpusExactMatch, corpusRougeL, corpusTokenErrorRate, whitespaceTokens } from '../metrics/index.js';
import { scoreContinuations } from './score.js';
import { at } from '../util/checked.js';

export interface EvalTask {
  kind: TaskKind;
  metric: MetricName;
  labels?: string[];
}

export interface TextDecoder extends TextEncoder {
  decode(ids: readonly number[]): string;
}

export interface EvalOptions {
  /** prompt plus continuation never exceed this many tokens (the prompt loses its start) */
  maxLength: number;
  /** generation: tokens to generate beyond the longest reference */
  extraNewTokens: number;
}

export const DEFAULT_EVAL: EvalOptions = { maxLength: 256, extraNewTokens: 8 };

export interface EvalResult {
  /** the task's headline metric */
  metric: MetricName;
  value: number;
  /** every metric computed, by name */
  scores: Record<string, number>;
  examples: number;
  seconds: number;
}

function fitPrompt(prompt: number[], room: number): number[] {
  if (room < 1) throw new Error(`maxLength leaves no room for the prompt`);
  return prompt.length > room ? prompt.slice(prompt.length - room) : prompt;
}

export function evaluateClassification(
  model: Model,
  tok: TextEncoder,
  labels: readonly string[],
  examples: readonly Example[],
  o: EvalOptions,
): Record<string, number> {
  const targets = labels.map((l) => tok.encode(labelTarget(l)));
  const longest = Math.max(...targets.map((t) => t.length));
  let correct = 0;
  let logLikelihood = 0;
  for (const e of examples) {
    const gold = labels.indexOf(e.label ?? '');
    if (gold < 0) throw new Error(`example ${e.id}: label "${e.label}" is not one of ${labels.join(', ')}`);
    const scores = scoreContinuations(model, fitPrompt(tok.encode(e.prompt), o.maxLength - longest), targets);
    if (argmax(scores) === gold) correct++;
    logLikelihood += at(scores, gold, 'score of the gold label');
  }
  return { accuracy: correct / examples.length, gold_log_likelihood: logLikelihood / examples.length };
}

export function evaluateGeneration(model: Model, tok: TextDecoder, examples: readonly Example[], o: EvalOptions): Record<string, number> {
  const predictions: string[] = [];
  const references: string[] = [];
  for (const e of examples) {
    const maxNew = tok.encode(e.target).length + o.extraNewTokens;
    const prompt = fitPrompt(tok.encode(e.prompt), Math.min(o.maxLength, model.config.maxPositions) - maxNew);
    const out = generate(model, prompt, { maxNewTokens: maxNew, stopTokens: [tok.eosId] });
    predictions.push(tok.decode(out.filter((id) => id !== tok.eosId)));
    references.push(e.target);
  }
  return {
    exact_match: corpusExactMatch(predictions, references),
    rouge_l: corpusRougeL(predictions, references).f,
    char_error_rate: corpusCharErrorRate(
      predictions.map((p) => p.trim()),
      references.map((r) => r.trim()),
    ),
    phoneme_error_rate: corpusTokenErrorRate(predictions.map(whitespaceTokens), references.map(whitespaceTokens)),
  };
}

export function evaluate(model: Model, tok: TextDecoder, task: EvalTask, examples: readonly Example[], options: Partial<EvalOptions> = {}): EvalResult {
  if (examples.length === 0) throw new Error('evaluation needs at least one example');
  const o = { ...DEFAULT_EVAL, ...options };
  const t0 = performance.now();
  const scores =
    task.kind === 'classification' ? evaluateClassification(model, tok, task.labels ?? [], examples, o) : evaluateGeneration(model, tok, examples, o);
  const value = scores[task.metric];
  if (value === undefined) throw new Error(`metric ${task.metric} is not computed for ${task.kind} tasks`);
  return { metric: task.metric, value, scores, examples: examples.length, seconds: (performance.now() - t0) / 1000 };
}
