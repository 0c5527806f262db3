/* Matrix multiply through the platform BLAS: OpenBLAS (Linux) or Accelerate (macOS). */
#include "fp.h"

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

void fp_matmul(float *c, const float *a, const float *b, int m, int n, int k,
               int transA, int transB, float alpha, float beta) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    /* BLAS rejects lda = 0; the product is empty, so c = beta * c (or 0). */
    size_t total = (size_t)m * (size_t)n;
    for (size_t i = 0; i < total; i++) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              m, n, k, alpha, a, transA ? m : k, b, transB ? k : n, beta, c, n);
}

const char *fp_blas_info(void) {
#if defined(__APPLE__)
  return "Accelerate";
#elif defined(OPENBLAS_VERSION)
  return openblas_get_config();
#else
  return "cblas";
#endif
}

int fp_blas_threads(void) {
#if !defined(__APPLE__) && defined(OPENBLAS_VERSION)
  return openblas_get_num_threads();
#else
  return 0;
#endif
}
