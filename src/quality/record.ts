// The quality record of metrics.jsonl, without dependencies: the extension host reads it without loading the
// engine's tensor libraries.
import type { CellScore, GridScores, QualityScores } from '../wire/qualityScores';

/** Where in training the weights were taken: the x axes of the dashboard. */
export interface TrainingPoint {
  step: number;
  /** Training seconds so far (wall clock of the training steps). */
  seconds: number;
  imagesSeen: number;
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

/** Scored CFG x EMA grids of a run, one JSON line each, in its samples/ folder (the gallery shows them by step). */
export const GRID_SCORES_FILE = 'grid-scores.jsonl';

/** A line of grid-scores.jsonl as far as the views read it (src/quality/gridScores.ts writes the whole GridScores). */
export type GridScoresLine = Pick<GridScores, 'step' | 'n' | 'best'> & {
  real: Pick<GridScores['real'], 'fdFloor' | 'realAccuracy'>;
  cells: Pick<CellScore, 'weights' | 'cfgScale' | 'intervalMin' | 'intervalMax' | 'fd' | 'classAccuracy'>[];
};

export function isGridScoresLine(x: unknown): x is GridScoresLine {
  const g = x as GridScoresLine;
  return typeof g === 'object' && g !== null && Array.isArray(g.cells) && Number.isInteger(g.best) && typeof g.cells[g.best]?.fd === 'number' && typeof g.real?.fdFloor === 'number';
}

/** One line for people: the best cell and the floor. */
export function describeGridScores(g: GridScoresLine): string {
  const b = g.cells[g.best];
  const acc = b.classAccuracy === null ? '' : `, class accuracy ${(100 * b.classAccuracy).toFixed(0)}%`;
  return `CFG × EMA scores (${g.cells.length} cells, ${g.n} samples each): best ${b.weights}, CFG ${b.cfgScale}, guidance in t ∈ (${b.intervalMin}, ${b.intervalMax}): ` +
    `FD ${b.fd.toPrecision(3)}${acc}; real images ${g.real.fdFloor.toPrecision(3)}`;
}
