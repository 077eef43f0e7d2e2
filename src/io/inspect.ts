// `jit inspect` and the tensor inspector's per-file work: each tensor of a checkpoint summarised, and comparisons
// between two checkpoints or between an EMA copy and the online weights (reading in tensorSource.ts, the numbers in
// tensorStats.ts).
import * as path from 'path';
import type { TensorChange } from '../wire/inspectorMessages';
import type { DType } from './safetensors';
import { DEFAULT_BINS, ArrayComparison, Histogram, compareArrays, histogram, tensorStats } from './tensorStats';
import { TensorStats } from '../wire/inspectorMessages';
import { SourceFormat, TensorEntry, TensorSource, canonicalName, openTensorSource } from './tensorSource';

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


export type TensorComparison = TensorChange & ArrayComparison;


export interface Comparison {
  pairs: TensorComparison[];
  onlyInReference: string[];
  onlyInOther: string[];
  shapeMismatches: { name: string; shape: number[]; otherShape: number[] }[];
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
