// The results of the exploration views' engine methods (trajectory viewer, Euler vs Heun, bottleneck latent
// viewer, CFG x EMA grid). Images cross as uint8 HWC RGB and points as float32 inside one TensorPack each.
import type { SamplingMethod, SamplingSettings, WeightsChoice } from './samplingNames';
import type { TensorPack } from './tensorPack';

/** One sampling step of the recorded images. */
export interface StepSummary {
  step: number;
  t: number;
  tNext: number;
  method: SamplingMethod;
  cfgActive: boolean;
  /** [K] RMS over the pixels of the guided velocity v(z_t, t), per recorded image. */
  vRms: number[];
  /** [K] RMS of v(t_next) - v(t) (the Heun slope at the Euler predictor minus the Euler slope); null on Euler steps. */
  heunCorrectionRms: number[] | null;
}

/** What produced the trajectory: enough to sample the same images again. */
export interface TrajectorySettings extends SamplingSettings {
  step?: number;
  /** [n] the class of every image of the grid. */
  labels: number[];
}

export interface TrajectoryViewParams {
  /** The sample grid (PNG) whose trajectory was recorded next to it. */
  grid: string;
}

export interface TrajectoryView {
  grid: string;
  settings: TrajectorySettings;
  /** The batch positions recorded, K of them. */
  indices: number[];
  steps: StepSummary[];
  imageSize: number;
  /** Share of the variance of all states on each PCA axis [2]. */
  pcaExplained: number[];
  /** 'z' uint8 [S + 1, K, H, W, 3], 'xPred' uint8 [S, K, H, W, 3], 'pca' float32 [K, S + 1, 2]. */
  tensors: TensorPack;
}

export interface CompareParams {
  grid: string;
  /** Position in the trajectory's recorded images. */
  index: number;
}

export interface ComparedRun {
  method: SamplingMethod;
  steps: number;
  evaluations: number;
  summaries: StepSummary[];
}

export interface MethodComparison {
  heun: ComparedRun;
  euler: ComparedRun;
  /** RMS difference of the two final images. */
  finalRmsDifference: number;
  imageSize: number;
  /** 'heunZ' uint8 [Sh + 1, H, W, 3], 'eulerZ' uint8 [Se + 1, H, W, 3]. */
  tensors: TensorPack;
}

export interface BottleneckParams {
  checkpoint: string;
  weights?: WeightsChoice;
}

export interface BottleneckView {
  step?: number;
  weights: WeightsChoice;
  imageSize: number;
  patchSize: number;
  gridSize: number;
  bottleneckDim: number;
  patchDim: number;
  singularValues: number[];
  effectiveRank: number;
  energy90: number;
  energy99: number;
  /** [d'] L2 norm of each basis patch. */
  basisNorms: number[];
  labels: number[];
  classNames: string[];
  tValues: number[];
  classExplained: number[];
  tExplained: number[];
  latentExplained: number[];
  bottleneckError: number;
  pcaError: number;
  pcaKept: number;
  /** Error of the best k-dim projection for k = 1 .. */
  errorByDim: number[];
  /** The mean absolute error drawn as white in the error pictures. */
  errorScale: number;
  /**
   * uint8 HWC RGB: 'basis' [d', p, p, 3], 'images' / 'fromCodes' / 'fromPca' / 'errCodes' / 'errPca' [B, S, S, 3],
   * 'latent' [B, g, g, 3]; float32: 'classPoints' [P, 2], 'classValues' [P], 'tPoints' [Q, 2], 'tValues' [Q].
   */
  tensors: TensorPack;
}

export interface GridParams {
  checkpoint: string;
  weights?: WeightsChoice[];
  cfgScales?: number[];
  n?: number;
  seed?: number;
  steps?: number;
  method?: SamplingMethod;
}

/** Scores of the grid's cells: the same scales, seed and steps as the grid on the page. */
export interface GridScoreParams {
  checkpoint: string;
  cfgScales?: number[];
  seed?: number;
  steps?: number;
  /** More samples per cell: a ranking to rely on. */
  sweep?: boolean;
}

export interface GridView {
  step?: number;
  imageSize: number;
  labels: number[];
  weights: WeightsChoice[];
  cfgScales: number[];
  intervals: { min: number; max: number }[];
  seed: number;
  steps: number;
  method: SamplingMethod;
  n: number;
  /** The engine that ran the network, in words, and the seconds the grid took. */
  engine: string;
  seconds: number;
  /** 'cells' uint8 [intervals, rows, columns, n, S, S, 3]. */
  tensors: TensorPack;
}
