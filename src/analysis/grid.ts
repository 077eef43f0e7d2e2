// The CFG x EMA grid: the same noise sampled with every weights copy (rows) at every guidance scale (columns),
// with the guidance interval on and off: "sweep the EMA and the CFG" in one picture. Each cell's settings are
// returned with its images, and a cell equals `jit sample` with the same seed and settings.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../jit/random';
import { SamplerOptions, SamplingMethod, initialNoise, sample } from '../jit/sampler';
import type { WeightsChoice } from '../io/trainerState';
import { EngineChoice, EngineReport, loadCheckpointWeights, openDenoiser } from '../sampling/checkpointModel';

export interface GuidanceInterval {
  /** Guidance applies where intervalMin < t < intervalMax (intervalMin 0: from t = 0). */
  min: number;
  max: number;
}

export interface GridOptions extends EngineChoice {
  /** Rows; default ema1, ema2, online. */
  weights?: WeightsChoice[];
  /** Columns; default 1.0, 1.5, 2.0, 3.0, 4.0. */
  cfgScales?: number[];
  /** Default: on (0.1, 1), the official interval, and off (0, 1): guidance at every step. */
  intervals?: GuidanceInterval[];
  /** Images per cell; default 4. */
  n?: number;
  /** Classes, cycled over the n images; default 0, 1, 2, ... */
  classes?: number[];
  /** The noise seed, the same for every cell; default 0. */
  seed?: number;
  /** Default 20. */
  steps?: number;
  /** Default 'heun'. */
  method?: SamplingMethod;
}

export interface GridCell {
  weights: WeightsChoice;
  cfgScale: number;
  intervalMin: number;
  intervalMax: number;
  seed: number;
  steps: number;
  method: SamplingMethod;
  /** [n, C, S, S] floats in about [-1, 1]. */
  images: Float32Array;
}

export interface CfgEmaGrid {
  step?: number;
  imageSize: number;
  channels: number;
  /** [n] the class of each image, the same in every cell. */
  labels: number[];
  weights: WeightsChoice[];
  cfgScales: number[];
  intervals: GuidanceInterval[];
  /** cells[interval][row][column]. */
  cells: GridCell[][][];
  /** The engine that ran the network (of the first row; every row opens the same way). */
  engine: EngineReport;
}

export const DEFAULT_GRID = {
  weights: ['ema1', 'ema2', 'online'] as WeightsChoice[],
  cfgScales: [1.0, 1.5, 2.0, 3.0, 4.0],
  intervals: [{ min: 0.1, max: 1 }, { min: 0, max: 1 }] as GuidanceInterval[],
  n: 4,
  seed: 0,
  steps: 20,
  method: 'heun' as SamplingMethod,
};

/** Samples every cell; onProgress(cellsDone, cellsTotal) after each; `signal` cancels between network evaluations. */
export async function cfgEmaGrid(checkpoint: string, opts: GridOptions = {}, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<CfgEmaGrid> {
  const o = {
    weights: opts.weights ?? DEFAULT_GRID.weights,
    cfgScales: opts.cfgScales ?? DEFAULT_GRID.cfgScales,
    intervals: opts.intervals ?? DEFAULT_GRID.intervals,
    n: opts.n ?? DEFAULT_GRID.n,
    classes: opts.classes,
    seed: opts.seed ?? DEFAULT_GRID.seed,
    steps: opts.steps ?? DEFAULT_GRID.steps,
    method: opts.method ?? DEFAULT_GRID.method,
  };
  if (!o.weights.length || !o.cfgScales.length || !o.intervals.length) throw new Error('The grid needs at least one weights copy, one CFG scale and one interval.');
  for (const s of o.cfgScales) if (!Number.isFinite(s)) throw new Error(`CFG scales must be numbers, got ${s}.`);
  for (const i of o.intervals) if (!(i.min >= 0 && i.min < i.max && i.max <= 1)) throw new Error(`A guidance interval must satisfy 0 <= min < max <= 1, got (${i.min}, ${i.max}).`);
  if (!Number.isInteger(o.n) || o.n < 1) throw new Error(`Images per cell must be a positive whole number, got ${o.n}.`);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`Steps must be a positive whole number, got ${o.steps}.`);

  const first = await loadCheckpointWeights(checkpoint, o.weights[0]);
  const { model, diffusion } = first;
  const classes = o.classes?.length ? o.classes : Array.from({ length: model.numClasses }, (_, i) => i);
  for (const c of classes) if (!(Number.isInteger(c) && c >= 0 && c <= model.numClasses)) throw new Error(`Class ${c} is out of range: this model has classes 0-${model.numClasses - 1} (and ${model.numClasses} = unconditional).`);
  const labels = Int32Array.from({ length: o.n }, (_, i) => classes[i % classes.length]);
  const S = model.inputSize;
  // The noise of sampleFromCheckpoint for this seed, so a cell can be reproduced with `jit sample`.
  const z0 = tf.tensor4d(initialNoise(new Rng(`sample:${o.seed}`), o.n * model.inChannels * S * S, diffusion.noiseScale), [o.n, model.inChannels, S, S]);
  let engine: EngineReport | undefined;
  const total = o.weights.length * o.cfgScales.length * o.intervals.length;
  let done = 0;
  const byRow: GridCell[][][] = []; // [row][interval][column]
  try {
    for (const which of o.weights) {
      const den = await openDenoiser(which === o.weights[0] ? first : await loadCheckpointWeights(checkpoint, which), opts);
      engine ??= den.report;
      try {
        const rowCells: GridCell[][] = [];
        for (const interval of o.intervals) {
          const cells: GridCell[] = [];
          for (const cfgScale of o.cfgScales) {
            const settings: SamplerOptions = {
              steps: o.steps, method: o.method, cfgScale, intervalMin: interval.min, intervalMax: interval.max, tEps: diffusion.tEps, numClasses: model.numClasses,
            };
            const images = await sample(den.denoiser, z0, labels, settings, undefined, signal);
            cells.push({ weights: which, cfgScale, intervalMin: interval.min, intervalMax: interval.max, seed: o.seed, steps: o.steps, method: o.method, images });
            onProgress?.(++done, total);
          }
          rowCells.push(cells);
        }
        byRow.push(rowCells);
      } finally {
        den.dispose();
      }
    }
  } finally {
    z0.dispose();
  }
  return {
    step: first.step,
    imageSize: S,
    channels: model.inChannels,
    labels: [...labels],
    weights: [...o.weights],
    cfgScales: [...o.cfgScales],
    intervals: o.intervals.map((i) => ({ ...i })),
    cells: o.intervals.map((_, k) => byRow.map((row) => row[k])),
    engine: engine!,
  };
}
