/**
 * Rotary embedding tables: cos and sin of position * inv_freq for positions
 * 0..maxPositions-1, (maxPositions, D/2). Computed in double, unlike HF's
 * fp32 tables, so long positions keep their precision.
 */
export interface RopeTable {
  cos: Float32Array;
  sin: Float32Array;
  half: number;
  maxPositions: number;
}

export function createRopeTable(headDim: number, theta: number, maxPositions: number): RopeTable {
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let i = 0; i < half; i++) {
    const invFreq = 1 / theta ** ((2 * i) / headDim);
    for (let p = 0; p < maxPositions; p++) {
      cos[p * half + i] = Math.cos(p * invFreq);
      sin[p * half + i] = Math.sin(p * invFreq);
    }
  }
  return { cos, sin, half, maxPositions };
}

/** The tables for positions [start, start + T). */
export function ropeSlice(table: RopeTable, start: number, T: number): { cos: Float32Array; sin: Float32Array } {
  if (start + T > table.maxPositions) {
    throw new Error(`sequence reaches position ${start + T}, beyond the model's ${table.maxPositions} positions`);
  }
  const a = start * table.half;
  const b = (start + T) * table.half;
  return { cos: table.cos.subarray(a, b), sin: table.sin.subarray(a, b) };
}
