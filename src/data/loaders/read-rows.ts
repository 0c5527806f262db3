/** Reads the raw rows of a file in any supported format. */
import type { LoaderFormat, RawRow } from './types.js';
import { readCsv } from './read-csv.js';
import { readJsonl } from './read-jsonl.js';
import { readParquet } from './read-parquet.js';

export function readRows(path: string, format: LoaderFormat): Promise<RawRow[]> {
  switch (format) {
    case 'jsonl':
      return readJsonl(path);
    case 'csv':
      return readCsv(path);
    case 'parquet':
      return readParquet(path);
  }
}
