// Messages between the extension host and the tensor inspector (a read-only custom editor for *.safetensors and
// *.pth). Tensor names and metadata come from the file, which may be hostile: the page shows them as text only.
import type { TensorPack } from './tensorPack';

export interface InspectorTensor {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
  bytes: number;
}

export interface InspectorModule {
  name: string;
  path: string;
  params: number;
  bytes: number;
  /** Indices into InspectorFile.tensors. */
  tensors: number[];
  children: InspectorModule[];
}

export interface InspectorFile {
  fileName: string;
  format: 'safetensors' | 'pytorch';
  fileBytes: number;
  metadata: [string, string][];
  tensors: InspectorTensor[];
  totalParams: number;
  totalBytes: number;
  tree: InspectorModule;
  emaCopies: ('ema1' | 'ema2')[];
  /** Sanity warnings, one sentence each. */
  warnings: string[];
}

export interface TensorDetail {
  name: string;
  shape: number[];
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  l2: number;
  nan: number;
  inf: number;
  histLo: number;
  histHi: number;
  rowAxis: number;
  colAxis: number;
  index: number[];
  sliceRows: number;
  sliceCols: number;
  filters?: { count: number; size: number; channels: number };
  /** 'histogram' float64 [bins], 'slice' float32 [rows, cols], 'filters' float32 [count, p, p, C]. */
  pack: TensorPack;
}

export interface ComparePair {
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

export interface CompareView {
  reference: string;
  other: string;
  pairs: ComparePair[];
  onlyInReference: string[];
  onlyInOther: string[];
  shapeMismatches: { name: string; shape: number[]; otherShape: number[] }[];
  /** 'counts' and 'otherCounts' float64 [pairs, bins]. */
  pack: TensorPack;
}

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
