/**
 * The token embedding and the LM head as a frozen table may hold them: the
 * lookup out (N,C) = table[ids] from an fp32 table or from a bf16 or int8 one
 * (tied to a frozen head, model/precision.ts), and the head as a Linear.
 */
import type { Kernels } from '../kernels/kernels.js';
import type { FrozenWeight, Linear } from './linear.js';

export interface TokenTables {
  /** (V,C) fp32, or null when a tied table is held frozen */
  embed: Float32Array | null;
  /** (V,C) fp32, the same array as embed when tied, or null when frozen */
  lmHead: Float32Array | null;
  /** the head (and, tied, the embedding table) in bf16 or int8 */
  frozenHead?: FrozenWeight;
  /** mixed-precision training: lmHead rounded to bf16 for the head's products (Linear.bf16Copy) */
  headBf16Copy?: Uint16Array;
}

// out (N,C) = rows ids of the table
export function embeddingLookup(k: Kernels, out: Float32Array, ids: Int32Array, t: TokenTables, N: number, C: number): void {
  if (t.embed) {
    k.embeddingForward(out, ids, t.embed, N, C);
    return;
  }
  const f = t.frozenHead;
  if (!f) throw new Error('the model holds no embedding table');
  // a lookup of N rows: widened one element at a time, no kernel needed
  const bits = new Uint32Array(out.buffer, out.byteOffset, N * C);
  const V = (f.format === 'bf16' ? f.bits.length : f.q.length) / C;
  for (let i = 0; i < N; i++) {
    const row = ids[i]!;
    if (!(row >= 0 && row < V)) throw new RangeError(`ids[${i}] = ${row} is outside [0, ${V}) (the embedding table has ${V} rows)`);
    if (f.format === 'bf16') {
      for (let c = 0; c < C; c++) bits[i * C + c] = f.bits[row * C + c]! << 16;
    } else {
      const s = f.scale[row]!;
      for (let c = 0; c < C; c++) out[i * C + c] = s * f.q[row * C + c]!;
    }
  }
}

/** The LM head (V,C) as a Linear of V outputs, in whatever form it is held. */
export function headLinear(t: TokenTables, V: number, C: number): Linear {
  const extra = { ...(t.frozenHead ? { frozen: t.frozenHead } : {}), ...(t.headBf16Copy ? { bf16Copy: t.headBf16Copy } : {}) };
  return { weight: t.lmHead, ...extra, bias: null, outFeatures: V, inFeatures: C };
}
