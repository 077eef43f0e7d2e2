// Small dense linear algebra in float64 for the analysis views: centring, Gram and covariance matrices, the
// symmetric eigendecomposition (Householder tridiagonalisation + implicit QL, after the public-domain JAMA code),
// singular values, PCA and the entropy-based effective rank. Sizes are at most a few thousand, so plain loops
// over row-major Float64Arrays suffice; every hot loop walks memory contiguously.

/** A dense row-major matrix: element (r, c) is data[r * cols + c]. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: number, cols: number, values?: ArrayLike<number>): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw new Error(`A matrix needs whole-number dimensions, got ${rows} x ${cols}.`);
  if (values && values.length !== rows * cols) throw new Error(`A ${rows} x ${cols} matrix needs ${rows * cols} values, got ${values.length}.`);
  const data = new Float64Array(rows * cols);
  if (values) data.set(values);
  return { rows, cols, data };
}

export function transpose(a: Matrix): Matrix {
  const t = matrix(a.cols, a.rows);
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < a.cols; c++) t.data[c * a.rows + r] = a.data[r * a.cols + c];
  return t;
}

/** a [m, k] @ b [k, n] -> [m, n]. */
export function multiply(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`Cannot multiply a ${a.rows} x ${a.cols} matrix by a ${b.rows} x ${b.cols} one.`);
  const out = matrix(a.rows, b.cols);
  const n = b.cols;
  for (let i = 0; i < a.rows; i++) {
    const row = i * n;
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k];
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) out.data[row + j] += aik * b.data[bk + j];
    }
  }
  return out;
}

/** Column means [cols]. */
export function columnMeans(a: Matrix): Float64Array {
  const mean = new Float64Array(a.cols);
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < a.cols; c++) mean[c] += a.data[r * a.cols + c];
  for (let c = 0; c < a.cols; c++) mean[c] /= a.rows;
  return mean;
}

/** The rows minus their mean: the data PCA and regressions work on. */
export function centerColumns(a: Matrix): { centered: Matrix; mean: Float64Array } {
  const mean = columnMeans(a);
  const centered = matrix(a.rows, a.cols);
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < a.cols; c++) centered.data[r * a.cols + c] = a.data[r * a.cols + c] - mean[c];
  return { centered, mean };
}

/** a^T a [cols, cols]. */
export function gramOfColumns(a: Matrix): Matrix {
  const n = a.cols;
  const g = matrix(n, n);
  for (let r = 0; r < a.rows; r++) {
    const row = r * n;
    for (let i = 0; i < n; i++) {
      const x = a.data[row + i];
      if (x === 0) continue;
      const gi = i * n;
      for (let j = i; j < n; j++) g.data[gi + j] += x * a.data[row + j];
    }
  }
  mirrorUpper(g);
  return g;
}

/** a a^T [rows, rows]. */
export function gramOfRows(a: Matrix): Matrix {
  const m = a.rows;
  const n = a.cols;
  const g = matrix(m, m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a.data[i * n + k] * a.data[j * n + k];
      g.data[i * m + j] = s;
    }
  }
  mirrorUpper(g);
  return g;
}

function mirrorUpper(g: Matrix): void {
  const n = g.rows;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g.data[i * n + j] = g.data[j * n + i];
}

/** Sample covariance of the rows [cols, cols], normalised by rows - 1. */
export function covariance(a: Matrix): Matrix {
  if (a.rows < 2) throw new Error(`A covariance needs at least 2 rows of data, got ${a.rows}.`);
  const g = gramOfColumns(centerColumns(a).centered);
  for (let i = 0; i < g.data.length; i++) g.data[i] /= a.rows - 1;
  return g;
}

export interface SymmetricEigen {
  /** Eigenvalues, descending [n]. */
  values: Float64Array;
  /** Row k is the unit eigenvector of values[k], for the leading k < vectorCount [vectorCount, n]. */
  vectors: Matrix;
}

const EPS = 2 ** -52;

function checkSymmetric(a: Matrix): void {
  if (a.rows !== a.cols || a.rows === 0) throw new Error(`An eigendecomposition needs a non-empty square matrix, got ${a.rows} x ${a.cols}.`);
  const n = a.rows;
  let scale = 0;
  for (const v of a.data) {
    if (!Number.isFinite(v)) throw new Error('The matrix has a non-finite entry (NaN or infinity); its eigenvalues are undefined.');
    scale = Math.max(scale, Math.abs(v));
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (Math.abs(a.data[i * n + j] - a.data[j * n + i]) > 1e-9 * scale) throw new Error(`The matrix is not symmetric (entries (${i}, ${j}) and (${j}, ${i}) differ).`);
    }
  }
}

/** sqrt(a^2 + b^2) without overflow; Math.hypot is several times slower in V8. */
function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  if (x > y) {
    const r = y / x;
    return x * Math.sqrt(1 + r * r);
  }
  if (y === 0) return 0;
  const r = x / y;
  return y * Math.sqrt(1 + r * r);
}

/**
 * Eigenvalues (all) and the eigenvectors of the `vectorCount` largest of a symmetric matrix: Householder
 * reduction to tridiagonal form, then the implicit QL algorithm with shifts (JAMA's tred2 and tql2).
 * All vectors cost O(n^3) with a large constant (a 768 x 768 matrix: a few seconds). For a few vectors, QL runs
 * without updating the n x n basis and logs its plane rotations instead; each wanted vector is then the log
 * replayed on a unit vector, which skips the costliest part. vectorCount 0 also skips forming the basis.
 */
export function symmetricEigen(a: Matrix, vectorCount = a.rows): SymmetricEigen {
  checkSymmetric(a);
  const n = a.rows;
  if (!Number.isInteger(vectorCount) || vectorCount < 0 || vectorCount > n) throw new Error(`Between 0 and ${n} eigenvectors can be computed, not ${vectorCount}.`);
  // w holds V transposed (V[r][c] = w[c * n + r]); the input is symmetric, so a copy of it is also V^T.
  // Every inner loop of JAMA's tred2/tql2 runs down a column of V, which is a contiguous row of w.
  const w = Float64Array.from(a.data);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(w, d, e, n, vectorCount > 0);
  const allVectors = vectorCount > n / 4; // past this, updating the basis in QL is cheaper than replaying the log
  const log = vectorCount > 0 && !allVectors ? new RotationLog() : undefined;
  diagonalizeTridiagonal(allVectors ? w : undefined, log, d, e, n);
  const order = [...d.keys()].sort((i, j) => d[j] - d[i]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = matrix(vectorCount, n);
  for (let k = 0; k < vectorCount; k++) {
    const src = order[k];
    if (allVectors) vectors.data.set(w.subarray(src * n, src * n + n), k * n);
    else vectors.data.set(log!.vector(w, src, n), k * n);
  }
  return { values, vectors };
}

/** The plane rotations G_1, G_2, ... that QL applies to the basis (V <- V G), in order. */
class RotationLog {
  private index = new Int32Array(1024);
  private cs = new Float64Array(2048);
  private size = 0;

  push(i: number, c: number, s: number): void {
    if (this.size === this.index.length) {
      const index = new Int32Array(this.size * 2);
      index.set(this.index);
      const cs = new Float64Array(this.size * 4);
      cs.set(this.cs);
      this.index = index;
      this.cs = cs;
    }
    this.index[this.size] = i;
    this.cs[2 * this.size] = c;
    this.cs[2 * this.size + 1] = s;
    this.size++;
  }

  /** Column j of Q G_1 G_2 ... G_m, with Q^T in w: y = G_1 (G_2 (... (G_m e_j))), then Q y. */
  vector(w: Float64Array, j: number, n: number): Float64Array {
    const y = new Float64Array(n);
    y[j] = 1;
    for (let r = this.size - 1; r >= 0; r--) {
      const i = this.index[r];
      const c = this.cs[2 * r];
      const s = this.cs[2 * r + 1];
      const a = y[i];
      const b = y[i + 1];
      y[i] = c * a + s * b;
      y[i + 1] = c * b - s * a;
    }
    const v = new Float64Array(n);
    for (let m = 0; m < n; m++) {
      const ym = y[m];
      if (ym === 0) continue;
      const row = m * n;
      for (let k = 0; k < n; k++) v[k] += ym * w[row + k];
    }
    return v;
  }
}

/**
 * JAMA tred2: Householder tridiagonalisation; leaves the diagonal in d, the off-diagonal in e and, when asked
 * to accumulate, the orthogonal transform Q (as Q^T) in w.
 */
function tridiagonalize(w: Float64Array, d: Float64Array, e: Float64Array, n: number, accumulate: boolean): void {
  for (let j = 0; j < n; j++) d[j] = w[j * n + n - 1];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + i - 1];
        w[j * n + i] = 0;
        w[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        w[i * n + j] = f;
        const rj = j * n;
        g = e[j] + w[rj + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += w[rj + k] * d[k];
          e[k] += w[rj + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        const rj = j * n;
        for (let k = j; k <= i - 1; k++) w[rj + k] -= f * e[k] + g * d[k];
        d[j] = w[rj + i - 1];
        w[rj + i] = 0;
      }
    }
    d[i] = h;
  }
  e[0] = 0;
  if (!accumulate) {
    // The reduction leaves the tridiagonal's diagonal on the diagonal of w (the last entry is never touched).
    for (let j = 0; j < n; j++) d[j] = w[j * n + j];
    return;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    w[i * n + n - 1] = w[i * n + i];
    w[i * n + i] = 1;
    const h = d[i + 1];
    const next = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = w[next + k] / h;
      for (let j = 0; j <= i; j++) {
        const rj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += w[next + k] * w[rj + k];
        for (let k = 0; k <= i; k++) w[rj + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) w[next + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = w[j * n + n - 1];
    w[j * n + n - 1] = 0;
  }
  w[(n - 1) * n + n - 1] = 1;
}

/**
 * JAMA tql2: implicit QL on the tridiagonal matrix; eigenvalues into d. Each plane rotation updates the basis
 * (eigenvectors into the rows of w) when w is given, and is logged when a log is given.
 */
function diagonalizeTridiagonal(w: Float64Array | undefined, log: RotationLog | undefined, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > EPS * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        // Converges in 1-3 iterations per eigenvalue in practice; the cap only guards against a runaway loop.
        if (++iter > 100) throw new Error('The eigenvalue iteration did not converge; the matrix is badly scaled.');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (w) {
            const ri = i * n;
            const rn = ri + n;
            for (let k = 0; k < n; k++) {
              h = w[rn + k];
              w[rn + k] = s * w[ri + k] + c * h;
              w[ri + k] = c * w[ri + k] - s * h;
            }
          }
          log?.push(i, c, s);
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > EPS * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/** Singular values of a [m, n], descending [min(m, n)]: square roots of the eigenvalues of the smaller Gram matrix. */
export function singularValues(a: Matrix): Float64Array {
  if (a.rows === 0 || a.cols === 0) throw new Error(`Singular values need a non-empty matrix, got ${a.rows} x ${a.cols}.`);
  const g = a.rows <= a.cols ? gramOfRows(a) : gramOfColumns(a);
  // Squaring limits the relative accuracy of singular values below ~1e-8 of the largest: ample for plots.
  return symmetricEigen(g, 0).values.map((v) => Math.sqrt(Math.max(v, 0)));
}

export interface Pca {
  /** Mean of the rows [cols]. */
  mean: Float64Array;
  /** Principal directions as orthonormal rows [k, cols], by descending variance; each signed so that its largest entry is positive. */
  components: Matrix;
  /** Variance of the data along each component [k]. */
  variances: Float64Array;
  /** Every covariance eigenvalue computed, descending, clamped at 0 [min(rows, cols)]; the nonzero ones number at most rows - 1. */
  spectrum: Float64Array;
  /** Trace of the covariance: the sum of all its eigenvalues, computed directly from the data. */
  totalVariance: number;
  /** variances / totalVariance [k]. */
  explainedRatio: Float64Array;
}

/**
 * PCA of the rows of x [rows, cols] (covariance normalised by rows - 1), keeping up to k components. With fewer
 * rows than columns it diagonalises the rows x rows Gram matrix of the centred data and maps its eigenvectors back
 * (v = X^T u / sqrt(lambda)), which has the same nonzero eigenvalues. Directions with (numerically) zero variance
 * are not returned, so `components.rows` can be less than k.
 */
export function pca(x: Matrix, k = Math.min(x.rows, x.cols)): Pca {
  if (x.rows < 2) throw new Error(`PCA needs at least 2 data rows, got ${x.rows}.`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`PCA needs a positive whole number of components, got ${k}.`);
  const { centered, mean } = centerColumns(x);
  const n = x.rows;
  const dim = x.cols;
  let totalVariance = 0;
  for (const v of centered.data) totalVariance += v * v;
  totalVariance /= n - 1;

  let spectrum: Float64Array;
  let directions: Float64Array[];
  if (n <= dim) {
    const eig = symmetricEigen(gramOfRows(centered), Math.min(k, n));
    spectrum = eig.values.map((v) => Math.max(v, 0) / (n - 1));
    const tol = Math.max(n, dim) * EPS * Math.max(eig.values[0], 0);
    directions = [];
    for (let c = 0; c < Math.min(k, n) && eig.values[c] > tol; c++) {
      const u = eig.vectors.data.subarray(c * n, c * n + n);
      const v = new Float64Array(dim);
      for (let r = 0; r < n; r++) {
        const ur = u[r];
        const row = r * dim;
        for (let j = 0; j < dim; j++) v[j] += ur * centered.data[row + j];
      }
      const norm = Math.sqrt(eig.values[c]);
      for (let j = 0; j < dim; j++) v[j] /= norm;
      directions.push(v);
    }
  } else {
    const eig = symmetricEigen(gramOfColumns(centered), Math.min(k, dim));
    spectrum = eig.values.map((v) => Math.max(v, 0) / (n - 1));
    const tol = dim * EPS * Math.max(eig.values[0], 0);
    directions = [];
    for (let c = 0; c < Math.min(k, dim) && eig.values[c] > tol; c++) directions.push(eig.vectors.data.slice(c * dim, c * dim + dim));
  }
  // A fixed sign per direction, so the same data always draws the same picture (eigenvectors are defined up to sign).
  for (const v of directions) {
    let big = 0;
    for (let j = 1; j < v.length; j++) if (Math.abs(v[j]) > Math.abs(v[big])) big = j;
    if (v[big] < 0) for (let j = 0; j < v.length; j++) v[j] = -v[j];
  }
  const components = matrix(directions.length, dim);
  directions.forEach((v, i) => components.data.set(v, i * dim));
  const variances = spectrum.slice(0, directions.length);
  return { mean, components, variances, spectrum, totalVariance, explainedRatio: variances.map((v) => (totalVariance > 0 ? v / totalVariance : 0)) };
}

/** Scores of the rows of x on the first k components [rows, k]: (x - mean) V_k^T. */
export function pcaProject(x: Matrix, p: Pca, k = p.components.rows): Matrix {
  if (x.cols !== p.mean.length) throw new Error(`Data with ${x.cols} columns cannot be projected on components of ${p.mean.length} dimensions.`);
  if (k > p.components.rows) throw new Error(`Only ${p.components.rows} principal components exist, ${k} were asked for.`);
  const dim = x.cols;
  const out = matrix(x.rows, k);
  const row = new Float64Array(dim);
  for (let r = 0; r < x.rows; r++) {
    for (let j = 0; j < dim; j++) row[j] = x.data[r * dim + j] - p.mean[j];
    for (let c = 0; c < k; c++) {
      let s = 0;
      const comp = c * dim;
      for (let j = 0; j < dim; j++) s += row[j] * p.components.data[comp + j];
      out.data[r * k + c] = s;
    }
  }
  return out;
}

/**
 * Pseudo-inverse of a symmetric positive semi-definite matrix, dropping eigenvalues at or below `rcond` times the
 * largest. The default suits Gram matrices of float32 data, whose relative precision is ~1e-7 (squared: ~1e-14).
 */
export function pseudoInverseSpd(a: Matrix, rcond = 1e-12): Matrix {
  const n = a.rows;
  const { values, vectors } = symmetricEigen(a);
  const tol = rcond * Math.max(values[0], 0);
  const inv = matrix(n, n);
  for (let c = 0; c < n; c++) {
    if (!(values[c] > tol)) continue;
    const u = vectors.data.subarray(c * n, c * n + n);
    const s = 1 / values[c];
    for (let i = 0; i < n; i++) {
      const ui = u[i] * s;
      for (let j = 0; j < n; j++) inv.data[i * n + j] += ui * u[j];
    }
  }
  return inv;
}

export interface RankSummary {
  /** exp of the entropy of p_i = s_i / sum s (Roy & Vetterli 2007): between 1 and the number of values. 0 for an all-zero spectrum. */
  effectiveRank: number;
  /** The fewest leading singular values whose squares hold 90% (99%) of the total energy sum s_i^2. */
  energy90: number;
  energy99: number;
}

/** Effective rank and energy counts of a list of singular values (any order; all must be >= 0). */
export function effectiveRank(singular: ArrayLike<number>): RankSummary {
  const s = Array.from(singular).sort((a, b) => b - a);
  if (s.length === 0) throw new Error('The effective rank needs at least one singular value.');
  if (s.some((v) => !(v >= 0))) throw new Error('Singular values must be non-negative numbers.');
  const sum = s.reduce((a, b) => a + b, 0);
  if (sum === 0) return { effectiveRank: 0, energy90: 0, energy99: 0 };
  let entropy = 0;
  for (const v of s) if (v > 0) entropy -= (v / sum) * Math.log(v / sum);
  const energy = s.reduce((a, v) => a + v * v, 0);
  const countFor = (fraction: number) => {
    let acc = 0;
    for (let i = 0; i < s.length; i++) {
      acc += s[i] * s[i];
      if (acc >= fraction * energy * (1 - 1e-12)) return i + 1; // the slack absorbs rounding in the running sum
    }
    return s.length;
  };
  return { effectiveRank: Math.exp(entropy), energy90: countFor(0.9), energy99: countFor(0.99) };
}
