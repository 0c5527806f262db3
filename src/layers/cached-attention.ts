/**
 * Attention of T new positions over a key/value cache (generation). The
 * cache holds positions [0, start + T) after the new keys are written; new
 * position t attends to cache positions [0, start + t]. Plain loops: decoding
 * processes few positions at a time, so this is not on the training path.
 */
export interface CachedAttentionShape {
  B: number;
  T: number; // new positions
  start: number; // positions already cached before this call
  maxT: number; // cache capacity per row
  H: number;
  G: number;
  D: number;
}

// out (B,T,H,D); q (B,T,H,D); kCache, vCache (B,maxT,G,D)
export function cachedAttention(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, s: CachedAttentionShape): void {
  const { B, T, start, maxT, H, G, D } = s;
  const scale = 1 / Math.sqrt(D);
  const group = H / G;
  const scores = new Float64Array(start + T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const len = start + t + 1;
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / group);
        const qo = ((b * T + t) * H + h) * D;
        let max = -Infinity;
        for (let p = 0; p < len; p++) {
          const ko = ((b * maxT + p) * G + g) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d]! * kCache[ko + d]!;
          scores[p] = dot * scale;
          if (scores[p]! > max) max = scores[p]!;
        }
        let sum = 0;
        for (let p = 0; p < len; p++) {
          scores[p] = Math.exp(scores[p]! - max);
          sum += scores[p]!;
        }
        for (let d = 0; d < D; d++) out[qo + d] = 0;
        for (let p = 0; p < len; p++) {
          const w = scores[p]! / sum;
          const vo = ((b * maxT + p) * G + g) * D;
          for (let d = 0; d < D; d++) out[qo + d]! += w * vCache[vo + d]!;
        }
      }
    }
  }
}

/** Copies new keys or values (B,T,G,D) into the cache (B,maxT,G,D) at position start. */
export function writeCache(cache: Float32Array, fresh: Float32Array, s: CachedAttentionShape): void {
  const row = s.G * s.D;
  for (let b = 0; b < s.B; b++) {
    cache.set(fresh.subarray(b * s.T * row, (b + 1) * s.T * row), (b * s.maxT + s.start) * row);
  }
}
