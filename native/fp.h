/*
 * Shared declarations of the native kernels. Semantics, shapes and argument
 * order follow src/kernels/kernels.ts exactly; sizes are element counts and
 * every pointer has already been checked (by addon.c) to hold enough elements.
 * Index arithmetic is done in size_t so large tensors cannot overflow int.
 */
#ifndef FP_H
#define FP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * FP_MV marks hot loops to be compiled twice, for x86-64-v3 (AVX2 + FMA) and
 * for the baseline, with the choice made once at load time by the CPU (GNU
 * ifunc). The binary so runs on any x86-64 while using AVX2 where present.
 */
#if !defined(FP_NO_MULTIVERSION) && defined(__x86_64__) && defined(__ELF__) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define FP_MV __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FP_MV
#endif

/* Loops marked FP_SIMD have no cross-iteration dependences (reductions named). */
#define FP_PRAGMA(x) _Pragma(#x)
#define FP_SIMD FP_PRAGMA(omp simd)
#define FP_SIMD_SUM(var) FP_PRAGMA(omp simd reduction(+ : var))

/*
 * exp for float, branch-free so loops calling it vectorise (glibc's expf is
 * only vectorised under -ffast-math, which we do not use). Cephes' range
 * reduction and polynomial: about 1 ulp over [-87.3, 88.3]; exp(-inf) = 0,
 * exp(+inf) = +inf, NaN stays NaN, below -87.3 flushes to 0 and above 88.72
 * gives +inf (between 88.38 and 88.72 it saturates at about 2.4e38).
 */
static inline float fp_expf(float x) {
  const float hi = 88.3762626647949f, lo = -87.3365447505531f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  /* n = round(xc / ln 2) by the 1.5 * 2^23 trick (|xc / ln 2| < 2^22) */
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  float y = p * scale;
  y = x > 88.7228391116729996f ? __builtin_inff() : y;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;
}

/* gemm.c */
void fp_matmul(float *c, const float *a, const float *b, int m, int n, int k,
               int transA, int transB, float alpha, float beta);

/* fp_matmul's product on AVX-512 (gemm-avx512.c); returns 0, having done nothing, without AVX-512F or memory */
int fp_matmul_avx512(float *c, const float *a, const float *b, size_t m, size_t n, size_t k, int transA, int transB, float alpha,
                     float beta);
/*
 * Row-major C (m,n) = alpha op(A) op(B) + beta C with leading dimensions, on the calling thread (attention's tiles);
 * returns 0, having done nothing, without AVX-512F or memory
 */
int fp_gemm_avx512_strided(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                           const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* which kernel fp_matmul gives the products that are not thin: "avx512" or "blas" */
const char *fp_gemm_kernel(void);

/* c (m,n) = alpha bf16(a) op(w) + beta c with w bf16 bits, (n,k) with transW else (k,n) (gemm-bf16.c) */
void fp_matmul_bf16(float *c, const float *a, const uint16_t *w, int m, int n, int k, int transW, float alpha, float beta);
/* the same with an int8 weight q and one scale per row of W: (n) with transW, else (k) */
void fp_matmul_int8(float *c, const float *a, const int8_t *q, const float *scale, int m, int n, int k, int transW, float alpha,
                    float beta);
/* which bf16 kernel runs here: "avx512bf16" or "portable" */
const char *fp_bf16_kernel(void);
const char *fp_blas_info(void);
int fp_blas_threads(void); /* 0 when unknown */

/* embedding.c */
void fp_embedding_forward(float *out, const int32_t *ids, const float *table, size_t N, size_t C);
void fp_embedding_backward(float *dtable, const float *dout, const int32_t *ids, size_t N, size_t C);

/* norm.c */
void fp_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
                        size_t N, size_t C, float eps);
void fp_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, const float *rstd, size_t N, size_t C);

/* rope.c: direction +1 forward (overwrite), -1 backward (accumulate) */
void fp_rope(float *out, const float *inp, const float *cos, const float *sin,
             size_t B, size_t T, size_t nHeads, size_t D, int backward);

/* attention.c: backward returns -1 when out of memory for its scratch rows */
void fp_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                          size_t B, size_t T, size_t H, size_t G, size_t D);
int fp_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                           const float *q, const float *k, const float *v, const float *att,
                           size_t B, size_t T, size_t H, size_t G, size_t D);

/* mlp.c */
void fp_swiglu_forward(float *out, const float *gate, const float *up, size_t n);
void fp_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                        const float *up, size_t n);

/* loss.c */
void fp_cross_entropy_forward(float *losses, const float *logits, const int32_t *targets,
                              size_t N, size_t V);
void fp_cross_entropy_backward(float *dlogits, const float *logits, const int32_t *targets,
                               const float *dlosses, size_t N, size_t V);

/* elementwise.c */
void fp_add(float *out, const float *a, const float *b, size_t n);
double fp_sum_squares(const float *x, size_t n);
void fp_scale(float *x, double s, size_t n);

/* optim.c: c1 = 1 - beta1^step, c2 = 1 - beta2^step (computed by the caller) */
void fp_adamw(float *param, const float *grad, float *m, float *v, size_t n, double lr,
              double beta1, double beta2, double eps, double weightDecay, double c1, double c2);

#endif
