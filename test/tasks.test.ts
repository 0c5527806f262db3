/**
 * Built-in tasks: split sizes, no example shared between splits, seeded
 * determinism, and a snapshot of rendered examples
 * (UPDATE_SNAPSHOTS=1 npm test rewrites test/fixtures/task-snapshots.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_TASKS } from '../src/data/tasks/index.js';
import { passages } from '../src/data/tasks/sotu.js';
import { readMail } from '../src/data/tasks/email.js';
import { pretrainingCorpus, DEFAULT_HELD_OUT_SOTU } from '../src/data/corpus.js';
import { defined } from '../src/util/checked.js';

const SNAPSHOTS = join(import.meta.dirname, '../../test/fixtures/task-snapshots.json');
const EXPECTED_SIZES: Record<string, [number, number, number]> = {
  'sotu-party': [3726, 200, 300],
  'sotu-era': [3726, 200, 300],
  spam: [5365, 200, 300],
  cmudict: [8000, 200, 300],
};

const rendered: Record<string, unknown> = {};

for (const task of Object.values(BUILTIN_TASKS)) {
  test(`${task.name}: fixed split sizes, disjoint splits, deterministic by seed`, () => {
    const s = task.load(0);
    assert.deepEqual([s.train.length, s.validation.length, s.test.length], EXPECTED_SIZES[task.name]);
    const key = (e: { prompt: string; target: string }) => `${e.prompt}\u0000${e.target}`;
    const train = new Set(s.train.map(key));
    const validation = new Set(s.validation.map(key));
    for (const e of s.test) assert.ok(!train.has(key(e)) && !validation.has(key(e)), `test example ${e.id} also appears in another split`);
    for (const e of s.validation) assert.ok(!train.has(key(e)), `validation example ${e.id} is also in train`);
    const ids = [...s.train, ...s.validation, ...s.test].map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    if (task.labels) for (const e of [...s.train, ...s.test]) assert.ok(e.label !== undefined && task.labels.includes(e.label), `label ${e.label} of ${e.id}`);
    assert.deepEqual(
      task.load(0).test.map((e) => e.id),
      s.test.map((e) => e.id),
      'same seed, same split',
    );
    assert.notDeepEqual(
      task.load(1).test.map((e) => e.id),
      s.test.map((e) => e.id),
      'another seed, another split',
    );
    rendered[task.name] = s.test.slice(0, 2);
  });
}

test('rendered examples match the committed snapshot', () => {
  if (process.env['UPDATE_SNAPSHOTS'] === '1' || !existsSync(SNAPSHOTS)) {
    writeFileSync(SNAPSHOTS, `${JSON.stringify(rendered, null, 2)}\n`);
  }
  assert.deepEqual(rendered, JSON.parse(readFileSync(SNAPSHOTS, 'utf8')));
});

test('SOTU task passages never occur in the pretraining corpus', () => {
  const corpus = pretrainingCorpus({ excludeSotuYears: DEFAULT_HELD_OUT_SOTU }).join('\n');
  for (const e of defined(BUILTIN_TASKS['sotu-party'], 'the sotu-party task').load(0).test.slice(0, 50)) {
    const passage = e.prompt.slice('Passage: '.length, e.prompt.indexOf('\n'));
    assert.ok(!corpus.includes(passage.slice(0, 80)), `${e.id} leaks into pretraining`);
  }
});

test('passages are runs of whole sentences; mail loses its headers', () => {
  const text = 'One two three. Four five six! Seven eight nine? Ten.';
  assert.deepEqual(passages(text, 4), ['One two three. Four five six!', 'Seven eight nine? Ten.']);
  assert.deepEqual(passages(text, 5), ['One two three. Four five six!'], 'a short tail is dropped');
  const mail = readMail('From: a@b.c\nSubject: Cheap =\n pills\nReceived: x\n\n<p>Buy&nbsp;now</p>\n> quoted reply\n--boundary\nContent-Type: text/plain\nok');
  assert.deepEqual(mail, { subject: 'Cheap = pills', body: 'Buy now ok' });
});
