/*
 * Matrix multiply against a frozen bf16 weight (src/kernels/kernels.ts,
 * matmulBf16): c (m,n) = alpha bf16(a) (m,k) op(w) + beta c, where w holds
 * bfloat16 bits, stored (n,k) with transW (the forward y = x W^T of a
 * torch.nn.Linear weight W (out,in)) or (k,n) without (the input gradient
 * dx = dy W). a is rounded to bf16 (nearest even) and every product is
 * accumulated in fp32, as PyTorch's bf16 autocast does on the CPU.
 *
 * Where the CPU has AMX (and Linux grants it), TDPBF16PS multiplies whole
 * tiles, some six times fp32 FMA's rate on Sapphire Rapids (bf_amx_block).
 * Else, with AVX512-BF16, vdpbf16ps does 32 multiply-adds a lane pair per
 * instruction; on Sapphire Rapids it issues at half of fp32 FMA's rate, so
 * there it saves memory rather than time. The weight is packed per call
 * into panels of BF_NR columns whose k runs in pairs ((k/2) rows of BF_NR
 * 32-bit words, each two bf16 of one column): the packing costs n k, the
 * product m n k, so it is paid back many times over by the m rows of a
 * batch, and one stored layout serves both orientations. a is converted to
 * bf16 one block of BF_MC rows at a time, rows padded to an even k. A
 * register tile of BF_MR rows by BF_NR columns accumulates over a block of
 * BF_KC pairs (a panel's block, 32 KB, stays in L1 while the block's row
 * tiles go by) and is combined with c once per block.
 *
 * An int8 weight (matmulInt8) takes the same path: its values are integers
 * of at most 127 in magnitude, exact in bf16, so they are packed as bf16;
 * its scale, one per output channel (row of W), multiplies the columns of
 * the result in the forward and the columns of a, before rounding, in the
 * input gradient (where the output channels are what k sums over).
 *
 * Elsewhere the same numbers come from the platform sgemm: a rounded to bf16,
 * the weight widened to fp32 (exactly), one block of columns at a time.
 */
#define _GNU_SOURCE /* syscall(), for the AMX permission */
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

/* A frozen weight: bf16 bits, or int8 values with one scale per row of W (per output channel). */
typedef struct {
  const uint16_t *bf16;
  const int8_t *q;
  const float *scale;
} Frozen;

static inline uint16_t bf_of_int8(int8_t v) {
  return bf_round((float)v);
}

/* B(p, j) of the product as bf16 bits, the weight read in the call's orientation (int8 unscaled) */
static inline uint16_t bf_weight(const Frozen *w, size_t n, size_t k, int transW, size_t p, size_t j) {
  size_t at = transW ? j * k + p : p * n + j;
  return w->bf16 ? w->bf16[at] : bf_of_int8(w->q[at]);
}

/* the factor of a's column p before rounding: the int8 scale of output channel p in the input gradient */
static inline float bf_a_scale(const Frozen *w, int transW, size_t p) {
  return w->scale && !transW ? w->scale[p] : 1.0f;
}

/* ---- portable path: sgemm on bf16-rounded a and the widened weight ---- */

#define BF_FALLBACK_COLS 256

static void bf_matmul_blas(float *c, const float *a, const Frozen *w, size_t m, size_t n, size_t k, int transW,
                           float alpha, float beta) {
  /* the int8 forward scales the product's columns afterwards: sgemm into t, then combine */
  const int scale_cols = w->scale && transW;
  float *ar = malloc(m * k * sizeof(float));
  float *wb = malloc(k * BF_FALLBACK_COLS * sizeof(float));
  float *t = scale_cols ? malloc(m * BF_FALLBACK_COLS * sizeof(float)) : NULL;
  if (!ar || !wb || (scale_cols && !t)) abort();
  for (size_t i = 0; i < m; i++)
    for (size_t p = 0; p < k; p++) ar[i * k + p] = bf_widen(bf_round(a[i * k + p] * bf_a_scale(w, transW, p)));
  for (size_t j0 = 0; j0 < n; j0 += BF_FALLBACK_COLS) {
    size_t nc = n - j0 < BF_FALLBACK_COLS ? n - j0 : BF_FALLBACK_COLS;
    for (size_t p = 0; p < k; p++)
      for (size_t j = 0; j < nc; j++) wb[p * nc + j] = bf_widen(bf_weight(w, n, k, transW, p, j0 + j));
    if (!scale_cols) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)nc, (int)k, alpha, ar, (int)k, wb, (int)nc,
                  beta, c + j0, (int)n);
      continue;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)nc, (int)k, 1.0f, ar, (int)k, wb, (int)nc, 0.0f, t,
                (int)nc);
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < nc; j++) {
        float v = alpha * (t[i * nc + j] * w->scale[j0 + j]);
        float *cij = c + i * n + j0 + j;
        *cij = beta == 0.0f ? v : v + beta * *cij;
      }
  }
  free(ar);
  free(wb);
  free(t);
}

#if defined(__x86_64__) && (defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10 || defined(__clang__) && __clang_major__ >= 9)
#define BF_AVX512 1
#else
#define BF_AVX512 0
#endif

#if BF_AVX512
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BF_MR 8     /* rows of a register tile */
#define BF_NR 32    /* columns of a register tile: two vectors of 16 fp32 */
#define BF_KC 256   /* k pairs of a block: a panel's block is BF_NR * BF_KC * 4 bytes = 32 KB */
#define BF_MC 64    /* rows of a block of a converted to bf16 */
#define BF_GRAIN (1 << 21) /* multiply-adds per pool part */

#define BF_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

typedef struct {
  size_t m, n, k, kp; /* kp = pairs of k (k rounded up to even, halved) */
  const float *a;
  const Frozen *w;
  int transW;
  uint32_t *packed; /* panels of the weight: panel q at packed + q kp BF_NR */
  size_t panels;
  float *c;
  float alpha, beta;
  uint16_t *abuf; /* per part: BF_MC rows of 2 kp bf16 */
  int amx;         /* products on AMX tiles (kp then a multiple of BF_AMX_KP, rows of abuf zero past m) */
} BfJob;

/* Packs panels [q0, q1) of the weight: word (p, j) = B(2p, j) | B(2p+1, j) << 16, zero past k and n. */
static void bf_pack_panels(const BfJob *job, size_t q0, size_t q1) {
  const size_t n = job->n, k = job->k, kp = job->kp, pairs = (k + 1) / 2; /* kp may be padded past k's pairs */
  for (size_t q = q0; q < q1; q++) {
    uint32_t *dst = job->packed + q * kp * BF_NR;
    size_t j0 = q * BF_NR;
    size_t cols = n - j0 < BF_NR ? n - j0 : BF_NR;
    memset(dst, 0, kp * BF_NR * sizeof(uint32_t));
    if (job->transW) {
      /* each column is a row of w: read it along k */
      for (size_t j = 0; j < cols; j++)
        for (size_t p = 0; p < pairs; p++) {
          uint32_t lo = bf_weight(job->w, n, k, 1, 2 * p, j0 + j);
          uint32_t hi = 2 * p + 1 < k ? bf_weight(job->w, n, k, 1, 2 * p + 1, j0 + j) : 0u;
          dst[p * BF_NR + j] = lo | hi << 16;
        }
    } else {
      /* two rows of w side by side give a pair of every column */
      for (size_t p = 0; p < pairs; p++)
        for (size_t j = 0; j < cols; j++) {
          uint32_t lo = bf_weight(job->w, n, k, 0, 2 * p, j0 + j);
          uint32_t hi = 2 * p + 1 < k ? bf_weight(job->w, n, k, 0, 2 * p + 1, j0 + j) : 0u;
          dst[p * BF_NR + j] = lo | hi << 16;
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

/*
 * rows [i0, i0 + rows) of a into dst, bf16, each row 2 kp long, zero past k;
 * column p multiplied by colscale[p] first when given
 */
BF_TARGET static void bf_convert_rows(uint16_t *dst, const float *a, const float *colscale, size_t i0, size_t rows, size_t k,
                                      size_t kp) {
  for (size_t r = 0; r < rows; r++) {
    const float *src = a + (i0 + r) * k;
    uint16_t *out = dst + r * 2 * kp;
    size_t p = 0;
    for (; p + 32 <= k; p += 32) {
      __m512 lo = _mm512_loadu_ps(src + p), hi = _mm512_loadu_ps(src + p + 16);
      if (colscale) {
        lo = _mm512_mul_ps(lo, _mm512_loadu_ps(colscale + p));
        hi = _mm512_mul_ps(hi, _mm512_loadu_ps(colscale + p + 16));
      }
      _mm512_storeu_si512((void *)(out + p), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (; p < k; p++) out[p] = bf_round(colscale ? src[p] * colscale[p] : src[p]);
    for (; p < 2 * kp; p++) out[p] = 0;
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
  /* the int8 forward: each column's output channel scale, (acc s) alpha as the reference orders it */
  const float *colscale = job->w->scale && job->transW ? job->w->scale + j0 : NULL;
  __m512 cs[2] = {_mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f)};
  for (int h = 0; colscale && h < 2; h++) {
    size_t lo = (size_t)h * 16;
    if (lo < cols) cs[h] = _mm512_maskz_loadu_ps(cols - lo >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (cols - lo)) - 1), colscale + lo);
  }
  for (size_t r = 0; r < mr; r++) {
    float *crow = job->c + (i + r) * job->n + j0;
    for (int h = 0; h < 2; h++) {
      size_t lo = (size_t)h * 16;
      if (lo >= cols) break;
      __mmask16 mask = cols - lo >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (cols - lo)) - 1);
      __m512 v = _mm512_mul_ps(alpha, colscale ? _mm512_mul_ps(acc[r][h], cs[h]) : acc[r][h]);
      if (add) v = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(mask, crow + lo), v);
      _mm512_mask_storeu_ps(crow + lo, mask, v);
    }
  }
}

/*
 * AMX: TDPBF16PS multiplies a tile of 16 rows by 16 pairs of a (bf16) with a
 * tile of 16 pairs by 16 columns of the weight, laid out as the panels
 * already are (a pair of one column per 32-bit word), into 16 x 16 fp32.
 * Four accumulator tiles cover 32 rows by a panel's 32 columns; k runs whole
 * (zero-padded to BF_AMX_KP pairs), then the tiles go through a buffer into
 * c as bf_tile combines its registers.
 */
#define BF_AMX_KP 16 /* pairs of k per tile step */
#define BF_AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} BfTileConfig;

/* tiles 0-3 accumulate, 4-5 hold a's rows, 6-7 the panel's two halves: 16 rows of 64 bytes each */
static const BfTileConfig bf_tile_config = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

BF_AMX_TARGET static void bf_amx_configure(void) { _tile_loadconfig(&bf_tile_config); }

BF_AMX_TARGET static void bf_amx_release(void) { _tile_release(); }

/* c's rows [i, i + mr) and columns [j0, j0 + cols) from acc (32 x BF_NR fp32): alpha (acc colscale) + beta c */
BF_TARGET static void bf_amx_store(const BfJob *job, const float *acc, size_t i, size_t mr, size_t j0, size_t cols) {
  const __m512 alpha = _mm512_set1_ps(job->alpha), beta = _mm512_set1_ps(job->beta);
  const float *colscale = job->w->scale && job->transW ? job->w->scale + j0 : NULL;
  for (size_t r = 0; r < mr; r++) {
    float *crow = job->c + (i + r) * job->n + j0;
    for (size_t lo = 0; lo < cols; lo += 16) {
      __mmask16 mask = cols - lo >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (cols - lo)) - 1);
      __m512 v = _mm512_loadu_ps(acc + r * BF_NR + lo);
      if (colscale) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mask, colscale + lo));
      v = _mm512_mul_ps(alpha, v);
      if (job->beta != 0.0f) v = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mask, crow + lo), v);
      _mm512_mask_storeu_ps(crow + lo, mask, v);
    }
  }
}

/* rows [i0, i0 + rows) of the product; abuf holds them as bf16, zero up to a multiple of 32 rows */
BF_AMX_TARGET static void bf_amx_block(const BfJob *job, const uint16_t *abuf, size_t i0, size_t rows) {
  float acc[32 * BF_NR] __attribute__((aligned(64)));
  const size_t astride = 4 * job->kp; /* bytes of a row of abuf */
  for (size_t q = 0; q < job->panels; q++) {
    const uint32_t *panel = job->packed + q * job->kp * BF_NR;
    size_t j0 = q * BF_NR, cols = job->n - j0 < BF_NR ? job->n - j0 : BF_NR;
    for (size_t r = 0; r < rows; r += 32) {
      const uint16_t *a0 = abuf + r * 2 * job->kp, *a1 = a0 + 16 * 2 * job->kp;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (size_t p = 0; p < job->kp; p += BF_AMX_KP) {
        _tile_loadd(4, a0 + 2 * p, astride);
        _tile_loadd(5, a1 + 2 * p, astride);
        _tile_loadd(6, panel + p * BF_NR, BF_NR * 4);
        _tile_loadd(7, panel + p * BF_NR + 16, BF_NR * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, acc, BF_NR * 4);
      _tile_stored(1, acc + 16, BF_NR * 4);
      _tile_stored(2, acc + 16 * BF_NR, BF_NR * 4);
      _tile_stored(3, acc + 16 * BF_NR + 16, BF_NR * 4);
      size_t mr = rows - r < 32 ? rows - r : 32;
      bf_amx_store(job, acc, i0 + r, mr, j0, cols);
    }
  }
}

static void bf_compute_task(void *ctx, int part, int parts) {
  const BfJob *job = ctx;
  size_t blocks = (job->m + BF_MC - 1) / BF_MC, b0, b1;
  fp_split(blocks, part, parts, &b0, &b1);
  uint16_t *abuf = job->abuf + (size_t)part * BF_MC * 2 * job->kp;
  if (job->amx) bf_amx_configure(); /* tile configuration is per thread */
  for (size_t b = b0; b < b1; b++) {
    size_t i0 = b * BF_MC, rows = job->m - i0 < BF_MC ? job->m - i0 : BF_MC;
    bf_convert_rows(abuf, job->a, job->w->scale && !job->transW ? job->w->scale : NULL, i0, rows, job->k, job->kp);
    if (job->amx) {
      size_t padded = (rows + 31) / 32 * 32;
      memset(abuf + rows * 2 * job->kp, 0, (padded - rows) * 2 * job->kp * sizeof(uint16_t));
      bf_amx_block(job, abuf, i0, rows);
      continue;
    }
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
  if (job->amx) bf_amx_release();
}

/*
 * AMX with bf16 where the CPU has it and Linux grants this process the tile
 * data state (arch_prctl ARCH_REQ_XCOMP_PERM, since 5.16);
 * FEDPLORA_BF16_KERNEL=avx512bf16 or =portable turns it off.
 */
static int bf_has_amx(void) {
  static int cached = -1;
  if (cached < 0) {
    unsigned eax, ebx, ecx, edx;
    const int amx_bf16 = 1u << 22, amx_tile = 1u << 24;
    cached = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx & amx_bf16) && (edx & amx_tile) &&
             syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
    const char *force = getenv("FEDPLORA_BF16_KERNEL");
    if (force && (strcmp(force, "portable") == 0 || strcmp(force, "avx512bf16") == 0)) cached = 0;
  }
  return cached;
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

static int bf_matmul_avx512(float *c, const float *a, const Frozen *w, size_t m, size_t n, size_t k, int transW,
                            float alpha, float beta) {
  BfJob job = {.m = m, .n = n, .k = k, .kp = (k + 1) / 2, .a = a, .w = w, .transW = transW, .c = c, .alpha = alpha, .beta = beta};
  job.amx = bf_has_amx();
  if (job.amx) job.kp = (job.kp + BF_AMX_KP - 1) / BF_AMX_KP * BF_AMX_KP;
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
  if (bf_has_avx512bf16()) return bf_has_amx() ? "amx" : "avx512bf16";
#endif
  return "portable";
}

static void frozen_matmul(float *c, const float *a, const Frozen *w, int m, int n, int k, int transW, float alpha, float beta) {
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

void fp_matmul_bf16(float *c, const float *a, const uint16_t *w, int m, int n, int k, int transW, float alpha, float beta) {
  Frozen f = {.bf16 = w, .q = NULL, .scale = NULL};
  frozen_matmul(c, a, &f, m, n, k, transW, alpha, beta);
}

void fp_matmul_int8(float *c, const float *a, const int8_t *q, const float *scale, int m, int n, int k, int transW, float alpha,
                    float beta) {
  Frozen f = {.bf16 = NULL, .q = q, .scale = scale};
  frozen_matmul(c, a, &f, m, n, k, transW, alpha, beta);
}
