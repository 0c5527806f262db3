/** The report page: a self-contained HTML shell around inline SVG plots and the results table. */
import { lowerIsBetter } from '../metrics/index.js';
import type { RunData } from './runs.js';
import { formatMb, formatMetric, formatRatio, formatSeconds, scoreColumns, type RunSummary } from './summary.js';
import { at } from '../util/checked.js';
import { escapeHtml } from '../util/html.js';

export interface RenderedPlot {
  id: string;
  title: string;
  caption: string;
  /** SVG markup from the plotting library (its text is escaped there) */
  svg: string;
}

const CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1240px; padding: 0 1rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .25rem; }
.runs { margin: .5rem 0 0; padding-left: 1.2rem; color: #444; }
.runs code { font-size: .85em; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(600px, 1fr)); gap: 1.25rem; }
figure { margin: 0; padding: .75rem; border: 1px solid #e3e3e3; border-radius: 6px; overflow-x: auto; }
figure h3 { font-size: 1rem; margin: 0 0 .5rem; }
figcaption { font-size: .85rem; color: #555; margin-top: .25rem; }
table { border-collapse: collapse; font-size: .9rem; font-variant-numeric: tabular-nums; }
.table-wrap { overflow-x: auto; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
th { background: #f6f6f6; position: sticky; top: 0; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
.note { font-size: .85rem; color: #555; }
details { margin: .5rem 0; border: 1px solid #e3e3e3; border-radius: 6px; padding: .4rem .75rem; }
summary { cursor: pointer; font-weight: 600; }
pre { font-size: .8rem; overflow-x: auto; background: #f8f8f8; padding: .75rem; border-radius: 4px; }
`;

function table(summaries: RunSummary[]): string {
  const scores = scoreColumns(summaries);
  const head = [
    'method',
    'run',
    'metric',
    'final test metric',
    'best test metric',
    'rounds',
    'total MB up',
    'total MB down',
    'mean s / round',
    'peak RSS MB',
    'mean step ratio',
    ...scores.map((s) => `final ${s}`),
  ];
  const rows = summaries.map((s) => {
    const run = `${s.name}${s.seed === null ? '' : ` (seed ${s.seed})`}`;
    const metric = s.metric === null ? '–' : `${s.metric} ${lowerIsBetter(s.metric) ? '↓' : '↑'}`;
    const best = s.bestMetric === null ? '–' : `${formatMetric(s.bestMetric)} (round ${s.bestRound})`;
    const final = s.finalMetric === null ? '–' : `${formatMetric(s.finalMetric)} (round ${s.finalRound})`;
    const rounds = s.plannedRounds !== null && s.plannedRounds !== s.rounds ? `${s.rounds} / ${s.plannedRounds}` : String(s.rounds);
    const cells = [
      s.method,
      run,
      metric,
      final,
      best,
      rounds,
      formatMb(s.bytesUp),
      formatMb(s.bytesDown),
      formatSeconds(s.meanSeconds),
      s.peakRssMb === null ? '–' : String(Math.round(s.peakRssMb)),
      formatRatio(s.meanStepRatio),
      ...scores.map((k) => formatMetric(s.finalScores[k] ?? null)),
    ];
    return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  return `<div class="table-wrap"><table>
<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>
<p class="note">Final = the last evaluation; best over every evaluation, round 0 (the starting model) included; ↑ higher is better, ↓ lower is better.
MB are 10<sup>6</sup> bytes of serialized messages; mean seconds over the training rounds; peak RSS of the whole process.</p>`;
}

export function renderPage(runs: RunData[], summaries: RunSummary[], plots: RenderedPlot[]): string {
  const only = runs.length === 1 ? at(runs, 0, 'runs') : undefined;
  const title = only ? `fedplora report: ${only.label} · ${only.name}` : `fedplora report: ${runs.length} runs`;
  const runList = runs
    .map((r) => {
      const bits = [r.task === null ? null : `task ${r.task}`, `method ${r.method}`, r.seed === null ? null : `seed ${r.seed}`].filter((b) => b !== null);
      return `<li><strong>${escapeHtml(r.label)}</strong> — <code>${escapeHtml(r.dir)}</code> (${escapeHtml(bits.join(', '))})</li>`;
    })
    .join('\n');
  const figures = plots
    .map(
      (p) => `<figure id="${escapeHtml(p.id)}">
<h3>${escapeHtml(p.title)}</h3>
${p.svg}
<figcaption>${escapeHtml(p.caption)}</figcaption>
</figure>`,
    )
    .join('\n');
  const configs = runs
    .map((r) => `<details><summary>config: ${escapeHtml(r.label)}</summary><pre>${escapeHtml(JSON.stringify(r.config, null, 2))}</pre></details>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<ul class="runs">
${runList}
</ul>
<h2>Results</h2>
${table(summaries)}
<h2>Plots</h2>
<div class="plots">
${figures}
</div>
<h2>Configurations</h2>
${configs}
</body>
</html>
`;
}
