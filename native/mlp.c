/* SwiGLU activation: out = silu(gate) * up, and its accumulating backward. */
#include "fp.h"
#include "pool.h"

typedef struct {
  float *out, *dgate, *dup;
  const float *gate, *up, *dout;
  size_t n;
} SwigluCtx;

FP_MV static void forward_part(void *p, int part, int parts) {
  const SwigluCtx *x = p;
  size_t i0, i1;
  fp_split(x->n, part, parts, &i0, &i1);
  const float *gate = x->gate, *up = x->up;
  float *out = x->out;
  FP_SIMD
  for (size_t i = i0; i < i1; i++) {
    const float g = gate[i];
    out[i] = g / (1.0f + fp_expf(-g)) * up[i];
  }
}

FP_MV static void backward_part(void *p, int part, int parts) {
  const SwigluCtx *x = p;
  size_t i0, i1;
  fp_split(x->n, part, parts, &i0, &i1);
  const float *gate = x->gate, *up = x->up, *dout = x->dout;
  float *dgate = x->dgate, *dup = x->dup;
  FP_SIMD
  for (size_t i = i0; i < i1; i++) {
    const float g = gate[i];
    const float sig = 1.0f / (1.0f + fp_expf(-g));
    dup[i] += dout[i] * g * sig;
    dgate[i] += dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
  }
}

void fp_swiglu_forward(float *out, const float *gate, const float *up, size_t n) {
  SwigluCtx x = {.out = out, .gate = gate, .up = up, .n = n};
  fp_pool_run(fp_pool_parts((double)n, FP_GRAIN_EXP), forward_part, &x);
}

void fp_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                        const float *up, size_t n) {
  SwigluCtx x = {.dgate = dgate, .dup = dup, .dout = dout, .gate = gate, .up = up, .n = n};
  fp_pool_run(fp_pool_parts((double)n, FP_GRAIN_EXP), backward_part, &x);
}
