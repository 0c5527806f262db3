/**
 * loadExamples: reads a user's JSONL, CSV or Parquet file and turns each row
 * into an example through a layout. Any malformed row is an error naming
 * the file, the line or row and the field; no row is skipped or emptied.
 */
import { basename } from 'node:path';
import { rowError } from './errors.js';
import { requireKey } from './fields.js';
import { resolveFormat } from './format.js';
import { makeLayout } from './layouts.js';
import { readRows } from './read-rows.js';
import type { LoadedExample, LoadOptions, LoadResult, RowContext, RowLocation } from './types.js';
import { defined } from '../../util/checked.js';

/**
 * Ids are `${idPrefix ?? basename}:${line or row}` unless `mapping.id`
 * names an id field, whose values must then be unique (and are prefixed
 * with `${idPrefix}:` when one is given).
 */
export async function loadExamples(path: string, options: LoadOptions): Promise<LoadResult> {
  const layout = makeLayout(options);
  const format = resolveFormat(path, options.format);
  const { mapping = {}, idPrefix } = options;
  if (idPrefix !== undefined && typeof idPrefix !== 'string') throw new Error('idPrefix must be a string');
  const rows = await readRows(path, format);

  const prefix = idPrefix ?? basename(path);
  const firstSeen = new Map<string, RowLocation>();
  const examples: LoadedExample[] = rows.map((row) => {
    const ctx: RowContext = { ...row, file: path };
    const built = layout.build(ctx);
    let id = `${prefix}:${row.at.index}`;
    if (mapping.id !== undefined) {
      const value = requireKey(ctx, mapping.id, 'id');
      const earlier = firstSeen.get(value);
      if (earlier) throw rowError(ctx, mapping.id, `duplicate id ${JSON.stringify(value)} (first at ${earlier.kind} ${earlier.index})`);
      firstSeen.set(value, row.at);
      id = idPrefix !== undefined ? `${idPrefix}:${value}` : value;
    }
    const label = options.layout !== 'text-label' && mapping.label !== undefined ? requireKey(ctx, mapping.label, 'label') : built.label;
    const group = mapping.group !== undefined ? requireKey(ctx, mapping.group, 'group') : built.group;
    return {
      id,
      prompt: built.prompt,
      target: built.target,
      ...(label !== undefined && { label }),
      ...(group !== undefined && { group }),
      ...(built.references !== undefined && { references: built.references }),
    };
  });

  const result: LoadResult = { examples };
  if (options.layout === 'text-label' || mapping.label !== undefined) {
    result.labels = [...new Set(examples.map((e) => defined(e.label, `the label of example ${e.id}`)))].sort();
    if (layout.labelTarget) result.labelTargets = result.labels.map(layout.labelTarget);
  }
  return result;
}
