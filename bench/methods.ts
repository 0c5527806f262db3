/**
 * `npm run bench:methods [-- --quick] [--out DIR] [--jobs N] [--tables]`: the method
 * comparison. Every method and bound runs on the same data, clients, ranks,
 * sampling, local steps and evaluation; each learning rate is chosen on the
 * validation split (first seed), then the other seeds run at it. Writes
 * results.md and results.json, and the setting's curves in reports/, after
 * each setting. A cell that finished with the same config and
 * base model is never run again, so an interrupted suite resumes where it was.
 * `--tables` runs nothing: it writes the results of the settings whose cells
 * have all finished, from the record, and says what is left.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReport } from '../src/report/index.js';
import { cellFor, FULL, QUICK, settingId, settings, type BenchMethod, type Cell, type Scale, type Setting } from './methods/grid.js';
import { isDone, runCell, runDirOf } from './methods/run-cell.js';
import { loadModelFolder } from '../src/model/checkpoint.js';
import { modelFingerprint } from '../src/model/fingerprint.js';
import { isBetter, readMetrics, summarizeCell, type CellSummary } from './methods/cell-summary.js';
import { makeRow, markdownTables, type Row } from './methods/tables.js';
import { baselineSection } from './methods/baselines.js';
import { at, got } from '../src/util/checked.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    tables: { type: 'boolean', default: false },
  },
});
const quick = args.quick === true;
const tablesOnly = args.tables === true;
const scale: Scale = quick ? QUICK : FULL;
const root = resolve(args.out ?? (quick ? 'runs/bench-methods-quick' : 'runs/bench-methods'));
const jobs = Math.max(1, Number(args.jobs));
const output = join(root, 'runs');
mkdirSync(output, { recursive: true });

const fmtTime = (s: number): string => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);

/** Runs cells `jobs` at a time, with a line per finished cell and an estimate of the time left. */
async function runAll(cells: Cell[], label: string, planned: { done: number; total: number; secondsPerCell: number[] }): Promise<void> {
  const queue = [...cells];
  const worker = async (): Promise<void> => {
    for (let cell = queue.shift(); cell; cell = queue.shift()) {
      const r = await runCell(cell, root);
      planned.done++;
      if (!r.reused) planned.secondsPerCell.push(r.seconds);
      const per = planned.secondsPerCell.length ? planned.secondsPerCell.reduce((a, b) => a + b, 0) / planned.secondsPerCell.length : 0;
      const left = per ? `, about ${fmtTime((per * (planned.total - planned.done)) / jobs)} left` : '';
      process.stdout.write(`[${planned.done}/${planned.total}] ${label} ${cell.id}${r.reused ? ' (done before)' : ` in ${fmtTime(r.seconds)}`}${left}\n`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
}

function summaryOf(cell: Cell): CellSummary {
  return summarizeCell(readMetrics(runDirOf(cell)));
}

/** The learning rate with the best validation metric (ties: the smaller rate). */
function bestRate(cells: Cell[]): number {
  return cells
    .map((c) => summaryOf(c))
    .map((s, i) => ({ lr: at(cells, i, 'tuning cells').lr, v: s.bestValidation, metric: s.metric }))
    .reduce((a, b) => (isBetter(b.metric, b.v, a.v) ? b : a)).lr;
}

interface SettingCells {
  setting: Setting;
  /** per method: the cells at its chosen rate, one per seed */
  byMethod: Map<BenchMethod, Cell[]>;
}

/** The day the last of these cells finished: the date the tables were measured, whenever they are written. */
function finishedOn(cells: Cell[]): string {
  const last = Math.max(...cells.map((c) => statSync(join(runDirOf(c), 'done.json')).mtimeMs));
  return new Date(last).toISOString().slice(0, 10);
}

function writeResults(done: SettingCells[], allSettings: readonly Setting[], baselines: { title: string; text: string }[]): string {
  const rows: Row[] = [];
  for (const { setting, byMethod } of done) {
    for (const [m, cells] of byMethod)
      rows.push(
        makeRow(
          setting,
          m,
          at(cells, 0, `cells of ${m}`).lr,
          cells.map((c) => c.seed),
          cells.map(summaryOf),
        ),
      );
  }
  const date = finishedOn(done.flatMap((d) => [...d.byMethod.values()].flat()));
  const command = `npm run bench:methods${quick ? ' -- --quick' : ''}`;
  const [first] = scale.seeds;
  const header = [
    `Measured ${date} with \`${command}\`: ${scale.clients} clients, ${scale.clientsPerRound} sampled per round, ${scale.rounds} rounds of ${scale.steps} local steps (batch ${scale.batchSize}, at most ${scale.maxLength} tokens),`,
    `R = ${scale.rank} (client ranks ${scale.choices.join('/')} unless a table says otherwise), targets q/k/v/o, example-weighted aggregation unless a table says otherwise,`,
    `${scale.lrs.length > 1 ? `learning rate per method from {${scale.lrs.join(', ')}} on the validation split of seed ${first} (the rank and weighting tables keep the rates of their main setting)` : `learning rate ${scale.lrs[0]} for every method (no sweep)`}; seeds ${scale.seeds.join(', ')}; ${scale.evalExamples} validation and ${scale.evalExamples} test examples.`,
    'Mean ± sample standard deviation over seeds. "deployable at rank R": the global model capped at rank R (FlexLoRA\'s stacked sum truncated by SVD; the others are already within R).',
    ...(done.length < allSettings.length ? [`Partial: ${done.length} of ${allSettings.length} settings finished so far.`] : []),
  ].join('\n');
  const markdown = `${header}\n\n${markdownTables(rows, baselines)}`;
  writeFileSync(join(root, 'results.md'), markdown);
  writeFileSync(join(root, 'results.json'), `${JSON.stringify({ date, command, scale, complete: done.length === allSettings.length, rows }, null, 2)}\n`);
  return markdown;
}

async function main(): Promise<void> {
  const all = settings(quick);
  const first = at(scale.seeds, 0, 'the first seed');
  const others = scale.seeds.slice(1);
  const base = loadModelFolder('models/fedplora-base');
  const model = modelFingerprint(base.config, base.weights);
  const tuned = (s: Setting): boolean => s.ratesFrom === null;
  const total = all.reduce((n, s) => n + s.methods.length * ((tuned(s) ? scale.lrs.length : 1) + others.length), 0);
  const progress = { done: 0, total, secondsPerCell: [] as number[] };
  const plan = scale.lrs.length > 1 ? `${scale.lrs.length} learning rates tuned on seed ${first}` : `one learning rate, seed ${first}`;
  process.stdout.write(
    tablesOnly
      ? `${total} cells over ${all.length} settings in ${root}: tables of the finished settings, no cell runs\n`
      : `${total} cells over ${all.length} settings (${plan}, then ${others.length} more seeds), ${jobs} at a time, in ${root}\n`,
  );
  // Runs the cells; with --tables only says whether all of them have finished.
  const complete = async (cells: Cell[], label: string): Promise<boolean> => {
    if (tablesOnly) return cells.every(isDone);
    await runAll(cells, label, progress);
    return true;
  };
  const unfinished: string[] = [];
  if (!quick && !tablesOnly)
    process.stdout.write(
      'the full suite takes many hours on 2 cores; it can be stopped and started again, finished cells are kept and results.md grows setting by setting\n',
    );
  const baselines = await baselineSection(all, scale.evalExamples, scale.clients * scale.maxExamplesPerClient);
  const chosen = new Map<string, number>();
  const done: SettingCells[] = [];
  let markdown = '';
  for (const s of all) {
    const byMethod = new Map<BenchMethod, Cell[]>();
    const from = s.ratesFrom;
    if (from === null) {
      const tuning = s.methods.flatMap((m) => scale.lrs.map((lr) => cellFor(s, m, first, lr, scale, output, model)));
      if (!(await complete(tuning, scale.lrs.length > 1 ? 'tune' : 'run'))) {
        unfinished.push(`${settingId(s)}: learning-rate tuning (${tuning.filter(isDone).length} of ${tuning.length} cells)`);
        continue;
      }
      for (const m of s.methods) {
        const lr = bestRate(tuning.filter((c) => c.method === m));
        chosen.set(`${settingId(s)}.${m}`, lr);
        byMethod.set(
          m,
          tuning.filter((c) => c.method === m && c.lr === lr),
        );
      }
    } else {
      if (!s.methods.every((m) => chosen.has(`${settingId(from)}.${m}`))) {
        unfinished.push(`${settingId(s)}: waits for the learning rates of ${settingId(from)}`);
        continue;
      }
      const firstSeed = s.methods.map((m) => {
        const key = `${settingId(from)}.${m}`;
        return cellFor(s, m, first, got(chosen, key, 'chosen learning rates'), scale, output, model);
      });
      if (!(await complete(firstSeed, 'run'))) {
        unfinished.push(`${settingId(s)}: ${firstSeed.filter(isDone).length} of ${firstSeed.length} first-seed cells`);
        continue;
      }
      for (const c of firstSeed) byMethod.set(c.method, [c]);
    }
    const cellsOf = (m: BenchMethod): Cell[] => got(byMethod, m, `cells of ${settingId(s)}`);
    const seeded = s.methods.flatMap((m) => others.map((seed) => cellFor(s, m, seed, at(cellsOf(m), 0, `first-seed cells of ${m}`).lr, scale, output, model)));
    if (!(await complete(seeded, 'seed'))) {
      unfinished.push(`${settingId(s)}: ${seeded.filter(isDone).length} of ${seeded.length} cells of the other seeds`);
      continue;
    }
    for (const c of seeded) cellsOf(c.method).push(c);
    done.push({ setting: s, byMethod });
    markdown = writeResults(done, all, baselines);
    // the curves of every method's first-seed run in this setting, side by side; the page names the runs
    // relative to the checkout (the suite runs from its root), so a committed report reads the same in any clone
    await writeReport(
      [...byMethod.values()].map((cells) => relative(process.cwd(), runDirOf(at(cells, 0, `cells of ${settingId(s)}`)))),
      join(root, 'reports', `${settingId(s)}.html`),
    );
  }
  if (unfinished.length) process.stdout.write(`\nnot finished:\n${unfinished.map((u) => `  ${u}`).join('\n')}\n`);
  if (done.length === 0) {
    process.stdout.write('no setting has finished yet: nothing to tabulate\n');
    return;
  }
  process.stdout.write(`\n${markdown}\nresults: ${join(root, 'results.md')}, ${join(root, 'results.json')}; curves per setting in ${join(root, 'reports')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:methods: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
