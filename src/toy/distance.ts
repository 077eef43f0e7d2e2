// Sliced Wasserstein-1 distance between two 2-D point sets: the exact 1-D Wasserstein-1 distance of their
// projections, averaged over a fixed set of equally spaced directions (so it is deterministic). Two copies of one
// set shifted by a vector s are ~2|s|/pi apart (the mean of |s . u| over unit directions u).

/** Directions at angles pi * k / count, k = 0..count-1 (a direction and its opposite give the same W1). */
export const SLICE_DIRECTIONS = 64;

/** Exact W1 between the empirical distributions of a and b (any sizes): the integral of |F_a - F_b|. Sorts in place. */
export function wasserstein1d(a: Float64Array, b: Float64Array): number {
  a.sort();
  b.sort();
  let i = 0;
  let j = 0;
  let total = 0;
  let prev = Math.min(a[0], b[0]);
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    total += Math.abs(i / a.length - j / b.length) * (next - prev); // the CDFs are flat on [prev, next)
    prev = next;
    while (i < a.length && a[i] === next) i++;
    while (j < b.length && b[j] === next) j++;
  }
  return total;
}

/**
 * Sliced W1 between point sets p [n, 2] and q [m, 2] (row-major x, y). Infinity when either holds a
 * non-finite number (a diverged sampler), so a broken model never looks close.
 */
export function slicedWasserstein(p: Float32Array | number[], q: Float32Array | number[], directions = SLICE_DIRECTIONS): number {
  if (p.length < 2 || q.length < 2 || p.length % 2 !== 0 || q.length % 2 !== 0) {
    throw new Error(`slicedWasserstein needs two non-empty lists of 2-D points (x, y pairs), got ${p.length} and ${q.length} numbers.`);
  }
  if (!Number.isInteger(directions) || directions < 1) throw new Error(`The number of slice directions must be a positive whole number, got ${directions}.`);
  if (!p.every(Number.isFinite) || !q.every(Number.isFinite)) return Infinity;
  const pa = new Float64Array(p.length / 2);
  const qa = new Float64Array(q.length / 2);
  let sum = 0;
  for (let k = 0; k < directions; k++) {
    const c = Math.cos((Math.PI * k) / directions);
    const s = Math.sin((Math.PI * k) / directions);
    for (let i = 0; i < pa.length; i++) pa[i] = c * p[2 * i] + s * p[2 * i + 1];
    for (let i = 0; i < qa.length; i++) qa[i] = c * q[2 * i] + s * q[2 * i + 1];
    sum += wasserstein1d(pa, qa);
  }
  return sum / directions;
}
