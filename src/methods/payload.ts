/**
 * Messages between server and clients: named fp32 tensors plus JSON
 * metadata, serialized as safetensors bytes. Byte accounting counts exactly
 * this serialization, and a received update is validated before use.
 */
import { decodeSafetensors, encodeSafetensors, type TensorToWrite } from '../io/safetensors.js';

export interface Payload {
  tensors: Map<string, TensorToWrite>;
  meta: Record<string, unknown>;
}

export function payload(meta: Record<string, unknown> = {}, tensors: Map<string, TensorToWrite> = new Map()): Payload {
  return { tensors, meta };
}

export function encodePayload(p: Payload): Buffer {
  return encodeSafetensors(p.tensors, { meta: JSON.stringify(p.meta) });
}

/** Messages are written in F32 only; anything else on the wire is refused rather than converted. */
export function decodePayload(bytes: Uint8Array, source: string): Payload {
  const { tensors, metadata } = decodeSafetensors(bytes, source, ['F32']);
  let meta: Record<string, unknown> = {};
  if (metadata['meta'] !== undefined) {
    try {
      meta = JSON.parse(metadata['meta']) as Record<string, unknown>;
    } catch {
      throw new Error(`${source}: the message metadata is not valid JSON`);
    }
  }
  return { tensors, meta };
}

/** Bytes of the serialized message. */
export function payloadBytes(p: Payload): number {
  return encodePayload(p).length;
}

/** A tensor of the payload with the expected shape and only finite values, or a clear error. */
export function expectTensor(p: Payload, name: string, shape: number[], source: string): Float32Array {
  const t = p.tensors.get(name);
  if (!t) throw new Error(`${source}: missing tensor "${name}"`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${source}: tensor "${name}" has shape [${t.shape}], expected [${shape}]`);
  }
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i])) throw new Error(`${source}: tensor "${name}" holds a non-finite value (${t.data[i]}) at index ${i}`);
  }
  return t.data;
}

export function expectMetaInt(p: Payload, key: string, source: string, min: number, max: number): number {
  const v = p.meta[key];
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    throw new Error(`${source}: metadata "${key}" must be an integer between ${min} and ${max}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

export function expectMetaInts(p: Payload, key: string, source: string): number[] {
  const v = p.meta[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new Error(`${source}: metadata "${key}" must be a list of integers`);
  return v as number[];
}

/** How errors about an update name it. */
export const updateSource = (u: { client: { id: number } }): string => `update from client ${u.client.id}`;

/**
 * Parses every update; one that fails (wrong shape, NaN, bad metadata) is
 * left out with its reason instead of failing the round.
 */
export function parseUpdates<U extends { client: { id: number } }, T>(
  updates: readonly U[],
  parse: (u: U, source: string) => T,
): { valid: T[]; rejected: { clientId: number; reason: string }[] } {
  const valid: T[] = [];
  const rejected: { clientId: number; reason: string }[] = [];
  for (const u of updates) {
    try {
      valid.push(parse(u, updateSource(u)));
    } catch (e) {
      rejected.push({ clientId: u.client.id, reason: (e as Error).message });
    }
  }
  return { valid, rejected };
}
