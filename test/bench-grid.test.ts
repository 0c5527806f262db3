import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellFor, FEDERATED, FULL, METHODS, QUICK, settings } from '../bench/methods/grid.js';
import { cellDigest, isDone, runDirOf } from '../bench/methods/run-cell.js';
import { at, defined } from '../src/util/checked.js';
import { parseRunConfig } from '../src/experiment/config.js';
import { partitionTraining, taskData } from '../src/experiment/build.js';
import { getTask } from '../src/data/tasks/index.js';

test('benchmark grid: every main setting compares all methods and tunes its own rates; the side tables vary one thing of spam/Dirichlet', () => {
  const all = settings(false);
  const mains = all.filter((s) => s.table === 'main');
  assert.deepEqual(
    mains.map((s) => `${s.task}.${s.split}`),
    ['spam.dirichlet', 'spam.iid', 'sotu-era.natural', 'sotu-era.iid', 'cmudict.natural', 'cmudict.iid'],
  );
  for (const s of mains) assert.deepEqual([s.methods, s.ratesFrom, s.ranks, s.weighting], [METHODS, null, 'uniform', 'examples']);
  const spamDirichlet = at(mains, 0, 'main settings');
  for (const s of all.filter((x) => x.table !== 'main')) {
    assert.equal(s.ratesFrom, spamDirichlet);
    assert.deepEqual([s.task, s.split], ['spam', 'dirichlet']);
    // exactly one of ranks and weighting differs from the setting whose rates it keeps
    assert.equal(Number(s.ranks !== spamDirichlet.ranks) + Number(s.weighting !== spamDirichlet.weighting), 1);
  }
  assert.deepEqual(
    defined(
      all.find((s) => s.table === 'weighting'),
      'the weighting setting',
    ).methods,
    FEDERATED,
  );
  assert.ok(!all.filter((s) => s.table === 'ranks').some((s) => s.methods.includes('centralized')));
  assert.deepEqual(
    settings(true).map((s) => `${s.task}.${s.split}.${s.table}`),
    ['spam.dirichlet.main'],
  );
});

test('benchmark cells differ only in method and rate; every method trains the same data, clients, steps and evaluation', () => {
  const s = at(settings(false), 1, 'settings');
  const configs = s.methods.map((m) => cellFor(s, m, 0, 2e-3, FULL, '/tmp/x', 'm').config);
  const strip = (c: Record<string, unknown>): string => JSON.stringify({ ...c, name: '', method: '' });
  for (const c of configs) assert.equal(strip(c), strip(at(configs, 0, 'cell configs')));
  assert.equal(QUICK.clients, FULL.clients);
  assert.equal(QUICK.clientsPerRound, FULL.clientsPerRound);
});

test('a finished cell counts only for the config and base model it ran with', () => {
  const out = mkdtempSync(join(tmpdir(), 'fedplora-bench-'));
  const s = at(settings(true), 0, 'quick settings');
  const cell = cellFor(s, 'fed-plora', 0, 2e-3, QUICK, out, 'model-a');
  assert.equal(isDone(cell), false);
  mkdirSync(runDirOf(cell), { recursive: true });
  writeFileSync(join(runDirOf(cell), 'done.json'), JSON.stringify({ id: cell.id, digest: 'stale', seconds: 1 }));
  assert.equal(isDone(cell), false);
  writeFileSync(join(runDirOf(cell), 'done.json'), JSON.stringify({ id: cell.id, digest: cellDigest(cell), seconds: 1 }));
  assert.equal(isDone(cell), true);
  const otherModel = cellFor(s, 'fed-plora', 0, 2e-3, QUICK, out, 'model-b');
  const otherScale = cellFor(s, 'fed-plora', 0, 2e-3, { ...QUICK, steps: QUICK.steps + 1 }, out, 'model-a');
  assert.equal(runDirOf(otherModel), runDirOf(cell));
  assert.equal(runDirOf(otherScale), runDirOf(cell));
  assert.equal(isDone(otherModel), false);
  assert.equal(isDone(otherScale), false);
  // The record is committed: a clone elsewhere finds the same cells finished.
  const elsewhere = join(mkdtempSync(join(tmpdir(), 'fedplora-bench-clone-')), 'runs');
  cpSync(out, elsewhere, { recursive: true });
  assert.equal(isDone(cellFor(s, 'fed-plora', 0, 2e-3, QUICK, elsewhere, 'model-a')), true);
});

test("every setting of the full suite splits its data among its clients, a natural split by the data's own groups", async () => {
  for (const s of settings(false)) {
    const c = parseRunConfig(cellFor(s, 'fed-plora', 0, 2e-3, FULL, '/tmp/x', 'm').config);
    const { task, train } = await taskData(c);
    // cmudict is compared on phoneme error rate: exact match ties every method at 0 at this scale
    assert.equal(task.metric, s.task === 'cmudict' ? 'phoneme_error_rate' : getTask(s.task).metric, `${s.task}.${s.split}`);
    const p = partitionTraining(c, task, train);
    assert.equal(p.numPartitions, FULL.clients, `${s.task}.${s.split}`);
    if (s.split !== 'natural') continue;
    // by the data's own groups (president, first letter): with fewer groups than clients no client mixes them,
    // with more no group is divided
    const clientsOf = new Map<string, Set<number>>();
    const groupsOf = Array.from(
      { length: p.numPartitions },
      (_, id) => new Set(p.loadPartition(id).map((i) => String(at(train, i, 'training examples').group))),
    );
    groupsOf.forEach((gs, id) => {
      for (const g of gs) clientsOf.set(g, (clientsOf.get(g) ?? new Set()).add(id));
    });
    const fewerGroups = clientsOf.size < p.numPartitions;
    if (fewerGroups)
      assert.ok(
        groupsOf.every((gs) => gs.size === 1),
        `${s.task}: a client mixes groups`,
      );
    else
      assert.ok(
        [...clientsOf.values()].every((ids) => ids.size === 1),
        `${s.task}: a group is divided`,
      );
  }
});
