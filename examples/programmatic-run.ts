/**
 * A run from a program instead of the CLI: a config object, a method of
 * one's own registered beside the built-in ones, a callback per round, an
 * evaluation of the result and its export as a PEFT adapter.
 *
 *   node dist/examples/programmatic-run.js [OUTPUT_FOLDER]
 *
 * Outside this repository, import from 'fedplora' instead of '../src/index.js'.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExperiment, loadModel, parseRunConfig, registerPlugin, savePeftAdapter, simulate } from '../src/index.js';
import plugin from './custom-method.js';

registerPlugin(plugin);

const config = parseRunConfig({
  name: 'programmatic',
  model: 'models/fedplora-base',
  task: 'spam',
  clients: 6,
  ranks: { kind: 'list', ranks: [8, 8, 8, 8, 8, 8] },
  lora: { rank: 8, alpha: 16, targets: ['q_proj', 'v_proj'] },
  method: { name: 'fedavg-full-rank' },
  rounds: 2,
  clientsPerRound: 3,
  evalEvery: 1,
  testExamples: 40,
  maxLength: 96,
  local: { steps: 2, batchSize: 4, lr: 0.002 },
});

const experiment = await buildExperiment(config);
process.stdout.write(`${experiment.summary}\n`);
const metrics = await simulate(experiment, {
  onRound: (m) => process.stdout.write(`round ${m.round}: ${m.metric} ${m.test_metric?.toFixed(4) ?? '-'}, ${m.bytes_up + m.bytes_down} bytes\n`),
});
const final = experiment.evaluate(experiment.method.server.globalModel());
process.stdout.write(`final ${final.metric}: ${final.value.toFixed(4)} (${metrics.length - 1} rounds)\n`);

const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'fedplora-example-'));
const adapter = experiment.method.server.exportAdapter();
if (adapter) savePeftAdapter(join(out, 'adapter'), adapter, { baseModel: config.model, metadata: { method: config.method.name } });
// the exported adapter loads back onto the base model like any PEFT adapter
const reloaded = loadModel(config.model, { adapter: join(out, 'adapter') });
process.stdout.write(`adapter: ${join(out, 'adapter')} (rank ${reloaded.adapter?.rank})\n`);
