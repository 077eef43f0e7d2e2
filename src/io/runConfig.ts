// Everything that defines a training run, resolved from a preset plus overrides; saved as run.json and in
// every checkpoint so a run can be resumed or inspected without the command line that started it.
import { DEFAULT_DIFFUSION, DEFAULT_PRESET, DEFAULT_STEPS, DiffusionConfig, JiTConfig, PredictionTarget, getPreset } from '../jit/config';
import type { SamplingMethod } from '../wire/samplingNames';
import { peakLr } from '../jit/schedule';

export type DataSpec = { kind: 'builtin' } | { kind: 'folder'; dir: string; hflip: boolean };

export interface PreviewConfig {
  /** Images in each preview grid (labels cycle through the classes). */
  n: number;
  steps: number;
  method: SamplingMethod;
  cfgScale: number;
  /** Which weights previews use. */
  weights: 'ema1' | 'ema2' | 'online';
}

/** The live sample-quality evaluation during training (src/quality/live.ts). */
export interface QualityConfig {
  /** Evaluate every this many steps; 0: never; 'auto': whenever evaluation stays under a tenth of the training time. */
  every: number | 'auto';
  /** Samples (and real images on each side) per evaluation. */
  n: number;
  /** Heun steps of its samples. */
  steps: number;
}

export const DEFAULT_QUALITY: QualityConfig = { every: 'auto', n: 256, steps: 20 };

export interface RunConfig {
  preset: string;
  model: JiTConfig;
  diffusion: DiffusionConfig;
  data: DataSpec;
  steps: number;
  batch: number;
  blr: number;
  /** Peak learning rate, blr * batch / 256 unless given explicitly. */
  lr: number;
  schedule: 'constant' | 'cosine';
  warmupSteps: number;
  minLr: number;
  weightDecay: number;
  emaDecay1: number;
  emaDecay2: number;
  seed: number;
  sampleEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  preview: PreviewConfig;
  /** Absent in runs made before it existed: DEFAULT_QUALITY. */
  quality?: QualityConfig;
}

export interface RunOverrides {
  preset?: string;
  data?: DataSpec;
  numClasses?: number;
  steps?: number;
  batch?: number;
  blr?: number;
  lr?: number;
  schedule?: 'constant' | 'cosine';
  warmupSteps?: number;
  weightDecay?: number;
  emaDecay1?: number;
  emaDecay2?: number;
  seed?: number;
  sampleEvery?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  target?: PredictionTarget;
  freezePatchEmbed?: boolean;
  preview?: Partial<PreviewConfig>;
  quality?: Partial<QualityConfig>;
}

/** Resolves a full run configuration; `numClasses` comes from the dataset. */
export function resolveRunConfig(o: RunOverrides & { numClasses: number }): RunConfig {
  const preset = getPreset(o.preset ?? DEFAULT_PRESET);
  const batch = o.batch ?? preset.train.batch;
  const blr = o.blr ?? preset.train.blr;
  const steps = o.steps ?? DEFAULT_STEPS;
  const cfg: RunConfig = {
    preset: preset.name,
    model: { ...preset.model, numClasses: o.numClasses, freezePatchEmbed: o.freezePatchEmbed ?? false },
    diffusion: { ...DEFAULT_DIFFUSION, noiseScale: preset.noiseScale, target: o.target ?? 'x' },
    data: o.data ?? { kind: 'builtin' },
    steps,
    batch,
    blr,
    lr: o.lr ?? peakLr(blr, batch),
    schedule: o.schedule ?? preset.train.schedule,
    warmupSteps: o.warmupSteps ?? Math.min(preset.train.warmupSteps, Math.floor(steps / 10)),
    minLr: 0,
    weightDecay: o.weightDecay ?? 0,
    emaDecay1: o.emaDecay1 ?? preset.train.emaDecay1,
    emaDecay2: o.emaDecay2 ?? preset.train.emaDecay2,
    seed: o.seed ?? 0,
    sampleEvery: o.sampleEvery ?? 250,
    checkpointEvery: o.checkpointEvery ?? 500,
    keepCheckpoints: o.keepCheckpoints ?? 3,
    preview: { n: Math.min(16, Math.max(8, o.numClasses)), steps: 20, method: 'heun', cfgScale: 1.0, weights: 'ema1', ...o.preview },
    quality: { ...DEFAULT_QUALITY, ...definedOnly(o.quality ?? {}) },
  };
  validateRunConfig(cfg);
  return cfg;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function validateRunConfig(c: RunConfig): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive whole number, got ${v}.`);
  };
  positiveInt('steps', c.steps);
  positiveInt('batch', c.batch);
  positiveInt('sample-every', c.sampleEvery);
  positiveInt('checkpoint-every', c.checkpointEvery);
  positiveInt('keep-checkpoints', c.keepCheckpoints);
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0) throw new Error(`warmup must be a whole number of steps (0 or more), got ${c.warmupSteps}.`);
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new Error(`The learning rate must be a positive number, got ${c.lr}.`);
  for (const [k, v] of [['ema-decay1', c.emaDecay1], ['ema-decay2', c.emaDecay2]] as const) {
    if (!(v >= 0 && v < 1)) throw new Error(`${k} must be in [0, 1), got ${v}.`);
  }
  if (c.quality) {
    const { every, n, steps } = c.quality;
    if (!(every === 'auto' || (Number.isInteger(every) && every >= 0))) throw new Error(`eval-every must be auto or a whole number of steps (0: never), got ${every}.`);
    if (!Number.isInteger(n) || n < 4) throw new Error(`eval-n must be a whole number of at least 4 samples, got ${n}.`);
    positiveInt('eval-steps', steps);
  }
  if (!['x', 'eps', 'v'].includes(c.diffusion.target)) throw new Error(`The prediction target must be x, eps or v, got ${c.diffusion.target}.`);
}

/** run.json of a run folder, written by the run loop when a run starts; a reader takes every field as optional (older or hand-edited files). */
export interface RunFile {
  name?: string;
  preset?: string;
  created?: string;
  /** The training engine that created the run (absent in runs written before there was a choice: TF.js). */
  engine?: string;
  backend?: string;
  dataset?: string;
  classNames?: string[];
  /** Images in the data set (absent for the endless built-in shapes and runs from before it was recorded). */
  datasetSize?: number;
  config?: RunConfig;
}
