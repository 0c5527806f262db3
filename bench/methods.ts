/**
 * `npm run bench:methods [-- --quick] [--out DIR] [--jobs N]`: the method
 * comparison. Every method and bound runs on the same data, clients, ranks,
 * sampling, local steps and evaluation; each learning rate is chosen on the
 * validation split (first seed), then the other seeds run at it. Writes
 * results.md, results.json and report.html in the output folder; a cell that
 * finished is never run again, so an interrupted suite resumes where it was.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReport } from '../src/report/index.js';
import { cellFor, FULL, METHODS, QUICK, settingId, settings, type Cell, type Scale, type Setting } from './methods/grid.js';
import { isDone, runCell, runDirOf } from './methods/run-cell.js';
import { readMetrics, summarizeCell, type CellSummary } from './methods/cell-summary.js';
import { makeRow, markdownTables, type Row } from './methods/tables.js';
import { baselineSection } from './methods/baselines.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, jobs: { type: 'string', default: '2' } },
});
const quick = args.quick === true;
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

async function main(): Promise<void> {
  const all = settings(quick);
  const [first, ...others] = scale.seeds;
  const tuning = all.flatMap((s) => METHODS.flatMap((m) => scale.lrs.map((lr) => cellFor(s, m, first!, lr, scale, output))));
  const total = tuning.length + all.length * METHODS.length * others.length;
  const progress = { done: 0, total, secondsPerCell: [] as number[] };
  const pending = tuning.filter((c) => !isDone(c)).length;
  process.stdout.write(`${total} cells (${all.length} settings x ${METHODS.length} methods; ${scale.lrs.length} learning rates tuned on seed ${first}, then ${others.length} more seeds); ${pending} tuning cells to run, ${jobs} at a time, in ${root}\n`);
  if (!quick) process.stdout.write('the full suite takes hours on 2 cores; it can be stopped and started again, finished cells are kept\n');
  await runAll(tuning, 'tune', progress);

  // The learning rate with the best validation metric, per setting and method (ties: the smaller rate).
  const chosen = new Map<string, number>();
  for (const s of all) {
    for (const m of METHODS) {
      const cells = tuning.filter((c) => c.setting === s && c.method === m);
      const best = cells.map((c) => ({ lr: c.lr, v: summaryOf(c).bestValidation })).reduce((a, b) => (b.v > a.v ? b : a));
      chosen.set(`${settingId(s)}.${m}`, best.lr);
    }
  }
  const seeded = all.flatMap((s) => METHODS.flatMap((m) => others.map((seed) => cellFor(s, m, seed, chosen.get(`${settingId(s)}.${m}`)!, scale, output))));
  await runAll(seeded, 'seed', progress);

  const rows: Row[] = [];
  const reportDirs: string[] = [];
  for (const s of all as Setting[]) {
    for (const m of METHODS) {
      const lr = chosen.get(`${settingId(s)}.${m}`)!;
      const cells = [...tuning.filter((c) => c.setting === s && c.method === m && c.lr === lr), ...seeded.filter((c) => c.setting === s && c.method === m)];
      rows.push(makeRow(s, m, lr, cells.map((c) => c.seed), cells.map(summaryOf)));
      if (s.table === 'main' && s === all[0]) reportDirs.push(runDirOf(cells[0]!));
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  const command = `npm run bench:methods${quick ? ' -- --quick' : ''}`;
  const header = [
    `Measured ${date} with \`${command}\`: ${scale.clients} clients, ${scale.clientsPerRound} sampled per round, ${scale.rounds} rounds of ${scale.steps} local steps (batch ${scale.batchSize}),`,
    `R = ${scale.rank} (client ranks ${scale.choices.join('/')} unless a table says otherwise), targets q/k/v/o, example-weighted aggregation unless a table says otherwise,`,
    `learning rate per method from {${scale.lrs.join(', ')}} on the validation split of seed ${first}; seeds ${scale.seeds.join(', ')}; ${scale.evalExamples} validation and ${scale.evalExamples} test examples.`,
    'Mean ± sample standard deviation over seeds. "deployable at rank R": the global model capped at rank R (FlexLoRA\'s stacked sum truncated by SVD; the others are already within R).',
  ].join('\n');
  const markdown = `${header}\n\n${markdownTables(rows, await baselineSection(all, scale.evalExamples))}`;
  writeFileSync(join(root, 'results.md'), markdown);
  writeFileSync(join(root, 'results.json'), JSON.stringify({ date, command, scale, rows }, null, 2) + '\n');
  await writeReport(reportDirs, join(root, 'report.html'));
  process.stdout.write(`\n${markdown}\nresults: ${join(root, 'results.md')}, ${join(root, 'results.json')}, ${join(root, 'report.html')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:methods: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
