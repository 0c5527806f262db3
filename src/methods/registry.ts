/**
 * Methods by name, each with its own options type. The experiment layer
 * builds one from the run config; bounds (centralized, local) are listed
 * here too so configs name them the same way.
 */
import type { Method, MethodContext } from './method.js';
import { createFedPlora, type FedPloraOptions } from './fed-plora.js';
import { createFedIt } from './fedit.js';

export type MethodSpec =
  | ({ name: 'fed-plora' } & Partial<FedPloraOptions>)
  /** rank defaults to the smallest client rank */
  | { name: 'fedit'; rank?: number };

export type MethodName = MethodSpec['name'];

export const METHOD_NAMES: readonly MethodName[] = ['fed-plora', 'fedit'];

/** Creates the method; `clientRanks` are every client's ranks (for defaults such as FedIT's). */
export function createMethod(spec: MethodSpec, ctx: MethodContext, clientRanks: readonly number[]): Method {
  switch (spec.name) {
    case 'fed-plora':
      return createFedPlora(ctx, spec);
    case 'fedit':
      return createFedIt(ctx, { rank: spec.rank ?? Math.min(...clientRanks) });
  }
}
