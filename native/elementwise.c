/* Vector helpers: add, sum of squares (in double), scale. */
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

FP_MV static void sum_squares_part(void *p, int part, int parts) {
  VecCtx *x = p;
  size_t i0, i1;
  fp_split(x->n, part, parts, &i0, &i1);
  const float *a = x->a;
  double s = 0;
  FP_SIMD_SUM(s)
  for (size_t i = i0; i < i1; i++) s += (double)a[i] * a[i];
  x->partial[part] = s;
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
  VecCtx x = {.a = a, .n = n};
  int parts = fp_pool_parts((double)n, FP_GRAIN_STREAM);
  fp_pool_run(parts, sum_squares_part, &x);
  double s = 0;
  for (int p = 0; p < parts && p < FP_MAX_PARTS; p++) s += x.partial[p];
  return s;
}

void fp_scale(float *x_, double s, size_t n) {
  VecCtx x = {.out = x_, .s = s, .n = n};
  fp_pool_run(fp_pool_parts((double)n, FP_GRAIN_STREAM), scale_part, &x);
}
