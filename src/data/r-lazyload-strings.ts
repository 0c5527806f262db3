/**
 * Reads the character vectors out of an R package's lazy-load data file
 * (`data/Rdata.rdb`), which is how Debian's `r-cran-janeaustenr` ships Jane
 * Austen's novels. No R is needed: the file is a sequence of records, each a
 * 4-byte big-endian uncompressed length and a zlib stream holding one object in
 * R's XDR serialization (format version 2 or 3). Only what that package holds
 * is understood, a plain character vector (STRSXP of CHARSXPs); anything else
 * is an error naming what was found, so a changed package fails loudly.
 */
import { inflateSync } from 'node:zlib';

const STRSXP = 16;
const CHARSXP = 9;
const NA_LENGTH = -1;

class Reader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}
  int(): number {
    if (this.pos + 4 > this.buf.length) throw new Error(`${this.what}: truncated at byte ${this.pos}`);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error(`${this.what}: a ${n}-byte string runs past the end at byte ${this.pos}`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** One serialized object: a character vector; NA elements become null. */
export function parseRCharacterVector(serialized: Buffer, what = 'R object'): (string | null)[] {
  if (serialized.subarray(0, 2).toString('latin1') !== 'X\n') throw new Error(`${what}: not R's XDR serialization (no "X\\n" header)`);
  const r = new Reader(serialized.subarray(2), what);
  const version = r.int();
  if (version !== 2 && version !== 3) throw new Error(`${what}: serialization format ${version} is not 2 or 3`);
  r.int(); // the writer's R version
  r.int(); // the oldest R that can read it
  if (version === 3) r.bytes(r.int()); // native encoding name
  const flags = r.int();
  if ((flags & 0xff) !== STRSXP) throw new Error(`${what}: expected a character vector (SEXP type ${STRSXP}), found type ${flags & 0xff}`);
  const n = r.int();
  const out: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    const f = r.int();
    if ((f & 0xff) !== CHARSXP) throw new Error(`${what}: element ${i} is SEXP type ${f & 0xff}, not a string`);
    const len = r.int();
    out.push(len === NA_LENGTH ? null : r.bytes(len).toString('utf8'));
  }
  return out;
}

/** Every object in an Rdata.rdb file, in file order. */
export function readRdbCharacterVectors(rdb: Buffer, what = 'Rdata.rdb'): (string | null)[][] {
  const objects: (string | null)[][] = [];
  let pos = 0;
  while (pos < rdb.length) {
    if (pos + 4 > rdb.length) throw new Error(`${what}: ${rdb.length - pos} stray bytes at the end`);
    const expected = rdb.readUInt32BE(pos);
    const { buffer, engine } = inflateSync(rdb.subarray(pos + 4), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    if (buffer.length !== expected) throw new Error(`${what}: record at byte ${pos} inflates to ${buffer.length} bytes, its header says ${expected}`);
    objects.push(parseRCharacterVector(buffer, `${what} record ${objects.length}`));
    pos += 4 + engine.bytesWritten;
  }
  return objects;
}
