// Sample-quality scores as they cross from the engine to the extension host and on to the panels: the scores of one
// set of samples (an evaluation during training, `jit eval`) and of every cell of a CFG x EMA grid.
import type { WeightsChoice } from './samplingNames';

/** Every metric of one set of samples, with the same metric of real set B beside it (see evaluate.ts). */
export interface QualityScores {
  /** Images compared on each side (the request, or fewer when the data set has fewer than 2n images). */
  n: number;
  /** Fréchet distance of the samples' features to real set A. */
  fd: number;
  /** The same for real set B: the floor. */
  fdFloor: number;
  /** Share of samples the feature network assigns to the class they were sampled for; null without classes. */
  classAccuracy: number | null;
  /** The feature network's accuracy on set B. */
  realAccuracy: number | null;
  precision: number;
  recall: number;
  realPrecision: number;
  realRecall: number;
  /** Seam energy ratio of the samples over set A's (1 = none); null where undefined (one patch, flat images). */
  seam: number | null;
  realSeam: number | null;
}

export interface CellScore extends Omit<QualityScores, 'fdFloor' | 'realAccuracy' | 'realPrecision' | 'realRecall' | 'realSeam' | 'n'> {
  weights: WeightsChoice;
  cfgScale: number;
  intervalMin: number;
  intervalMax: number;
}

export interface GridScores {
  checkpoint: string;
  step?: number;
  /** Samples per cell (and real images on each side). */
  n: number;
  steps: number;
  seed: number;
  /** The floors, the same for every cell: real set B against real set A. */
  real: Pick<QualityScores, 'fdFloor' | 'realAccuracy' | 'realPrecision' | 'realRecall' | 'realSeam'>;
  cells: CellScore[];
  /** Index in `cells` of the lowest Fréchet distance. */
  best: number;
  featureNet: { key: string; heldOutAccuracy: number };
  seconds: number;
}

