/*
 * fp32 matrix multiply on AVX-512 for the products gemm.c does not find thin:
 * c (m,n) = alpha op(a) op(b) + beta c, all of m, n, k above its SG_SMALL.
 *
 * OpenBLAS chooses its kernels by CPU model (DYNAMIC_ARCH); on a CPU it does
 * not recognise, such as a cloud VM's generic "Intel Xeon Processor", it
 * falls back to Prescott's SSE3 kernels, a quarter of what AVX-512 does. So
 * where the CPU has AVX-512F this file computes the product itself, BLIS's
 * way: B = op(b) is packed per call into panels of G5_NR columns (k rows
 * each, zero past n), A = op(a) one block of G5_MC rows by G5_KC of k at a
 * time into tiles of G5_MR rows laid out along k (zero past m), and a
 * register tile of G5_MR x G5_NR accumulates a block's k with FMA while the
 * panel's block (32 KB) stays in L1. Packing both makes every orientation
 * read the same way and costs n k + m k per call against the product's
 * m n k, so the shapes here (all above 64) pay it back many times over.
 *
 * Threads take units of one row block and a group of panels, so that a
 * product with few rows still splits; no two threads write one element.
 *
 * FEDPLORA_GEMM=blas sends these products to BLAS as before (to compare).
 */
#include <stdlib.h>
#include <string.h>

#include "fp.h"
#include "pool.h"

#if defined(__x86_64__) && (defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10 || defined(__clang__) && __clang_major__ >= 9)
#define G5_ENABLED 1
#else
#define G5_ENABLED 0
#endif

#if G5_ENABLED
#include <immintrin.h>
#include <stdatomic.h>

#define G5_MR 12  /* rows of a register tile: 24 accumulators, two B vectors and a broadcast fit 32 registers */
#define G5_NR 32  /* columns of a register tile: two vectors of 16 */
#define G5_KC 256 /* k of a block: a panel's block is G5_NR * G5_KC * 4 bytes = 32 KB */
#define G5_MC 96  /* rows of a block of A: 96 KB packed, in L2 */
#define G5_GRAIN (1 << 20) /* multiply-adds per pool part */
#define G5_UNITS_PER_PART 4  /* work units per part, so parts finish near together */

#define G5_TARGET __attribute__((target("avx512f")))

typedef struct {
  size_t m, n, k;
  const float *a;
  size_t ars, acs; /* A(i, p) = a[i ars + p acs] */
  const float *b;
  size_t brs, bcs; /* B(p, j) = b[p brs + j bcs] */
  float *packed;   /* panel q at packed + q k G5_NR: (p, j) at p G5_NR + j */
  size_t panels, row_blocks, groups, panels_per_group;
  float *c;
  size_t ldc; /* C(i, j) = c[i ldc + j] */
  float alpha, beta;
  float *abuf; /* per part: G5_MC x G5_KC */
} G5Job;

static inline size_t g5_min(size_t a, size_t b) { return a < b ? a : b; }

static void g5_pack_panels(const G5Job *job, size_t q0, size_t q1) {
  const size_t n = job->n, k = job->k;
  for (size_t q = q0; q < q1; q++) {
    float *dst = job->packed + q * k * G5_NR;
    size_t j0 = q * G5_NR, cols = g5_min(G5_NR, n - j0);
    if (cols < G5_NR) memset(dst, 0, k * G5_NR * sizeof(float));
    if (job->bcs == 1) {
      for (size_t p = 0; p < k; p++) memcpy(dst + p * G5_NR, job->b + p * job->brs + j0, cols * sizeof(float));
    } else {
      /* each column of B is a row of b: read it along k */
      for (size_t j = 0; j < cols; j++) {
        const float *src = job->b + (j0 + j) * job->bcs;
        for (size_t p = 0; p < k; p++) dst[p * G5_NR + j] = src[p * job->brs];
      }
    }
  }
}

static void g5_pack_task(void *ctx, int part, int parts) {
  const G5Job *job = ctx;
  size_t q0, q1;
  fp_split(job->panels, part, parts, &q0, &q1);
  g5_pack_panels(job, q0, q1);
}

/* rows [i0, i0 + rows) and k [p0, p0 + pc) of A into tiles of G5_MR rows, (p, r) at t G5_MR pc + p G5_MR + r */
static void g5_pack_a(float *dst, const G5Job *job, size_t i0, size_t rows, size_t p0, size_t pc) {
  const size_t tiles = (rows + G5_MR - 1) / G5_MR;
  for (size_t t = 0; t < tiles; t++) {
    float *tile = dst + t * G5_MR * pc;
    size_t r0 = t * G5_MR, mr = g5_min(G5_MR, rows - r0);
    if (mr < G5_MR) memset(tile, 0, G5_MR * pc * sizeof(float));
    if (job->acs == 1) {
      for (size_t r = 0; r < mr; r++) {
        const float *src = job->a + (i0 + r0 + r) * job->ars + p0;
        for (size_t p = 0; p < pc; p++) tile[p * G5_MR + r] = src[p];
      }
    } else {
      /* A's rows are b's columns: G5_MR of them sit side by side in each row of a */
      for (size_t p = 0; p < pc; p++) {
        const float *src = job->a + (p0 + p) * job->acs + (i0 + r0) * job->ars;
        for (size_t r = 0; r < mr; r++) tile[p * G5_MR + r] = src[r * job->ars];
      }
    }
  }
}

/*
 * acc = A's tile times the panel's block over pc; then c = alpha acc + beta c
 * for the first block (alpha acc when beta = 0: c is not read), c += alpha
 * acc after; only the tile's mr rows and cols columns are stored.
 */
G5_TARGET static void g5_tile(const G5Job *job, const float *A, const float *B, size_t pc, size_t i, size_t j0, size_t mr,
                              size_t cols, int first) {
  __m512 acc[G5_MR][2];
  for (int r = 0; r < G5_MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (size_t p = 0; p < pc; p++, A += G5_MR, B += G5_NR) {
    const __m512 b0 = _mm512_loadu_ps(B), b1 = _mm512_loadu_ps(B + 16);
    for (int r = 0; r < G5_MR; r++) {
      const __m512 x = _mm512_set1_ps(A[r]);
      acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
    }
  }
  const __m512 alpha = _mm512_set1_ps(job->alpha);
  const int add = !first || job->beta != 0.0f;
  const __m512 keep = first ? _mm512_set1_ps(job->beta) : _mm512_set1_ps(1.0f);
  for (size_t r = 0; r < mr; r++) {
    float *crow = job->c + (i + r) * job->ldc + j0;
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

static void g5_compute_task(void *ctx, int part, int parts) {
  const G5Job *job = ctx;
  size_t u0, u1;
  fp_split(job->row_blocks * job->groups, part, parts, &u0, &u1);
  float *abuf = job->abuf + (size_t)part * G5_MC * G5_KC;
  for (size_t u = u0; u < u1; u++) {
    size_t i0 = (u / job->groups) * G5_MC, rows = g5_min(G5_MC, job->m - i0);
    size_t q0 = (u % job->groups) * job->panels_per_group, q1 = g5_min(job->panels, q0 + job->panels_per_group);
    for (size_t p0 = 0; p0 < job->k; p0 += G5_KC) {
      size_t pc = g5_min(G5_KC, job->k - p0);
      g5_pack_a(abuf, job, i0, rows, p0, pc);
      for (size_t q = q0; q < q1; q++) {
        size_t j0 = q * G5_NR, cols = g5_min(G5_NR, job->n - j0);
        const float *panel = job->packed + q * job->k * G5_NR + p0 * G5_NR;
        for (size_t r = 0; r < rows; r += G5_MR)
          g5_tile(job, abuf + (r / G5_MR) * G5_MR * pc, panel, pc, i0 + r, j0, g5_min(G5_MR, rows - r), cols, p0 == 0);
      }
    }
  }
}

/* attention's pool threads may ask first, together: the answer is the same for all, so a relaxed atomic suffices */
static int g5_available(void) {
  static atomic_int cached = -1;
  int has = atomic_load_explicit(&cached, memory_order_relaxed);
  if (has < 0) {
    __builtin_cpu_init();
    has = __builtin_cpu_supports("avx512f");
    const char *force = getenv("FEDPLORA_GEMM");
    if (force && strcmp(force, "blas") == 0) has = 0;
    atomic_store_explicit(&cached, has, memory_order_relaxed);
  }
  return has;
}

/* A job's operands, strides and block counts for row-major a (lda), b (ldb) and c (ldc) */
static G5Job g5_job(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda, const float *b,
                    size_t ldb, float beta, float *c, size_t ldc) {
  G5Job job = {.m = m, .n = n, .k = k, .a = a, .b = b, .c = c, .ldc = ldc, .alpha = alpha, .beta = beta};
  job.ars = transA ? 1 : lda, job.acs = transA ? lda : 1;
  job.brs = transB ? 1 : ldb, job.bcs = transB ? ldb : 1;
  job.panels = (n + G5_NR - 1) / G5_NR;
  job.row_blocks = (m + G5_MC - 1) / G5_MC;
  return job;
}

int fp_matmul_avx512(float *c, const float *a, const float *b, size_t m, size_t n, size_t k, int transA, int transB, float alpha,
                     float beta) {
  if (!g5_available()) return 0;
  G5Job job = g5_job(transA, transB, m, n, k, alpha, a, transA ? m : k, b, transB ? k : n, beta, c, n);
  int parts = fp_pool_parts((double)m * (double)n * (double)k, G5_GRAIN);
  /* enough units that the parts come out even: split the panels into groups when row blocks are few */
  size_t want = (size_t)parts * G5_UNITS_PER_PART;
  job.groups = job.row_blocks >= want ? 1 : g5_min(job.panels, (want + job.row_blocks - 1) / job.row_blocks);
  job.panels_per_group = (job.panels + job.groups - 1) / job.groups;
  job.groups = (job.panels + job.panels_per_group - 1) / job.panels_per_group;
  size_t units = job.row_blocks * job.groups;
  if ((size_t)parts > units) parts = (int)units;
  if (parts < 1) parts = 1;
  job.packed = aligned_alloc(64, (job.panels * k * G5_NR * sizeof(float) + 63) / 64 * 64);
  job.abuf = aligned_alloc(64, (size_t)parts * G5_MC * G5_KC * sizeof(float));
  if (!job.packed || !job.abuf) {
    free(job.packed);
    free(job.abuf);
    return 0;
  }
  fp_pool_run(fp_pool_parts((double)n * (double)k, FP_GRAIN_STREAM), g5_pack_task, &job);
  fp_pool_run(parts, g5_compute_task, &job);
  free(job.packed);
  free(job.abuf);
  return 1;
}

/* a thread's buffers for fp_gemm_avx512_strided, grown as needed and kept: attention calls it per tile */
static _Thread_local float *g5_scratch;
static _Thread_local size_t g5_scratch_floats;

int fp_gemm_avx512_strided(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                           const float *b, size_t ldb, float beta, float *c, size_t ldc) {
  if (!g5_available() || m == 0 || n == 0 || k == 0) return 0;
  G5Job job = g5_job(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  job.groups = 1, job.panels_per_group = job.panels;
  const size_t packed = (job.panels * k * G5_NR + 15) & ~(size_t)15, need = packed + G5_MC * G5_KC;
  if (need > g5_scratch_floats) {
    free(g5_scratch);
    g5_scratch = aligned_alloc(64, need * sizeof(float));
    g5_scratch_floats = g5_scratch ? need : 0;
    if (!g5_scratch) return 0;
  }
  job.packed = g5_scratch, job.abuf = g5_scratch + packed;
  g5_pack_panels(&job, 0, job.panels);
  g5_compute_task(&job, 0, 1);
  return 1;
}

const char *fp_gemm_kernel(void) { return g5_available() ? "avx512" : "blas"; }

#else

int fp_gemm_avx512_strided(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                           const float *b, size_t ldb, float beta, float *c, size_t ldc) {
  return 0;
}


int fp_matmul_avx512(float *c, const float *a, const float *b, size_t m, size_t n, size_t k, int transA, int transB, float alpha,
                     float beta) {
  return 0;
}

const char *fp_gemm_kernel(void) { return "blas"; }

#endif
