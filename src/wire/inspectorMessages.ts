// Messages between the extension host and the tensor inspector (a read-only custom editor for *.safetensors and
// *.pth). Tensor names and metadata come from the file, which may be hostile: the page shows them as text only.
import type { TensorPack } from './tensorPack';

/** Statistics of one tensor's values (computed by src/io/tensorStats.ts). */
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

export interface InspectorTensor {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
  bytes: number;
}

/** A module of the tensor tree: totals over everything below it; tensors as indices into the file's `tensors`. */
export interface InspectorModule {
  name: string;
  path: string;
  params: number;
  bytes: number;
  tensors: number[];
  children: InspectorModule[];
}

/** The engine's answer to `inspectOpen`. */
export interface InspectOpenResult {
  session: number;
  file: string;
  format: 'safetensors' | 'pytorch';
  fileBytes: number;
  /** Metadata as pretty JSON text per key (the page shows it as text). */
  metadata: [string, string][];
  tensors: InspectorTensor[];
  totalParams: number;
  totalBytes: number;
  /** Tensors grouped by module path (net > blocks > 0 > attn > qkv). */
  tree: InspectorModule;
  /** EMA copies present in the file that can be compared with the online weights. */
  emaCopies: ('ema1' | 'ema2')[];
  /** What looks wrong with the checkpoint (weights still at the initialisation, an EMA equal to the weights), one sentence each. */
  warnings: string[];
}

/** The file as the page shows it. */
export type InspectorFile = Omit<InspectOpenResult, 'session' | 'file'> & { fileName: string };

/** The engine's answer to `inspectTensor`. */
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

/** One tensor as the page shows it. */
export type TensorDetail = Omit<InspectTensorResult, 'tensors'> & { pack: TensorPack };

/** How far a tensor is from the reference tensor it is matched with. */
export interface TensorChange {
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
}

/** A compared pair; its histograms are rows of the pack, over [histLo, histHi]. */
export interface ComparePair extends TensorChange {
  histLo: number;
  histHi: number;
}

/** The engine's answer to `inspectCompare`. */
export interface InspectCompareResult {
  reference: string;
  other: string;
  pairs: ComparePair[];
  onlyInReference: string[];
  onlyInOther: string[];
  shapeMismatches: { name: string; shape: number[]; otherShape: number[] }[];
  /** 'counts' and 'otherCounts': float64 [pairs, bins], row i for pairs[i], over [histLo, histHi]. */
  tensors: TensorPack;
}

/** A comparison as the page shows it. */
export type CompareView = Omit<InspectCompareResult, 'tensors'> & { pack: TensorPack };

export type ToInspector =
  | { type: 'file'; file: InspectorFile }
  | { type: 'tensor'; tensor: TensorDetail }
  | { type: 'compare'; compare: CompareView }
  | { type: 'busy'; message: string }
  /** fatal: the file could not be opened (the editor shows only this line). */
  | { type: 'error'; message: string; fatal: boolean };

export type FromInspector =
  | { type: 'ready' }
  | { type: 'tensor'; name: string; rowAxis?: number; colAxis?: number; index?: number[] }
  | { type: 'compareEma'; ema: 'ema1' | 'ema2' }
  | { type: 'compareFile' };

export interface InspectorState {
  selected?: string;
  expanded: string[];
  filter: string;
}
