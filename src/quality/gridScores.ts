// Scores for the cells of the CFG x EMA grid: every weights copy at every guidance scale, with the guidance interval
// on and off, each sampled on its own set of images with the real reference's labels and scored like `jit eval`.
// The grid's few displayed images cannot rank cells; these scores can (a "sweep" uses more samples per cell).
import { DEFAULT_GRID, GuidanceInterval } from '../analysis/grid';
import { SamplingRuntimeChoice, loadCheckpointWeights, openDenoiser } from '../sampling/checkpointModel';
import type { WeightsChoice } from '../wire/samplingNames';
import { EvaluatorOptions, evaluatorForCheckpoint } from './evaluate';
import type { CellScore, GridScores } from '../wire/qualityScores';
import type { DataSpec } from '../io/runConfig';
import * as fs from 'fs';
import * as path from 'path';
import { appendJsonLine, readJsonLines, runPaths } from '../io/runs';

import { GRID_SCORES_FILE, isGridScoresLine } from './record';

export { GRID_SCORE_N } from './record';

export interface GridScoreOptions extends SamplingRuntimeChoice, Partial<Omit<EvaluatorOptions, 'onProgress'>> {
  weights?: WeightsChoice[];
  cfgScales?: number[];
  intervals?: GuidanceInterval[];
  /** Samples per cell. */
  n: number;
  steps?: number;
  seed?: number;
  data?: DataSpec;
}

export async function scoreGrid(checkpoint: string, o: GridScoreOptions, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<GridScores> {
  const started = performance.now();
  const weights = o.weights ?? DEFAULT_GRID.weights;
  const cfgScales = o.cfgScales ?? DEFAULT_GRID.cfgScales;
  const intervals = o.intervals ?? DEFAULT_GRID.intervals;
  const steps = o.steps ?? DEFAULT_GRID.steps;
  const seed = o.seed ?? DEFAULT_GRID.seed;
  const evaluator = await evaluatorForCheckpoint(checkpoint, o.n, o);
  const cells: CellScore[] = [];
  const total = weights.length * cfgScales.length * intervals.length;
  let step: number | undefined;
  try {
    for (const which of weights) {
      const ck = await loadCheckpointWeights(checkpoint, which);
      step = ck.step;
      const den = await openDenoiser(ck, o);
      try {
        for (const interval of intervals) {
          for (const cfgScale of cfgScales) {
            const settings = { steps, method: 'heun' as const, cfgScale, intervalMin: interval.min, intervalMax: interval.max, seed };
            const s = await evaluator.evaluate(den.denoiser, ck.model, ck.diffusion, settings, { signal });
            cells.push({ weights: which, cfgScale, intervalMin: interval.min, intervalMax: interval.max, fd: s.fd, classAccuracy: s.classAccuracy, precision: s.precision, recall: s.recall, seam: s.seam });
            onProgress?.(cells.length, total);
          }
        }
      } finally {
        den.dispose();
      }
    }
    const best = cells.reduce((b, c, i) => (c.fd < cells[b].fd ? i : b), 0);
    const r = evaluator.net.record;
    return { checkpoint, step, n: evaluator.reference.n, steps, seed, real: evaluator.reference.real, cells, best,
      featureNet: { key: r.key, heldOutAccuracy: r.heldOutAccuracy }, seconds: (performance.now() - started) / 1000 };
  } finally {
    evaluator.dispose();
  }
}

/** Appends the scores to the run's samples/grid-scores.jsonl when the checkpoint is in a run folder; returns the file. */
export function saveGridScores(scores: GridScores): string | undefined {
  const runDir = path.dirname(path.dirname(path.resolve(scores.checkpoint)));
  if (!fs.existsSync(runPaths(runDir).runFile)) return undefined;
  const file = path.join(runPaths(runDir).samples, GRID_SCORES_FILE);
  appendJsonLine<GridScores & { time: string }>(file, { ...scores, time: new Date().toISOString() });
  return file;
}

/** Every scored grid of a run, oldest first (a torn last line is skipped). */
export function readGridScores(runDir: string): GridScores[] {
  return readJsonLines<GridScores>(path.join(runPaths(runDir).samples, GRID_SCORES_FILE))
    .filter(isGridScoresLine);
}
