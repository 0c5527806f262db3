/**
 * CSV with a header row, parsed by csv-parse. Line numbers are counted here
 * from the byte offset at which each record starts, so a quoted field
 * spanning lines, CRLF line ends and skipped blank lines do not shift them.
 */
import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { parse } from 'csv-parse/sync';
import { DataLoadError } from './errors.js';
import type { RawRow } from './types.js';
import { at } from '../../util/checked.js';

/** Maps increasing byte offsets to 1-based line numbers. */
function lineCounter(bytes: Uint8Array): (offset: number) => number {
  let pos = 0;
  let line = 1;
  return (offset) => {
    // blank lines before a record are skipped by the parser: the record starts after them
    while (offset < bytes.length && (bytes[offset] === 0x0a || bytes[offset] === 0x0d)) offset++;
    for (; pos < offset; pos++) if (bytes[pos] === 0x0a) line++;
    return line;
  };
}

export async function readCsv(path: string): Promise<RawRow[]> {
  const bytes = await readFile(path);
  if (bytes.length === 0) throw new DataLoadError(path, undefined, undefined, 'empty file');
  if (!isUtf8(bytes)) throw new DataLoadError(path, undefined, undefined, 'not valid UTF-8');
  const ends: number[] = [];
  let records: string[][];
  try {
    records = parse(bytes, {
      bom: true,
      skip_empty_lines: true,
      on_record: (record: string[], info) => {
        ends.push(info.bytes);
        return record;
      },
    });
  } catch (e) {
    // the failing record starts where the last good one ended
    const line = lineCounter(bytes)(ends.at(-1) ?? 0);
    throw new DataLoadError(path, { kind: 'line', index: line }, undefined, `invalid CSV: ${(e as Error).message}`);
  }
  const lineAt = lineCounter(bytes);
  const header = records[0];
  if (header === undefined) throw new DataLoadError(path, undefined, undefined, 'empty file (only blank lines)');
  const headerLine = lineAt(0);
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new DataLoadError(path, { kind: 'line', index: headerLine }, name, 'duplicate column name in the header');
    seen.add(name);
  }
  if (records.length === 1) throw new DataLoadError(path, undefined, undefined, 'no rows after the header');
  const rows: RawRow[] = [];
  // a record starts where the one before it ended
  for (const [r, record] of records.slice(1).entries()) {
    const line = lineAt(at(ends, r, 'CSV record ends'));
    const values: Record<string, unknown> = {};
    header.forEach((name, c) => {
      values[name] = record[c];
    });
    rows.push({ values, at: { kind: 'line', index: line } });
  }
  return rows;
}
