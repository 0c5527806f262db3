/** The built-in tasks by name. */
import { cmudict } from './cmudict.js';
import { spam } from './spam.js';
import { sotuEra, sotuParty } from './sotu.js';
import type { TaskDefinition } from './task.js';

export type { TaskDefinition } from './task.js';
export { labelTarget, splitExamples } from './task.js';

export const BUILTIN_TASKS: Readonly<Record<string, TaskDefinition>> = {
  [sotuParty.name]: sotuParty,
  [sotuEra.name]: sotuEra,
  [spam.name]: spam,
  [cmudict.name]: cmudict,
};

export function getTask(name: string): TaskDefinition {
  const t = BUILTIN_TASKS[name];
  if (!t) throw new Error(`unknown task "${name}"; built-in tasks: ${Object.keys(BUILTIN_TASKS).join(', ')}`);
  return t;
}
