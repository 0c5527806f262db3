/*
 * Matrix multiply against a frozen bf16 weight (src/kernels/kernels.ts,
 * matmulBf16): c (m,n) = alpha bf16(a) (m,k) op(w) + beta c, where w holds
 * bfloat16 bits, stored (n,k) with transW (the forward y = x W^T of a
 * torch.nn.Linear weight W (out,in)) or (k,n) without (the input gradient
 * dx = dy W). a is rounded to bf16 (nearest even) and every product is
 * accumulated in fp32, as PyTorch's bf16 autocast does on the CPU.
 *
 * Where the CPU has AVX512-BF16, vdpbf16ps does 32 multiply-adds a lane
 * pair per instruction, twice fp32 FMA's rate. The weight is packed per call
 * into panels of BF_NR columns whose k runs in pairs ((k/2) rows of BF_NR
 * 32-bit words, each two bf16 of one column): the packing costs n k, the
 * product m n k, so it is paid back many times over by the m rows of a
 * batch, and one stored layout serves both orientations. a is converted to
 * bf16 one block of BF_MC rows at a time, rows padded to an even k. A
 * register tile of BF_MR rows by BF_NR columns accumulates over a block of
 * BF_KC pairs (a panel's block, 32 KB, stays in L1 while the block's row
 * tiles go by) and is combined with c once per block.
 *
 * Elsewhere the same numbers come from the platform sgemm: a rounded to bf16,
 * the weight widened to fp32 (exactly), one block of columns at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "fp.h"
#include "pool.h"

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

/* fp32 -> bf16, round to nearest even; NaN stays a quiet NaN (src/io/float16.ts) */
static inline uint16_t bf_round(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float bf_widen(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* B(p, j) of the product: the weight read in the call's orientation */
static inline uint16_t bf_weight(const uint16_t *w, size_t n, size_t k, int transW, size_t p, size_t j) {
  return transW ? w[j * k + p] : w[p * n + j];
}

/* ---- portable path: sgemm on bf16-rounded a and the widened weight ---- */

#define BF_FALLBACK_COLS 256

static void bf_matmul_blas(float *c, const float *a, const uint16_t *w, size_t m, size_t n, size_t k, int transW,
                           float alpha, float beta) {
  float *ar = malloc(m * k * sizeof(float));
  float *wb = malloc(k * BF_FALLBACK_COLS * sizeof(float));
  if (!ar || !wb) abort();
  for (size_t i = 0; i < m * k; i++) ar[i] = bf_widen(bf_round(a[i]));
  for (size_t j0 = 0; j0 < n; j0 += BF_FALLBACK_COLS) {
    size_t nc = n - j0 < BF_FALLBACK_COLS ? n - j0 : BF_FALLBACK_COLS;
    for (size_t p = 0; p < k; p++)
      for (size_t j = 0; j < nc; j++) wb[p * nc + j] = bf_widen(bf_weight(w, n, k, transW, p, j0 + j));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)nc, (int)k, alpha, ar, (int)k, wb, (int)nc,
                beta, c + j0, (int)n);
  }
  free(ar);
  free(wb);
}

#if defined(__x86_64__) && (defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10 || defined(__clang__) && __clang_major__ >= 9)
#define BF_AVX512 1
#else
#define BF_AVX512 0
#endif

#if BF_AVX512
#include <immintrin.h>

#define BF_MR 8     /* rows of a register tile */
#define BF_NR 32    /* columns of a register tile: two vectors of 16 fp32 */
#define BF_KC 256   /* k pairs of a block: a panel's block is BF_NR * BF_KC * 4 bytes = 32 KB */
#define BF_MC 64    /* rows of a block of a converted to bf16 */
#define BF_GRAIN (1 << 21) /* multiply-adds per pool part */

#define BF_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

typedef struct {
  size_t m, n, k, kp; /* kp = pairs of k (k rounded up to even, halved) */
  const float *a;
  const uint16_t *w;
  int transW;
  uint32_t *packed; /* panels of the weight: panel q at packed + q kp BF_NR */
  size_t panels;
  float *c;
  float alpha, beta;
  uint16_t *abuf; /* per part: BF_MC rows of 2 kp bf16 */
} BfJob;

/* Packs panels [q0, q1) of the weight: word (p, j) = B(2p, j) | B(2p+1, j) << 16, zero past k and n. */
static void bf_pack_panels(const BfJob *job, size_t q0, size_t q1) {
  const size_t n = job->n, k = job->k, kp = job->kp;
  for (size_t q = q0; q < q1; q++) {
    uint32_t *dst = job->packed + q * kp * BF_NR;
    size_t j0 = q * BF_NR;
    size_t cols = n - j0 < BF_NR ? n - j0 : BF_NR;
    memset(dst, 0, kp * BF_NR * sizeof(uint32_t));
    if (job->transW) {
      /* each column is a row of w: read it along k */
      for (size_t j = 0; j < cols; j++) {
        const uint16_t *row = job->w + (j0 + j) * k;
        for (size_t p = 0; p < k / 2; p++) dst[p * BF_NR + j] = (uint32_t)row[2 * p] | (uint32_t)row[2 * p + 1] << 16;
        if (k & 1) dst[(kp - 1) * BF_NR + j] = row[k - 1];
      }
    } else {
      /* two rows of w side by side give a pair of every column */
      for (size_t p = 0; p < kp; p++) {
        const uint16_t *r0 = job->w + 2 * p * n + j0;
        const uint16_t *r1 = 2 * p + 1 < k ? r0 + n : NULL;
        for (size_t j = 0; j < cols; j++) dst[p * BF_NR + j] = (uint32_t)r0[j] | (r1 ? (uint32_t)r1[j] << 16 : 0u);
      }
    }
  }
}

static void bf_pack_task(void *ctx, int part, int parts) {
  const BfJob *job = ctx;
  size_t q0, q1;
  fp_split(job->panels, part, parts, &q0, &q1);
  bf_pack_panels(job, q0, q1);
}

/* rows [i0, i0 + rows) of a into dst, bf16, each row 2 kp long with a zero pad when k is odd */
BF_TARGET static void bf_convert_rows(uint16_t *dst, const float *a, size_t i0, size_t rows, size_t k, size_t kp) {
  for (size_t r = 0; r < rows; r++) {
    const float *src = a + (i0 + r) * k;
    uint16_t *out = dst + r * 2 * kp;
    size_t p = 0;
    for (; p + 32 <= k; p += 32) {
      __m512 lo = _mm512_loadu_ps(src + p), hi = _mm512_loadu_ps(src + p + 16);
      _mm512_storeu_si512((void *)(out + p), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (; p < k; p++) out[p] = bf_round(src[p]);
    if (k & 1) out[k] = 0;
  }
}

/*
 * The tile of rows [i, i + mr) and the panel's columns [j0, j0 + cols) over
 * pairs [p0, p0 + pc): acc = A B, then c = alpha acc + beta c on the first
 * block (alpha acc when beta = 0: c is not read) and c += alpha acc after.
 */
BF_TARGET static void bf_tile(const BfJob *job, const uint16_t *arows, size_t mr, const uint32_t *panel, size_t p0,
                              size_t pc, size_t i, size_t j0, size_t cols, int first) {
  __m512 acc[BF_MR][2];
  for (int r = 0; r < BF_MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const size_t lda = job->kp; /* in 32-bit words */
  const uint32_t *A = (const uint32_t *)arows + p0;
  const uint32_t *B = panel + p0 * BF_NR;
  if (mr == BF_MR) {
    for (size_t p = 0; p < pc; p++, B += BF_NR) {
      __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)B), b1 = (__m512bh)_mm512_loadu_si512((const void *)(B + 16));
      for (int r = 0; r < BF_MR; r++) {
        __m512bh x = (__m512bh)_mm512_set1_epi32((int)A[r * lda + p]);
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
      }
    }
  } else {
    for (size_t p = 0; p < pc; p++, B += BF_NR) {
      __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)B), b1 = (__m512bh)_mm512_loadu_si512((const void *)(B + 16));
      for (size_t r = 0; r < mr; r++) {
        __m512bh x = (__m512bh)_mm512_set1_epi32((int)A[r * lda + p]);
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
      }
    }
  }
  const __m512 alpha = _mm512_set1_ps(job->alpha), beta = _mm512_set1_ps(job->beta);
  const int add = !first || job->beta != 0.0f;
  const __m512 keep = first ? beta : _mm512_set1_ps(1.0f);
  for (size_t r = 0; r < mr; r++) {
    float *crow = job->c + (i + r) * job->n + j0;
    for (int h = 0; h < 2; h++) {
      size_t lo = (size_t)h * 16;
      if (lo >= cols) break;
      __mmask16 mask = cols - lo >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (cols - lo)) - 1);
      __m512 v = _mm512_mul_ps(alpha, acc[r][h]);
      if (add) v = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(mask, crow + lo), v);
      _mm512_mask_storeu_ps(crow + lo, mask, v);
    }
  }
}

static void bf_compute_task(void *ctx, int part, int parts) {
  const BfJob *job = ctx;
  size_t blocks = (job->m + BF_MC - 1) / BF_MC, b0, b1;
  fp_split(blocks, part, parts, &b0, &b1);
  uint16_t *abuf = job->abuf + (size_t)part * BF_MC * 2 * job->kp;
  for (size_t b = b0; b < b1; b++) {
    size_t i0 = b * BF_MC, rows = job->m - i0 < BF_MC ? job->m - i0 : BF_MC;
    bf_convert_rows(abuf, job->a, i0, rows, job->k, job->kp);
    for (size_t p0 = 0; p0 < job->kp; p0 += BF_KC) {
      size_t pc = job->kp - p0 < BF_KC ? job->kp - p0 : BF_KC;
      for (size_t q = 0; q < job->panels; q++) {
        size_t j0 = q * BF_NR, cols = job->n - j0 < BF_NR ? job->n - j0 : BF_NR;
        const uint32_t *panel = job->packed + q * job->kp * BF_NR;
        for (size_t r = 0; r < rows; r += BF_MR) {
          size_t mr = rows - r < BF_MR ? rows - r : BF_MR;
          bf_tile(job, abuf + r * 2 * job->kp, mr, panel, p0, pc, i0 + r, j0, cols, p0 == 0);
        }
      }
    }
  }
}

static int bf_has_avx512bf16(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    const char *force = getenv("FEDPLORA_BF16_KERNEL");
    if (force && strcmp(force, "portable") == 0) cached = 0;
  }
  return cached;
}

static int bf_matmul_avx512(float *c, const float *a, const uint16_t *w, size_t m, size_t n, size_t k, int transW,
                            float alpha, float beta) {
  BfJob job = {.m = m, .n = n, .k = k, .kp = (k + 1) / 2, .a = a, .w = w, .transW = transW, .c = c, .alpha = alpha, .beta = beta};
  job.panels = (n + BF_NR - 1) / BF_NR;
  int parts = fp_pool_parts((double)m * (double)n * (double)k, BF_GRAIN);
  size_t blocks = (m + BF_MC - 1) / BF_MC;
  if ((size_t)parts > blocks) parts = (int)blocks;
  if (parts < 1) parts = 1;
  job.packed = aligned_alloc(64, ((job.panels * job.kp * BF_NR * sizeof(uint32_t)) + 63) / 64 * 64);
  job.abuf = aligned_alloc(64, (((size_t)parts * BF_MC * 2 * job.kp * sizeof(uint16_t)) + 63) / 64 * 64);
  if (!job.packed || !job.abuf) {
    free(job.packed);
    free(job.abuf);
    return 0;
  }
  int pack_parts = fp_pool_parts((double)n * (double)k, FP_GRAIN_STREAM);
  fp_pool_run(pack_parts, bf_pack_task, &job);
  fp_pool_run(parts, bf_compute_task, &job);
  free(job.packed);
  free(job.abuf);
  return 1;
}
#endif

const char *fp_bf16_kernel(void) {
#if BF_AVX512
  if (bf_has_avx512bf16()) return "avx512bf16";
#endif
  return "portable";
}

void fp_matmul_bf16(float *c, const float *a, const uint16_t *w, int m, int n, int k, int transW, float alpha, float beta) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    /* an empty sum: c = beta c, and c is not read when beta = 0 */
    for (size_t i = 0; i < (size_t)m * (size_t)n; i++) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
#if BF_AVX512
  if (bf_has_avx512bf16() && bf_matmul_avx512(c, a, w, (size_t)m, (size_t)n, (size_t)k, transW, alpha, beta)) return;
#endif
  bf_matmul_blas(c, a, w, (size_t)m, (size_t)n, (size_t)k, transW, alpha, beta);
}
