/**
 * Seeded train / validation / test splits, shared by the built-in tasks and a
 * user's own data. Examples whose prompt and target repeat an earlier one are
 * dropped first, so duplicates cannot straddle splits; the shuffle is a
 * Fisher-Yates from the run seed, and test, validation and train are taken in
 * that order, so a test example can never also be a training example.
 */
import type { Example } from './example.js';
import { createRng } from '../util/random.js';
import { at } from '../util/checked.js';

export interface SplitSizes {
  test: number;
  validation: number;
  /** at most this many training examples (the rest are not used) */
  maxTrain?: number;
}

export interface Splits<T extends Example> {
  train: T[];
  validation: T[];
  test: T[];
}

function dedupeAndShuffle<T extends Example>(all: readonly T[], seed: number): T[] {
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
    const picked = at(unique, j, 'shuffled example');
    unique[j] = at(unique, i, 'shuffled example');
    unique[i] = picked;
  }
  return unique;
}

function take<T extends Example>(unique: T[], sizes: SplitSizes): Splits<T> {
  const test = unique.slice(0, sizes.test);
  const validation = unique.slice(sizes.test, sizes.test + sizes.validation);
  const rest = unique.slice(sizes.test + sizes.validation);
  const train = sizes.maxTrain !== undefined ? rest.slice(0, sizes.maxTrain) : rest;
  return { train, validation, test };
}

/** Splits of fixed sizes. */
export function splitExamples<T extends Example>(all: readonly T[], seed: number, sizes: SplitSizes): Splits<T> {
  const unique = dedupeAndShuffle(all, seed);
  if (unique.length < sizes.test + sizes.validation + 1) {
    throw new Error(`only ${unique.length} examples for test ${sizes.test} + validation ${sizes.validation} + train`);
  }
  return take(unique, sizes);
}

export interface SplitFractions {
  testFraction: number;
  validationFraction: number;
}

/**
 * Splits by shares of the distinct examples: round(n * fraction) each, at
 * least one example for a share above 0, and at least one training example
 * left. `what` names the data in the error when there are too few examples.
 */
export function splitByFraction<T extends Example>(all: readonly T[], seed: number, f: SplitFractions, what: string): Splits<T> {
  const unique = dedupeAndShuffle(all, seed);
  const share = (x: number): number => (x > 0 ? Math.max(1, Math.round(unique.length * x)) : 0);
  const test = share(f.testFraction);
  const validation = share(f.validationFraction);
  if (unique.length - test - validation < 1) {
    throw new Error(
      `${what}: ${unique.length} distinct examples are too few for a test share of ${f.testFraction} and a validation share of ${f.validationFraction} with any left to train on`,
    );
  }
  return take(unique, { test, validation });
}
