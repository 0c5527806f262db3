/*
 * Matrix multiply, c (m,n) = alpha op(a) op(b) + beta c (src/kernels/kernels.ts):
 * the platform BLAS (OpenBLAS on Linux, Accelerate on macOS), except for thin
 * products on x86-64 with AVX2 and FMA, and the others on x86-64 with
 * AVX-512 (gemm-avx512.c).
 *
 * Thin products (one of m, n, k at most SG_SMALL: the rank-r factors of
 * LoRA, src/layers/lora-branch.ts) run at a fraction of OpenBLAS's sgemm
 * speed, so they go to the kernels below, on the fused kernels' pool. The
 * pool and OpenBLAS's threads never work at the same time: both are entered
 * only from the calling thread, one call after the other, and no pool task
 * calls BLAS.
 *
 * Every product is computed as C (rows, cols) = A (rows, K) B (K, cols),
 * either as is (C = c, A = op(a), B = op(b)) or transposed (C = c^T,
 * A = op(b)^T, B = op(a)^T), whichever reads its operands better (sg_plan).
 * B must be contiguous along cols: it is read in place when stored so, else
 * packed (it is then the small operand, so packing is cheap) into panels of
 * SG_NR columns. A is read in place by broadcasts when its rows are
 * contiguous, else packed one tile of SG_MR rows at a time. A register tile
 * of SG_MR x SG_NR accumulates over K (fp32 FMA) and is combined with c once:
 * alpha acc + beta c, or alpha acc when beta = 0 (c's old contents, NaN
 * included, are never read).
 *
 * Threads split the row tiles (many rows), or the column panels when rows are
 * few (the reductions over k = N tokens: dA += dhT x, dB += dy^T hT^T), so no
 * two threads write the same element and nothing needs reducing. With few
 * rows K runs in blocks of SG_KC (a block of a panel of B stays in L1 while
 * the row tiles go by), partial tiles kept in a per-thread buffer between
 * blocks. The operands usually arrive cold (the step's other tensors have
 * pushed them out of L2), and what the hardware prefetchers miss is
 * prefetched by hand: c a row tile ahead, A in place a row tile ahead, B in
 * place a panel ahead.
 *
 * FEDPLORA_SMALL_GEMM=off sends every product to BLAS (to compare; any other
 * value, or none, leaves the choice to sg_plan).
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

static void blas_matmul(float *c, const float *a, const float *b, int m, int n, int k, int transA,
                        int transB, float alpha, float beta) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              m, n, k, alpha, a, transA ? m : k, b, transB ? k : n, beta, c, n);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(FP_NO_SMALL_GEMM)
#define SG_ENABLED 1
#else
#define SG_ENABLED 0
#endif

#if SG_ENABLED
#include <pthread.h>
#include <stdatomic.h>

#define SG_SMALL 64 /* a product is thin when m, n or k is at most this */
#define SG_MR 6     /* rows of a register tile */
#define SG_NR 16    /* columns of a register tile (two vectors of 8) */
#define SG_KC 384   /* K block with few rows: a panel's block of B (24 KB) and a tile's of A (9 KB) */
#define SG_CHUNK 8  /* panels a thread takes at a time with few rows */
#define SG_L2B (512 << 10) /* bytes of packed B a block of panels may take, many rows */
/* multiply-adds per pool part: 2^20 take ~20 us on one core, so the pool is woken for 40 us or more */
#define SG_GRAIN (1 << 20)

#define SG_MAX_PARTS 64 /* the pool's limit */

typedef struct {
  _Alignas(64) _Atomic uint64_t v; /* lo | hi << 32 */
} SgRange;

typedef struct {
  size_t rows, cols, K;
  const float *A;
  size_t lda;
  int acol;           /* A(i,p) = acol ? A[i + p lda] : A[i lda + p] */
  const float *Apack; /* acol, threads over panels: every row tile packed (sg_pack_a) */
  const float *B;
  size_t ldb;         /* B(p,j) = B[p ldb + j] when B is read in place */
  const float *Bpack; /* or every panel packed: panel q at Bpack + q K SG_NR, ld SG_NR */
  const float *Bedge; /* in place, cols % SG_NR != 0: the last panel packed */
  float *C;
  size_t rsc, csc; /* C(i,j) = C[i rsc + j csc]; csc == 1 or rsc == 1 */
  float alpha, beta;
  int by_rows;       /* threads split row tiles, else column panels (as sg_plan decides) */
  size_t kc;         /* K block (threads over panels), else K */
  size_t tiles, panels;
  float *scratch;    /* per part, `scratch_floats` each: a packed tile of A, or partial tiles */
  size_t scratch_floats;
  int parts;          /* shares of the units (the pool may run fewer parts) */
  size_t chunk;       /* units (tiles or panels) a part takes at a time */
  SgRange ranges[SG_MAX_PARTS]; /* units not yet taken of each part's share (sg_task) */
} SgJob;

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

#define SG_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define SG_AVX2 __attribute__((target("avx2,fma")))

SG_INLINE v8 sg_load(const float *p) { return *(const v8u *)p; }
SG_INLINE void sg_store(float *p, v8 x) { *(v8u *)p = x; }

static inline size_t sg_min(size_t a, size_t b) { return a < b ? a : b; }

/* C[i0 + r, j0 + j] = alpha t[r][j] (+ beta C) for r < mr, j < w: a tile on the right edge. */
static __attribute__((noinline)) void sg_store_edge(const SgJob *job, const float *t, size_t i0,
                                                    size_t mr, size_t j0, size_t w) {
  const float alpha = job->alpha, beta = job->beta;
  for (size_t r = 0; r < mr; r++, t += SG_NR) {
    float *c = job->C + (i0 + r) * job->rsc + j0;
    if (beta == 0.0f)
      for (size_t j = 0; j < w; j++) c[j] = alpha * t[j];
    else
      for (size_t j = 0; j < w; j++) c[j] = alpha * t[j] + beta * c[j];
  }
}

/*
 * One register tile: rows [i0, i0 + MR) (MR <= SG_MR, all valid) against the
 * panel of columns [j0, j0 + w) (w <= 8 NV; B's columns past w are zero
 * padding or columns not stored), over kn values of p. `a` is the tile's
 * rows of A: packed (a[p SG_MR + r]) or in place (a[r lda + p]); B is the
 * panel (B[p ldb + j]). The sums start from `in` (a partial tile, SG_NR
 * floats a row) or zero, and go to `out` (partial) or, when it is NULL, to C.
 * MR, NV and packed are constants after inlining, so acc lives in registers.
 */
SG_INLINE void sg_tile(const int MR, const int NV, const int packed, const SgJob *job,
                       const float *a, const float *B, size_t ldb, size_t kn, const float *in,
                       float *out, size_t i0, size_t j0, size_t w, const float *pfa,
                       const float *pfb) {
  v8 acc[SG_MR][2];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = in ? sg_load(in + r * SG_NR + 8 * v) : (v8){0};
  const size_t lda = job->lda;
  if (packed) {
    for (size_t p = 0; p < kn; p++, a += SG_MR, B += ldb) {
      if (pfb) __builtin_prefetch(pfb + p * ldb, 0, 3);
      v8 b0 = sg_load(B), b1 = NV > 1 ? sg_load(B + 8) : (v8){0};
      for (int r = 0; r < MR; r++) {
        const float x = a[r];
        acc[r][0] += x * b0;
        if (NV > 1) acc[r][1] += x * b1;
      }
    }
  } else {
    for (size_t p = 0; p < kn; p++, B += ldb) {
      if (pfb) __builtin_prefetch(pfb + p * ldb, 0, 3);
      if (pfa && p % 16 == 0)
        for (int r = 0; r < MR; r++) __builtin_prefetch(pfa + r * lda + p, 0, 3);
      v8 b0 = sg_load(B), b1 = NV > 1 ? sg_load(B + 8) : (v8){0};
      for (int r = 0; r < MR; r++) {
        const float x = a[r * lda + p];
        acc[r][0] += x * b0;
        if (NV > 1) acc[r][1] += x * b1;
      }
    }
  }
  if (out) {
    for (int r = 0; r < MR; r++)
      for (int v = 0; v < NV; v++) sg_store(out + r * SG_NR + 8 * v, acc[r][v]);
    return;
  }
  const float alpha = job->alpha, beta = job->beta;
  if (job->csc == 1 && w == 8 * (size_t)NV) {
    for (int r = 0; r < MR; r++) {
      float *c = job->C + (i0 + r) * job->rsc + j0;
      for (int v = 0; v < NV; v++) {
        if (beta == 0.0f)
          sg_store(c + 8 * v, alpha * acc[r][v]);
        else
          sg_store(c + 8 * v, alpha * acc[r][v] + beta * sg_load(c + 8 * v));
      }
    }
    return;
  }
  float t[SG_MR][SG_NR];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) sg_store(&t[r][8 * v], acc[r][v]);
  if (job->rsc == 1) { /* c^T: a column of the tile is contiguous in c */
    const size_t csc = job->csc;
    float *c = job->C + i0 + j0 * csc;
    for (size_t j = 0; j < w; j++, c += csc) {
      if (beta == 0.0f)
        for (int r = 0; r < MR; r++) c[r] = alpha * t[r][j];
      else
        for (int r = 0; r < MR; r++) c[r] = alpha * t[r][j] + beta * c[r];
    }
  } else {
    sg_store_edge(job, &t[0][0], i0, (size_t)MR, j0, w);
  }
}

/* sg_tile for mr (1..SG_MR) rows and w (1..SG_NR) columns, as constants in each case. */
SG_INLINE void sg_tile_any(const int packed, const SgJob *job, const float *a, const float *B,
                           size_t ldb, size_t kn, const float *in, float *out, size_t i0, size_t mr,
                           size_t j0, size_t w, const float *pfa, const float *pfb) {
#define SG_ROWS(NV)                                                     \
  switch (mr) {                                                         \
    case 6: sg_tile(6, NV, packed, job, a, B, ldb, kn, in, out, i0, j0, w, pfa, pfb); break; \
    case 5: sg_tile(5, NV, packed, job, a, B, ldb, kn, in, out, i0, j0, w, pfa, pfb); break; \
    case 4: sg_tile(4, NV, packed, job, a, B, ldb, kn, in, out, i0, j0, w, pfa, pfb); break; \
    case 3: sg_tile(3, NV, packed, job, a, B, ldb, kn, in, out, i0, j0, w, pfa, pfb); break; \
    case 2: sg_tile(2, NV, packed, job, a, B, ldb, kn, in, out, i0, j0, w, pfa, pfb); break; \
    default: sg_tile(1, NV, packed, job, a, B, ldb, kn, in, out, i0, j0, w, pfa, pfb); break; \
  }
  if (w > 8) {
    SG_ROWS(2)
  } else {
    SG_ROWS(1)
  }
#undef SG_ROWS
}

/* Panel q of B from p = 0, and its row stride. */
static inline const float *sg_panel(const SgJob *job, size_t q, size_t *ldb) {
  if (job->Bpack) return *ldb = SG_NR, job->Bpack + q * job->K * SG_NR;
  if ((q + 1) * SG_NR > job->cols) return *ldb = SG_NR, job->Bedge;
  return *ldb = job->ldb, job->B + q * SG_NR;
}

/* Rows [i0, i0 + mr) of A (acol), packed: dst[p SG_MR + r], zero for r >= mr. */
static void sg_pack_a(float *dst, const SgJob *job, size_t i0, size_t mr) {
  const size_t K = job->K, lda = job->lda;
  const float *a = job->A + i0;
  for (size_t p = 0; p < K; p++, a += lda, dst += SG_MR)
    for (size_t r = 0; r < SG_MR; r++) dst[r] = r < mr ? a[r] : 0.0f;
}

/*
 * Row tiles [lo, hi), each against every panel over the whole of K; the
 * panels in blocks whose share of B stays in L2 (SG_L2B bytes) while the
 * tiles go by.
 */
static SG_AVX2 void sg_rows(const SgJob *job, float *scratch, size_t lo, size_t hi) {
  const size_t K = job->K, per = SG_L2B / (K * SG_NR * sizeof(float));
  const size_t nb = per > 0 ? per : 1;
  /* c is read (beta != 0) a line per row and panel, too sparse for the hardware to see coming */
  const int pf_c = job->beta != 0.0f && job->csc == 1;
  for (size_t q0 = 0; q0 < job->panels; q0 += nb) {
    const size_t q1 = sg_min(job->panels, q0 + nb);
    for (size_t t = lo; t < hi; t++) {
      const size_t i0 = t * SG_MR, mr = sg_min(SG_MR, job->rows - i0);
      const float *a = job->A + i0 * job->lda;
      if (job->acol) sg_pack_a(scratch, job, i0, mr), a = scratch;
      /* A in place: the next tile's rows, a line per row every 16 p of the first panel
       * (rows past the last, of a short tile, are prefetched too: harmless, no fault) */
      const float *pfa = !job->acol && t + 1 < hi ? a + SG_MR * job->lda : NULL;
      for (size_t q = q0; q < q1; q++) {
        size_t ldb;
        const float *B = sg_panel(job, q, &ldb);
        const size_t j0 = q * SG_NR, w = sg_min(SG_NR, job->cols - j0);
        if (pf_c && t + 1 < hi) { /* the next tile's line of c in this panel */
          const float *c = job->C + (i0 + SG_MR) * job->rsc + j0;
          for (size_t r = 0; r < SG_MR && i0 + SG_MR + r < job->rows; r++) __builtin_prefetch(c + r * job->rsc, 0, 3);
        }
        if (job->acol)
          sg_tile_any(1, job, a, B, ldb, K, NULL, NULL, i0, mr, j0, w, NULL, NULL);
        else
          sg_tile_any(0, job, a, B, ldb, K, NULL, NULL, i0, mr, j0, w, q == q0 ? pfa : NULL, NULL);
      }
    }
  }
}

/*
 * Panels [lo, hi) (at most SG_CHUNK), each against every row tile, K in
 * blocks of kc: a block of a panel stays in L1 while the tiles go by.
 */
static SG_AVX2 void sg_cols(const SgJob *job, float *partial, size_t lo, size_t hi) {
  const size_t K = job->K, kc = job->kc;
  for (size_t k0 = 0; k0 < K; k0 += kc) {
    const size_t kn = sg_min(kc, K - k0);
    for (size_t q = lo; q < hi; q++) {
      size_t ldb;
      const float *B = sg_panel(job, q, &ldb) + k0 * ldb;
      const size_t j0 = q * SG_NR, w = sg_min(SG_NR, job->cols - j0);
      for (size_t t = 0; t < job->tiles; t++) {
        const size_t i0 = t * SG_MR, mr = sg_min(SG_MR, job->rows - i0);
        float *part = partial + ((q - lo) * job->tiles + t) * SG_MR * SG_NR;
        const float *in = k0 > 0 ? part : NULL;
        float *out = k0 + kn < K ? part : NULL;
        /* the first tile brings in the next panel's block of B (in place: a line per p) */
        const float *pfb = t == 0 && !job->Bpack && q + 1 < job->panels && (q + 2) * SG_NR <= job->cols
                               ? job->B + k0 * ldb + (q + 1) * SG_NR : NULL;
        if (job->acol)
          sg_tile_any(1, job, job->Apack + (t * K + k0) * SG_MR, B, ldb, kn, in, out, i0, mr, j0, w, NULL, pfb);
        else
          sg_tile_any(0, job, job->A + i0 * job->lda + k0, B, ldb, kn, in, out, i0, mr, j0, w, NULL, pfb);
      }
    }
  }
}

static void sg_run(const SgJob *job, float *scratch, size_t lo, size_t hi) {
  if (job->by_rows)
    sg_rows(job, scratch, lo, hi);
  else
    sg_cols(job, scratch, lo, hi);
}

/* Takes up to n units from the front (back) of a range [lo, hi) packed as lo | hi << 32. */
static int sg_take(SgRange *range, size_t n, int back, size_t *lo, size_t *hi) {
  uint64_t v = atomic_load_explicit(&range->v, memory_order_relaxed);
  for (;;) {
    const uint64_t l = v & 0xffffffffu, h = v >> 32;
    if (l >= h) return 0;
    const uint64_t cut = back ? (h - l > n ? h - n : l) : (h - l > n ? l + n : h);
    const uint64_t next = back ? (l | cut << 32) : (cut | h << 32);
    if (atomic_compare_exchange_weak_explicit(&range->v, &v, next, memory_order_relaxed,
                                              memory_order_relaxed)) {
      *lo = back ? cut : l, *hi = back ? h : cut;
      return 1;
    }
  }
}

/*
 * Each part owns an equal range of the units (row tiles or panels) and takes
 * them from the front, a chunk at a time; then it takes chunks from the back
 * of the other parts' ranges. Parts so keep to the same rows of c from call
 * to call (they stay in that core's cache), yet a pool worker that wakes
 * late loses its share to the caller: a worker sleeps between jobs and, on
 * the 2-vCPU VM of bench/kernels.ts, starts 8-15 us after the caller, or
 * 70-100 us when its vCPU had gone idle.
 */
static void sg_task(void *ctx, int part, int parts) {
  (void)parts;
  SgJob *job = ctx;
  float *scratch = job->scratch ? job->scratch + (size_t)part * job->scratch_floats : NULL;
  size_t lo, hi;
  while (sg_take(&job->ranges[part], job->chunk, 0, &lo, &hi)) sg_run(job, scratch, lo, hi);
  /* job->parts, not parts: the pool may run fewer parts than asked for */
  for (int i = 1; i < job->parts; i++) {
    SgRange *victim = &job->ranges[(part + i) % job->parts];
    while (sg_take(victim, job->chunk, 1, &lo, &hi)) sg_run(job, scratch, lo, hi);
  }
}

/*
 * Packs columns [j0, cols) of X (K, cols), X(p,j) = src[p rs + j cs], into
 * panels of SG_NR columns (K SG_NR floats each, zero past cols).
 */
static void sg_pack_b(float *dst, const float *src, size_t rs, size_t cs, size_t K, size_t cols,
                      size_t j0) {
  for (; j0 < cols; j0 += SG_NR, dst += K * SG_NR) {
    const size_t w = sg_min(SG_NR, cols - j0);
    for (size_t j = 0; j < SG_NR; j++) {
      if (j < w) {
        const float *s = src + (j0 + j) * cs;
        for (size_t p = 0; p < K; p++) dst[p * SG_NR + j] = s[p * rs];
      } else {
        for (size_t p = 0; p < K; p++) dst[p * SG_NR + j] = 0.0f;
      }
    }
  }
}

static int sg_enabled = 1; /* AVX2 and FMA present, FEDPLORA_SMALL_GEMM != off */
static pthread_once_t sg_once = PTHREAD_ONCE_INIT;

static void sg_configure(void) {
  __builtin_cpu_init();
  const char *env = getenv("FEDPLORA_SMALL_GEMM");
  if ((env && strcmp(env, "off") == 0) || !__builtin_cpu_supports("avx2") ||
      !__builtin_cpu_supports("fma"))
    sg_enabled = 0;
}

/*
 * Whether (m, n, k) goes to the thin kernels, and in which orientation
 * (*transposed: C = c^T). An orientation costs the elements of B it packs
 * (B not contiguous along cols), those of A read across their storage order
 * (packed per row tile) and, transposed, the scattered stores to c.
 *
 * Left to BLAS: few rows (threads over panels) with B read in place over a
 * long K and its rows a multiple of 4 KB apart (they share L1 and L2 sets)
 * or more than 16 KB apart (a page each). There B would have to be copied
 * as BLAS does, which costs what these kernels save (measured with
 * bench/kernels.ts on rank-64 shapes of a 2048-wide model).
 */
static int sg_plan(size_t m, size_t n, size_t k, int tA, int tB, int *transposed) {
  if (!sg_enabled) return 0;
  if (sg_min(sg_min(m, n), k) > SG_SMALL) return 0;
  const double direct = (tB ? (double)k * n : 0) + (tA ? (double)m * k : 0);
  const double flipped = (!tA ? (double)k * m : 0) + (!tB ? (double)n * k : 0) + (double)m * n;
  const int t = *transposed = flipped < direct;
  const size_t rows = t ? n : m, cols = t ? m : n;
  const int in_place = t ? tA : !tB;
  const size_t ldb = t ? m : n;
  const int by_rows = (rows + SG_MR - 1) / SG_MR >= (cols + SG_NR - 1) / SG_NR;
  if (!by_rows && in_place && k > SG_SMALL && (ldb % 1024 == 0 || ldb > 4096)) return 0;
  return 1;
}

/* Returns 0 (having done nothing) when out of memory for its buffers. */
static int sg_matmul(float *c, const float *a, const float *b, size_t m, size_t n, size_t k,
                     int tA, int tB, float alpha, float beta, int transposed) {
  SgJob job;
  memset(&job, 0, sizeof job);
  job.K = k;
  job.alpha = alpha, job.beta = beta;
  job.C = c;
  const float *bsrc; /* B(p,j) = bsrc[p brs + j bcs] */
  size_t brs, bcs;
  if (!transposed) {
    job.rows = m, job.cols = n;
    job.A = a, job.acol = tA, job.lda = tA ? m : k;
    bsrc = b, brs = tB ? 1 : n, bcs = tB ? k : 1;
    job.rsc = n, job.csc = 1;
  } else {
    job.rows = n, job.cols = m;
    job.A = b, job.acol = !tB, job.lda = tB ? k : n;
    bsrc = a, brs = tA ? m : 1, bcs = tA ? 1 : k;
    job.rsc = 1, job.csc = n;
  }
  job.tiles = (job.rows + SG_MR - 1) / SG_MR;
  job.panels = (job.cols + SG_NR - 1) / SG_NR;
  job.by_rows = job.tiles >= job.panels;
  job.kc = job.by_rows ? k : SG_KC;
  int parts = fp_pool_parts((double)m * n * k, SG_GRAIN);
  const size_t units = job.by_rows ? job.tiles : job.panels;
  if ((size_t)parts > units) parts = (int)units;
  if (parts > SG_MAX_PARTS) parts = SG_MAX_PARTS;
  job.parts = parts;

  /* one allocation, each piece in whole cache lines: packed B, packed A, per-part scratch */
  const size_t bfloats = bcs != 1 ? job.panels * k * SG_NR : job.cols % SG_NR ? k * SG_NR : 0;
  const size_t afloats = job.acol && !job.by_rows ? job.tiles * k * SG_MR : 0;
  if (job.by_rows)
    job.scratch_floats = job.acol ? k * SG_MR : 0;
  else
    job.scratch_floats = k > job.kc ? SG_CHUNK * job.tiles * SG_MR * SG_NR : 0;
  job.scratch_floats = (job.scratch_floats + 15) & ~(size_t)15;
  const size_t aoff = (bfloats + 15) & ~(size_t)15, soff = aoff + ((afloats + 15) & ~(size_t)15);
  const size_t total = soff + (size_t)parts * job.scratch_floats;
  float *buf = NULL;
  if (total > 0) {
    buf = aligned_alloc(64, total * sizeof(float));
    if (!buf) return 0;
  }
  if (bcs != 1) {
    sg_pack_b(buf, bsrc, brs, bcs, k, job.cols, 0);
    job.Bpack = buf;
  } else {
    job.B = bsrc, job.ldb = brs;
    if (job.cols % SG_NR) {
      sg_pack_b(buf, bsrc, brs, 1, k, job.cols, (job.panels - 1) * SG_NR);
      job.Bedge = buf;
    }
  }
  if (afloats) {
    for (size_t t = 0; t < job.tiles; t++)
      sg_pack_a(buf + aoff + t * k * SG_MR, &job, t * SG_MR, sg_min(SG_MR, job.rows - t * SG_MR));
    job.Apack = buf + aoff;
  }
  if (job.scratch_floats) job.scratch = buf + soff;

  /* chunks of about 1/16 of a share; with few rows, at most SG_CHUNK panels */
  job.chunk = (units + 16 * (size_t)parts - 1) / (16 * (size_t)parts);
  if (!job.by_rows && job.chunk > SG_CHUNK) job.chunk = SG_CHUNK;
  for (int p = 0; p < parts; p++) {
    size_t lo, hi;
    fp_split(units, p, parts, &lo, &hi);
    atomic_init(&job.ranges[p].v, (uint64_t)lo | (uint64_t)hi << 32);
  }
  fp_pool_run(parts, sg_task, &job);
  free(buf);
  return 1;
}
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
#if SG_ENABLED
  pthread_once(&sg_once, sg_configure);
  int transposed;
  if (sg_plan((size_t)m, (size_t)n, (size_t)k, transA, transB, &transposed) &&
      sg_matmul(c, a, b, (size_t)m, (size_t)n, (size_t)k, transA, transB, alpha, beta, transposed))
    return;
#endif
  /* the rest on AVX-512 where the CPU has it (gemm-avx512.c), else BLAS; products with a side of 64 or less stay with BLAS */
  if (m > 64 && n > 64 && k > 64 &&
      fp_matmul_avx512(c, a, b, (size_t)m, (size_t)n, (size_t)k, transA, transB, alpha, beta))
    return;
  blas_matmul(c, a, b, m, n, k, transA, transB, alpha, beta);
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
