/** A user's own data: the three forms (train/test files, one file with fractions, a Hugging Face-style folder), their errors, and a run from the CLI with the default config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadUserData, folderSplits } from '../src/data/user-data.js';
import { splitByFraction } from '../src/data/split.js';
import { partitionKey } from '../src/data/partition/index.js';
import type { Example } from '../src/data/example.js';
import { at, defined } from '../src/util/checked.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'fedplora-userdata-'));

const WORDS = ['red', 'green', 'blue', 'amber', 'violet', 'cyan', 'olive', 'coral'];

/** Rows of each layout, n of them, all distinct. */
function rows(layout: string, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const w = at(WORDS, i % WORDS.length, 'words');
    switch (layout) {
      case 'alpaca':
        return { instruction: `Name the colour ${i}.`, input: i % 2 ? `hint ${w}` : '', output: `${w} ${i}` };
      case 'dolly':
        return { instruction: `Describe item ${i}.`, context: '', response: `It is ${w}.`, category: i % 3 ? 'open_qa' : 'brainstorming' };
      case 'natural-instructions':
        return { definition: 'Repeat the colour.', input: `${w} ${i}`, output: [`${w}`] };
      case 'text-label':
        return { text: `message ${i} about ${w}`, label: i % 2 ? 'even' : 'odd' };
      default:
        return { question: `What follows ${i}?`, answer: `${i + 1}` };
    }
  });
}

function writeJsonl(path: string, rs: Record<string, unknown>[]): string {
  writeFileSync(path, `${rs.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return path;
}

const ids = (xs: readonly Example[]): string[] => xs.map((e) => e.id);

test('one file is split by fractions with the run seed, deduplicated, with no example in two splits', async () => {
  const all = rows('alpaca', 50);
  const file = writeJsonl(join(dir, 'all.jsonl'), [...all, at(all, 3, 'rows'), at(all, 7, 'rows')]); // two duplicates
  const d = await loadUserData({ path: file, layout: 'alpaca', testFraction: 0.2, validationFraction: 0.1 }, 7);
  const validation = defined(d.validation, 'the validation split');
  assert.deepEqual([d.train.length, validation.length, d.test.length], [35, 5, 10]);
  const seen = [...ids(d.train), ...ids(validation), ...ids(d.test)];
  assert.equal(new Set(seen).size, 50);
  const again = await loadUserData({ path: file, layout: 'alpaca', testFraction: 0.2, validationFraction: 0.1 }, 7);
  assert.deepEqual(ids(again.test), ids(d.test));
  const other = await loadUserData({ path: file, layout: 'alpaca', testFraction: 0.2, validationFraction: 0.1 }, 8);
  assert.notDeepEqual(ids(other.test), ids(d.test));
  // the defaults are a tenth each
  const byDefault = await loadUserData({ path: file, layout: 'alpaca' }, 7);
  assert.deepEqual([defined(byDefault.validation, 'the validation split').length, byDefault.test.length], [5, 5]);
  assert.throws(
    () => splitByFraction(byDefault.train.slice(0, 2), 0, { testFraction: 0.5, validationFraction: 0.4 }, 'tiny.jsonl'),
    /tiny\.jsonl: 2 distinct examples are too few/,
  );
});

test('a Hugging Face-style folder: split files by name, shards in order, a missing validation split cut from train', async () => {
  const hf = join(dir, 'hf');
  mkdirSync(join(hf, 'data'), { recursive: true });
  const all = rows('text-label', 40);
  writeJsonl(join(hf, 'data', 'train-00001-of-00002.jsonl'), all.slice(15, 30));
  writeJsonl(join(hf, 'data', 'train-00000-of-00002.jsonl'), all.slice(0, 15));
  writeJsonl(join(hf, 'test.jsonl'), all.slice(30));
  writeFileSync(join(hf, 'README.md'), 'not data');
  const found = folderSplits(hf);
  assert.deepEqual(
    found.train.map((p) => p.slice(hf.length)),
    ['/data/train-00000-of-00002.jsonl', '/data/train-00001-of-00002.jsonl'],
  );
  assert.deepEqual([found.test.length, found.validation.length], [1, 0]);
  const d = await loadUserData({ path: hf, layout: 'text-label' }, 0);
  assert.equal(d.test.length, 10);
  assert.equal(defined(d.validation, 'the validation split').length, 3); // round(30 * 0.1)
  assert.equal(d.train.length, 27);
  assert.deepEqual(d.labels, ['even', 'odd']);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(loadUserData({ path: empty, layout: 'alpaca' }, 0), /data\.path: the folder .* holds no training split/);
});

test('explicit train and test files keep their meaning: no validation unless a file or a fraction asks for one', async () => {
  const train = writeJsonl(join(dir, 'tr.jsonl'), rows('alpaca', 20));
  const testFile = writeJsonl(join(dir, 'te.jsonl'), rows('alpaca', 25).slice(20));
  const plain = await loadUserData({ train, test: testFile, layout: 'alpaca' }, 0);
  assert.deepEqual([plain.train.length, plain.validation, plain.test.length], [20, null, 5]);
  assert.deepEqual(
    ids(plain.train),
    Array.from({ length: 20 }, (_, i) => `tr.jsonl:${i + 1}`),
  ); // file order, untouched
  const cut = await loadUserData({ train, test: testFile, layout: 'alpaca', validationFraction: 0.25 }, 0);
  assert.deepEqual([cut.train.length, defined(cut.validation, 'the validation split').length], [15, 5]);
});

test('only label- and group-based partitions need a key, and data without it gets the config keys to change', () => {
  const ex: Example[] = [
    { id: 'a.jsonl:1', prompt: 'p', target: 't' },
    { id: 'a.jsonl:2', prompt: 'q', target: 'u', group: 'g' },
  ];
  assert.equal(partitionKey('iid', 'group', ex, true), undefined);
  assert.equal(partitionKey('size-skew', 'group', ex, true), undefined);
  assert.throws(
    () => partitionKey('dirichlet', 'group', ex, true),
    (e: Error) =>
      /config: partitionBy: partition 'dirichlet' splits clients by group \(the default for this data\), but 1 of 2 training examples have none \(first: 'a\.jsonl:1'\)/.test(
        e.message,
      ) &&
      /data\.mapping\.group/.test(e.message) &&
      /kind: iid/.test(e.message),
  );
  assert.equal(typeof partitionKey('natural', 'group', ex.slice(1), false), 'function');
});

function runCli(name: string, data: string, extra: string[] = []) {
  const sets = [
    `name=${name}`,
    `data=${data}`,
    'rounds=1',
    'clients=2',
    'clientsPerRound=2',
    'local={steps: 1, batchSize: 2}',
    'testExamples=3',
    'maxLength=48',
    'workers=1',
    `output=${join(dir, 'runs')}`,
    ...extra,
  ];
  return spawnSync(process.execPath, [CLI, 'run', ...sets.flatMap((s) => ['--set', s])], { cwd: ROOT, encoding: 'utf8' });
}

function assertRan(r: ReturnType<typeof runCli>, name: string): void {
  assert.equal(r.status, 0, r.stderr);
  const metrics = readFileSync(join(dir, 'runs', name, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { round: number }).round);
  assert.deepEqual(metrics, [0, 1]);
  assert.ok(existsSync(join(dir, 'runs', name, 'adapter', 'adapter_model.safetensors')));
}

test('from the CLI with the default config: every layout from one file, and Alpaca from train/test files and from a folder', () => {
  const layouts: [string, string][] = [
    ['alpaca', ''],
    ['dolly', ''],
    ['natural-instructions', ''],
    ['text-label', ''],
    ['custom', ', mapping: {prompt: "Q: {question}\\nA:", target: answer}'],
  ];
  for (const [layout, mapping] of layouts) {
    const file = writeJsonl(join(dir, `${layout}.jsonl`), rows(layout, 24));
    assertRan(runCli(`one-${layout}`, `{path: ${file}, layout: ${layout}${mapping}}`), `one-${layout}`);
  }
  const train = writeJsonl(join(dir, 'alpaca-train.jsonl'), rows('alpaca', 20));
  const testFile = writeJsonl(join(dir, 'alpaca-test.jsonl'), rows('alpaca', 26).slice(20));
  assertRan(runCli('files-alpaca', `{train: ${train}, test: ${testFile}, layout: alpaca}`), 'files-alpaca');
  const hf = join(dir, 'hf-alpaca');
  mkdirSync(hf);
  writeJsonl(join(hf, 'train.jsonl'), rows('alpaca', 20));
  writeJsonl(join(hf, 'test.jsonl'), rows('alpaca', 26).slice(20));
  assertRan(runCli('folder-alpaca', `{path: ${hf}, layout: alpaca}`), 'folder-alpaca');
  // a group-based partition on data without groups stops before any work, naming the key
  const r = runCli('no-groups', `{path: ${join(dir, 'alpaca.jsonl')}, layout: alpaca}`, ['partition={kind: natural}']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /config: partitionBy: partition 'natural' splits clients by group/);
  const both = runCli('both', `{path: ${hf}, train: ${train}, test: ${testFile}, layout: alpaca}`);
  assert.equal(both.status, 1);
  assert.match(both.stderr, /config: data: give data\.path .* or data\.train and data\.test, not both or neither/);
});
