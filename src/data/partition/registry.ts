/**
 * Partitioners by kind. The built-in ones are registered here; a user's own
 * is added with registerPartitioner (directly, or by a plugin file a run
 * config names), and from then on configs and `fedplora data show` use it
 * like any built-in one.
 */
import { at } from '../../util/checked.js';
import type { AnyPartitionerDefinition, PartitionerDefinition } from './definition.js';
import { dirichletPartitioner } from './dirichlet.js';
import { iidPartitioner } from './iid.js';
import { naturalPartitioner } from './natural.js';
import { pathologicalPartitioner } from './pathological.js';
import { sizeSkewPartitioner } from './size-skew.js';

const definitions = new Map<string, AnyPartitionerDefinition>();

/** Adds a partitioner; a name already taken is an error, so a plugin cannot silently replace a built-in partitioner. */
export function registerPartitioner<Options>(d: PartitionerDefinition<Options>): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(d.name)) throw new Error(`partitioner name '${d.name}': use lower-case letters, digits, dot, dash and underscore`);
  if (definitions.has(d.name)) throw new Error(`a partitioner named '${d.name}' is already registered`);
  definitions.set(d.name, d);
}

const builtIn: AnyPartitionerDefinition[] = [iidPartitioner, dirichletPartitioner, pathologicalPartitioner, naturalPartitioner, sizeSkewPartitioner];
for (const d of builtIn) registerPartitioner(d);

export function partitionerNames(): string[] {
  return [...definitions.keys()];
}

export function getPartitionerDefinition(kind: string): PartitionerDefinition<Record<string, unknown>> {
  const d = definitions.get(kind);
  if (!d) throw new Error(`unknown partition kind '${kind}'; registered partitioners: ${partitionerNames().join(', ')}`);
  // every definition's options are an object (its schema is a strict object schema), so its create takes a record
  return d as PartitionerDefinition<Record<string, unknown>>;
}

/**
 * Options for a partitioner of this kind as its schema reads them, defaults
 * filled in, or the first problem as an option path and a message.
 */
export function parsePartitionOptions(
  kind: string,
  options: Record<string, unknown>,
): { ok: true; options: Record<string, unknown> } | { ok: false; key: string; message: string } {
  const parsed = getPartitionerDefinition(kind).options.safeParse(options);
  if (parsed.success) return { ok: true, options: parsed.data };
  const issue = at(parsed.error.issues, 0, `partition ${kind}: validation issues`);
  const message =
    issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} for partition ${kind}` : issue.message;
  return { ok: false, key: issue.path.join('.'), message };
}
