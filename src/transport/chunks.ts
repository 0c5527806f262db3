/**
 * Payloads cross the wire as a header (total bytes and sha256) followed by
 * chunks, so no single gRPC message has to be as large as an adapter. The
 * receiving side reassembles them here, refusing to hold more than it agreed to.
 */
import { createHash, type Hash } from 'node:crypto';
import { FederationError } from './service.js';

/** Consecutive views of `bytes`, each `chunkBytes` long except perhaps the last; nothing is copied. */
export function* chunksOf(bytes: Uint8Array, chunkBytes: number): Generator<Uint8Array> {
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) {
    throw new RangeError(`chunk size must be a positive integer, got ${chunkBytes}`);
  }
  for (let start = 0; start < bytes.length; start += chunkBytes) {
    yield bytes.subarray(start, Math.min(start + chunkBytes, bytes.length));
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ReassemblyExpectation {
  /** what the header declared */
  totalBytes: number;
  sha256: string;
  /** the most bytes this side reads for one payload */
  maxBytes: number;
  /** names the payload in error messages, e.g. "the result of round 3" */
  label: string;
}

/**
 * Collects chunks into one buffer of the declared size. The buffer is
 * allocated once, so a sender cannot make this side hold more than
 * min(declared, max) bytes: the chunk that would pass it is refused.
 */
export class ChunkReassembler {
  private readonly buffer: Uint8Array;
  private readonly hash: Hash = createHash('sha256');
  private received = 0;

  constructor(private readonly expected: ReassemblyExpectation) {
    const { totalBytes, maxBytes, label } = expected;
    if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) {
      throw new FederationError(
        'invalid_argument',
        `${label} declares ${totalBytes} bytes, which is not a byte count; send the payload's length in total_bytes`,
      );
    }
    if (totalBytes > maxBytes) {
      throw new FederationError(
        'resource_exhausted',
        `${label} declares ${totalBytes} bytes, over the limit of ${maxBytes} bytes; send a smaller payload or raise the limit`,
      );
    }
    this.buffer = new Uint8Array(totalBytes);
  }

  get receivedBytes(): number {
    return this.received;
  }

  push(chunk: Uint8Array): void {
    const { totalBytes, label } = this.expected;
    if (this.received + chunk.length > totalBytes) {
      throw new FederationError(
        'resource_exhausted',
        `${label} sent more than the ${totalBytes} bytes its header declared; total_bytes must be the payload's exact length`,
      );
    }
    this.buffer.set(chunk, this.received);
    this.hash.update(chunk);
    this.received += chunk.length;
  }

  /** The payload, once every declared byte arrived and the checksum matches. */
  finish(): Uint8Array {
    const { totalBytes, sha256, label } = this.expected;
    if (this.received !== totalBytes) {
      throw new FederationError('invalid_argument', `${label} ended after ${this.received} of the ${totalBytes} bytes its header declared; send every chunk`);
    }
    const actual = this.hash.digest('hex');
    if (actual !== sha256.toLowerCase()) {
      throw new FederationError(
        'invalid_argument',
        `${label} has sha256 ${actual} but its header declared ${sha256 || '(none)'}; the bytes were altered or the checksum was computed over other bytes`,
      );
    }
    return this.buffer;
  }
}
