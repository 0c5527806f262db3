/**
 * Methods by name. The built-in methods and bounds are registered here; a
 * user's own method is added with registerMethod (directly, or by a plugin
 * file a run config names), and from then on configs, the CLI and the
 * benchmark use it like any built-in one.
 */
import { at } from '../util/checked.js';
import type { MethodDefinition } from './definition.js';
import type { Method, MethodContext } from './method.js';
import { fedPloraMethod } from './fed-plora.js';
import { centralizedMethod, fedItMethod } from './fedit.js';
import { flexLoraMethod } from './flexlora.js';
import { floraMethod } from './flora.js';
import { hetLoraMethod } from './hetlora.js';
import { localMethod } from './local.js';

/** A method in a config: its name and its options (checked by its definition's schema). */
export type MethodSpec = { name: string } & Record<string, unknown>;

const definitions = new Map<string, MethodDefinition<never>>();

/** Adds a method; a name already taken is an error, so a plugin cannot silently replace a built-in method. */
export function registerMethod<Options>(d: MethodDefinition<Options>): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(d.name)) throw new Error(`method name '${d.name}': use lower-case letters, digits, dot, dash and underscore`);
  if (definitions.has(d.name)) throw new Error(`a method named '${d.name}' is already registered`);
  definitions.set(d.name, d as unknown as MethodDefinition<never>);
}

for (const d of [fedPloraMethod, fedItMethod, hetLoraMethod, flexLoraMethod, floraMethod, centralizedMethod, localMethod] as MethodDefinition<never>[])
  registerMethod(d);

/** The built-in federated methods (not the bounds), in the order the docs list them. */
export const METHOD_NAMES: readonly string[] = ['fed-plora', 'fedit', 'hetlora', 'flexlora', 'flora', 'local'];

export function methodNames(): string[] {
  return [...definitions.keys()];
}

export function getMethodDefinition(name: string): MethodDefinition<Record<string, unknown>> {
  const d = definitions.get(name);
  if (!d) throw new Error(`unknown method '${name}'; registered methods: ${methodNames().join(', ')}`);
  return d as unknown as MethodDefinition<Record<string, unknown>>;
}

/**
 * A spec's options as its method's schema reads them (defaults filled in), or
 * the first problem as an option path and a message.
 */
export function parseMethodOptions(spec: MethodSpec): { ok: true; options: Record<string, unknown> } | { ok: false; key: string; message: string } {
  const d = getMethodDefinition(spec.name);
  const { name: _name, ...rest } = spec;
  const parsed = d.options.safeParse(rest);
  if (parsed.success) return { ok: true, options: parsed.data };
  const issue = at(parsed.error.issues, 0, `method ${spec.name}: validation issues`);
  const message =
    issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} for method ${spec.name}` : issue.message;
  return { ok: false, key: issue.path.join('.'), message };
}

/** Creates the method a spec names; `clientRanks` are the ranks of the clients taking part (for defaults such as FedIT's). */
export function createMethod(spec: MethodSpec, ctx: MethodContext, clientRanks: readonly number[]): Method {
  const parsed = parseMethodOptions(spec);
  if (!parsed.ok) throw new Error(`method ${spec.name}: ${parsed.key ? `${parsed.key}: ` : ''}${parsed.message}`);
  return getMethodDefinition(spec.name).create(ctx, parsed.options, { clientRanks });
}
