/** `fedplora baseline TASK`: the bag-of-words logistic regression's accuracy on a classification task, as one JSON line. */
import type { Command } from 'commander';
import { getTask } from '../data/tasks/index.js';
import { runBagOfWordsBaseline } from '../baselines/bag-of-words.js';

function baseline(name: string, o: { seed: number }): void {
  const task = getTask(name);
  if (task.kind !== 'classification') throw new Error(`task "${name}" is ${task.kind}; the baseline is for classification tasks`);
  const report = runBagOfWordsBaseline(task.load(o.seed), task.labels ? { labels: task.labels } : {});
  process.stdout.write(`${JSON.stringify({ task: task.name, seed: o.seed, model: 'tfidf-logistic-regression', ...report })}\n`);
}

export function registerBaseline(program: Command): void {
  program
    .command('baseline')
    .description('a bag-of-words logistic regression on a classification task: L2 chosen on validation, accuracy on test, beside the majority-class share')
    .argument('<task>', 'a built-in classification task (see data list)')
    .option(
      '--seed <n>',
      'split seed',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new Error(`--seed must be a non-negative integer, got "${v}"`);
        return n;
      },
      0,
    )
    .action((name: string, o: { seed: number }) => baseline(name, o));
}
