/**
 * Plugins: modules that add methods, tasks and partitioners without editing
 * the package. A plugin's default export (or its export named `plugin`) is
 * a FedploraPlugin; a run config lists plugin files under `plugins`, and
 * every process of the run (the simulation, its worker processes, a
 * networked client) loads them before it reads the config's method, task or
 * partition.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyMethodDefinition } from '../methods/definition.js';
import { registerMethod } from '../methods/registry.js';
import type { TaskDefinition } from '../data/tasks/task.js';
import { registerTask } from '../data/tasks/index.js';
import type { AnyPartitionerDefinition } from '../data/partition/definition.js';
import { registerPartitioner } from '../data/partition/registry.js';

export interface FedploraPlugin {
  methods?: readonly AnyMethodDefinition[];
  tasks?: readonly TaskDefinition[];
  partitioners?: readonly AnyPartitionerDefinition[];
}

/** What this process has loaded, by absolute path: a run's processes load the same list more than once. */
const loaded = new Set<string>();

/** Registers what a plugin object provides. */
export function registerPlugin(p: FedploraPlugin): void {
  for (const m of p.methods ?? []) registerMethod(m);
  for (const t of p.tasks ?? []) registerTask(t);
  for (const d of p.partitioners ?? []) registerPartitioner(d);
}

/** The absolute path of a plugin file named relative to `baseDir`. */
export function pluginPath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** Imports and registers each plugin file once; returns their absolute paths. */
export async function loadPlugins(paths: readonly string[], baseDir: string): Promise<string[]> {
  const absolute = paths.map((p) => pluginPath(p, baseDir));
  for (const file of absolute) {
    if (loaded.has(file)) continue;
    if (!existsSync(file)) throw new Error(`plugin ${file} does not exist (plugins are named relative to the config file)`);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`plugin ${file} failed to load: ${(e as Error).message}`);
    }
    const plugin = (mod['default'] ?? mod['plugin']) as FedploraPlugin | undefined;
    if (!plugin || typeof plugin !== 'object' || !(Array.isArray(plugin.methods) || Array.isArray(plugin.tasks) || Array.isArray(plugin.partitioners))) {
      throw new Error(`plugin ${file} must export (as default or as 'plugin') an object with a methods, tasks and/or partitioners array`);
    }
    registerPlugin(plugin);
    loaded.add(file);
  }
  return absolute;
}
