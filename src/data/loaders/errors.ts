/**
 * Errors of the user-data loaders. Every message starts with the file,
 * then the line (JSONL, CSV) or row index (Parquet), then the field.
 */
import type { RowContext, RowLocation } from './types.js';

export class DataLoadError extends Error {
  override name = 'DataLoadError';
  readonly file: string;
  readonly location: RowLocation | undefined;
  /** the field at fault; several when a template's rendering is at fault */
  readonly fields: readonly string[];

  constructor(file: string, location: RowLocation | undefined, field: string | readonly string[] | undefined, problem: string) {
    const fields = field === undefined ? [] : typeof field === 'string' ? [field] : field;
    let where = file;
    if (location) where += ` ${location.kind} ${location.index}`;
    if (fields.length > 0) where += `, field${fields.length > 1 ? 's' : ''} ${fields.map((f) => JSON.stringify(f)).join(', ')}`;
    super(`${where}: ${problem}`);
    this.file = file;
    this.location = location;
    this.fields = fields;
  }
}

/** An error about one field of one row. */
export function rowError(ctx: RowContext, field: string | readonly string[] | undefined, problem: string): DataLoadError {
  return new DataLoadError(ctx.file, ctx.at, field, problem);
}
