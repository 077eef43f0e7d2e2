// Messages between the extension host and the webviews (dashboard panel, sample gallery view). Shared by both
// sides; no vscode and no DOM types here. Every string the host takes from files is plain data: the webviews
// put it in the page with textContent/attributes, never as HTML.
import type { ColumnPack } from './columns';

/** Metric columns of a run, one row per logged step: see METRIC_COLUMNS. NaN marks a missing value. */
export const METRIC_COLUMNS = ['step', 'loss', 'lr', 'gradNorm', 'imagesPerSec', 'seconds', 'imagesSeen', 'rssMB', 'epoch'] as const;
/** Buckets of t for "loss by t" (equal widths over [0, 1]): where in the noise range the model struggles. */
export const T_BUCKETS = 10;
/** Sample-quality columns of a run, one row per evaluation during training (metrics.jsonl records with `fd`). */
export const QUALITY_COLUMNS = ['step', 'seconds', 'imagesSeen', 'epoch', 'fd', 'fdFloor', 'classAccuracy', 'precision', 'recall', 'seam'] as const;
/** lossByT0 ... lossByT9: mean v-loss of the batch's images whose t fell in [b/10, (b+1)/10). */
export const lossByTColumn = (b: number) => `lossByT${b}`;

export type RunState = 'training' | 'stopping' | 'completed' | 'stopped' | 'diverged' | 'crashed' | 'idle';

export interface RunStatus {
  state: RunState;
  step: number;
  totalSteps: number;
  /** Seconds left at the current speed (training only). */
  etaSeconds?: number;
  message?: string;
}

export interface RunView {
  /** The run folder's name (also its id among the runs). */
  id: string;
  preset: string;
  dataset: string;
  created: string;
  /** What trains it, e.g. "ONNX Runtime, cpu execution provider, 2 threads" or "TensorFlow.js, wasm backend". */
  engine: string;
  devices: string;
  /** Rows of the configuration table: [label, value]. */
  config: [string, string][];
  totalSteps: number;
  pMean: number;
  pStd: number;
  /** The x axes this run's series has values for (an official run logs by epoch; epochs need a data set size). */
  xAxes: XAxis[];
}

export interface SampleView {
  uri: string;
  step: number;
  caption: string;
}

export interface RunChoice {
  id: string;
  preset: string;
  steps: number;
}

export type ToDashboard =
  /** Everything about the run shown (sent on open, on restore, and when the series is rewound by a resume). */
  | { type: 'run'; runDir: string; run: RunView; series: ColumnPack; quality: ColumnPack; status: RunStatus; sample?: SampleView; runs: RunChoice[] }
  /** The logit-normal density of training t: columns 't' and 'density' (computed by the engine). */
  | { type: 'density'; density: ColumnPack }
  | { type: 'append'; series: ColumnPack }
  /** New sample-quality rows (QUALITY_COLUMNS). */
  | { type: 'appendQuality'; quality: ColumnPack }
  | { type: 'status'; status: RunStatus }
  | { type: 'sample'; sample: SampleView }
  | { type: 'runs'; runs: RunChoice[] }
  | { type: 'overlay'; id: string; series: ColumnPack; quality: ColumnPack }
  | { type: 'error'; message: string };

export type FromDashboard =
  | { type: 'ready' }
  | { type: 'overlay'; id: string }
  | { type: 'stop' }
  | { type: 'saveCheckpoint' }
  | { type: 'openSample' };

/** What the dashboard keeps with vscode.setState (restored after hide/show and window reload). */
export interface DashboardState {
  runDir: string;
  smoothing: number;
  logScale: boolean;
  xAxis: XAxis;
  overlays: string[];
}

export type XAxis = 'step' | 'imagesSeen' | 'seconds' | 'epoch';

export interface GalleryImages {
  /** uint8 [n, size, size, 3] HWC RGB. */
  buffer: ArrayBuffer;
  n: number;
  size: number;
  labels: string[];
}

/** One sample grid in the gallery; `key` names it in messages back to the extension. */
export interface GalleryEntry {
  key: string;
  uri: string;
  /** The settings it was made with, one line (the tooltip). */
  title: string;
  label: string;
  origin: 'training' | 'sample';
  /** Images in the grid, when known: a click picks one of them. */
  n?: number;
  trajectory: boolean;
  /** Whether its settings are complete enough to sample it again. */
  repeatable: boolean;
}

export interface GalleryRun {
  id: string;
  /** `scores`: the CFG x EMA grids scored at the step, one line each. */
  steps: { step: number; entries: GalleryEntry[]; scores: string[] }[];
}

export type ToGallery =
  | { type: 'groups'; runs: GalleryRun[]; steps: number[]; selected?: string }
  | { type: 'empty'; message: string }
  | { type: 'samples'; id: string; images: GalleryImages; caption: string };

export type FromGallery =
  | { type: 'ready' }
  | { type: 'sample' }
  | { type: 'open'; key: string; index?: number }
  | { type: 'savePng'; key: string }
  | { type: 'copySettings'; key: string }
  | { type: 'sampleAgain'; key: string };

export interface GalleryState {
  runId?: string;
  /** The slider's step; undefined follows the newest step. */
  step?: number;
}
