/**
 * Symmetric int8 quantization of a weight matrix, one scale per row (per
 * output channel of a torch.nn.Linear weight (out,in)): scale = max|row| / 127,
 * q = round(w / scale), so w ≈ scale * q within scale / 2 per element.
 */
export interface Int8Weight {
  q: Int8Array; // (rows, cols)
  scale: Float32Array; // (rows)
}

export function quantizeInt8(w: Float32Array, rows: number, cols: number): Int8Weight {
  if (w.length !== rows * cols) throw new Error(`quantizeInt8: ${w.length} values are not ${rows} rows of ${cols}`);
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * cols, (r + 1) * cols);
    let max = 0;
    for (const v of row) {
      if (!Number.isFinite(v)) throw new Error(`quantizeInt8: row ${r} holds ${v}; only finite weights can be quantized`);
      max = Math.max(max, Math.abs(v));
    }
    // a row of zeros keeps scale 0 and q 0: it dequantizes to zeros exactly
    const s = Math.fround(max / 127);
    scale[r] = s;
    if (s === 0) continue;
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.max(-127, Math.min(127, Math.round((row[c] as number) / s)));
  }
  return { q, scale };
}

/** scale * q as fp32, (rows, cols). */
export function dequantizeInt8(w: Int8Weight, cols: number): Float32Array {
  const out = new Float32Array(w.q.length);
  for (let i = 0; i < out.length; i++) out[i] = (w.scale[Math.floor(i / cols)] as number) * (w.q[i] as number);
  return out;
}
