/**
 * What a method is to the rest of the framework: its name, the options a run
 * config may give it (a zod schema with the defaults), how to create it, and
 * what its exported adapter records. Each method file declares its own, the
 * registry collects them, and a user's plugin adds more the same way (a
 * method is to fedplora what a strategy is to Flower).
 */
import type { ZodType } from 'zod';
import type { Method, MethodContext } from './method.js';

/** What a method is told about the run beyond the shared context. */
export interface MethodRunInfo {
  /** the rank of every client taking part, in client order */
  clientRanks: readonly number[];
}

export interface MethodDefinition<Options = Record<string, unknown>> {
  /** the name configs use (`method: { name: ... }`) */
  readonly name: string;
  /** one line for listings and errors */
  readonly description: string;
  /**
   * The options beside `name` in a run config: a strict object schema whose
   * defaults fill what the config leaves out. Its errors are reported under
   * `method.` in the config.
   */
  readonly options: ZodType<Options, unknown>;
  /** checks that need the rest of the config (e.g. a rank against R); returns the offending option and why, or null */
  check?(options: Options, run: { rank: number; clients: number }): { key: string; message: string } | null;
  create(ctx: MethodContext, options: Options, run: MethodRunInfo): Method;
  /** extra string metadata for the exported PEFT adapter (what a reader needs beyond plain LoRA) */
  exportMetadata?(options: Options, ctx: Pick<MethodContext, 'rank' | 'alpha'>): Record<string, string>;
  /**
   * One client pools the data of all the run's clients at rank R and takes
   * the federation's steps (the centralized upper bound); see
   * experiment/build.ts centralizedFederation.
   */
  readonly poolsClients?: boolean;
  /** a bound for simulations with no server to join over the network */
  readonly simulationOnly?: boolean;
}

/** Keeps a definition's option type while it is stored among others. */
export function defineMethod<Options>(d: MethodDefinition<Options>): MethodDefinition<Options> {
  return d;
}

/**
 * A definition of any option type, as lists of methods hold them: each
 * definition's schema produces exactly what its own create accepts, which a
 * list cannot express per element, so the options are unknown here (create
 * and check are methods, whose parameters TypeScript compares bivariantly,
 * so every MethodDefinition<Options> is one).
 */
export type AnyMethodDefinition = MethodDefinition<unknown>;
