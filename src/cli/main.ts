#!/usr/bin/env node
/** The fedplora command line. */
import { Command } from 'commander';
import { registerInspect } from './inspect.js';
import { registerExport } from './export.js';
import { registerPretrain } from './pretrain.js';
import { registerGenerate } from './generate.js';
import { registerData } from './data.js';
import { registerRun } from './run.js';
import { registerReport } from './report.js';
import { registerServe } from './serve.js';
import { registerJoin } from './join.js';
import { registerTokens } from './tokens.js';
import { registerBaseline } from './baseline.js';

const program = new Command();
program.name('fedplora').description('Federated LoRA fine-tuning of LLaMA-family models with heterogeneous ranks (Fed-PLoRA)');
registerInspect(program);
registerExport(program);
registerPretrain(program);
registerGenerate(program);
registerData(program);
registerRun(program);
registerReport(program);
registerServe(program);
registerJoin(program);
registerTokens(program);
registerBaseline(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.stderr.write(`fedplora: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
