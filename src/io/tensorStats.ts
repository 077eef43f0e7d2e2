// The numbers shown per tensor, computed from its values alone: statistics, histograms, 2-D slices, patch
// filters, and how far one array is from another.
import type { TensorChange, TensorStats } from '../wire/inspectorMessages';

export function tensorStats(d: Float32Array): TensorStats {
  let count = 0;
  let nan = 0;
  let inf = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    if (Number.isNaN(x)) nan++;
    else if (!Number.isFinite(x)) inf++;
    else {
      count++;
      if (x < min) min = x;
      if (x > max) max = x;
      sum += x;
      sumSq += x * x;
    }
  }
  if (count === 0) return { count, min: NaN, max: NaN, mean: NaN, std: NaN, l2: NaN, nan, inf };
  const mean = sum / count;
  // Second pass for the variance: sumSq / n - mean^2 cancels catastrophically for weights with a large offset.
  let dev = 0;
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    if (Number.isFinite(x)) dev += (x - mean) * (x - mean);
  }
  return { count, min, max, mean, std: Math.sqrt(dev / count), l2: Math.sqrt(sumSq), nan, inf };
}

export interface Histogram {
  lo: number;
  hi: number;
  /** counts[i] holds finite values in [lo + i w, lo + (i + 1) w), the last bin includes hi. */
  counts: number[];
}

export const DEFAULT_BINS = 64;

/** Histogram of the finite values over [lo, hi] (default: their range; a constant tensor gets a unit-wide range). */
export function histogram(d: Float32Array, bins = DEFAULT_BINS, range?: [number, number]): Histogram {
  let lo = range?.[0] ?? Infinity;
  let hi = range?.[1] ?? -Infinity;
  if (!range) {
    for (let i = 0; i < d.length; i++) {
      const x = d[i];
      if (Number.isFinite(x)) {
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
    }
  }
  if (!(lo <= hi)) return { lo: 0, hi: 0, counts: new Array<number>(bins).fill(0) };
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const counts = new Array<number>(bins).fill(0);
  const scale = bins / (hi - lo);
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    if (!Number.isFinite(x) || x < lo || x > hi) continue;
    counts[Math.min(bins - 1, Math.floor((x - lo) * scale))]++;
  }
  return { lo, hi, counts };
}


export interface Slice2d {
  rows: number;
  cols: number;
  /** rows x cols, row-major. */
  values: Float32Array;
}

/**
 * The 2-D slice of a tensor over (rowAxis, colAxis) with every other axis fixed at `index[axis]` (entries for the two
 * shown axes are ignored). Rank 1 shows as one row, rank 0 as a single cell.
 */
export function slice2d(data: Float32Array, shape: number[], rowAxis: number, colAxis: number, index: number[] = []): Slice2d {
  if (shape.length === 0) return { rows: 1, cols: 1, values: Float32Array.from(data.subarray(0, 1)) };
  if (shape.length === 1) return { rows: 1, cols: shape[0], values: Float32Array.from(data) };
  const rank = shape.length;
  for (const a of [rowAxis, colAxis]) if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`Axis ${a} does not exist in a tensor of rank ${rank}.`);
  if (rowAxis === colAxis) throw new Error('The row and column axes of a slice must differ.');
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  let base = 0;
  for (let a = 0; a < rank; a++) {
    if (a === rowAxis || a === colAxis) continue;
    const i = index[a] ?? 0;
    if (!Number.isInteger(i) || i < 0 || i >= shape[a]) throw new Error(`Index ${i} is out of range for axis ${a} of size ${shape[a]}.`);
    base += i * strides[a];
  }
  const rows = shape[rowAxis];
  const cols = shape[colAxis];
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] = data[base + r * strides[rowAxis] + c * strides[colAxis]];
  return { rows, cols, values };
}

export interface PatchFilters {
  count: number;
  /** Patch side in pixels. */
  size: number;
  channels: number;
  /** count tiles of size x size x channels (HWC), each scaled to [0, 1] symmetrically around 0 (0.5 = zero). */
  pixels: Float32Array;
}

/** The bottleneck patch embedding's filters ([d', C, p, p] = x_embedder.proj1.weight) as image tiles. */
export function patchFilters(data: Float32Array, shape: number[]): PatchFilters {
  if (shape.length !== 4 || shape[2] !== shape[3]) throw new Error(`Patch filters need a [out, channels, p, p] weight, got [${shape.join(', ')}].`);
  const [count, channels, size] = shape;
  const per = channels * size * size;
  const pixels = new Float32Array(count * per);
  for (let f = 0; f < count; f++) {
    let m = 0;
    for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(data[f * per + i]));
    const scale = m > 0 ? 0.5 / m : 0;
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          pixels[f * per + (y * size + x) * channels + c] = 0.5 + data[f * per + (c * size + y) * size + x] * scale;
        }
      }
    }
  }
  return { count, size, channels, pixels };
}


/** How far one array is from a reference array of the same length. */
export interface ArrayComparison extends Omit<TensorChange, 'name' | 'other' | 'shape'> {
  /** Both tensors' histograms over one shared range, for overlaying. */
  histogram: { lo: number; hi: number; counts: number[]; otherCounts: number[] };
}

/** Relative change of `b` against the reference `a`. */
export function compareArrays(a: Float32Array, b: Float32Array, bins = DEFAULT_BINS): ArrayComparison {
  if (a.length !== b.length) throw new Error(`Cannot compare tensors of ${a.length} and ${b.length} elements.`);
  let normSq = 0;
  let diffSq = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = b[i] - a[i];
    normSq += a[i] * a[i];
    diffSq += d * d;
    if (Math.abs(d) > maxAbsDiff || Number.isNaN(d)) maxAbsDiff = Math.abs(d);
  }
  const norm = Math.sqrt(normSq);
  const diffNorm = Math.sqrt(diffSq);
  const relChange = norm > 0 ? diffNorm / norm : diffNorm === 0 ? 0 : Infinity;
  const ha = histogram(a, bins);
  const hb = histogram(b, bins);
  const lo = Math.min(ha.lo, hb.lo);
  const hi = Math.max(ha.hi, hb.hi);
  return {
    norm, diffNorm, relChange, maxAbsDiff,
    histogram: { lo, hi, counts: histogram(a, bins, [lo, hi]).counts, otherCounts: histogram(b, bins, [lo, hi]).counts },
  };
}

