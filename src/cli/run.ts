/** `fedplora run CONFIG.yaml`: a federated simulation with progress, metrics, checkpoints and a report. */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { loadRunConfig } from '../experiment/config.js';
import { buildExperiment } from '../experiment/build.js';
import { runSimulation, type RoundMetrics } from '../federation/simulation.js';
import { createProgress } from './progress.js';
import { createClientPool } from '../experiment/client-pool.js';
import { formatRound, prepareRunDir, writeRunOutputs } from './run-outputs.js';

interface RunOptions {
  set: string[];
  precision?: string;
  resume?: boolean;
  overwrite?: boolean;
}

export async function runFromConfig(configPath: string | undefined, o: RunOptions): Promise<string> {
  // --precision is the config's precision key, checked by its schema
  const config = await loadRunConfig(configPath, [...o.set, ...(o.precision !== undefined ? [`precision=${o.precision}`] : [])]);
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
    metrics = await runSimulation(
      experiment.method,
      experiment.ctx,
      experiment.clients,
      experiment.evaluate,
      { ...experiment.simulation, runDir: dir, resume: Boolean(o.resume), ...(runner ? { runner } : {}) },
      {
        onClient: (round, done, of) => progress.client(round, done, of),
        onRound: (m) => {
          appendFileSync(metricsPath, `${JSON.stringify(m)}\n`);
          progress.round(m.round, formatRound(m));
        },
      },
    );
  } finally {
    progress.stop();
    await runner?.close();
  }
  await writeRunOutputs(dir, config, experiment.method, metrics);
  return dir;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a federated fine-tuning simulation')
    .argument('[config]', 'run config (YAML); defaults apply to anything it leaves out')
    .option(
      '--set <key=value>',
      'override a config value, e.g. --set rounds=20 --set "method={name: fedit}" (repeatable; values are YAML)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--precision <p>', "the frozen base's projections: fp32, bf16 or int8 (config key precision)")
    .option('--resume', "continue the run in the config's run folder from its last checkpoint")
    .option('--overwrite', 'replace an existing run in the run folder')
    .action(async (configPath: string | undefined, o: RunOptions) => {
      await runFromConfig(configPath, o);
    });
}
