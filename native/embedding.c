/* Token embedding lookup and its scatter-add backward. Ids are range-checked by the caller. */
#include "fp.h"
#include "pool.h"

typedef struct {
  float *out;
  float *dtable;
  const float *table;
  const float *dout;
  const int32_t *ids;
  size_t N, C;
} EmbCtx;

static void forward_part(void *p, int part, int parts) {
  const EmbCtx *x = p;
  size_t i0, i1;
  fp_split(x->N, part, parts, &i0, &i1);
  for (size_t i = i0; i < i1; i++) {
    memcpy(x->out + i * x->C, x->table + (size_t)x->ids[i] * x->C, x->C * sizeof(float));
  }
}

void fp_embedding_forward(float *out, const int32_t *ids, const float *table, size_t N, size_t C) {
  EmbCtx x = {.out = out, .table = table, .ids = ids, .N = N, .C = C};
  fp_pool_run(fp_pool_parts((double)N * C, FP_GRAIN_STREAM), forward_part, &x);
}

/* Threads own disjoint column ranges, so repeated ids never race. */
FP_MV static void backward_part(void *p, int part, int parts) {
  const EmbCtx *x = p;
  size_t c0, c1;
  fp_split(x->C, part, parts, &c0, &c1);
  for (size_t i = 0; i < x->N; i++) {
    float *dst = x->dtable + (size_t)x->ids[i] * x->C;
    const float *src = x->dout + i * x->C;
    FP_SIMD
    for (size_t c = c0; c < c1; c++) dst[c] += src[c];
  }
}

void fp_embedding_backward(float *dtable, const float *dout, const int32_t *ids, size_t N, size_t C) {
  EmbCtx x = {.dtable = dtable, .dout = dout, .ids = ids, .N = N, .C = C};
  int parts = fp_pool_parts((double)N * C, FP_GRAIN_STREAM);
  if (parts > 1 && C < 64 * (size_t)parts) parts = 1; /* column slices too thin to share */
  fp_pool_run(parts, backward_part, &x);
}
