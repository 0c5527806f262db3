/**
 * A non-LLM yardstick for the classification tasks: logistic regression
 * (softmax over the classes, so one model serves two classes or seven) on
 * TF-IDF bag-of-words features of each example's prompt. The vocabulary and
 * the model come from the training split, the L2 strength is the one on a
 * small grid that does best on the validation split, and the test split is
 * scored once, with that model. The majority-class share is reported beside
 * it, because an accuracy means little without the floor it should clear.
 *
 * The model is a small softmax regression of our own (softmax-regression.ts
 * says why no library). Nothing in it is random: the seed fixes the task's
 * splits, and the same splits give the same numbers.
 */
import type { Example, TaskSplits } from '../data/example.js';
import { TfIdfVectorizer, type VocabularyOptions } from './features.js';
import { at } from '../util/checked.js';
import { SoftmaxRegression } from './softmax-regression.js';

export interface BaselineOptions {
  /** the class names, in order; by default the task's, or the sorted training labels */
  labels?: readonly string[];
  vocabulary?: VocabularyOptions;
  /** candidate L2 strengths, tried on the validation split */
  l2Grid?: readonly number[];
  iterations?: number;
  learningRate?: number;
}

// Rows have unit length, so a penalty of 0.1 or more holds every task near its majority share.
export const DEFAULT_L2_GRID: readonly number[] = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

export interface BaselineReport {
  train: number;
  validation: number;
  test: number;
  vocabulary: number;
  l2: number;
  validation_accuracy: number;
  test_accuracy: number;
  /** the most common class of the training split */
  majority_class: string;
  /** the test accuracy of always answering majority_class */
  majority_share: number;
  /** validation accuracy at every L2 strength tried */
  grid: { l2: number; validation_accuracy: number }[];
}

export class BagOfWordsClassifier {
  private constructor(
    readonly labels: readonly string[],
    readonly vectorizer: TfIdfVectorizer,
    readonly model: SoftmaxRegression,
  ) {}

  /** Fits features and model on `train` alone. */
  static fit(train: readonly Example[], l2: number, options: BaselineOptions = {}): BagOfWordsClassifier {
    return at(BagOfWordsClassifier.fitEach(train, [l2], options), 0, 'the fitted classifier');
  }

  /** One classifier per L2 strength; the features do not depend on it, so they are built once. */
  static fitEach(train: readonly Example[], l2s: readonly number[], options: BaselineOptions = {}): BagOfWordsClassifier[] {
    const labels = options.labels ?? [...new Set(train.map(labelOf))].sort();
    const vectorizer = TfIdfVectorizer.fit(
      train.map((e) => e.prompt),
      options.vocabulary,
    );
    const rows = train.map((e) => vectorizer.transform(e.prompt));
    const y = train.map((e) => classIndex(labels, e));
    const { iterations, learningRate } = options;
    return l2s.map((l2) => {
      const fit = { l2, ...(iterations !== undefined ? { iterations } : {}), ...(learningRate !== undefined ? { learningRate } : {}) };
      return new BagOfWordsClassifier(labels, vectorizer, SoftmaxRegression.fit(rows, y, vectorizer.size, labels.length, fit));
    });
  }

  predict(prompt: string): string {
    return at(this.labels, this.model.predict(this.vectorizer.transform(prompt)), 'the predicted class');
  }

  accuracy(examples: readonly Example[]): number {
    if (examples.length === 0) return Number.NaN;
    return examples.filter((e) => this.predict(e.prompt) === labelOf(e)).length / examples.length;
  }
}

/** Chooses the L2 strength on validation and scores the chosen model on test. */
export function runBagOfWordsBaseline(splits: TaskSplits, options: BaselineOptions = {}): BaselineReport {
  const grid = options.l2Grid ?? DEFAULT_L2_GRID;
  if (grid.length === 0) throw new Error('the L2 grid is empty');
  const classifiers = BagOfWordsClassifier.fitEach(splits.train, grid, options);
  const tried = classifiers.map((classifier, i) => ({ classifier, l2: at(grid, i, 'L2 grid'), validation_accuracy: classifier.accuracy(splits.validation) }));
  // Strictly better only: on a tie the earlier (by default the stronger, simpler) penalty stays.
  let best = at(tried, 0, 'fitted classifiers');
  for (const t of tried) if (t.validation_accuracy > best.validation_accuracy) best = t;
  const chosen = best.classifier;
  const majority = majorityClass(splits.train);
  return {
    train: splits.train.length,
    validation: splits.validation.length,
    test: splits.test.length,
    vocabulary: chosen.vectorizer.size,
    l2: best.l2,
    validation_accuracy: best.validation_accuracy,
    test_accuracy: chosen.accuracy(splits.test),
    majority_class: majority,
    majority_share: splits.test.filter((e) => labelOf(e) === majority).length / splits.test.length,
    grid: tried.map(({ l2, validation_accuracy }) => ({ l2, validation_accuracy })),
  };
}

/** The most common training label; ties go to the first in sort order, for determinism. */
export function majorityClass(train: readonly Example[]): string {
  const counts = new Map<string, number>();
  for (const e of train) counts.set(labelOf(e), (counts.get(labelOf(e)) ?? 0) + 1);
  const ranked = [...counts].sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : 1));
  return at(ranked, 0, 'training labels')[0];
}

function labelOf(e: Example): string {
  if (e.label === undefined) throw new Error(`example ${e.id} has no label: the bag-of-words baseline is for classification tasks`);
  return e.label;
}

function classIndex(labels: readonly string[], e: Example): number {
  const i = labels.indexOf(labelOf(e));
  if (i < 0) throw new Error(`example ${e.id} has label "${e.label}", not one of ${labels.join(', ')}`);
  return i;
}
