/** `fedplora run CONFIG.yaml`: a federated simulation with progress, metrics, checkpoints and a report. */
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { loadRunConfig, type RunConfig } from '../experiment/config.js';
import { buildExperiment } from '../experiment/build.js';
import { runSimulation, type RoundMetrics } from '../federation/simulation.js';
import { savePeftAdapter } from '../adapters/peft.js';
import { createProgress } from './progress.js';
import { createClientPool } from '../federation/client-pool.js';
import { writeReport } from '../report/index.js';

interface RunOptions {
  set: string[];
  resume?: boolean;
  overwrite?: boolean;
}

function formatRound(m: RoundMetrics): string {
  const metric = m.test_metric === null ? '' : `  ${m.metric} ${m.test_metric.toFixed(4)}`;
  const loss = m.train_loss === null ? '' : `  train loss ${m.train_loss.toFixed(4)}`;
  const mb = ((m.bytes_up + m.bytes_down) / 1e6).toFixed(2);
  const rejected = m.rejected.length ? `  rejected ${m.rejected.map((r) => r.clientId).join(',')}` : '';
  return `round ${m.round}${m.round === 0 ? ' (start)' : `  clients ${m.sampled.join(',')}`}${loss}${metric}  ${mb} MB  ${m.seconds.toFixed(1)} s${rejected}`;
}

function prepareRunDir(c: RunConfig, o: RunOptions): string {
  const dir = resolve(c.output, c.name);
  if (existsSync(join(dir, 'metrics.jsonl')) && !o.resume) {
    if (!o.overwrite) throw new Error(`run folder ${dir} already holds a run: pass --resume to continue it or --overwrite to replace it`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c, null, 2) + '\n');
  return dir;
}

export async function runFromConfig(configPath: string | undefined, o: RunOptions): Promise<string> {
  const config = loadRunConfig(configPath, o.set);
  const dir = prepareRunDir(config, o);
  const experiment = await buildExperiment(config);
  process.stdout.write(`${experiment.summary}\nrun folder: ${dir}\n`);
  const metricsPath = join(dir, 'metrics.jsonl');
  const sharedState = experiment.method.clientsShareServerState === true;
  const wanted = config.workers === 'auto' ? Math.min(availableParallelism(), experiment.simulation.clientsPerRound) : config.workers;
  const workers = sharedState ? 1 : wanted;
  if (sharedState && wanted > 1) process.stdout.write(`${config.method.name}: clients train in this process (they share state the server keeps)\n`);
  const runner = workers > 1 ? await createClientPool(config, workers) : undefined;
  if (runner) process.stdout.write(`clients train in ${workers} worker processes\n`);
  const progress = createProgress(experiment.simulation.rounds);
  let metrics: RoundMetrics[];
  try {
    metrics = await runSimulation(experiment.method, experiment.ctx, experiment.clients, experiment.evaluate, { ...experiment.simulation, runDir: dir, resume: Boolean(o.resume), ...(runner ? { runner } : {}) }, {
      onClient: (round, done, of) => progress.client(round, done, of),
      onRound: (m) => {
        appendFileSync(metricsPath, JSON.stringify(m) + '\n');
        progress.round(m.round, formatRound(m));
      },
    });
  } finally {
    progress.stop();
    await runner?.close();
  }
  // metrics.jsonl is rewritten whole from the checkpointed list, so a resumed run has no duplicate rounds.
  writeFileSync(metricsPath, '');
  for (const m of metrics) appendFileSync(metricsPath, JSON.stringify(m) + '\n');
  const adapter = experiment.method.server.exportAdapter();
  // PEFT sees a rank-R LoRA; the metadata keeps what makes it PLoRA (R one-rank modules, one scale alpha / R).
  const bookkeeping: Record<string, string> = config.method.name === 'fed-plora' ? { plora_modules: String(config.lora.rank), plora_scale: String(config.lora.alpha / config.lora.rank), plora_selection: config.method.selection } : {};
  if (adapter) savePeftAdapter(join(dir, 'adapter'), adapter, { baseModel: config.model, metadata: { method: config.method.name, ...bookkeeping } });
  const reportPath = join(dir, 'report.html');
  await writeReport([dir], reportPath);
  const first = metrics.find((m) => m.test_metric !== null)!;
  const last = metrics.filter((m) => m.test_metric !== null).at(-1)!;
  process.stdout.write(`${first.metric}: ${first.test_metric!.toFixed(4)} before training, ${last.test_metric!.toFixed(4)} after round ${last.round}\n`);
  process.stdout.write(`report: ${reportPath}\n`);
  return dir;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a federated fine-tuning simulation')
    .argument('[config]', 'run config (YAML); defaults apply to anything it leaves out')
    .option('--set <key=value>', 'override a config value, e.g. --set rounds=20 --set "method={name: fedit}" (repeatable; values are YAML)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--resume', 'continue the run in the config\'s run folder from its last checkpoint')
    .option('--overwrite', 'replace an existing run in the run folder')
    .action(async (configPath: string | undefined, o: RunOptions) => {
      await runFromConfig(configPath, o);
    });
}
