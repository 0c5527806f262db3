/** JSON Lines: one JSON object per line, parsed line by line so an error names its line. Blank lines are skipped. */
import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { DataLoadError } from './errors.js';
import type { RawRow } from './types.js';

export async function readJsonl(path: string): Promise<RawRow[]> {
  const bytes = await readFile(path);
  if (bytes.length === 0) throw new DataLoadError(path, undefined, undefined, 'empty file');
  if (!isUtf8(bytes)) throw new DataLoadError(path, undefined, undefined, 'not valid UTF-8');
  const lines = bytes
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split('\n');
  const rows: RawRow[] = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const at = { kind: 'line', index: i + 1 } as const;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      const hint = rows.length === 0 && line.trimStart().startsWith('[') ? ' (the file looks like one JSON array; JSON Lines needs one object per line)' : '';
      throw new DataLoadError(path, at, undefined, `invalid JSON: ${(e as Error).message}${hint}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DataLoadError(path, at, undefined, `expected a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
    }
    rows.push({ values: value as Record<string, unknown>, at });
  });
  if (rows.length === 0) throw new DataLoadError(path, undefined, undefined, 'empty file (only blank lines)');
  return rows;
}
