/*
 * Causal grouped-query attention, scale 1/sqrt(D), forward and backward.
 *
 * Two implementations with the same results up to float rounding:
 *
 * - Tiles through GEMM (T >= ATTN_GEMM_MIN_T_FORWARD / _BACKWARD): the
 *   products S = Q K^T, O = P V and, backward, dP = dO V^T, dQ += dS K,
 *   dK += dS^T Q, dV += P^T dO are products (gemm-avx512.c's on the calling
 *   thread where the CPU has AVX-512, else cblas_sgemm) on bs x bs tiles of the
 *   lower block triangle, reading the (B, T, H|G, D) tensors in place through
 *   leading dimensions H*D and G*D. The softmax and its backward run on the
 *   rows of a block between the products, while they are in cache. Tiles are
 *   small enough that OpenBLAS runs each on the calling thread, and the pool
 *   runs one stream of tasks per core.
 *
 * - Loops (short sequences): every query row on its own, vectorised over D.
 *
 * Exactness: a diagonal tile multiplies masked entries (P = 0 and dS = 0 for
 * s > t) by rows of the future. With finite inputs these add exactly zero, as
 * if skipped; but 0 * inf is NaN, and backward's `att` above the diagonal is
 * an input. So each diagonal tile is first checked (the rows it reads are
 * finite, att is zero above the diagonal) and done by loops over s <= t when
 * the check fails: every output matches the reference, which reads only
 * s <= t, for any input.
 */
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#include "fp.h"
#include "pool.h"

/*
 * ---- Loops ----
 * Forward: every query row (b, h, t) is independent, so rows are split across
 * threads by the cost of their causal triangle. Backward: dk and dv rows of a
 * kv head collect from every query head of its group, so work is split by
 * (b, g) and no two threads ever write the same dk/dv row.
 *
 * Inner loops run over D (vectorised), four key rows at a time so each q
 * load feeds four products; the backward also takes query rows four at a
 * time. Softmax sums and the backward's sum(P dP) are kept in double.
 */
typedef struct {
  float *out, *att, *dq, *dk, *dv;
  float *scratch; /* backward, per part: 4 rows of T, then dK and dV blocks of T*D */
  const float *q, *k, *v, *dout, *att_in;
  size_t B, T, H, G, D;
} AttnCtx;

/* r[j] = x . y_j for four rows y0..y3 */
static inline void dot4(const float *x, const float *y0, const float *y1, const float *y2,
                        const float *y3, size_t D, float r[4]) {
  float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  FP_PRAGMA(omp simd reduction(+ : a0, a1, a2, a3))
  for (size_t d = 0; d < D; d++) {
    const float xd = x[d];
    a0 += xd * y0[d];
    a1 += xd * y1[d];
    a2 += xd * y2[d];
    a3 += xd * y3[d];
  }
  r[0] = a0, r[1] = a1, r[2] = a2, r[3] = a3;
}

static inline float dot1(const float *x, const float *y, size_t D) {
  float a = 0;
  FP_SIMD_SUM(a)
  for (size_t d = 0; d < D; d++) a += x[d] * y[d];
  return a;
}

/*
 * acc[d] += sum over s < n of w[s] * rows[s * stride + d]: the weighted sum of
 * n rows of a (b, ., g, .) tensor, four rows per pass over acc.
 */
static inline void weighted_rows(float *acc, const float *w, const float *rows, size_t stride,
                                 size_t n, size_t D) {
  size_t s = 0;
  for (; s + 4 <= n; s += 4) {
    const float *r0 = rows + s * stride, *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
    const float w0 = w[s], w1 = w[s + 1], w2 = w[s + 2], w3 = w[s + 3];
    FP_SIMD
    for (size_t d = 0; d < D; d++) acc[d] += w0 * r0[d] + w1 * r1[d] + w2 * r2[d] + w3 * r3[d];
  }
  for (; s < n; s++) {
    const float *r0 = rows + s * stride;
    const float w0 = w[s];
    FP_SIMD
    for (size_t d = 0; d < D; d++) acc[d] += w0 * r0[d];
  }
}

/* out = scores[0..n) of one query row against n key rows */
static inline void scores(float *out, const float *qt, const float *k, size_t stride, size_t n,
                          size_t D, float scale) {
  size_t s = 0;
  float r[4];
  for (; s + 4 <= n; s += 4) {
    const float *k0 = k + s * stride;
    dot4(qt, k0, k0 + stride, k0 + 2 * stride, k0 + 3 * stride, D, r);
    out[s] = r[0] * scale, out[s + 1] = r[1] * scale, out[s + 2] = r[2] * scale, out[s + 3] = r[3] * scale;
  }
  for (; s < n; s++) out[s] = dot1(qt, k + s * stride, D) * scale;
}

/* Work of a query row t: its causal length plus a fixed per-row overhead. */
#define ROW_OVERHEAD 8
/* row[0..n) = softmax(row[0..n)), the sum in double; the loops and the tiles share it. */
static inline void softmax_prefix(float *row, size_t n) {
  float mx = -__builtin_inff();
  FP_PRAGMA(omp simd reduction(max : mx))
  for (size_t s = 0; s < n; s++) mx = row[s] > mx ? row[s] : mx;
  double sum = 0;
  FP_SIMD_SUM(sum)
  for (size_t s = 0; s < n; s++) {
    const float e = fp_expf(row[s] - mx);
    row[s] = e;
    sum += e;
  }
  const float fsum = (float)sum;
  FP_SIMD
  for (size_t s = 0; s < n; s++) row[s] = row[s] / fsum;
}

static double row_prefix_cost(size_t T, size_t r) {
  const double bh = (double)(r / T), t = (double)(r % T), T_ = (double)T;
  const double per_head = T_ * (T_ - 1) / 2 + ROW_OVERHEAD * T_;
  return bh * per_head + t * (t - 1) / 2 + ROW_OVERHEAD * t;
}

/* First flat row r whose prefix cost reaches `target` (rows in [0, R]). */
static size_t row_at_cost(size_t T, size_t R, double target) {
  size_t lo = 0, hi = R;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (row_prefix_cost(T, mid) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

FP_MV static void forward_part(void *p, int part, int parts) {
  const AttnCtx *x = p;
  const size_t B = x->B, T = x->T, H = x->H, G = x->G, D = x->D, R = B * H * T;
  const size_t group = H / G, qstride = H * D, kstride = G * D;
  const float scale = (float)(1.0 / sqrt((double)D));
  const double total = row_prefix_cost(T, R);
  const size_t r0 = part == 0 ? 0 : row_at_cost(T, R, total * part / parts);
  const size_t r1 = part == parts - 1 ? R : row_at_cost(T, R, total * (part + 1) / parts);

  for (size_t r = r0; r < r1; r++) {
    const size_t t = r % T, bh = r / T, b = bh / H, h = bh % H, g = h / group;
    const float *qt = x->q + (b * T + t) * qstride + h * D;
    const float *kg = x->k + b * T * kstride + g * D;
    const float *vg = x->v + b * T * kstride + g * D;
    float *arow = x->att + (bh * T + t) * T;
    float *ot = x->out + (b * T + t) * qstride + h * D;
    const size_t n = t + 1;

    scores(arow, qt, kg, kstride, n, D, scale);
    softmax_prefix(arow, n);
    for (size_t s = n; s < T; s++) arow[s] = 0;

    for (size_t d = 0; d < D; d++) ot[d] = 0;
    weighted_rows(ot, arow, vg, kstride, n, D);
  }
}

static void forward_loops(float *out, float *att, const float *q, const float *k, const float *v,
                          size_t B, size_t T, size_t H, size_t G, size_t D) {
  AttnCtx x = {.out = out, .att = att, .q = q, .k = k, .v = v, .B = B, .T = T, .H = H, .G = G, .D = D};
  const double work = (double)B * H * T * ((double)T * D + 16 * T);
  fp_pool_run(fp_pool_parts(work, FP_GRAIN_FLOPS), forward_part, &x);
}

/*
 * y[d] += sum over j < nb of c[j] * x_j[d] for nb in 1..4 rows x_j: one
 * read-modify-write of y for up to four contributions.
 */
static inline void axpy_rows(float *y, const float c[4], const float *const x[4], size_t nb, size_t D) {
  switch (nb) {
    case 4: {
      const float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
      const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
      FP_SIMD
      for (size_t d = 0; d < D; d++) y[d] += c0 * x0[d] + c1 * x1[d] + c2 * x2[d] + c3 * x3[d];
      break;
    }
    case 3: {
      const float c0 = c[0], c1 = c[1], c2 = c[2];
      const float *x0 = x[0], *x1 = x[1], *x2 = x[2];
      FP_SIMD
      for (size_t d = 0; d < D; d++) y[d] += c0 * x0[d] + c1 * x1[d] + c2 * x2[d];
      break;
    }
    case 2: {
      const float c0 = c[0], c1 = c[1];
      const float *x0 = x[0], *x1 = x[1];
      FP_SIMD
      for (size_t d = 0; d < D; d++) y[d] += c0 * x0[d] + c1 * x1[d];
      break;
    }
    case 1: {
      const float c0 = c[0];
      const float *x0 = x[0];
      FP_SIMD
      for (size_t d = 0; d < D; d++) y[d] += c0 * x0[d];
      break;
    }
    default:
      break;
  }
}

/*
 * Query rows are taken four at a time (t0..t0+3) so that each dk and dv row
 * is read and written once per block instead of once per query row. Row j of
 * the block only reaches keys s <= t0 + j, exactly as in the reference.
 * A kv group's dK and dV are summed in a contiguous private block and added
 * to dk and dv once at the end: writing the interleaved (T, G, D) rows
 * directly, two threads on neighbouring groups slowed each other by ~3x.
 */
FP_MV static void backward_part(void *p, int part, int parts) {
  const AttnCtx *x = p;
  const size_t B = x->B, T = x->T, H = x->H, G = x->G, D = x->D;
  const size_t group = H / G, qstride = H * D, kstride = G * D;
  const float scale = (float)(1.0 / sqrt((double)D));
  /* scratch of this part: 4 rows of dS, then private dK and dV blocks (T, D) */
  float *ds[4];
  float *mine = x->scratch + (size_t)part * (4 * T + 2 * T * D);
  for (int j = 0; j < 4; j++) ds[j] = mine + (size_t)j * T;
  float *dkp = mine + 4 * T, *dvp = dkp + T * D;
  size_t u0, u1;
  fp_split(B * G, part, parts, &u0, &u1);

  for (size_t u = u0; u < u1; u++) {
    const size_t b = u / G, g = u % G;
    const float *kg = x->k + b * T * kstride + g * D;
    const float *vg = x->v + b * T * kstride + g * D;
    float *dkg = x->dk + b * T * kstride + g * D;
    float *dvg = x->dv + b * T * kstride + g * D;
    memset(dkp, 0, T * D * sizeof(float));
    memset(dvp, 0, T * D * sizeof(float));
    for (size_t h = g * group; h < (g + 1) * group; h++) {
      for (size_t t0 = 0; t0 < T; t0 += 4) {
        const size_t nb = T - t0 < 4 ? T - t0 : 4;
        const float *qt[4], *dot_[4], *arow[4];
        for (size_t j = 0; j < nb; j++) {
          const size_t t = t0 + j, qo = (b * T + t) * qstride + h * D, n = t + 1;
          qt[j] = x->q + qo;
          dot_[j] = x->dout + qo;
          arow[j] = x->att_in + ((b * H + h) * T + t) * T;
          /* out = P V: dP = dout V^T */
          scores(ds[j], dot_[j], vg, kstride, n, D, 1.0f);
          double rowDot = 0;
          const float *a = arow[j];
          float *dsj = ds[j];
          FP_SIMD_SUM(rowDot)
          for (size_t s = 0; s < n; s++) rowDot += (double)dsj[s] * a[s];
          /* softmax backward: dS = P (dP - sum(P dP)), then through the scale */
          const float rd = (float)rowDot;
          FP_SIMD
          for (size_t s = 0; s < n; s++) dsj[s] = a[s] * (dsj[s] - rd) * scale;
          weighted_rows(x->dq + qo, dsj, kg, kstride, n, D);
        }
        /* dV += P^T dout and dK += dS^T q, keys s < t0 + nb */
        for (size_t s = 0; s < t0 + nb; s++) {
          const size_t first = s > t0 ? s - t0 : 0; /* rows of the block that reach key s */
          const size_t rows = nb - first;
          float cp[4], cd[4];
          const float *xo[4], *xq[4];
          for (size_t j = 0; j < rows; j++) {
            cp[j] = arow[first + j][s];
            cd[j] = ds[first + j][s];
            xo[j] = dot_[first + j];
            xq[j] = qt[first + j];
          }
          axpy_rows(dvp + s * D, cp, xo, rows, D);
          axpy_rows(dkp + s * D, cd, xq, rows, D);
        }
      }
    }
    for (size_t s = 0; s < T; s++) {
      float *dks = dkg + s * kstride, *dvs = dvg + s * kstride;
      const float *a = dkp + s * D, *c = dvp + s * D;
      FP_SIMD
      for (size_t d = 0; d < D; d++) {
        dks[d] += a[d];
        dvs[d] += c[d];
      }
    }
  }
}

/* -1 when out of memory for the scratch rows */
static int backward_loops(float *dq, float *dk, float *dv, const float *dout,
                          const float *q, const float *k, const float *v, const float *att,
                          size_t B, size_t T, size_t H, size_t G, size_t D) {
  AttnCtx x = {.dq = dq, .dk = dk, .dv = dv, .dout = dout, .q = q, .k = k, .v = v, .att_in = att,
               .B = B, .T = T, .H = H, .G = G, .D = D};
  const double work = (double)B * H * T * ((double)T * D * 2 + 16 * T);
  int parts = fp_pool_parts(work, FP_GRAIN_FLOPS);
  if ((size_t)parts > B * G) parts = (int)(B * G);
  if (parts < 1) parts = 1;
  x.scratch = malloc(((size_t)parts * (4 * T + 2 * T * D) + 1) * sizeof(float));
  if (!x.scratch) return -1;
  fp_pool_run(parts, backward_part, &x);
  free(x.scratch);
  return 0;
}

/*
 * ---- Tiles through BLAS ----
 * Measured on 2 cores (AVX2, OpenBLAS 0.3.21) at D = 64: one 64x64x64 sgemm
 * per core at once gives about 140 GFLOP/s in all; a single 256x256x64 sgemm
 * threaded by OpenBLAS about 90, no better than on one thread. Hence the
 * small tiles, run concurrently by the pool.
 */

/*
 * Sequences shorter than these take the loops (node dist/bench/kernels.js
 * --attention): about where the two cost the same. The backward's tiles of
 * D = 128 (40 x 40) gain less over the loops than those of D = 64.
 */
#define ATTN_GEMM_MIN_T_FORWARD 64
#define ATTN_GEMM_MIN_T_BACKWARD(D) ((D) <= 64 ? 112 : 192)
/*
 * OpenBLAS runs a gemm with M*N*K <= 65536 * GEMM_MULTITHREAD_THRESHOLD (4
 * unless built otherwise) on the calling thread; larger ones go to its own
 * threads, for which the pool's concurrent calls would then compete.
 * (Results do not depend on it; another BLAS may thread as it likes.)
 */
#define ATTN_TILE_MNK 262144.0
/* Backward scratch (dS of a chunk of (b, g) units), in floats: at most this, at least one unit. */
#define ATTN_SCRATCH_FLOATS ((size_t)1 << 22)

/* Rows per tile: bs * bs * D <= ATTN_TILE_MNK, a multiple of 8 in [8, 128], at most T. */
static size_t tile_rows(size_t T, size_t D) {
  size_t bs = (size_t)sqrt(ATTN_TILE_MNK / (double)D);
  if (bs > 128) bs = 128;
  bs &= ~(size_t)7;
  if (bs < 8) bs = 8;
  return bs < T ? bs : T;
}

/* Row-major C (M, N) = alpha op(A) op(B) + beta C with leading dimensions: on AVX-512 where the CPU has it, else BLAS. */
static void sgemm(int transA, int transB, size_t M, size_t N, size_t K, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc) {
  if (fp_gemm_avx512_strided(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)) return;
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/*
 * FEDPLORA_ATTENTION=loops or =tiles forces one implementation wherever it
 * can run (bench/kernels.ts compares them); unset, the choice is by T.
 */
static int forced_path(void) {
  static atomic_int mode = -1; /* 0 by T, 1 loops, 2 tiles */
  int m = atomic_load_explicit(&mode, memory_order_relaxed);
  if (m < 0) {
    const char *e = getenv("FEDPLORA_ATTENTION");
    m = e && strcmp(e, "loops") == 0 ? 1 : e && strcmp(e, "tiles") == 0 ? 2 : 0;
    atomic_store_explicit(&mode, m, memory_order_relaxed);
  }
  return m;
}

/* Whether the tiles apply: long enough rows, and every size and stride fits BLAS's int. */
static int use_gemm(size_t B, size_t T, size_t H, size_t D, size_t min_T) {
  const int forced = forced_path();
  if (forced == 1 || B == 0 || H == 0 || D == 0 || T == 0 || T > INT_MAX || H * D > INT_MAX) return 0;
  return forced == 2 || T >= min_T;
}

/*
 * 1 when the n rows x[i * stride + 0..D) are all finite: x * 0 is NaN exactly
 * for inf and NaN. Eight lanes are kept across rows (one horizontal sum).
 */
FP_MV static int rows_finite(const float *x, size_t stride, size_t n, size_t D) {
  float acc[8] = {0};
  const size_t D8 = D & ~(size_t)7;
  for (size_t i = 0; i < n; i++) {
    const float *r = x + i * stride;
    for (size_t d = 0; d < D8; d += 8) {
      FP_SIMD
      for (size_t l = 0; l < 8; l++) acc[l] += r[d + l] * 0.0f;
    }
    for (size_t d = D8; d < D; d++) acc[d - D8] += r[d] * 0.0f;
  }
  float all = 0;
  for (size_t l = 0; l < 8; l++) all += acc[l];
  return all == all;
}

/* 1 when the strict upper triangle of the n x n tile a (row stride lda) is all exactly zero. */
static int upper_zero(const float *a, size_t lda, size_t n) {
  int nz = 0;
  for (size_t t = 0; t + 1 < n; t++) {
    const float *r = a + t * lda;
    FP_PRAGMA(omp simd reduction(| : nz))
    for (size_t s = t + 1; s < n; s++) nz |= r[s] != 0.0f;
  }
  return !nz;
}

typedef struct {
  float *out, *att, *ds, *dq, *dk, *dv;
  const float *q, *k, *v, *dout, *att_in;
  size_t B, T, H, G, D, bs, nb; /* nb = blocks of bs rows */
  size_t u_begin, u_end;        /* backward: the (b, g) units of this chunk */
  size_t tasks;
  atomic_size_t next; /* tasks are taken in order, most expensive first */
} GemmCtx;

static int take(GemmCtx *x, size_t *task) {
  const size_t i = atomic_fetch_add_explicit(&x->next, 1, memory_order_relaxed);
  *task = i;
  return i < x->tasks;
}

/*
 * Forward task (b, h, row block i): S = scale Q K^T for keys up to the block
 * end, softmax of each row (zeros after t), then O = P V. The diagonal tile
 * of P V multiplies P = 0 by rows s > t of V; if one of those is not finite
 * that tile is done by the loops instead.
 */
FP_MV static void forward_tasks(void *p, int part, int parts) {
  GemmCtx *x = p;
  const size_t T = x->T, H = x->H, G = x->G, D = x->D, bs = x->bs, nb = x->nb;
  const size_t group = H / G, qs = H * D, ks = G * D, pairs = x->B * H;
  const float scale = (float)(1.0 / sqrt((double)D));
  size_t task;
  while (take(x, &task)) {
    const size_t i = nb - 1 - task / pairs, bh = task % pairs, b = bh / H, h = bh % H, g = h / group;
    const size_t i0 = i * bs, i1 = i0 + bs < T ? i0 + bs : T, m = i1 - i0;
    const float *qh = x->q + b * T * qs + h * D;
    const float *kg = x->k + b * T * ks + g * D, *vg = x->v + b * T * ks + g * D;
    float *ah = x->att + bh * T * T, *oh = x->out + b * T * qs + h * D;
    /* zero the block's rows in one pass (beyond i1 they stay zero) and accumulate: faster than beta = 0 */
    memset(ah + i0 * T, 0, m * T * sizeof(float));
    for (size_t j0 = 0; j0 < i1; j0 += bs) {
      const size_t n = i1 - j0 < bs ? i1 - j0 : bs;
      sgemm(0, 1, m, n, D, scale, qh + i0 * qs, qs, kg + j0 * ks, ks, 1.0f, ah + i0 * T + j0, T);
    }
    for (size_t t = i0; t < i1; t++) {
      float *arow = ah + t * T;
      const size_t n = t + 1;
      softmax_prefix(arow, n);
      memset(arow + n, 0, (i1 - n) * sizeof(float));
    }
    float beta = 0.0f;
    for (size_t j0 = 0; j0 < i0; j0 += bs, beta = 1.0f) {
      sgemm(0, 0, m, D, bs, 1.0f, ah + i0 * T + j0, T, vg + j0 * ks, ks, beta, oh + i0 * qs, qs);
    }
    if (rows_finite(vg + i0 * ks, ks, m, D)) {
      sgemm(0, 0, m, D, m, 1.0f, ah + i0 * T + i0, T, vg + i0 * ks, ks, beta, oh + i0 * qs, qs);
    } else {
      for (size_t t = i0; t < i1; t++) {
        float *ot = oh + t * qs;
        if (beta == 0.0f) memset(ot, 0, D * sizeof(float));
        weighted_rows(ot, ah + t * T + i0, vg + i0 * ks, ks, t - i0 + 1, D);
      }
    }
  }
}

void fp_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                          size_t B, size_t T, size_t H, size_t G, size_t D) {
  if (!use_gemm(B, T, H, D, ATTN_GEMM_MIN_T_FORWARD)) {
    forward_loops(out, att, q, k, v, B, T, H, G, D);
    return;
  }
  const size_t bs = tile_rows(T, D), nb = (T + bs - 1) / bs;
  GemmCtx x = {.out = out, .att = att, .q = q, .k = k, .v = v, .B = B, .T = T, .H = H, .G = G,
               .D = D, .bs = bs, .nb = nb, .tasks = B * H * nb};
  atomic_init(&x.next, 0);
  const double work = (double)B * H * T * ((double)T * D + 16 * T);
  fp_pool_run(fp_pool_parts(work, FP_GRAIN_FLOPS), forward_tasks, &x);
}

/*
 * Backward, phase A, task (pair of the chunk, row block i): dP = dO V^T for
 * keys up to the block end, dS = P (dP - sum(P dP)) scale (zeros after t,
 * kept in the chunk's scratch for phase B), then dQ += dS K.
 */
FP_MV static void backward_rows_tasks(void *p, int part, int parts) {
  GemmCtx *x = p;
  const size_t T = x->T, H = x->H, G = x->G, D = x->D, bs = x->bs, nb = x->nb;
  const size_t group = H / G, qs = H * D, ks = G * D, pairs = (x->u_end - x->u_begin) * group;
  const float scale = (float)(1.0 / sqrt((double)D));
  size_t task;
  while (take(x, &task)) {
    const size_t i = nb - 1 - task / pairs, pr = task % pairs;
    const size_t u = x->u_begin + pr / group, b = u / G, g = u % G, h = g * group + pr % group;
    const size_t i0 = i * bs, i1 = i0 + bs < T ? i0 + bs : T, m = i1 - i0;
    const float *doh = x->dout + b * T * qs + h * D, *ah = x->att_in + (b * H + h) * T * T;
    const float *kg = x->k + b * T * ks + g * D, *vg = x->v + b * T * ks + g * D;
    float *dsp = x->ds + pr * T * T, *dqh = x->dq + b * T * qs + h * D;
    for (size_t j0 = 0; j0 < i1; j0 += bs) {
      const size_t n = i1 - j0 < bs ? i1 - j0 : bs;
      sgemm(0, 1, m, n, D, 1.0f, doh + i0 * qs, qs, vg + j0 * ks, ks, 0.0f, dsp + i0 * T + j0, T);
    }
    for (size_t t = i0; t < i1; t++) {
      const float *a = ah + t * T;
      float *dsr = dsp + t * T;
      const size_t n = t + 1;
      double rowDot = 0;
      FP_SIMD_SUM(rowDot)
      for (size_t s = 0; s < n; s++) rowDot += (double)dsr[s] * a[s];
      const float rd = (float)rowDot;
      FP_SIMD
      for (size_t s = 0; s < n; s++) dsr[s] = a[s] * (dsr[s] - rd) * scale;
      memset(dsr + n, 0, (i1 - n) * sizeof(float));
    }
    for (size_t j0 = 0; j0 < i0; j0 += bs) {
      sgemm(0, 0, m, D, bs, 1.0f, dsp + i0 * T + j0, T, kg + j0 * ks, ks, 1.0f, dqh + i0 * qs, qs);
    }
    if (rows_finite(kg + i0 * ks, ks, m, D)) {
      sgemm(0, 0, m, D, m, 1.0f, dsp + i0 * T + i0, T, kg + i0 * ks, ks, 1.0f, dqh + i0 * qs, qs);
    } else {
      for (size_t t = i0; t < i1; t++) {
        weighted_rows(dqh + t * qs, dsp + t * T + i0, kg + i0 * ks, ks, t - i0 + 1, D);
      }
    }
  }
}

/* acc[s] += sum over t in [s, n) of w[t * ldw + s] * rows[t]: the diagonal tile of X^T Y by loops. */
static void lower_tile_t(float *acc, size_t ldacc, const float *w, size_t ldw, const float *rows,
                         size_t ldrows, size_t n, size_t D) {
  for (size_t t = 0; t < n; t++) {
    const float *r = rows + t * ldrows;
    for (size_t s = 0; s <= t; s++) {
      const float c = w[t * ldw + s];
      float *y = acc + s * ldacc;
      FP_SIMD
      for (size_t d = 0; d < D; d++) y[d] += c * r[d];
    }
  }
}

/*
 * Backward, phase B, task ((b, g) unit, key block j): dK[j] += dS^T Q and
 * dV[j] += P^T dO over the query blocks i >= j of every head of the group.
 * Each task owns its rows of dk and dv. The diagonal tile multiplies dS = 0
 * and P = 0 (t < s) by rows of q and dout, and reads att above the diagonal:
 * unless those are finite and zero, it is done by the loops.
 */
FP_MV static void backward_keys_tasks(void *p, int part, int parts) {
  GemmCtx *x = p;
  const size_t T = x->T, H = x->H, G = x->G, D = x->D, bs = x->bs;
  const size_t group = H / G, qs = H * D, ks = G * D, units = x->u_end - x->u_begin;
  size_t task;
  while (take(x, &task)) {
    const size_t jb = task / units, uc = task % units, u = x->u_begin + uc, b = u / G, g = u % G;
    const size_t j0 = jb * bs, j1 = j0 + bs < T ? j0 + bs : T, n = j1 - j0;
    float *dkg = x->dk + b * T * ks + g * D + j0 * ks, *dvg = x->dv + b * T * ks + g * D + j0 * ks;
    for (size_t jh = 0; jh < group; jh++) {
      const size_t h = g * group + jh;
      const float *qh = x->q + b * T * qs + h * D, *doh = x->dout + b * T * qs + h * D;
      const float *ah = x->att_in + (b * H + h) * T * T, *dsp = x->ds + (uc * group + jh) * T * T;
      if (rows_finite(qh + j0 * qs, qs, n, D)) {
        sgemm(1, 0, n, D, n, 1.0f, dsp + j0 * T + j0, T, qh + j0 * qs, qs, 1.0f, dkg, ks);
      } else {
        lower_tile_t(dkg, ks, dsp + j0 * T + j0, T, qh + j0 * qs, qs, n, D);
      }
      if (rows_finite(doh + j0 * qs, qs, n, D) && upper_zero(ah + j0 * T + j0, T, n)) {
        sgemm(1, 0, n, D, n, 1.0f, ah + j0 * T + j0, T, doh + j0 * qs, qs, 1.0f, dvg, ks);
      } else {
        lower_tile_t(dvg, ks, ah + j0 * T + j0, T, doh + j0 * qs, qs, n, D);
      }
      for (size_t i0 = j1; i0 < T; i0 += bs) {
        const size_t m = T - i0 < bs ? T - i0 : bs;
        sgemm(1, 0, n, D, m, 1.0f, dsp + i0 * T + j0, T, qh + i0 * qs, qs, 1.0f, dkg, ks);
        sgemm(1, 0, n, D, m, 1.0f, ah + i0 * T + j0, T, doh + i0 * qs, qs, 1.0f, dvg, ks);
      }
    }
  }
}

int fp_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                          const float *q, const float *k, const float *v, const float *att,
                          size_t B, size_t T, size_t H, size_t G, size_t D) {
  if (!use_gemm(B, T, H, D, ATTN_GEMM_MIN_T_BACKWARD(D))) {
    return backward_loops(dq, dk, dv, dout, q, k, v, att, B, T, H, G, D);
  }
  const size_t group = H / G, U = B * G, bs = tile_rows(T, D), nb = (T + bs - 1) / bs;
  const size_t unit_floats = group * T * T;
  size_t chunk = ATTN_SCRATCH_FLOATS / unit_floats;
  if (chunk < 1) chunk = 1;
  if (chunk > U) chunk = U;
  float *ds = malloc(chunk * unit_floats * sizeof(float));
  if (!ds) return -1;
  for (size_t u0 = 0; u0 < U; u0 += chunk) {
    const size_t u1 = u0 + chunk < U ? u0 + chunk : U;
    GemmCtx x = {.ds = ds, .dq = dq, .dk = dk, .dv = dv, .q = q, .k = k, .v = v, .dout = dout,
                 .att_in = att, .B = B, .T = T, .H = H, .G = G, .D = D, .bs = bs, .nb = nb,
                 .u_begin = u0, .u_end = u1};
    const double work = (double)(u1 - u0) * group * T * ((double)T * D + 16 * T);
    const int parts = fp_pool_parts(work, FP_GRAIN_FLOPS);
    x.tasks = (u1 - u0) * group * nb;
    atomic_init(&x.next, 0);
    fp_pool_run(parts, backward_rows_tasks, &x);
    x.tasks = (u1 - u0) * nb;
    atomic_init(&x.next, 0);
    fp_pool_run(parts, backward_keys_tasks, &x);
  }
  free(ds);
  return 0;
}
