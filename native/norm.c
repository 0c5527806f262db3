/* RMSNorm forward and backward; row sums are accumulated in double. */
#include <math.h>
#include <stdlib.h>

#include "fp.h"
#include "pool.h"

typedef struct {
  float *out, *rstd;
  float *dinp, *dweight;
  double *partials; /* dweight partial sums, one C-row per part */
  const float *inp, *weight, *dout, *rstd_in;
  size_t N, C;
  float eps;
} NormCtx;

FP_MV static void forward_part(void *p, int part, int parts) {
  const NormCtx *x = p;
  const size_t C = x->C;
  size_t i0, i1;
  fp_split(x->N, part, parts, &i0, &i1);
  for (size_t i = i0; i < i1; i++) {
    const float *in = x->inp + i * C;
    float *out = x->out + i * C;
    double ss = 0;
    FP_SIMD_SUM(ss)
    for (size_t c = 0; c < C; c++) ss += (double)in[c] * in[c];
    const double r = 1.0 / sqrt(ss / (double)C + (double)x->eps);
    x->rstd[i] = (float)r;
    const float rf = (float)r;
    FP_SIMD
    for (size_t c = 0; c < C; c++) out[c] = in[c] * rf * x->weight[c];
  }
}

void fp_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
                        size_t N, size_t C, float eps) {
  NormCtx x = {.out = out, .rstd = rstd, .inp = inp, .weight = weight, .N = N, .C = C, .eps = eps};
  fp_pool_run(fp_pool_parts((double)N * C, FP_GRAIN_NORM), forward_part, &x);
}

FP_MV static void backward_part(void *p, int part, int parts) {
  const NormCtx *x = p;
  const size_t C = x->C;
  const float *w = x->weight;
  double *dw = x->partials ? x->partials + (size_t)part * C : NULL;
  size_t i0, i1;
  fp_split(x->N, part, parts, &i0, &i1);
  for (size_t i = i0; i < i1; i++) {
    const float *in = x->inp + i * C, *dout = x->dout + i * C;
    float *dinp = x->dinp + i * C;
    const double r = x->rstd_in[i];
    /* y = x r w ; dx = r (w dy) - x r^3 / C * sum(w dy x) */
    double dot = 0;
    FP_SIMD_SUM(dot)
    for (size_t c = 0; c < C; c++) dot += (double)(w[c] * dout[c]) * in[c];
    const float k = (float)(dot * r * r * r / (double)C);
    const float rf = (float)r;
    FP_SIMD
    for (size_t c = 0; c < C; c++) dinp[c] += rf * w[c] * dout[c] - k * in[c];
    if (dw) {
      FP_SIMD
      for (size_t c = 0; c < C; c++) dw[c] += (double)(dout[c] * in[c] * rf);
    }
  }
}

void fp_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, const float *rstd, size_t N, size_t C) {
  NormCtx x = {.dinp = dinp, .dweight = dweight, .dout = dout, .inp = inp, .weight = weight,
               .rstd_in = rstd, .N = N, .C = C};
  int parts = fp_pool_parts((double)N * C, FP_GRAIN_EXP);
  if (dweight) {
    x.partials = calloc((size_t)parts * C, sizeof(double));
    if (!x.partials && parts > 1) {
      parts = 1;
      x.partials = calloc(C, sizeof(double));
    }
    if (!x.partials) {
      /* Out of memory for the scratch row: accumulate in float, one row at a time. */
      for (size_t i = 0; i < N; i++) {
        const float rf = rstd[i];
        for (size_t c = 0; c < C; c++) dweight[c] += dout[i * C + c] * inp[i * C + c] * rf;
      }
    }
  }
  fp_pool_run(parts, backward_part, &x);
  if (x.partials) {
    for (size_t c = 0; c < C; c++) {
      double s = 0;
      for (int p = 0; p < parts; p++) s += x.partials[(size_t)p * C + c];
      dweight[c] += (float)s;
    }
    free(x.partials);
  }
}
