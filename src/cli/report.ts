/** `fedplora report RUN_DIR... [--out FILE]`: a self-contained HTML page of plots and a results table. */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeReport } from '../report/index.js';
import { at } from '../util/checked.js';

export { buildReport, writeReport } from '../report/index.js';

/** report.html in the run folder for one run, else report.html in the working directory. */
export function defaultReportFile(runDirs: string[]): string {
  return runDirs.length === 1 ? join(at(runDirs, 0, 'run folders'), 'report.html') : resolve('report.html');
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write an HTML report (plots and a results table, no network needed to view it) of one or more run folders')
    .argument('<run-dirs...>', 'run folders, each with config.json and metrics.jsonl')
    .option('--out <file>', 'the HTML file to write (default: report.html in the run folder for one run, else ./report.html)')
    .action(async (runDirs: string[], opts: { out?: string }) => {
      const out = opts.out ?? defaultReportFile(runDirs);
      await writeReport(runDirs, out);
      process.stdout.write(`report of ${runDirs.length} run${runDirs.length > 1 ? 's' : ''} written to ${out}\n`);
    });
}
