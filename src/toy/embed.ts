// The fixed random column-orthogonal embedding of the toy: P [D, 2] with P^T P = I, so x_D = P x_2 puts the
// 2-D data on a 2-D plane inside D dimensions and P^T x_D recovers it exactly.
import type { Rng } from '../jit/random';

export interface Embedding {
  dim: number; // D
  /** P [D, 2], row-major: P[i, j] = matrix[2 * i + j]. */
  matrix: Float32Array;
}

/** Gram-Schmidt on the two columns of a Gaussian D x 2 matrix (in float64, then stored as float32). */
export function randomEmbedding(dim: number, rng: Rng): Embedding {
  if (!Number.isInteger(dim) || dim < 2) throw new Error(`The embedding dimension must be a whole number of at least 2 (the data is 2-D), got ${dim}.`);
  const a = Float64Array.from({ length: dim }, () => rng.normal());
  const b = Float64Array.from({ length: dim }, () => rng.normal());
  const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, ui, i) => s + ui * v[i], 0);
  const scale = (u: Float64Array, s: number) => u.forEach((ui, i) => (u[i] = ui * s));
  scale(a, 1 / Math.sqrt(dot(a, a)));
  const along = dot(a, b);
  b.forEach((bi, i) => (b[i] = bi - along * a[i]));
  scale(b, 1 / Math.sqrt(dot(b, b)));
  const matrix = new Float32Array(2 * dim);
  for (let i = 0; i < dim; i++) {
    matrix[2 * i] = a[i];
    matrix[2 * i + 1] = b[i];
  }
  return { dim, matrix };
}

/** Points [n, 2] -> [n, D]: each row x becomes P x. */
export function embedPoints(points: Float32Array, e: Embedding): Float32Array {
  const n = points.length / 2;
  const out = new Float32Array(n * e.dim);
  for (let k = 0; k < n; k++) {
    const x = points[2 * k];
    const y = points[2 * k + 1];
    const row = k * e.dim;
    for (let i = 0; i < e.dim; i++) out[row + i] = e.matrix[2 * i] * x + e.matrix[2 * i + 1] * y;
  }
  return out;
}

/** Points [n, D] -> [n, 2]: each row z becomes P^T z (the inverse of `embedPoints` on the plane). */
export function projectPoints(points: Float32Array, e: Embedding): Float32Array {
  if (points.length % e.dim !== 0) throw new Error(`projectPoints got ${points.length} numbers, not a whole number of ${e.dim}-dimensional points.`);
  const n = points.length / e.dim;
  const out = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    let x = 0;
    let y = 0;
    const row = k * e.dim;
    for (let i = 0; i < e.dim; i++) {
      x += e.matrix[2 * i] * points[row + i];
      y += e.matrix[2 * i + 1] * points[row + i];
    }
    out[2 * k] = x;
    out[2 * k + 1] = y;
  }
  return out;
}
