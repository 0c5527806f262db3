/** What a layout does: turn one raw row into prompt, target and the layout's own extras. */
import type { LoadedExample, RowContext } from './types.js';

/** An example without its id; id, a mapped group and a mapped label are added by the loader. */
export type BuiltExample = Omit<LoadedExample, 'id'>;

export interface Layout {
  build(ctx: RowContext): BuiltExample;
  /** `text-label`: the target of a label */
  labelTarget?: (label: string) => string;
}
