/*
 * Softmax cross-entropy over rows of logits. Rows with target < 0 are ignored
 * (loss 0, gradient 0); targets >= V are rejected by the caller. The backward
 * reads a whole row (max, then log-sum-exp) before overwriting it, so dlogits
 * may be logits itself.
 */
#include <math.h>

#include "fp.h"
#include "pool.h"

typedef struct {
  float *losses, *dlogits;
  const float *logits, *dlosses;
  const int32_t *targets;
  size_t N, V;
} LossCtx;

/* log(sum(exp(row))), the exps' sum kept in double */
FP_MV static double log_sum_exp(const float *row, size_t V) {
  float mx = -__builtin_inff();
  FP_PRAGMA(omp simd reduction(max : mx))
  for (size_t j = 0; j < V; j++) mx = row[j] > mx ? row[j] : mx;
  double sum = 0;
  FP_SIMD_SUM(sum)
  for (size_t j = 0; j < V; j++) sum += fp_expf(row[j] - mx);
  return (double)mx + log(sum);
}

static void forward_part(void *p, int part, int parts) {
  const LossCtx *x = p;
  size_t i0, i1;
  fp_split(x->N, part, parts, &i0, &i1);
  for (size_t i = i0; i < i1; i++) {
    const int32_t t = x->targets[i];
    const float *row = x->logits + i * x->V;
    x->losses[i] = t < 0 ? 0.0f : (float)(log_sum_exp(row, x->V) - row[t]);
  }
}

FP_MV static void backward_part(void *p, int part, int parts) {
  const LossCtx *x = p;
  const size_t V = x->V;
  size_t i0, i1;
  fp_split(x->N, part, parts, &i0, &i1);
  for (size_t i = i0; i < i1; i++) {
    const int32_t t = x->targets[i];
    float *drow = x->dlogits + i * V;
    if (t < 0) {
      memset(drow, 0, V * sizeof(float));
      continue;
    }
    const float *row = x->logits + i * V;
    const double lse = log_sum_exp(row, V);
    const float w = x->dlosses[i];
    /* no restrict: drow may be row, each element is read before it is written */
    FP_SIMD
    for (size_t j = 0; j < V; j++) drow[j] = fp_expf((float)((double)row[j] - lse)) * w;
    drow[t] -= w;
  }
}

void fp_cross_entropy_forward(float *losses, const float *logits, const int32_t *targets,
                              size_t N, size_t V) {
  LossCtx x = {.losses = losses, .logits = logits, .targets = targets, .N = N, .V = V};
  fp_pool_run(fp_pool_parts((double)N * V, FP_GRAIN_EXP), forward_part, &x);
}

void fp_cross_entropy_backward(float *dlogits, const float *logits, const int32_t *targets,
                               const float *dlosses, size_t N, size_t V) {
  LossCtx x = {.dlogits = dlogits, .logits = logits, .dlosses = dlosses, .targets = targets,
               .N = N, .V = V};
  fp_pool_run(fp_pool_parts((double)N * V, FP_GRAIN_EXP), backward_part, &x);
}
