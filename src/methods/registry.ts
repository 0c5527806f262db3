/**
 * Methods by name, each with its own options type. The experiment layer
 * builds one from the run config; bounds (centralized, local) are listed
 * here too so configs name them the same way.
 */
import type { Method, MethodContext } from './method.js';
import { createFedPlora, type FedPloraOptions } from './fed-plora.js';
import { createFedIt, type FedItOptions } from './fedit.js';
import { createFlexLora, type FlexLoraOptions } from './flexlora.js';
import { createFlora, type FloraOptions } from './flora.js';
import { createHetLora, type HetLoraOptions } from './hetlora.js';
import { createLocal, type LocalOptions } from './local.js';

export type MethodSpec =
  | ({ name: 'fed-plora' } & Partial<FedPloraOptions>)
  /** rank defaults to the smallest client rank */
  | ({ name: 'fedit'; rank?: number } & Partial<Omit<FedItOptions, 'rank'>>)
  | ({ name: 'hetlora' } & Partial<HetLoraOptions>)
  | ({ name: 'flexlora' } & Partial<FlexLoraOptions>)
  | ({ name: 'flora' } & Partial<FloraOptions>)
  /** lower bound: every client trains alone at its own rank */
  | ({ name: 'local' } & Partial<LocalOptions>);

export type MethodName = MethodSpec['name'];

export const METHOD_NAMES: readonly MethodName[] = ['fed-plora', 'fedit', 'hetlora', 'flexlora', 'flora', 'local'];

/** Creates the method; `clientRanks` are every client's ranks (for defaults such as FedIT's). */
export function createMethod(spec: MethodSpec, ctx: MethodContext, clientRanks: readonly number[]): Method {
  switch (spec.name) {
    case 'fed-plora':
      return createFedPlora(ctx, spec);
    case 'fedit':
      return createFedIt(ctx, { ...spec, rank: spec.rank ?? Math.min(...clientRanks) });
    case 'hetlora':
      return createHetLora(ctx, spec);
    case 'flexlora':
      return createFlexLora(ctx, spec);
    case 'flora':
      return createFlora(ctx, spec);
    case 'local':
      return createLocal(ctx, spec);
  }
}
