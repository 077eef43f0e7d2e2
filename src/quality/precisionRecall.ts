// Improved precision and recall (Kynkäänniemi et al., 2019): each set's manifold is the union of balls around its
// feature vectors, each ball reaching that vector's k-th nearest neighbour within the set. Precision is the share of
// generated vectors inside the real manifold (are the samples realistic?); recall the share of real vectors inside
// the generated manifold (is the data's variety covered?).

/** The paper's neighbourhood size. */
export const PR_NEIGHBOURS = 3;

/** Squared Euclidean distances [n, m] between the rows of a [n, d] and b [m, d]. */
function squaredDistances(a: Float32Array, n: number, b: Float32Array, m: number, d: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ai = i * d;
    for (let j = 0; j < m; j++) {
      const bj = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const diff = a[ai + k] - b[bj + k];
        s += diff * diff;
      }
      out[i * m + j] = s;
    }
  }
  return out;
}

/** Squared radius of each row's ball: the distance to its k-th nearest other row. */
function kthNeighbourRadii(self: Float64Array, n: number, k: number): Float64Array {
  const radii = new Float64Array(n);
  const row = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let w = 0;
    for (let j = 0; j < n; j++) if (j !== i) row[w++] = self[i * n + j];
    radii[i] = row.sort()[k - 1];
  }
  return radii;
}

/** Share of `points` rows inside the manifold of `ref` rows. */
function coverage(points: Float32Array, p: number, ref: Float32Array, r: number, d: number, k: number): number {
  const radii = kthNeighbourRadii(squaredDistances(ref, r, ref, r, d), r, k);
  const cross = squaredDistances(points, p, ref, r, d);
  let inside = 0;
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < r; j++) {
      if (cross[i * r + j] <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / p;
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
}

/** real [n, d] and generated [m, d] row-major feature vectors. */
export function precisionRecall(real: Float32Array, n: number, generated: Float32Array, m: number, d: number, k = PR_NEIGHBOURS): PrecisionRecall {
  if (real.length !== n * d || generated.length !== m * d) throw new Error(`Expected ${n} x ${d} real and ${m} x ${d} generated feature values, got ${real.length} and ${generated.length}.`);
  if (!(Number.isInteger(k) && k >= 1 && k < Math.min(n, m))) throw new Error(`Precision and recall need more than k = ${k} vectors in each set, got ${n} real and ${m} generated.`);
  return { precision: coverage(generated, m, real, n, d, k), recall: coverage(real, n, generated, m, d, k) };
}
