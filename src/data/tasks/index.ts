/** Tasks by name: the built-in ones, and any a user registers (directly or from a plugin). */
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

const tasks = new Map<string, TaskDefinition>(Object.entries(BUILTIN_TASKS));

/** Adds a task; a name already taken is an error, so a plugin cannot silently replace a built-in task. */
export function registerTask(t: TaskDefinition): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(t.name)) throw new Error(`task name '${t.name}': use lower-case letters, digits, dot, dash and underscore`);
  if (tasks.has(t.name)) throw new Error(`a task named '${t.name}' is already registered`);
  if (t.kind === 'classification' && !(t.labels && t.labels.length >= 2)) throw new Error(`task '${t.name}': a classification task lists at least two labels`);
  tasks.set(t.name, t);
}

export function taskNames(): string[] {
  return [...tasks.keys()];
}

export function getTask(name: string): TaskDefinition {
  const t = tasks.get(name);
  if (!t) throw new Error(`unknown task "${name}"; registered tasks: ${taskNames().join(', ')}`);
  return t;
}
