// The quality record of metrics.jsonl, without dependencies: the extension host reads it without loading the
// engine's tensor libraries.

/** Where in training the weights were taken: the x axes of the dashboard. */
export interface TrainingPoint {
  step: number;
  /** Training seconds so far (wall clock of the training steps). */
  seconds: number;
  imagesSeen: number;
}

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

/** A quality record in metrics.jsonl: it has `fd` where step records have `loss`. */
export interface QualityRecord extends QualityScores, TrainingPoint {
  weights: string;
  cfg: number;
  steps: number;
  /** Seconds the evaluation took (session, sampling and scoring). */
  evalSeconds: number;
}

export function isQualityRecord(x: unknown): x is QualityRecord {
  const r = x as QualityRecord;
  return typeof r === 'object' && r !== null && Number.isInteger(r.step) && typeof r.fd === 'number' && typeof r.fdFloor === 'number';
}

/** Samples per cell of a quick scoring of the CFG x EMA grid, and of a sweep (a ranking to rely on). */
export const GRID_SCORE_N = { quick: 64, sweep: 512 } as const;
