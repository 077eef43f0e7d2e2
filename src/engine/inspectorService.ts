// The engine's side of the tensor inspector and the checkpoint commands: sessions over opened checkpoint files
// (the tensor list comes from the header; each tensor is read by its own byte range only when the page asks for
// it), per-tensor numbers (statistics, histogram, a 2-D slice, patch filters), comparisons, and the import and
// export conversions. Everything here runs in the engine process, never on the extension host's thread.
import * as fs from 'fs';
import * as path from 'path';
import { packTensors, TensorPack } from '../wire/tensorPack';
import { exportForPyTorch, importPth } from '../io/convert';
import {
  Comparison, DEFAULT_BINS, ModuleNode, TensorSource, canonicalName, compareEmaWithOnline, compareSources, histogram, moduleTree,
  openTensorSource, patchFilters, slice2d, tensorStats,
} from '../io/inspect';
import { sourceSanity } from '../io/checkpointSanity';
import type { TensorStats } from '../io/inspect';
import type { WeightsChoice } from '../io/trainerState';

export interface InspectOpenParams {
  file: string;
}

export interface InspectTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
  bytes: number;
}

/** A module of the tensor tree: totals over everything below it; tensors as indices into `tensors`. */
export interface InspectModule {
  name: string;
  path: string;
  params: number;
  bytes: number;
  tensors: number[];
  children: InspectModule[];
}

export interface InspectOpenResult {
  session: number;
  file: string;
  format: 'safetensors' | 'pytorch';
  fileBytes: number;
  /** Metadata as pretty JSON text per key (the page shows it as text). */
  metadata: [string, string][];
  tensors: InspectTensorInfo[];
  totalParams: number;
  totalBytes: number;
  /** Tensors grouped by module path (net > blocks > 0 > attn > qkv). */
  tree: InspectModule;
  /** EMA copies present in the file that can be compared with the online weights. */
  emaCopies: ('ema1' | 'ema2')[];
  /** What looks wrong with the checkpoint (weights still at the initialisation, an EMA equal to the weights). */
  warnings: string[];
}

export interface InspectTensorParams {
  session: number;
  name: string;
  /** The axes shown as rows and columns of the heatmap, and the index along every other axis. */
  rowAxis?: number;
  colAxis?: number;
  index?: number[];
  bins?: number;
}

export interface InspectTensorResult extends TensorStats {
  name: string;
  shape: number[];
  histLo: number;
  histHi: number;
  rowAxis: number;
  colAxis: number;
  index: number[];
  sliceRows: number;
  sliceCols: number;
  /** Whether 'filters' (patch-embedding filters as HWC tiles in [0, 1]) is in the pack. */
  filters?: { count: number; size: number; channels: number };
  /** 'histogram' float64 [bins], 'slice' float32 [rows, cols], optionally 'filters' float32 [count, p, p, C]. */
  tensors: TensorPack;
}

export interface InspectCompareParams {
  session: number;
  /** Another checkpoint file, or an EMA copy of the session's own file compared with its online weights. */
  against: { file: string } | { ema: 'ema1' | 'ema2' };
  bins?: number;
}

export interface InspectComparePair {
  name: string;
  other: string;
  shape: number[];
  norm: number;
  diffNorm: number;
  relChange: number;
  maxAbsDiff: number;
  histLo: number;
  histHi: number;
}

export interface InspectCompareResult {
  reference: string;
  other: string;
  pairs: InspectComparePair[];
  onlyInReference: string[];
  onlyInOther: string[];
  shapeMismatches: { name: string; shape: number[]; otherShape: number[] }[];
  /** 'counts' and 'otherCounts': float64 [pairs, bins], row i for pairs[i], over [histLo, histHi]. */
  tensors: TensorPack;
}

export interface ImportCheckpointParams {
  file: string;
  /** A new run folder, or a .safetensors file. */
  out: string;
}

export interface ImportCheckpointResult {
  file: string;
  runDir?: string;
  preset: string;
  step: number;
  tensors: number;
}

export interface ExportCheckpointParams {
  checkpoint: string;
  weights: WeightsChoice;
  out: string;
}

export interface ExportCheckpointResult {
  file: string;
  weights: WeightsChoice;
  tensors: number;
}

/** Largest heatmap slice sent to the page (rows x cols); larger slices are refused with a sentence. */
export const MAX_SLICE_CELLS = 4_194_304;
const MAX_BINS = 1024;
/** Open files per engine; the oldest session is closed when a new one would exceed it. */
const MAX_SESSIONS = 32;

function isPatchEmbedding(name: string, shape: number[]): boolean {
  return /(^|\.)x_embedder\.proj1\.weight$/.test(name) && shape.length === 4 && shape[2] === shape[3] && (shape[1] === 1 || shape[1] === 3);
}

function binsOf(bins: number | undefined): number {
  const b = bins ?? DEFAULT_BINS;
  if (!Number.isInteger(b) || b < 2 || b > MAX_BINS) throw new Error(`Histogram bins must be a whole number from 2 to ${MAX_BINS}, got ${b}.`);
  return b;
}

/** Default heatmap axes: the last two (a Linear weight [out, in] shows out x in). */
export function defaultAxes(rank: number): { rowAxis: number; colAxis: number } {
  return rank >= 2 ? { rowAxis: rank - 2, colAxis: rank - 1 } : { rowAxis: 0, colAxis: 0 };
}

function compactTree(n: ModuleNode, index: Map<string, number>): InspectModule {
  return {
    name: n.name, path: n.path, params: n.params, bytes: n.bytes,
    tensors: n.tensors.map((t) => index.get(t.name)!),
    children: n.children.map((c) => compactTree(c, index)),
  };
}

export class InspectorService {
  private readonly sessions = new Map<number, TensorSource>();
  private nextId = 1;

  async open({ file }: InspectOpenParams): Promise<InspectOpenResult> {
    if (typeof file !== 'string' || !path.isAbsolute(file)) throw new Error('The inspector needs the absolute path of a checkpoint file.');
    const src = await openTensorSource(file);
        const id = this.nextId++;
    this.sessions.set(id, src);
    if (this.sessions.size > MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value as number;
      this.close(oldest);
    }
    const tree = moduleTree(src.tensors);
    const canon = new Set(src.tensors.map((t) => canonicalName(src.format, t.name)));
    const emaCopies = (['ema1', 'ema2'] as const).filter((w) => [...canon].some((c) => c.startsWith(`${w}.`) && canon.has(c.slice(w.length + 1))));
    return {
      session: id,
      file,
      format: src.format,
      fileBytes: fs.statSync(file).size,
      metadata: Object.entries(src.metadata).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v, null, 1) ?? String(v)]),
      tensors: src.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, numel: t.numel, bytes: t.bytes })),
      tree: compactTree(tree, new Map(src.tensors.map((t, i) => [t.name, i]))),
      totalParams: tree.params,
      totalBytes: tree.bytes,
      emaCopies,
      warnings: (await sourceSanity(src)).map((w) => w.message),
    };
  }

  private source(session: number): TensorSource {
    const src = this.sessions.get(session);
    if (!src) throw new Error('This checkpoint is no longer open in the engine; reopen the file.');
    return src;
  }

  async tensor(p: InspectTensorParams): Promise<InspectTensorResult> {
    const src = this.source(p.session);
    const entry = src.tensors.find((t) => t.name === p.name);
    if (!entry) throw new Error(`${path.basename(src.file)} has no tensor ${p.name}.`);
    const bins = binsOf(p.bins);
    const rank = entry.shape.length;
    const axes = defaultAxes(rank);
    const rowAxis = rank >= 2 ? p.rowAxis ?? axes.rowAxis : 0;
    const colAxis = rank >= 2 ? p.colAxis ?? axes.colAxis : 0;
    const index = entry.shape.map((_, a) => p.index?.[a] ?? 0);
    if (rank >= 2 && entry.shape[rowAxis] * entry.shape[colAxis] > MAX_SLICE_CELLS) {
      throw new Error(`The slice of ${entry.name} over axes ${rowAxis} and ${colAxis} has more than ${MAX_SLICE_CELLS} cells; choose other axes.`);
    }
    if (rank < 2 && entry.numel > MAX_SLICE_CELLS) throw new Error(`${entry.name} has more than ${MAX_SLICE_CELLS} elements to show as a row.`);
    const data = await src.read(entry.name);
    const stats = tensorStats(data);
    const h = histogram(data, bins);
    const s = slice2d(data, entry.shape, rowAxis, colAxis, index);
    const items: { name: string; shape: number[]; data: Float32Array | Float64Array }[] = [
      { name: 'histogram', shape: [bins], data: Float64Array.from(h.counts) },
      { name: 'slice', shape: [s.rows, s.cols], data: s.values },
    ];
    let filters: InspectTensorResult['filters'];
    if (isPatchEmbedding(entry.name, entry.shape)) {
      const f = patchFilters(data, entry.shape);
      filters = { count: f.count, size: f.size, channels: f.channels };
      items.push({ name: 'filters', shape: [f.count, f.size, f.size, f.channels], data: f.pixels });
    }
    return {
      ...stats, name: entry.name, shape: entry.shape, histLo: h.lo, histHi: h.hi, rowAxis, colAxis, index,
      sliceRows: s.rows, sliceCols: s.cols, filters, tensors: packTensors(items),
    };
  }

  async compare(p: InspectCompareParams): Promise<InspectCompareResult> {
    const src = this.source(p.session);
    const bins = binsOf(p.bins);
    let c: Comparison;
    let other: string;
    if ('ema' in p.against) {
      if (p.against.ema !== 'ema1' && p.against.ema !== 'ema2') throw new Error('Compare with ema1 or ema2.');
      c = await compareEmaWithOnline(src, p.against.ema, bins);
      other = `${p.against.ema} (EMA) in ${path.basename(src.file)}`;
    } else {
      const file = p.against.file;
      if (typeof file !== 'string' || !path.isAbsolute(file)) throw new Error('Compare needs the absolute path of the other checkpoint.');
      const o = await openTensorSource(file);
      try {
        c = await compareSources(src, o, bins);
      } finally {
        o.close();
      }
      other = path.basename(file);
    }
    const n = c.pairs.length;
    const counts = new Float64Array(n * bins);
    const otherCounts = new Float64Array(n * bins);
    c.pairs.forEach((q, i) => {
      counts.set(q.histogram.counts, i * bins);
      otherCounts.set(q.histogram.otherCounts, i * bins);
    });
    return {
      reference: path.basename(src.file),
      other,
      pairs: c.pairs.map((q) => ({
        name: q.name, other: q.other, shape: q.shape, norm: q.norm, diffNorm: q.diffNorm, relChange: q.relChange, maxAbsDiff: q.maxAbsDiff,
        histLo: q.histogram.lo, histHi: q.histogram.hi,
      })),
      onlyInReference: c.onlyInReference,
      onlyInOther: c.onlyInOther,
      shapeMismatches: c.shapeMismatches,
      tensors: packTensors([{ name: 'counts', shape: [n, bins], data: counts }, { name: 'otherCounts', shape: [n, bins], data: otherCounts }]),
    };
  }

  close(session: number): { closed: boolean } {
    const src = this.sessions.get(session);
    if (!src) return { closed: false };
    this.sessions.delete(session);
    src.close();
    return { closed: true };
  }

  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id);
  }
}

export async function importCheckpoint(p: ImportCheckpointParams): Promise<ImportCheckpointResult> {
  if (!path.isAbsolute(p.file) || !path.isAbsolute(p.out)) throw new Error('Import needs absolute paths for the .pth file and the output.');
  const r = await importPth(p.file, p.out);
  return { file: r.file, runDir: r.runDir, preset: r.config.preset, step: r.state.step, tensors: r.state.online.size };
}

export function exportCheckpoint(p: ExportCheckpointParams): ExportCheckpointResult {
  if (!path.isAbsolute(p.checkpoint) || !path.isAbsolute(p.out)) throw new Error('Export needs absolute paths for the checkpoint and the output.');
  const r = exportForPyTorch(p.checkpoint, p.weights, p.out);
  return { file: r.file, weights: r.weights, tensors: r.tensors };
}
