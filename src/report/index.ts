/** Builds the HTML report of one or more run folders. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { renderPage } from './html.js';
import { buildPlots } from './plots.js';
import { readRuns } from './runs.js';
import { summarize } from './summary.js';
import { renderSvg } from './svg.js';

/** The report page of these run folders, as HTML text. */
export async function buildReport(runDirs: string[]): Promise<string> {
  const runs = readRuns(runDirs);
  const plots = [];
  for (const p of buildPlots(runs)) plots.push({ id: p.id, title: p.title, caption: p.caption, svg: await renderSvg(p.spec, `plot-${p.id}`) });
  return renderPage(runs, runs.map(summarize), plots);
}

/** Writes the report of these run folders to outFile (its folder is created if missing). */
export async function writeReport(runDirs: string[], outFile: string): Promise<void> {
  const html = await buildReport(runDirs);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, html);
}
