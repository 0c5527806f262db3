/**
 * Beside the table, what the numbers mean: a bag-of-words logistic
 * regression and the majority class on each classification task, scored on
 * the same test examples the methods are (the first `evalExamples` of the
 * test split).
 */
import { getTask } from '../../src/data/tasks/index.js';
import { runBagOfWordsBaseline } from '../../src/baselines/bag-of-words.js';
import type { Setting } from './grid.js';

export async function baselineSection(settings: readonly Setting[], evalExamples: number, seed = 0): Promise<{ title: string; text: string }[]> {
  const tasks = [...new Set(settings.map((s) => s.task))].filter((t) => getTask(t).kind === 'classification');
  if (tasks.length === 0) return [];
  const rows = tasks.map((t) => {
    const splits = getTask(t).load(seed);
    const r = runBagOfWordsBaseline({ ...splits, validation: splits.validation.slice(0, evalExamples), test: splits.test.slice(0, evalExamples) });
    return `| ${t} | ${r.test_accuracy.toFixed(3)} | ${r.majority_share.toFixed(3)} (${r.majority_class}) | ${r.l2} |`;
  });
  const text = ['| task | bag-of-words logistic regression, test accuracy | majority class share | L2 (chosen on validation) |', '|---|---|---|---|', ...rows].join('\n');
  return [{ title: 'Non-LLM baseline (same test examples)', text }];
}
