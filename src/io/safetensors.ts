/**
 * safetensors files: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}, __metadata__?}, then raw data.
 * Reading goes tensor by tensor from the file, so a model never sits in
 * memory twice; every inconsistency is reported with the file and key.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { f16ToF32, bf16ToF32, f32ToF16, f32ToBf16 } from './float16.js';

export type Dtype = 'F32' | 'F16' | 'BF16';
const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  begin: number; // byte offsets into the data section
  end: number;
}

export interface SafetensorsReader {
  path: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** reads one tensor converted to fp32; checks its shape when one is expected */
  read(name: string, expectedShape?: number[]): Float32Array;
  close(): void;
}

function fail(path: string, what: string): never {
  throw new Error(`${path}: ${what}`);
}

function parseHeader(path: string, json: string, dataBytes: number): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    fail(path, `the safetensors header is not valid JSON (${(e as Error).message}); the file is corrupt or not safetensors`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(path, 'the safetensors header is not a JSON object');
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (v.dtype !== 'F32' && v.dtype !== 'F16' && v.dtype !== 'BF16') {
      fail(path, `tensor "${name}" has dtype ${String(v.dtype)}; supported: F32, F16, BF16`);
    }
    if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(path, `tensor "${name}" has an invalid shape`);
    const offs = v.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(path, `tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = offs as [number, number];
    const count = (v.shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[v.dtype]) {
      fail(
        path,
        `tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${v.shape}] of ${v.dtype} needs ${count * BYTES[v.dtype]}`,
      );
    }
    if (end > dataBytes) {
      fail(path, `tensor "${name}" ends at byte ${end} of the data section, but the file has only ${dataBytes} (truncated file?)`);
    }
    tensors.set(name, { dtype: v.dtype, shape: v.shape as number[], begin, end });
  }
  return { tensors, metadata };
}

export function openSafetensors(path: string): SafetensorsReader {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) fail(path, `file of ${size} bytes is too short to be safetensors`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER || 8 + headerLen > size) {
      fail(path, `header length ${headerLen} does not fit in a file of ${size} bytes (truncated or not safetensors)`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    const dataStart = 8 + headerLen;
    const { tensors, metadata } = parseHeader(path, headerBuf.toString('utf8'), size - dataStart);
    return {
      path,
      tensors,
      metadata,
      read(name, expectedShape) {
        const info = tensors.get(name);
        if (!info) fail(path, `missing tensor "${name}"`);
        if (expectedShape && (info.shape.length !== expectedShape.length || info.shape.some((d, i) => d !== expectedShape[i]))) {
          fail(path, `tensor "${name}" has shape [${info.shape}], expected [${expectedShape}]`);
        }
        const bytes = Buffer.alloc(info.end - info.begin);
        const got = readSync(fd, bytes, 0, bytes.length, dataStart + info.begin);
        if (got !== bytes.length) fail(path, `tensor "${name}": read ${got} of ${bytes.length} bytes (truncated file)`);
        return toF32(info.dtype, bytes);
      },
      close() {
        closeSync(fd);
      },
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function toF32(dtype: Dtype, bytes: Buffer): Float32Array {
  if (dtype === 'F32') {
    const out = new Float32Array(bytes.length / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const half = new Uint16Array(bytes.length / 2);
  new Uint8Array(half.buffer).set(bytes);
  return dtype === 'F16' ? f16ToF32(half) : bf16ToF32(half);
}

/** Reads every tensor of a file (for small files such as adapters). */
export function readSafetensors(path: string): { tensors: Map<string, Float32Array>; shapes: Map<string, number[]>; metadata: Record<string, string> } {
  const r = openSafetensors(path);
  try {
    const tensors = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    for (const [name, info] of r.tensors) {
      tensors.set(name, r.read(name));
      shapes.set(name, info.shape);
    }
    return { tensors, shapes, metadata: r.metadata };
  } finally {
    r.close();
  }
}

export interface TensorToWrite {
  data: Float32Array;
  shape: number[];
}

/** The 8-byte length and padded JSON header for these tensors, and each tensor's byte size. */
function encodeHeader(tensors: Map<string, TensorToWrite>, dtype: Dtype, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, { data, shape }] of tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`safetensors: tensor "${name}" has ${data.length} values but shape [${shape}]`);
    const bytes = count * BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json, 'utf8') % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  return Buffer.concat([len, headerBytes]);
}

/**
 * Writes tensors in the given dtype, atomically (temporary file, then
 * rename), converting and writing one tensor at a time.
 */
export function writeSafetensors(path: string, tensors: Map<string, TensorToWrite>, opts: { dtype?: Dtype; metadata?: Record<string, string> } = {}): void {
  const dtype = opts.dtype ?? 'F32';
  const head = encodeHeader(tensors, dtype, opts.metadata);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, head);
    for (const { data } of tensors.values()) writeSync(fd, fromF32(dtype, data));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The safetensors bytes of these tensors in memory (F32): a wire format as well as a file format. */
export function encodeSafetensors(tensors: Map<string, TensorToWrite>, metadata?: Record<string, string>): Buffer {
  return Buffer.concat([encodeHeader(tensors, 'F32', metadata), ...[...tensors.values()].map(({ data }) => fromF32('F32', data))]);
}

/** Parses safetensors bytes held in memory; `source` names them in errors; `dtypes` limits the stored types accepted. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source: string,
  dtypes?: readonly Dtype[],
): { tensors: Map<string, TensorToWrite>; metadata: Record<string, string> } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8) fail(source, `${buf.length} bytes are too short to be safetensors`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER || 8 + headerLen > buf.length) fail(source, `header length ${headerLen} does not fit in ${buf.length} bytes`);
  const dataStart = 8 + headerLen;
  const { tensors: infos, metadata } = parseHeader(source, buf.subarray(8, dataStart).toString('utf8'), buf.length - dataStart);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, info] of infos) {
    if (dtypes && !dtypes.includes(info.dtype)) fail(source, `tensor "${name}" is stored as ${info.dtype}; expected ${dtypes.join(' or ')}`);
    tensors.set(name, { data: toF32(info.dtype, buf.subarray(dataStart + info.begin, dataStart + info.end)), shape: info.shape });
  }
  return { tensors, metadata };
}

function fromF32(dtype: Dtype, data: Float32Array): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const half = dtype === 'F16' ? f32ToF16(data) : f32ToBf16(data);
  return new Uint8Array(half.buffer);
}
