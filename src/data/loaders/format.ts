/** Chooses the file format from an explicit option or the file extension. */
import { extname } from 'node:path';
import type { LoaderFormat } from './types.js';

const BY_EXTENSION: Record<string, LoaderFormat> = {
  '.jsonl': 'jsonl',
  '.jsonlines': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.csv': 'csv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

const FORMATS: readonly LoaderFormat[] = ['jsonl', 'csv', 'parquet'];

export function resolveFormat(path: string, explicit?: LoaderFormat): LoaderFormat {
  if (explicit !== undefined) {
    if (!FORMATS.includes(explicit)) throw new Error(`unknown format ${JSON.stringify(explicit)}: expected one of ${FORMATS.join(', ')}`);
    return explicit;
  }
  const ext = extname(path).toLowerCase();
  const format = BY_EXTENSION[ext];
  if (format === undefined) {
    throw new Error(`${path}: cannot tell the format from the extension ${JSON.stringify(ext)}; pass format: ${FORMATS.map((f) => `'${f}'`).join(' | ')}`);
  }
  return format;
}
