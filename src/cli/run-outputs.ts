/** What `fedplora run` and `fedplora serve` share: the run folder, round lines, and the files a finished run leaves. */
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunConfig } from '../experiment/config.js';
import type { RoundMetrics } from '../federation/simulation.js';
import type { Method } from '../methods/method.js';
import { savePeftAdapter } from '../lora/peft.js';
import { getMethodDefinition } from '../methods/registry.js';
import { writeReport } from '../report/index.js';
import { at } from '../util/checked.js';

export interface RunDirOptions {
  resume?: boolean;
  overwrite?: boolean;
}

export function formatRound(m: RoundMetrics): string {
  const metric = m.test_metric === null ? '' : `  ${m.metric} ${m.test_metric.toFixed(4)}`;
  const loss = m.train_loss === null ? '' : `  train loss ${m.train_loss.toFixed(4)}`;
  const mb = ((m.bytes_up + m.bytes_down) / 1e6).toFixed(2);
  const rejected = m.rejected.length ? `  rejected ${m.rejected.map((r) => r.clientId).join(',')}` : '';
  const dropped = m.dropped.length ? `  dropped ${m.dropped.map((r) => r.clientId).join(',')}` : '';
  return `round ${m.round}${m.round === 0 ? ' (start)' : `  clients ${m.sampled.join(',')}`}${loss}${metric}  ${mb} MB  ${m.seconds.toFixed(1)} s${rejected}${dropped}`;
}

export function prepareRunDir(c: RunConfig, o: RunDirOptions): string {
  const dir = resolve(c.output, c.name);
  if (existsSync(join(dir, 'metrics.jsonl')) && !o.resume) {
    if (!o.overwrite) throw new Error(`run folder ${dir} already holds a run: pass --resume to continue it or --overwrite to replace it`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(c, null, 2)}\n`);
  return dir;
}

/** metrics.jsonl (rewritten whole from the checkpointed list, so a resumed run has no duplicate rounds), the final adapter and the report. */
export async function writeRunOutputs(dir: string, config: RunConfig, method: Method, metrics: RoundMetrics[]): Promise<void> {
  const metricsPath = join(dir, 'metrics.jsonl');
  writeFileSync(metricsPath, '');
  for (const m of metrics) appendFileSync(metricsPath, `${JSON.stringify(m)}\n`);
  const adapter = method.server.exportAdapter();
  const bookkeeping = getMethodDefinition(config.method.name).exportMetadata?.(config.method, { rank: config.lora.rank, alpha: config.lora.alpha }) ?? {};
  if (adapter) savePeftAdapter(join(dir, 'adapter'), adapter, { baseModel: config.model, metadata: { method: config.method.name, ...bookkeeping } });
  const reportPath = join(dir, 'report.html');
  await writeReport([dir], reportPath);
  const tested = metrics.flatMap((m) => (m.test_metric === null ? [] : [{ round: m.round, metric: m.metric, value: m.test_metric }]));
  const first = at(tested, 0, 'rounds with a test metric');
  const last = at(tested, tested.length - 1, 'rounds with a test metric');
  process.stdout.write(`${first.metric}: ${first.value.toFixed(4)} before training, ${last.value.toFixed(4)} after round ${last.round}\n`);
  process.stdout.write(`report: ${reportPath}\n`);
}
