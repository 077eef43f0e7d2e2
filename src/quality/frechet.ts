// The Fréchet distance between Gaussian fits of two feature sets (FID's formula, in the feature network's space):
//   FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2).
// The last trace equals tr((S1 S2)^1/2) without forming the non-symmetric product: S1^1/2 S2 S1^1/2 is symmetric
// positive semi-definite, so both square roots come from the project's symmetric eigensolver (no complex parts,
// no iteration to converge as scipy's sqrtm needs).
import { Matrix, covariance, columnMeans, matrix, multiply, symmetricEigen } from '../analysis/linalg';

export interface Gaussian {
  mean: Float64Array;
  /** [d, d], normalised by n - 1. */
  cov: Matrix;
}

/** Mean and covariance of the rows of `features` [n, d] (row-major). */
export function gaussianFit(features: ArrayLike<number>, n: number, d: number): Gaussian {
  if (n < 2) throw new Error(`A Gaussian fit needs at least 2 feature vectors, got ${n}.`);
  if (features.length !== n * d) throw new Error(`Expected ${n} x ${d} = ${n * d} feature values, got ${features.length}.`);
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i])) throw new Error('A feature is not a finite number (NaN or infinity): the images fed to the feature network hold NaN or infinity.');
  }
  const x = matrix(n, d, features);
  return { mean: columnMeans(x), cov: covariance(x) };
}

/** The symmetric square root of a symmetric positive semi-definite matrix (negative rounding noise clipped to 0). */
export function sqrtPsd(a: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(a);
  const n = a.rows;
  const out = matrix(n, n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    const v = vectors.data.subarray(k * n, k * n + n);
    for (let i = 0; i < n; i++) {
      const vi = s * v[i];
      for (let j = 0; j < n; j++) out.data[i * n + j] += vi * v[j];
    }
  }
  return out;
}

/** tr((S1^1/2 S2 S1^1/2)^1/2) = the sum of the square roots of that symmetric matrix's eigenvalues. */
function traceSqrtProduct(s1: Matrix, s2: Matrix): number {
  const r = sqrtPsd(s1);
  const m = multiply(multiply(r, s2), r);
  const n = m.rows;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const avg = 0.5 * (m.data[i * n + j] + m.data[j * n + i]); // remove the rounding asymmetry
      m.data[i * n + j] = avg;
      m.data[j * n + i] = avg;
    }
  }
  let t = 0;
  for (const v of symmetricEigen(m, 0).values) t += Math.sqrt(Math.max(v, 0));
  return t;
}

export function frechetDistance(a: Gaussian, b: Gaussian): number {
  const d = a.mean.length;
  if (b.mean.length !== d || a.cov.rows !== d || b.cov.rows !== d) throw new Error(`Both Gaussians need the same dimension, got ${d} and ${b.mean.length}.`);
  let meanTerm = 0;
  let traces = 0;
  for (let i = 0; i < d; i++) {
    meanTerm += (a.mean[i] - b.mean[i]) ** 2;
    traces += a.cov.data[i * d + i] + b.cov.data[i * d + i];
  }
  // Rounding can leave a tiny negative value for identical inputs.
  return Math.max(0, meanTerm + traces - 2 * traceSqrtProduct(a.cov, b.cov));
}
