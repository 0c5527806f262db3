/* Vector helpers: add, sum of squares (in double), scale. */
#include <math.h>
#include <stdlib.h>
#include "fp.h"
#include "pool.h"

#define FP_MAX_PARTS 64

typedef struct {
  float *out;
  const float *a, *b;
  double s;
  double partial[FP_MAX_PARTS];
  size_t n;
} VecCtx;

/* out may be a or b (exactly); each element is read before it is written */
FP_MV static void add_part(void *p, int part, int parts) {
  const VecCtx *x = p;
  size_t i0, i1;
  fp_split(x->n, part, parts, &i0, &i1);
  float *out = x->out;
  const float *a = x->a, *b = x->b;
  FP_SIMD
  for (size_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
}

/*
 * The sum is taken over fixed chunks whose partial sums are added in order,
 * so the result does not depend on how many threads computed it: a client
 * trained on one thread gets the same gradient norm as on two.
 */
#define SUM_CHUNK ((size_t)1 << 14)

typedef struct {
  const float *a;
  size_t n;
  double *chunk_sums;
} SumCtx;

FP_MV static void sum_squares_part(void *p, int part, int parts) {
  SumCtx *x = p;
  const size_t chunks = (x->n + SUM_CHUNK - 1) / SUM_CHUNK;
  size_t c0, c1;
  fp_split(chunks, part, parts, &c0, &c1);
  for (size_t c = c0; c < c1; c++) {
    const size_t i0 = c * SUM_CHUNK;
    const size_t i1 = i0 + SUM_CHUNK < x->n ? i0 + SUM_CHUNK : x->n;
    const float *a = x->a;
    double s = 0;
    FP_SIMD_SUM(s)
    for (size_t i = i0; i < i1; i++) s += (double)a[i] * a[i];
    x->chunk_sums[c] = s;
  }
}

FP_MV static void scale_part(void *p, int part, int parts) {
  const VecCtx *x = p;
  size_t i0, i1;
  fp_split(x->n, part, parts, &i0, &i1);
  float *out = x->out;
  const double s = x->s;
  FP_SIMD
  for (size_t i = i0; i < i1; i++) out[i] = (float)(out[i] * s);
}

void fp_add(float *out, const float *a, const float *b, size_t n) {
  VecCtx x = {.out = out, .a = a, .b = b, .n = n};
  fp_pool_run(fp_pool_parts((double)n, FP_GRAIN_STREAM), add_part, &x);
}

double fp_sum_squares(const float *a, size_t n) {
  const size_t chunks = (n + SUM_CHUNK - 1) / SUM_CHUNK;
  double stack_sums[64];
  double *sums = chunks <= 64 ? stack_sums : malloc(chunks * sizeof(double));
  if (!sums) return NAN;
  SumCtx x = {.a = a, .n = n, .chunk_sums = sums};
  int parts = fp_pool_parts((double)n, FP_GRAIN_STREAM);
  if ((size_t)parts > chunks) parts = (int)chunks;
  fp_pool_run(parts, sum_squares_part, &x);
  double s = 0;
  for (size_t c = 0; c < chunks; c++) s += sums[c];
  if (sums != stack_sums) free(sums);
  return s;
}

void fp_scale(float *x_, double s, size_t n) {
  VecCtx x = {.out = x_, .s = s, .n = n};
  fp_pool_run(fp_pool_parts((double)n, FP_GRAIN_STREAM), scale_part, &x);
}
