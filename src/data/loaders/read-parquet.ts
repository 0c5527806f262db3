/** Parquet through hyparquet (pure JavaScript); a row's location is its 0-based index in the file. */
import { stat } from 'node:fs/promises';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { DataLoadError } from './errors.js';
import type { RawRow } from './types.js';

export async function readParquet(path: string): Promise<RawRow[]> {
  if ((await stat(path)).size === 0) throw new DataLoadError(path, undefined, undefined, 'empty file');
  let objects: Record<string, unknown>[];
  try {
    objects = await parquetReadObjects({ file: await asyncBufferFromFile(path) });
  } catch (e) {
    throw new DataLoadError(path, undefined, undefined, `cannot read Parquet: ${(e as Error).message}`);
  }
  if (objects.length === 0) throw new DataLoadError(path, undefined, undefined, 'empty file (no rows)');
  return objects.map((values, index) => ({ values, at: { kind: 'row', index } }));
}
