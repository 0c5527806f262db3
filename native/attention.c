/*
 * Causal grouped-query attention, scale 1/sqrt(D), forward and backward.
 *
 * Forward: every query row (b, h, t) is independent, so rows are split across
 * threads by the cost of their causal triangle. Backward: dk and dv rows of a
 * kv head collect from every query head of its group, so work is split by
 * (b, g) and no two threads ever write the same dk/dv row.
 *
 * Inner loops run over D (vectorised), four key rows at a time so each q
 * load feeds four products; the backward also takes query rows four at a
 * time. Softmax sums and the backward's sum(P dP) are kept in double.
 */
#include <math.h>
#include <stdlib.h>

#include "fp.h"
#include "pool.h"

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
    float mx = -__builtin_inff();
    FP_PRAGMA(omp simd reduction(max : mx))
    for (size_t s = 0; s < n; s++) mx = arow[s] > mx ? arow[s] : mx;
    double sum = 0;
    FP_SIMD_SUM(sum)
    for (size_t s = 0; s < n; s++) {
      const float e = fp_expf(arow[s] - mx);
      arow[s] = e;
      sum += e;
    }
    const float fsum = (float)sum;
    FP_SIMD
    for (size_t s = 0; s < n; s++) arow[s] = arow[s] / fsum;
    for (size_t s = n; s < T; s++) arow[s] = 0;

    for (size_t d = 0; d < D; d++) ot[d] = 0;
    weighted_rows(ot, arow, vg, kstride, n, D);
  }
}

void fp_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
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

int fp_attention_backward(float *dq, float *dk, float *dv, const float *dout,
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
