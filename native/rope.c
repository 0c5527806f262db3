/*
 * Rotary embedding, Hugging Face rotate-half convention. Forward overwrites
 * out (which may be inp itself); backward rotates by -angle and accumulates.
 * Each pair (i, i + D/2) is read before it is written, so in place is safe.
 */
#include "fp.h"
#include "pool.h"

typedef struct {
  float *out;
  const float *inp, *cos, *sin;
  size_t B, T, nHeads, D;
  int backward;
} RopeCtx;

FP_MV static void rope_part(void *p, int part, int parts) {
  const RopeCtx *x = p;
  const size_t half = x->D / 2, rows = x->B * x->T;
  size_t r0, r1;
  fp_split(rows, part, parts, &r0, &r1);
  for (size_t r = r0; r < r1; r++) {
    const size_t t = r % x->T;
    const float *co = x->cos + t * half;
    const float *si = x->sin + t * half;
    for (size_t h = 0; h < x->nHeads; h++) {
      const size_t o = (r * x->nHeads + h) * x->D;
      const float *in = x->inp + o;
      float *out = x->out + o;
      if (x->backward) {
        FP_SIMD
        for (size_t i = 0; i < half; i++) {
          const float x1 = in[i], x2 = in[i + half];
          const float y1 = x1 * co[i] + x2 * si[i];
          const float y2 = x2 * co[i] - x1 * si[i];
          out[i] += y1;
          out[i + half] += y2;
        }
      } else {
        FP_SIMD
        for (size_t i = 0; i < half; i++) {
          const float x1 = in[i], x2 = in[i + half];
          const float y1 = x1 * co[i] - x2 * si[i];
          const float y2 = x2 * co[i] + x1 * si[i];
          out[i] = y1;
          out[i + half] = y2;
        }
      }
    }
  }
}

void fp_rope(float *out, const float *inp, const float *cos, const float *sin,
             size_t B, size_t T, size_t nHeads, size_t D, int backward) {
  RopeCtx x = {.out = out, .inp = inp, .cos = cos, .sin = sin,
               .B = B, .T = T, .nHeads = nHeads, .D = D, .backward = backward};
  fp_pool_run(fp_pool_parts((double)B * T * nHeads * D, FP_GRAIN_STREAM), rope_part, &x);
}
