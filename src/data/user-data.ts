/**
 * A user's own data in one of three forms:
 *  - `train` and `test` files (and optionally a `validation` file), taken as
 *    they are; `validationFraction` cuts a validation split from train;
 *  - `path` to one file, split with the run seed into train, validation and
 *    test by `testFraction` and `validationFraction` (0.1 each by default),
 *    deduplicated like the built-in tasks;
 *  - `path` to a Hugging Face-style folder: `train*`, `validation*` (or
 *    `valid*`, `dev*`) and `test*` files in it or in its `data/` folder, shards
 *    of a split read in name order; a missing test or validation split is cut
 *    from train by its fraction.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadExamples } from './loaders/index.js';
import type { FieldMapping, LayoutName, LoadedExample, LoaderFormat, LoadOptions } from './loaders/index.js';
import { splitByFraction } from './split.js';
import { defined } from '../util/checked.js';

export interface UserDataSpec {
  path?: string | undefined;
  train?: string | undefined;
  test?: string | undefined;
  validation?: string | undefined;
  testFraction?: number | undefined;
  validationFraction?: number | undefined;
  format?: LoaderFormat | undefined;
  layout: LayoutName;
  mapping?: Record<string, string> | undefined;
}

export interface UserData {
  train: LoadedExample[];
  /** null when the data has no validation split and no validationFraction asks for one */
  validation: LoadedExample[] | null;
  test: LoadedExample[];
  /** sorted distinct labels over every split, when the layout gives labels */
  labels?: string[];
  /** what the data is called in messages */
  source: string;
}

export const DEFAULT_TEST_FRACTION = 0.1;
export const DEFAULT_VALIDATION_FRACTION = 0.1;

const SPLIT_FILE = /^(train|validation|valid|dev|test)([-_.][^/]*)?\.(jsonl|jsonlines|ndjson|json|csv|parquet|pq)$/i;

type SplitName = 'train' | 'validation' | 'test';

/** The split files of a Hugging Face-style folder, by split, in name order. */
export function folderSplits(dir: string): Record<SplitName, string[]> {
  const found: Record<SplitName, string[]> = { train: [], validation: [], test: [] };
  for (const d of [dir, join(dir, 'data')]) {
    if (!existsSync(d) || !statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d).sort()) {
      const split = SPLIT_FILE.exec(f)?.[1];
      if (split === undefined || !statSync(join(d, f)).isFile()) continue;
      const word = split.toLowerCase();
      found[word === 'train' ? 'train' : word === 'test' ? 'test' : 'validation'].push(join(d, f));
    }
  }
  return found;
}

async function loadAll(files: readonly string[], opts: LoadOptions): Promise<{ examples: LoadedExample[]; labels: string[] | undefined }> {
  const examples: LoadedExample[] = [];
  let labels: Set<string> | undefined;
  for (const f of files) {
    const r = await loadExamples(f, opts);
    examples.push(...r.examples);
    if (r.labels) labels = new Set([...(labels ?? []), ...r.labels]);
  }
  return { examples, labels: labels ? [...labels].sort() : undefined };
}

export async function loadUserData(d: UserDataSpec, seed: number): Promise<UserData> {
  const opts: LoadOptions = { layout: d.layout, ...(d.format ? { format: d.format } : {}), ...(d.mapping ? { mapping: d.mapping as FieldMapping } : {}) };
  let files: Record<SplitName, string[]>;
  let source: string;
  if (d.path !== undefined) {
    source = d.path;
    if (statSync(d.path).isDirectory()) {
      files = folderSplits(d.path);
      if (files.train.length === 0) {
        throw new Error(
          `data.path: the folder ${d.path} holds no training split: expected a train.jsonl, train.csv or train.parquet file (or train-*.parquet shards) in it or in its data/ folder`,
        );
      }
    } else {
      files = { train: [d.path], validation: [], test: [] };
    }
  } else if (d.train !== undefined && d.test !== undefined) {
    source = d.train;
    files = { train: [d.train], validation: d.validation ? [d.validation] : [], test: [d.test] };
  } else {
    throw new Error('data: give data.path (one file or a folder with train/test files) or data.train and data.test');
  }
  const train = await loadAll(files.train, opts);
  const given = {
    validation: files.validation.length ? await loadAll(files.validation, opts) : null,
    test: files.test.length ? await loadAll(files.test, opts) : null,
  };
  const testFraction = given.test ? 0 : (d.testFraction ?? DEFAULT_TEST_FRACTION);
  // explicit train and test files keep their meaning: no validation split unless one is asked for
  const validationFraction = given.validation ? 0 : (d.validationFraction ?? (d.path !== undefined ? DEFAULT_VALIDATION_FRACTION : 0));
  const cut = testFraction > 0 || validationFraction > 0 ? splitByFraction(train.examples, seed, { testFraction, validationFraction }, source) : null;
  const labels = [train.labels, given.validation?.labels, given.test?.labels].filter((l): l is string[] => l !== undefined);
  return {
    train: cut ? cut.train : train.examples,
    validation: given.validation ? given.validation.examples : cut && validationFraction > 0 ? cut.validation : null,
    test: given.test ? given.test.examples : defined(cut, 'the test split cut from the training data').test,
    ...(labels.length ? { labels: [...new Set(labels.flat())].sort() } : {}),
    source,
  };
}
