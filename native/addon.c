/*
 * The N-API surface: one JS function per kernel of src/kernels/kernels.ts,
 * same argument order, plus threads(), blasThreads(), blasInfo() and gemmKernel(). Every
 * argument is checked (args.c) before a kernel runs; adamw takes the bias
 * corrections c1 = 1 - beta1^step and c2 = 1 - beta2^step in place of step,
 * computed by the TS wrapper exactly as the reference does.
 */
#include <stdint.h>

#include "args.h"
#include "fp.h"
#include "pool.h"

#define DIM_MAX 2147483647.0         /* dimensions: 2^31 - 1 (BLAS int) */
#define COUNT_MAX 9007199254740992.0 /* element counts: 2^53 */

/* every ids[i] (i < N) must index one of the table's rows */
static void check_ids(Args *a, const int32_t *ids, size_t N, size_t rows, const char *name,
                      const char *table, int allow_negative) {
  if (a->failed) return;
  for (size_t i = 0; i < N; i++) {
    int32_t id = ids[i];
    if (id < 0 && allow_negative) continue;
    if (id < 0 || (size_t)id >= rows) {
      args_range_error(a, "%s[%zu] = %d is outside [%s, %zu) (%s has %zu rows)", name, i, (int)id,
                       allow_negative ? "-inf" : "0", rows, table, rows);
      return;
    }
  }
}

static napi_value js_matmul(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "matmul", 10)) return NULL;
  size_t m = arg_size(&a, 3, "m", DIM_MAX), n = arg_size(&a, 4, "n", DIM_MAX), k = arg_size(&a, 5, "k", DIM_MAX);
  int transA = arg_bool(&a, 6, "transA"), transB = arg_bool(&a, 7, "transB");
  double alpha = arg_number(&a, 8, "alpha"), beta = arg_number(&a, 9, "beta");
  float *c = arg_f32(&a, 0, "c", args_mul(&a, m, n), "m*n");
  const float *A = arg_f32(&a, 1, "a", args_mul(&a, m, k), "m*k");
  const float *B = arg_f32(&a, 2, "b", args_mul(&a, k, n), "k*n");
  if (a.failed) return NULL;
  fp_matmul(c, A, B, (int)m, (int)n, (int)k, transA, transB, (float)alpha, (float)beta);
  return NULL;
}

static napi_value js_matmul_bf16(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "matmulBf16", 9)) return NULL;
  size_t m = arg_size(&a, 3, "m", DIM_MAX), n = arg_size(&a, 4, "n", DIM_MAX), k = arg_size(&a, 5, "k", DIM_MAX);
  int transW = arg_bool(&a, 6, "transW");
  double alpha = arg_number(&a, 7, "alpha"), beta = arg_number(&a, 8, "beta");
  float *c = arg_f32(&a, 0, "c", args_mul(&a, m, n), "m*n");
  const float *A = arg_f32(&a, 1, "a", args_mul(&a, m, k), "m*k");
  const uint16_t *W = arg_u16(&a, 2, "w", args_mul(&a, k, n), "k*n");
  if (a.failed) return NULL;
  fp_matmul_bf16(c, A, W, (int)m, (int)n, (int)k, transW, (float)alpha, (float)beta);
  return NULL;
}

static napi_value js_matmul_int8(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "matmulInt8", 10)) return NULL;
  size_t m = arg_size(&a, 4, "m", DIM_MAX), n = arg_size(&a, 5, "n", DIM_MAX), k = arg_size(&a, 6, "k", DIM_MAX);
  int transW = arg_bool(&a, 7, "transW");
  double alpha = arg_number(&a, 8, "alpha"), beta = arg_number(&a, 9, "beta");
  float *c = arg_f32(&a, 0, "c", args_mul(&a, m, n), "m*n");
  const float *A = arg_f32(&a, 1, "a", args_mul(&a, m, k), "m*k");
  const int8_t *Q = arg_i8(&a, 2, "q", args_mul(&a, k, n), "k*n");
  const float *S = arg_f32(&a, 3, "scale", transW ? n : k, transW ? "n" : "k");
  if (a.failed) return NULL;
  fp_matmul_int8(c, A, Q, S, (int)m, (int)n, (int)k, transW, (float)alpha, (float)beta);
  return NULL;
}

static napi_value js_bf16_kernel(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_string_utf8(env, fp_bf16_kernel(), NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value js_embedding_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "embeddingForward", 5)) return NULL;
  size_t N = arg_size(&a, 3, "N", COUNT_MAX), C = arg_size(&a, 4, "C", COUNT_MAX);
  float *out = arg_f32(&a, 0, "out", args_mul(&a, N, C), "N*C");
  const int32_t *ids = arg_i32(&a, 1, "ids", N, "N");
  const float *table = arg_f32(&a, 2, "table", 0, "0");
  if (a.failed) return NULL;
  if (C > 0) check_ids(&a, ids, N, arg_length(&a, 2) / C, "ids", "table", 0);
  if (a.failed) return NULL;
  fp_embedding_forward(out, ids, table, N, C);
  return NULL;
}

static napi_value js_embedding_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "embeddingBackward", 5)) return NULL;
  size_t N = arg_size(&a, 3, "N", COUNT_MAX), C = arg_size(&a, 4, "C", COUNT_MAX);
  float *dtable = arg_f32(&a, 0, "dtable", 0, "0");
  const float *dout = arg_f32(&a, 1, "dout", args_mul(&a, N, C), "N*C");
  const int32_t *ids = arg_i32(&a, 2, "ids", N, "N");
  if (a.failed) return NULL;
  if (C > 0) check_ids(&a, ids, N, arg_length(&a, 0) / C, "ids", "dtable", 0);
  if (a.failed) return NULL;
  fp_embedding_backward(dtable, dout, ids, N, C);
  return NULL;
}

static napi_value js_rmsnorm_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "rmsnormForward", 7)) return NULL;
  size_t N = arg_size(&a, 4, "N", COUNT_MAX), C = arg_size(&a, 5, "C", COUNT_MAX);
  double eps = arg_number(&a, 6, "eps");
  size_t NC = args_mul(&a, N, C);
  float *out = arg_f32(&a, 0, "out", NC, "N*C");
  float *rstd = arg_f32(&a, 1, "rstd", N, "N");
  const float *inp = arg_f32(&a, 2, "inp", NC, "N*C");
  const float *weight = arg_f32(&a, 3, "weight", C, "C");
  if (a.failed) return NULL;
  fp_rmsnorm_forward(out, rstd, inp, weight, N, C, (float)eps);
  return NULL;
}

static napi_value js_rmsnorm_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "rmsnormBackward", 8)) return NULL;
  size_t N = arg_size(&a, 6, "N", COUNT_MAX), C = arg_size(&a, 7, "C", COUNT_MAX);
  size_t NC = args_mul(&a, N, C);
  float *dinp = arg_f32(&a, 0, "dinp", NC, "N*C");
  float *dweight = arg_f32_or_null(&a, 1, "dweight", C, "C");
  const float *dout = arg_f32(&a, 2, "dout", NC, "N*C");
  const float *inp = arg_f32(&a, 3, "inp", NC, "N*C");
  const float *weight = arg_f32(&a, 4, "weight", C, "C");
  const float *rstd = arg_f32(&a, 5, "rstd", N, "N");
  if (a.failed) return NULL;
  fp_rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C);
  return NULL;
}

static napi_value rope(napi_env env, napi_callback_info info, int backward) {
  Args a;
  const char *fn = backward ? "ropeBackward" : "ropeForward";
  if (!args_init(&a, env, info, fn, 8)) return NULL;
  size_t B = arg_size(&a, 4, "B", DIM_MAX), T = arg_size(&a, 5, "T", DIM_MAX);
  size_t nH = arg_size(&a, 6, "nHeads", DIM_MAX), D = arg_size(&a, 7, "D", DIM_MAX);
  if (!a.failed && D % 2 != 0) args_range_error(&a, "D must be even, got %zu", D);
  size_t total = args_mul(&a, args_mul(&a, args_mul(&a, B, T), nH), D);
  size_t table = args_mul(&a, T, D / 2);
  float *out = arg_f32(&a, 0, backward ? "dinp" : "out", total, "B*T*nHeads*D");
  const float *inp = arg_f32(&a, 1, backward ? "dout" : "inp", total, "B*T*nHeads*D");
  const float *cos = arg_f32(&a, 2, "cos", table, "T*D/2");
  const float *sin = arg_f32(&a, 3, "sin", table, "T*D/2");
  args_same_or_disjoint(&a, out, backward ? "dinp" : "out", inp, backward ? "dout" : "inp", total);
  if (a.failed) return NULL;
  fp_rope(out, inp, cos, sin, B, T, nH, D, backward);
  return NULL;
}

static napi_value js_rope_forward(napi_env env, napi_callback_info info) { return rope(env, info, 0); }
static napi_value js_rope_backward(napi_env env, napi_callback_info info) { return rope(env, info, 1); }

/* Reads B, T, H, G, D from arguments first..first+4 and checks H % G == 0. */
static void attention_sizes(Args *a, size_t first, size_t *B, size_t *T, size_t *H, size_t *G, size_t *D) {
  *B = arg_size(a, first, "B", DIM_MAX);
  *T = arg_size(a, first + 1, "T", DIM_MAX);
  *H = arg_size(a, first + 2, "H", DIM_MAX);
  *G = arg_size(a, first + 3, "G", DIM_MAX);
  *D = arg_size(a, first + 4, "D", DIM_MAX);
  if (!a->failed && (*G == 0 || *H % *G != 0)) {
    args_range_error(a, "H (%zu) must be a multiple of G (%zu), G >= 1", *H, *G);
  }
}

static napi_value js_attention_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "attentionForward", 10)) return NULL;
  size_t B, T, H, G, D;
  attention_sizes(&a, 5, &B, &T, &H, &G, &D);
  size_t BT = args_mul(&a, B, T);
  size_t nq = args_mul(&a, args_mul(&a, BT, H), D), nk = args_mul(&a, args_mul(&a, BT, G), D);
  size_t natt = args_mul(&a, args_mul(&a, BT, H), T);
  float *out = arg_f32(&a, 0, "out", nq, "B*T*H*D");
  float *att = arg_f32(&a, 1, "att", natt, "B*H*T*T");
  const float *q = arg_f32(&a, 2, "q", nq, "B*T*H*D");
  const float *k = arg_f32(&a, 3, "k", nk, "B*T*G*D");
  const float *v = arg_f32(&a, 4, "v", nk, "B*T*G*D");
  if (a.failed) return NULL;
  fp_attention_forward(out, att, q, k, v, B, T, H, G, D);
  return NULL;
}

static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "attentionBackward", 13)) return NULL;
  size_t B, T, H, G, D;
  attention_sizes(&a, 8, &B, &T, &H, &G, &D);
  size_t BT = args_mul(&a, B, T);
  size_t nq = args_mul(&a, args_mul(&a, BT, H), D), nk = args_mul(&a, args_mul(&a, BT, G), D);
  size_t natt = args_mul(&a, args_mul(&a, BT, H), T);
  float *dq = arg_f32(&a, 0, "dq", nq, "B*T*H*D");
  float *dk = arg_f32(&a, 1, "dk", nk, "B*T*G*D");
  float *dv = arg_f32(&a, 2, "dv", nk, "B*T*G*D");
  const float *dout = arg_f32(&a, 3, "dout", nq, "B*T*H*D");
  const float *q = arg_f32(&a, 4, "q", nq, "B*T*H*D");
  const float *k = arg_f32(&a, 5, "k", nk, "B*T*G*D");
  const float *v = arg_f32(&a, 6, "v", nk, "B*T*G*D");
  const float *att = arg_f32(&a, 7, "att", natt, "B*H*T*T");
  if (a.failed) return NULL;
  if (fp_attention_backward(dq, dk, dv, dout, q, k, v, att, B, T, H, G, D) != 0) {
    napi_throw_error(env, NULL, "fedplora native attentionBackward: out of memory");
  }
  return NULL;
}

static napi_value js_swiglu_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "swigluForward", 4)) return NULL;
  size_t n = arg_size(&a, 3, "n", COUNT_MAX);
  float *out = arg_f32(&a, 0, "out", n, "n");
  const float *gate = arg_f32(&a, 1, "gate", n, "n");
  const float *up = arg_f32(&a, 2, "up", n, "n");
  args_same_or_disjoint(&a, out, "out", gate, "gate", n);
  args_same_or_disjoint(&a, out, "out", up, "up", n);
  if (a.failed) return NULL;
  fp_swiglu_forward(out, gate, up, n);
  return NULL;
}

static napi_value js_swiglu_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "swigluBackward", 6)) return NULL;
  size_t n = arg_size(&a, 5, "n", COUNT_MAX);
  float *dgate = arg_f32(&a, 0, "dgate", n, "n");
  float *dup = arg_f32(&a, 1, "dup", n, "n");
  const float *dout = arg_f32(&a, 2, "dout", n, "n");
  const float *gate = arg_f32(&a, 3, "gate", n, "n");
  const float *up = arg_f32(&a, 4, "up", n, "n");
  if (a.failed) return NULL;
  fp_swiglu_backward(dgate, dup, dout, gate, up, n);
  return NULL;
}

static napi_value js_cross_entropy_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "crossEntropyForward", 5)) return NULL;
  size_t N = arg_size(&a, 3, "N", COUNT_MAX), V = arg_size(&a, 4, "V", DIM_MAX);
  float *losses = arg_f32(&a, 0, "losses", N, "N");
  const float *logits = arg_f32(&a, 1, "logits", args_mul(&a, N, V), "N*V");
  const int32_t *targets = arg_i32(&a, 2, "targets", N, "N");
  check_ids(&a, targets, N, V, "targets", "logits", 1);
  if (a.failed) return NULL;
  fp_cross_entropy_forward(losses, logits, targets, N, V);
  return NULL;
}

static napi_value js_cross_entropy_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "crossEntropyBackward", 6)) return NULL;
  size_t N = arg_size(&a, 4, "N", COUNT_MAX), V = arg_size(&a, 5, "V", DIM_MAX);
  size_t NV = args_mul(&a, N, V);
  float *dlogits = arg_f32(&a, 0, "dlogits", NV, "N*V");
  const float *logits = arg_f32(&a, 1, "logits", NV, "N*V");
  const int32_t *targets = arg_i32(&a, 2, "targets", N, "N");
  const float *dlosses = arg_f32(&a, 3, "dlosses", N, "N");
  args_same_or_disjoint(&a, dlogits, "dlogits", logits, "logits", NV);
  check_ids(&a, targets, N, V, "targets", "logits", 1);
  if (a.failed) return NULL;
  fp_cross_entropy_backward(dlogits, logits, targets, dlosses, N, V);
  return NULL;
}

static napi_value js_add(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "add", 4)) return NULL;
  size_t n = arg_size(&a, 3, "n", COUNT_MAX);
  float *out = arg_f32(&a, 0, "out", n, "n");
  const float *x = arg_f32(&a, 1, "a", n, "n");
  const float *y = arg_f32(&a, 2, "b", n, "n");
  args_same_or_disjoint(&a, out, "out", x, "a", n);
  args_same_or_disjoint(&a, out, "out", y, "b", n);
  if (a.failed) return NULL;
  fp_add(out, x, y, n);
  return NULL;
}

static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "sumSquares", 2)) return NULL;
  size_t n = arg_size(&a, 1, "n", COUNT_MAX);
  const float *x = arg_f32(&a, 0, "x", n, "n");
  if (a.failed) return NULL;
  napi_value result;
  napi_create_double(env, fp_sum_squares(x, n), &result);
  return result;
}

static napi_value js_scale(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "scale", 3)) return NULL;
  double s = arg_number(&a, 1, "s");
  size_t n = arg_size(&a, 2, "n", COUNT_MAX);
  float *x = arg_f32(&a, 0, "x", n, "n");
  if (a.failed) return NULL;
  fp_scale(x, s, n);
  return NULL;
}

static napi_value js_adamw(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "adamw", 12)) return NULL;
  size_t n = arg_size(&a, 4, "n", COUNT_MAX);
  double lr = arg_number(&a, 5, "lr"), beta1 = arg_number(&a, 6, "beta1"), beta2 = arg_number(&a, 7, "beta2");
  double eps = arg_number(&a, 8, "eps"), wd = arg_number(&a, 9, "weightDecay");
  double c1 = arg_number(&a, 10, "c1"), c2 = arg_number(&a, 11, "c2");
  float *param = arg_f32(&a, 0, "param", n, "n");
  const float *grad = arg_f32(&a, 1, "grad", n, "n");
  float *m = arg_f32(&a, 2, "m", n, "n");
  float *v = arg_f32(&a, 3, "v", n, "n");
  if (a.failed) return NULL;
  fp_adamw(param, grad, m, v, n, lr, beta1, beta2, eps, wd, c1, c2);
  return NULL;
}

static napi_value js_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, fp_pool_threads(), &result);
  return result;
}

static napi_value js_blas_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, fp_blas_threads(), &result);
  return result;
}

static napi_value js_gemm_kernel(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_string_utf8(env, fp_gemm_kernel(), NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value js_blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_string_utf8(env, fp_blas_info(), NAPI_AUTO_LENGTH, &result);
  return result;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"matmul", js_matmul},
      {"matmulBf16", js_matmul_bf16},
      {"matmulInt8", js_matmul_int8},
      {"bf16Kernel", js_bf16_kernel},
      {"embeddingForward", js_embedding_forward},
      {"embeddingBackward", js_embedding_backward},
      {"rmsnormForward", js_rmsnorm_forward},
      {"rmsnormBackward", js_rmsnorm_backward},
      {"ropeForward", js_rope_forward},
      {"ropeBackward", js_rope_backward},
      {"attentionForward", js_attention_forward},
      {"attentionBackward", js_attention_backward},
      {"swigluForward", js_swiglu_forward},
      {"swigluBackward", js_swiglu_backward},
      {"crossEntropyForward", js_cross_entropy_forward},
      {"crossEntropyBackward", js_cross_entropy_backward},
      {"add", js_add},
      {"sumSquares", js_sum_squares},
      {"scale", js_scale},
      {"adamw", js_adamw},
      {"threads", js_threads},
      {"blasThreads", js_blas_threads},
      {"blasInfo", js_blas_info},
      {"gemmKernel", js_gemm_kernel},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) {
      return NULL;
    }
  }
  return exports;
}
