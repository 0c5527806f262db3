/**
 * What every data source produces: instruction-style examples for a causal
 * LM, a prompt followed by a target, with the loss on the target only.
 */
export interface Example {
  /** stable and unique within a task, e.g. "sotu-1961-kennedy-p12" */
  id: string;
  /** text the model conditions on (not scored) */
  prompt: string;
  /** text the model learns to produce (scored) */
  target: string;
  /** class label for classification tasks; the target is the label's verbalisation */
  label?: string;
  /** a natural grouping key (author, speaker, source) for non-IID partitions */
  group?: string;
}

export interface TaskSplits {
  train: Example[];
  validation: Example[];
  test: Example[];
}

export type TaskKind = 'classification' | 'generation';

/** The headline metric of a task; every one is "higher is better" except where named as a rate. */
export type MetricName = 'accuracy' | 'exact_match' | 'rouge_l' | 'char_error_rate' | 'phoneme_error_rate' | 'perplexity';

const GENERATION_METRICS = ['exact_match', 'rouge_l', 'char_error_rate', 'phoneme_error_rate'] as const satisfies readonly MetricName[];

/** The metrics evaluation scores for each kind of task: any of them can be a run's headline metric. */
export const METRICS_OF: Readonly<Record<TaskKind, readonly MetricName[]>> = {
  classification: ['accuracy'],
  generation: GENERATION_METRICS,
};

/** The metrics a run can name as its headline: every one evaluation scores (perplexity comes from losses, not generations). */
export const HEADLINE_METRICS = ['accuracy', ...GENERATION_METRICS] as const;
