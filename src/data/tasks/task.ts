/** A built-in task: real data from a bundled package, fixed seeded splits, a headline metric. */
import type { MetricName, TaskKind, TaskSplits } from '../example.js';

export interface TaskDefinition {
  name: string;
  description: string;
  kind: TaskKind;
  metric: MetricName;
  /** the class names; an example of class L has target ` ${L}` (see labelTarget) */
  labels?: string[];
  /** what Example.group holds, for natural partitions */
  groupedBy: string;
  /** the source package and licence, for the docs */
  source: string;
  load(seed: number): TaskSplits;
}

/** The target text that verbalises a class label. */
export function labelTarget(label: string): string {
  return ` ${label}`;
}

export { splitExamples, type SplitSizes } from '../split.js';
