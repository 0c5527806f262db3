/** Run configs on the bundled model and a built-in task, small enough to build in a test. */
import { join } from 'node:path';
import { parseRunConfig, type RunConfig } from '../../src/experiment/config.js';

export const BUNDLED_MODEL = join(import.meta.dirname, '../../../models/fedplora-base');

/** sotu-party on the bundled model at R = 4; `extra` overrides any key. */
export function bundledConfig(extra: Record<string, unknown> = {}): RunConfig {
  return parseRunConfig({ model: BUNDLED_MODEL, task: 'sotu-party', maxLength: 96, testExamples: 4, lora: { rank: 4, alpha: 8 }, ...extra });
}
