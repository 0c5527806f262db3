import { at } from '../util/checked.js';

/** Parses "1,2,3" (one row) or "1,2,3;4,5,6" (rows of equal length) into a (B,T) int32 batch. */
export function parseTokenRows(text: string, what: string): { data: Int32Array; B: number; T: number } {
  const rows = text.split(';').map((row, r) =>
    row.split(',').map((s, i) => {
      const v = Number(s.trim());
      if (s.trim() === '' || !Number.isInteger(v)) throw new Error(`--${what}: "${s}" (row ${r}, position ${i}) is not an integer`);
      return v;
    }),
  );
  const T = at(rows, 0, `--${what} rows`).length;
  if (rows.some((r) => r.length !== T)) throw new Error(`--${what}: every row must have the same length (${T})`);
  return { data: Int32Array.from(rows.flat()), B: rows.length, T };
}
