/*
 * AdamW with decoupled weight decay and bias correction. Computed in double
 * with m and v rounded to float before use, exactly like the reference.
 */
#include <math.h>

#include "fp.h"
#include "pool.h"

typedef struct {
  float *param, *m, *v;
  const float *grad;
  double lr, beta1, beta2, eps, wd, c1, c2;
  size_t n;
} AdamCtx;

FP_MV static void adamw_part(void *p, int part, int parts) {
  const AdamCtx *x = p;
  size_t i0, i1;
  fp_split(x->n, part, parts, &i0, &i1);
  float *param = x->param, *m = x->m, *v = x->v;
  const float *grad = x->grad;
  const double b1 = x->beta1, b2 = x->beta2, ob1 = 1 - x->beta1, ob2 = 1 - x->beta2;
  const double lr = x->lr, eps = x->eps, wd = x->wd, c1 = x->c1, c2 = x->c2;
  FP_SIMD
  for (size_t i = i0; i < i1; i++) {
    const double g = grad[i];
    const float mi = (float)(b1 * m[i] + ob1 * g);
    const float vi = (float)(b2 * v[i] + ob2 * g * g);
    m[i] = mi;
    v[i] = vi;
    const double mhat = mi / c1, vhat = vi / c2, pi = param[i];
    param[i] = (float)(pi - lr * (mhat / (sqrt(vhat) + eps) + wd * pi));
  }
}

void fp_adamw(float *param, const float *grad, float *m, float *v, size_t n, double lr,
              double beta1, double beta2, double eps, double weightDecay, double c1, double c2) {
  AdamCtx x = {.param = param, .grad = grad, .m = m, .v = v, .n = n, .lr = lr, .beta1 = beta1,
               .beta2 = beta2, .eps = eps, .wd = weightDecay, .c1 = c1, .c2 = c2};
  fp_pool_run(fp_pool_parts((double)n, FP_GRAIN_ADAM), adamw_part, &x);
}
