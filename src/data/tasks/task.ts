/** A built-in task: real data from a bundled package, fixed seeded splits, a headline metric. */
import type { Example, MetricName, TaskKind, TaskSplits } from '../example.js';
import { createRng } from '../../util/random.js';

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

export interface SplitSizes {
  test: number;
  validation: number;
  /** at most this many training examples (the rest are not used) */
  maxTrain?: number;
}

/**
 * Shuffles with the seed, then takes test, validation and train in that
 * order, so a test example can never also be a training example. Examples
 * whose prompt and target repeat an earlier one are dropped first, so
 * duplicates cannot straddle splits.
 */
export function splitExamples(all: Example[], seed: number, sizes: SplitSizes): TaskSplits {
  const seen = new Set<string>();
  const unique = all.filter((e) => {
    const key = `${e.prompt}\u0000${e.target}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const rng = createRng(seed);
  for (let i = unique.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [unique[i], unique[j]] = [unique[j]!, unique[i]!];
  }
  if (unique.length < sizes.test + sizes.validation + 1) {
    throw new Error(`only ${unique.length} examples for test ${sizes.test} + validation ${sizes.validation} + train`);
  }
  const test = unique.slice(0, sizes.test);
  const validation = unique.slice(sizes.test, sizes.test + sizes.validation);
  const rest = unique.slice(sizes.test + sizes.validation);
  const train = sizes.maxTrain !== undefined ? rest.slice(0, sizes.maxTrain) : rest;
  return { train, validation, test };
}
