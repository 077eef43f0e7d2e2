// Messages between the host and the exploration panels (trajectory viewer, latent viewer, CFG x EMA grid). The
// numbers are computed by the engine; images arrive as uint8 HWC RGB and points as float32 in one ArrayBuffer
// with an offset table (a pack), never as JSON arrays.

import type { BottleneckView, GridParams, GridView, MethodComparison, TrajectoryView } from './explorerResults';
import type { TensorPack } from './tensorPack';
import type { CellScore, GridScores } from './qualityScores';

export type TrajectoryData = Pick<TrajectoryView, 'imageSize' | 'steps' | 'pcaExplained'> & {
  title: string;
  /** One line with the sampling settings. */
  settings: string;
  /** Class name of each recorded image. */
  labels: string[];
  /** 'z' [S + 1, K, H, W, 3], 'xPred' [S, K, H, W, 3] uint8; 'pca' float32 [K, S + 1, 2]. */
  pack: TensorPack;
};

export type ComparisonData = Omit<MethodComparison, 'tensors'> & {
  index: number;
  /** 'heunZ' [Sh + 1, H, W, 3], 'eulerZ' [Se + 1, H, W, 3] uint8. */
  pack: TensorPack;
};

export type ToTrajectory =
  | { type: 'trajectory'; data: TrajectoryData; index: number }
  | { type: 'comparison'; data: ComparisonData }
  | { type: 'busy'; message: string }
  | { type: 'error'; message: string };

export type FromTrajectory = { type: 'ready' } | { type: 'compare'; index: number } | { type: 'select'; index: number };

export interface TrajectoryState {
  grid?: string;
  index?: number;
  frame?: number;
}

/** The bottleneck view with names for its numbers, and the run's checkpoints for the slider. */
export type LatentData = Omit<BottleneckView, 'weights' | 'labels' | 'classNames' | 'basisNorms' | 'errorByDim' | 'tensors'> & {
  title: string;
  weights: string;
  labels: string[];
  classCount: number;
  /** Checkpoint steps of the run (the slider) and the index of this one. */
  checkpoints: number[];
  current: number;
  pack: TensorPack;
};

export type ToLatent = { type: 'latent'; data: LatentData } | { type: 'busy'; message: string } | { type: 'error'; message: string };
export type FromLatent = { type: 'ready' } | { type: 'checkpoint'; index: number };
export interface LatentState {
  checkpoint?: string;
  colourBy?: 'class' | 't';
}

/** What a user can change in the CFG x EMA grid; the rows are always the EMA copies and the online weights. */
export type GridSettings = Required<Pick<GridParams, 'cfgScales' | 'seed' | 'n' | 'steps'>>;

export type GridData = Pick<GridView, 'imageSize' | 'engine' | 'seconds'> & {
  title: string;
  labels: string[];
  rows: string[];
  intervals: string[];
  settings: GridSettings;
  /** 'cells' uint8 [intervals, rows, columns, n, S, S, 3]. */
  pack: TensorPack;
};

export type GridCellAt = { interval: number; row: number; column: number };

/** Sample-quality scores of the grid's cells (each on its own n samples), the floor and the best cell. */
export type GridScoresView = Pick<GridScores, 'n' | 'seconds'> & {
  /** The Fréchet distance of real images to real images with the same n. */
  floor: GridScores['real']['fdFloor'];
  realAccuracy: GridScores['real']['realAccuracy'];
  cells: (GridCellAt & Pick<CellScore, 'fd' | 'classAccuracy' | 'seam'>)[];
  best: GridCellAt;
};

export type ToGrid = { type: 'grid'; data: GridData } | { type: 'busy'; message: string } | { type: 'error'; message: string }
  | { type: 'scores'; scores: GridScoresView } | { type: 'scoring'; message: string };
export type FromGrid =
  | { type: 'ready'; settings?: GridSettings }
  | { type: 'sample'; settings: GridSettings }
  | ({ type: 'sampleCell' | 'copyCell' } & GridCellAt)
  /** Score every cell: a quick scoring, or a sweep with more samples per cell. */
  | { type: 'score'; sweep: boolean }
  /** The grid of one interval drawn by the page, as a PNG data URL. */
  | { type: 'savePng'; dataUrl: string; interval: number };
export interface GridState {
  checkpoint?: string;
  interval?: number;
  settings?: GridSettings;
  selected?: GridCellAt;
}
