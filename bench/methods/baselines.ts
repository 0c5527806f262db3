/**
 * Beside the table, what the numbers mean: a bag-of-words logistic
 * regression and the majority class on each classification task, scored on
 * the same test examples the methods are (the first `evalExamples` of the
 * test split).
 */
import { getTask } from '../../src/data/tasks/index.js';
import { runBagOfWordsBaseline } from '../../src/baselines/bag-of-words.js';
import type { Setting } from './grid.js';

export async function baselineSection(
  settings: readonly Setting[],
  evalExamples: number,
  federatedExamples: number,
  seed = 0,
): Promise<{ title: string; text: string }[]> {
  const tasks = [...new Set(settings.map((s) => s.task))].filter((t) => getTask(t).kind === 'classification');
  if (tasks.length === 0) return [];
  const rows = tasks.map((t) => {
    const splits = getTask(t).load(seed);
    const scored = { validation: splits.validation.slice(0, evalExamples), test: splits.test.slice(0, evalExamples) };
    const all = runBagOfWordsBaseline({ ...splits, ...scored });
    // as many training examples as the federation's clients hold at most, for a like-for-like reading
    const few = runBagOfWordsBaseline({ ...splits, train: splits.train.slice(0, federatedExamples), ...scored });
    return `| ${t} | ${all.test_accuracy.toFixed(3)} (${splits.train.length}) | ${few.test_accuracy.toFixed(3)} (${Math.min(federatedExamples, splits.train.length)}) | ${all.majority_share.toFixed(3)} (${all.majority_class}) |`;
  });
  const text = [
    '| task | bag-of-words logistic regression, test accuracy (training examples) | the same on as many examples as the clients hold | majority class share |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
  return [{ title: 'Non-LLM baseline (same test examples)', text }];
}
