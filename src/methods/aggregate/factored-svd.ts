/**
 * The best rank-r factors of M = B A from its factors alone: thin QR of
 * each side, then the SVD of the small core (ml-matrix, float64), never the
 * dense out x in matrix.
 */
import { Matrix, QrDecomposition, SingularValueDecomposition } from 'ml-matrix';
import type { LoraPair } from '../../layers/lora-branch.js';
import { fillUniform, type Rng } from '../../util/random.js';

/** Thin QR, X = Q R with Q (m, k) orthonormal columns and R (k, n), k = min(m, n). */
function thinQr(X: Matrix): { Q: Matrix; R: Matrix } {
  if (X.rows >= X.columns) {
    const qr = new QrDecomposition(X);
    return { Q: qr.orthogonalMatrix, R: qr.upperTriangularMatrix };
  }
  // more columns than rows: the identity is an orthonormal basis of the whole space
  return { Q: Matrix.eye(X.rows, X.rows), R: X };
}

/** The SVD of M = B A (B (out, K), A (K, in)) from the factors: M = left diag(1) right^T with left = Q_B U S. */
export interface FactoredSvd {
  /** singular values, descending, length k = min(rank bounds) */
  sigma: Float64Array;
  /** (out, k) row-major: Q_B U S */
  left: Float64Array;
  /** (in, k) row-major: Q_A V */
  right: Float64Array;
  k: number;
}

export function factoredSvd(pair: LoraPair, K: number): FactoredSvd {
  const inF = pair.A.length / K;
  const out = pair.B.length / K;
  const Bm = new Matrix(out, K);
  for (let o = 0; o < out; o++) for (let c = 0; c < K; c++) Bm.set(o, c, pair.B[o * K + c]!);
  const At = new Matrix(inF, K);
  for (let c = 0; c < K; c++) for (let i = 0; i < inF; i++) At.set(i, c, pair.A[c * inF + i]!);
  const qb = thinQr(Bm);
  const qa = thinQr(At);
  const core = qb.R.mmul(qa.R.transpose()); // (kB, kA)
  let U: Matrix;
  let V: Matrix;
  let s: number[];
  if (core.rows >= core.columns) {
    const svd = new SingularValueDecomposition(core);
    U = svd.leftSingularVectors;
    V = svd.rightSingularVectors;
    s = svd.diagonal;
  } else {
    // SVD of the transpose (ml-matrix wants rows >= columns): C^T = U' S V'^T, so C = V' S U'^T
    const svd = new SingularValueDecomposition(core.transpose());
    U = svd.rightSingularVectors;
    V = svd.leftSingularVectors;
    s = svd.diagonal;
  }
  const k = Math.min(core.rows, core.columns);
  const L = qb.Q.mmul(U.subMatrix(0, U.rows - 1, 0, k - 1));
  const Rt = qa.Q.mmul(V.subMatrix(0, V.rows - 1, 0, k - 1));
  const sigma = Float64Array.from(s.slice(0, k), (x) => Math.max(0, x));
  const left = new Float64Array(out * k);
  const right = new Float64Array(inF * k);
  for (let o = 0; o < out; o++) for (let c = 0; c < k; c++) left[o * k + c] = L.get(o, c) * sigma[c]!;
  for (let i = 0; i < inF; i++) for (let c = 0; c < k; c++) right[i * k + c] = Rt.get(i, c);
  return { sigma, left, right, k };
}

/** ||M - M_r||_F / ||M||_F from the singular values (0 when M = 0). */
export function truncationError(sigma: Float64Array, r: number): number {
  let all = 0;
  let tail = 0;
  sigma.forEach((x, c) => {
    all += x * x;
    if (c >= r) tail += x * x;
  });
  return all > 0 ? Math.sqrt(tail / all) : 0;
}

/**
 * Rank-r factors of a factored SVD: B = (Q_B U S)_r, A = (Q_A V)_r^T; modules
 * beyond the k available directions get B = 0 and a kaiming-uniform A from `rng`.
 */
export function truncatedFactors(f: FactoredSvd, r: number, out: number, inF: number, rng: Rng): LoraPair {
  const A = new Float32Array(r * inF);
  const B = new Float32Array(out * r);
  const m = Math.min(r, f.k);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < inF; i++) A[c * inF + i] = f.right[i * f.k + c]!;
    for (let o = 0; o < out; o++) B[o * r + c] = f.left[o * f.k + c]!;
  }
  if (m < r) fillUniform(A.subarray(m * inF), rng, 1 / Math.sqrt(inF));
  return { A, B };
}
