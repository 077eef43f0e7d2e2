// Read-only views of checkpoint files for `jit inspect` and the tensor inspector: one interface over safetensors
// and PyTorch .pth files that lists tensors from the header alone and reads each tensor's bytes only when asked,
// plus the numbers shown per tensor (statistics, histograms, 2-D slices, patch filters) and comparisons between
// two checkpoints or between an EMA copy and the online weights.
import * as fs from 'fs';
import * as path from 'path';
import { PthArchive, isZipFile, splitTree } from './pth';
import type { TorchTensor } from './pickle';
import { DTYPE_BYTES, DType, readHeader, readTensorBytes, toFloat32 } from './safetensors';

export type SourceFormat = 'safetensors' | 'pytorch';

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  numel: number;
  bytes: number;
}

/** A checkpoint opened for reading: the tensor list is known up front, the data is read per tensor. */
export interface TensorSource {
  readonly file: string;
  readonly format: SourceFormat;
  readonly metadata: Record<string, unknown>;
  readonly tensors: TensorEntry[];
  read(name: string): Promise<Float32Array>;
  close(): void;
}

const numelOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function entryOf(name: string, dtype: DType, shape: number[]): TensorEntry {
  const numel = numelOf(shape);
  return { name, dtype, shape, numel, bytes: numel * DTYPE_BYTES[dtype] };
}

const PYTORCH_EXTENSIONS = new Set(['.pth', '.pt', '.bin', '.ckpt', '.tar']);

/** Opens a .safetensors or PyTorch checkpoint; the format is told by its first bytes, not its name. */
export async function openTensorSource(file: string): Promise<TensorSource> {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist.`);
  if (!fs.statSync(file).isFile()) throw new Error(`${file} is not a file.`);
  if (isZipFile(file) || PYTORCH_EXTENSIONS.has(path.extname(file).toLowerCase())) return openPth(file);
  return openSafetensors(file);
}

function openSafetensors(file: string): TensorSource {
  const header = readHeader(file);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  // List in data order, which is the order the writer chose (state-dict order for this project's files).
  const sorted = [...header.tensors].sort((a, b) => a.begin - b.begin);
  return {
    file,
    format: 'safetensors',
    metadata: { ...header.metadata },
    tensors: sorted.map((t) => entryOf(t.name, t.dtype, t.shape)),
    async read(name) {
      const info = byName.get(name);
      if (!info) throw new Error(`${path.basename(file)} has no tensor ${name}.`);
      return toFloat32(readTensorBytes(file, header, info), info.dtype);
    },
    close() {},
  };
}

async function openPth(file: string): Promise<TensorSource> {
  const archive = await PthArchive.open(file);
  const { tensors, metadata } = splitTree(archive.root);
  const byName = new Map<string, TorchTensor>(tensors.map((t) => [t.name, t.tensor]));
  return {
    file,
    format: 'pytorch',
    metadata: { ...metadata, layout: { ...archive.layout } },
    tensors: tensors.map((t) => entryOf(t.name, t.tensor.dtype, t.tensor.shape)),
    async read(name) {
      const t = byName.get(name);
      if (!t) throw new Error(`${path.basename(file)} has no tensor ${name}.`);
      return archive.readTensor(t);
    },
    close() {
      archive.close();
    },
  };
}

export interface TensorStats {
  /** Finite elements; min, max, mean, std and l2 are over these (NaN when there are none). */
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  l2: number;
  nan: number;
  inf: number;
}

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

export interface TensorSummary extends TensorEntry, TensorStats {
  histogram: Histogram;
}

/** Reads one tensor and computes everything the inspector shows for it. */
export async function summarizeTensor(src: TensorSource, name: string, bins = DEFAULT_BINS): Promise<TensorSummary> {
  const entry = src.tensors.find((t) => t.name === name);
  if (!entry) throw new Error(`${path.basename(src.file)} has no tensor ${name}.`);
  const d = await src.read(name);
  return { ...entry, ...tensorStats(d), histogram: histogram(d, bins) };
}

/** What `jit inspect --json` prints. */
export interface InspectReport {
  format: SourceFormat;
  metadata: Record<string, unknown>;
  tensors: { name: string; dtype: DType; shape: number[]; min: number; max: number; mean: number; std: number; l2: number; nan: number; inf: number }[];
}

/** Statistics of every tensor of a file, read one tensor at a time. */
export async function inspectFile(file: string): Promise<InspectReport> {
  const src = await openTensorSource(file);
  try {
    const tensors: InspectReport['tensors'] = [];
    for (const t of src.tensors) {
      const s = tensorStats(await src.read(t.name));
      tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, min: s.min, max: s.max, mean: s.mean, std: s.std, l2: s.l2, nan: s.nan, inf: s.inf });
    }
    return { format: src.format, metadata: src.metadata, tensors };
  } finally {
    src.close();
  }
}

export interface ModuleNode {
  /** Last path component ("" for the root). */
  name: string;
  /** Dotted path of the module ("" for the root). */
  path: string;
  /** Elements in this module and everything below it. */
  params: number;
  bytes: number;
  /** Tensors directly in this module. */
  tensors: TensorEntry[];
  children: ModuleNode[];
}

/** Groups tensors by module path (net.blocks.0.attn.qkv.weight lies in net > blocks > 0 > attn > qkv), with totals. */
export function moduleTree(entries: TensorEntry[]): ModuleNode {
  const root: ModuleNode = { name: '', path: '', params: 0, bytes: 0, tensors: [], children: [] };
  for (const t of entries) {
    const parts = t.name.split('.');
    let node = root;
    node.params += t.numel;
    node.bytes += t.bytes;
    for (const part of parts.slice(0, -1)) {
      let child = node.children.find((c) => c.name === part);
      if (!child) {
        child = { name: part, path: node.path ? `${node.path}.${part}` : part, params: 0, bytes: 0, tensors: [], children: [] };
        node.children.push(child);
      }
      node = child;
      node.params += t.numel;
      node.bytes += t.bytes;
    }
    node.tensors.push(t);
  }
  return root;
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

export interface TensorComparison {
  /** Name of the reference tensor (first file, or the online weights). */
  name: string;
  /** Name of the tensor compared with it. */
  other: string;
  shape: number[];
  /** ||W|| of the reference. */
  norm: number;
  /** ||W_other - W||. */
  diffNorm: number;
  /** ||dW|| / ||W||: 0 when both are zero, Infinity when only the reference is. */
  relChange: number;
  maxAbsDiff: number;
  /** Both tensors' histograms over one shared range, for overlaying. */
  histogram: { lo: number; hi: number; counts: number[]; otherCounts: number[] };
}

export interface Comparison {
  pairs: TensorComparison[];
  onlyInReference: string[];
  onlyInOther: string[];
  shapeMismatches: { name: string; shape: number[]; otherShape: number[] }[];
}

/** Relative change of `b` against the reference `a`. */
export function compareArrays(a: Float32Array, b: Float32Array, bins = DEFAULT_BINS): Omit<TensorComparison, 'name' | 'other' | 'shape'> {
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

async function comparePairs(ref: TensorSource, other: TensorSource, pairs: [string, string][], bins: number): Promise<Comparison> {
  const refEntries = new Map(ref.tensors.map((t) => [t.name, t]));
  const otherEntries = new Map(other.tensors.map((t) => [t.name, t]));
  const out: Comparison = { pairs: [], onlyInReference: [], onlyInOther: [], shapeMismatches: [] };
  for (const [a, b] of pairs) {
    const ea = refEntries.get(a)!;
    const eb = otherEntries.get(b)!;
    if (ea.shape.length !== eb.shape.length || ea.shape.some((s, i) => s !== eb.shape[i])) {
      out.shapeMismatches.push({ name: a, shape: ea.shape, otherShape: eb.shape });
      continue;
    }
    out.pairs.push({ name: a, other: b, shape: ea.shape, ...compareArrays(await ref.read(a), await other.read(b), bins) });
  }
  return out;
}

/**
 * A name that means the same tensor in either format: an official .pth holds the online weights under `model.`
 * and the EMA copies under `model_ema1.` / `model_ema2.`, this project's files under no prefix / `ema1.` / `ema2.`.
 */
export function canonicalName(format: SourceFormat, name: string): string {
  if (format !== 'pytorch') return name;
  const m = /^model(_ema[12])?\.(net\..*)$/.exec(name);
  if (!m) return name;
  return m[1] ? `${m[1].slice(1)}.${m[2]}` : m[2];
}

/** Compares every tensor that two checkpoints share (matched by canonical name), relative to the first. */
export async function compareSources(ref: TensorSource, other: TensorSource, bins = DEFAULT_BINS): Promise<Comparison> {
  const otherByCanon = new Map(other.tensors.map((t) => [canonicalName(other.format, t.name), t.name]));
  const refCanon = new Set<string>();
  const pairs: [string, string][] = [];
  const onlyInReference: string[] = [];
  for (const t of ref.tensors) {
    const c = canonicalName(ref.format, t.name);
    refCanon.add(c);
    const match = otherByCanon.get(c);
    if (match === undefined) onlyInReference.push(t.name);
    else pairs.push([t.name, match]);
  }
  const r = await comparePairs(ref, other, pairs, bins);
  r.onlyInReference = onlyInReference;
  r.onlyInOther = other.tensors.filter((t) => !refCanon.has(canonicalName(other.format, t.name))).map((t) => t.name);
  return r;
}

/** Compares an EMA copy with the online weights of the same checkpoint (online is the reference). */
export async function compareEmaWithOnline(src: TensorSource, which: 'ema1' | 'ema2', bins = DEFAULT_BINS): Promise<Comparison> {
  const byCanon = new Map(src.tensors.map((t) => [canonicalName(src.format, t.name), t.name]));
  const pairs: [string, string][] = [];
  const onlyInOther: string[] = [];
  for (const [canon, name] of byCanon) {
    if (!canon.startsWith(`${which}.`)) continue;
    const online = byCanon.get(canon.slice(which.length + 1));
    if (online === undefined) onlyInOther.push(name);
    else pairs.push([online, name]);
  }
  if (pairs.length === 0 && onlyInOther.length === 0) throw new Error(`${path.basename(src.file)} holds no ${which} weights to compare.`);
  const r = await comparePairs(src, src, pairs, bins);
  r.onlyInOther = onlyInOther;
  return r;
}
