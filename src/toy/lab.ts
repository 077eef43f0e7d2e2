// The manifold lab: the paper's toy experiment (sec. 3.3, Fig. 2). For every (D, target) cell it embeds 2-D data
// in D dimensions, trains a fresh MLP with the v-loss to predict x, eps or v, samples it with the shared Heun
// sampler, projects the samples back to 2-D and measures how far they are from the true distribution.
// The diffusion formulas, the sampler and the optimiser are the engine's own; points [B, D] are viewed as
// images [B, D, 1, 1] so the same functions serve.
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_DIFFUSION, PredictionTarget } from '../jit/config';
import { noisy, sampleT, vLossPerImage } from '../jit/diffusion';
import { Rng } from '../jit/random';
import { DEFAULT_SAMPLER, SamplingCancelled, initialNoise, sample } from '../jit/sampler';
import { JIT_ADAMW } from '../jit/optim';
import { AdamW } from '../train/adamw';
import { LrSchedule, lrAt } from '../jit/schedule';
import { sampleToyData, ToyDataName, TOY_DATA_NAMES } from './data';
import { slicedWasserstein } from './distance';
import { embedPoints, Embedding, projectPoints, randomEmbedding } from './embed';
import { predictCleanPoints, ToyDenoiser, ToyMlp } from './mlp';

export type Point = [number, number];

export interface ToyOptions {
  data: ToyDataName;
  dims: number[];
  targets: PredictionTarget[];
  /** Logit-normal training t: t = sigmoid(n), n ~ N(pMean, pStd^2); the image model's values by default. */
  pMean: number;
  pStd: number;
  /** Training steps per model. */
  steps: number;
  batch: number;
  /** Peak AdamW learning rate: a short linear warmup, then cosine decay to zero (a short run ends on settled weights). */
  lr: number;
  seed: number;
  /** Generated points per cell, and true points to compare them with. */
  samples: number;
  /** Heun steps of the sampler. */
  sampleSteps: number;
  /** How many of the samples have their path recorded. */
  trajectories: number;
  /** Training progress is reported every this many steps (and at the last step). */
  progressEvery: number;
}

export const DEFAULT_TOY: ToyOptions = {
  data: 'spiral',
  dims: [2, 8, 16, 512],
  targets: ['x', 'eps', 'v'],
  pMean: DEFAULT_DIFFUSION.pMean,
  pStd: DEFAULT_DIFFUSION.pStd,
  steps: 600,
  batch: 128,
  lr: 2e-3,
  seed: 0,
  samples: 256,
  sampleSteps: DEFAULT_SAMPLER.steps,
  trajectories: 8,
  progressEvery: 20,
};

export const TOY_TARGETS: readonly PredictionTarget[] = ['x', 'eps', 'v'];

/** True points every cell is compared with: more than the samples, so the reference set adds little noise of its own. */
export const TRUTH_POINTS = 2048;

export interface ToyCellResult {
  dim: number;
  target: PredictionTarget;
  /** Sliced Wasserstein-1 distance between the generated and the true 2-D points. */
  distance: number;
  /** Mean v-loss over the last reporting interval of training. */
  finalLoss: number;
  /** Generated points projected back to 2-D. */
  samples: Point[];
  /** Paths of the first few samples through the sampler, projected to 2-D: sampleSteps + 1 points each. */
  trajectories: Point[][];
  trainSeconds: number;
  sampleSeconds: number;
}

export interface ToyResult {
  options: ToyOptions;
  /** The TRUTH_POINTS true 2-D points every cell is compared with. */
  truth: Point[];
  /** Distance of `samples` independent true points to `truth`: what a perfect model would score, up to chance. */
  referenceDistance: number;
  cells: ToyCellResult[];
}

export type ToyProgress =
  | { type: 'train'; dim: number; target: PredictionTarget; step: number; steps: number; loss: number; cell: number; cells: number }
  | { type: 'sampling'; dim: number; target: PredictionTarget; cell: number; cells: number }
  | { type: 'cell'; result: ToyCellResult; cell: number; cells: number };

export interface ToyRunHooks {
  onProgress?: (e: ToyProgress) => void;
  signal?: AbortSignal;
}

export class ToyRunCancelled extends Error {
  constructor() {
    super('The manifold lab run was cancelled.');
    this.name = 'ToyRunCancelled';
  }
}

const DIFFUSION = DEFAULT_DIFFUSION; // the image model's noise scale and t_eps

/** Checks options from a user (CLI flags, a webview form) and fills in defaults; throws one sentence per problem. */
export function resolveToyOptions(o: Partial<ToyOptions>): ToyOptions {
  const r: ToyOptions = { ...DEFAULT_TOY, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  if (!TOY_DATA_NAMES.includes(r.data)) throw new Error(`Unknown toy data "${r.data}": choose one of ${TOY_DATA_NAMES.join(', ')}.`);
  if (r.dims.length === 0 || r.dims.some((d) => !Number.isInteger(d) || d < 2 || d > 4096)) {
    throw new Error(`Dimensions must be whole numbers from 2 to 4096 (the data is 2-D), got ${r.dims.join(', ') || 'none'}.`);
  }
  if (r.targets.length === 0 || r.targets.some((t) => !TOY_TARGETS.includes(t))) {
    throw new Error(`Prediction targets must be some of ${TOY_TARGETS.join(', ')}, got ${r.targets.join(', ') || 'none'}.`);
  }
  if (new Set(r.dims).size !== r.dims.length || new Set(r.targets).size !== r.targets.length) {
    throw new Error(`List each dimension and each target once, got dims ${r.dims.join(', ')} and targets ${r.targets.join(', ')}.`);
  }
  for (const k of ['steps', 'batch', 'samples', 'sampleSteps', 'progressEvery'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 1) throw new Error(`${k} must be a positive whole number, got ${r[k]}.`);
  }
  if (!Number.isInteger(r.trajectories) || r.trajectories < 0 || r.trajectories > r.samples) {
    throw new Error(`trajectories must be a whole number from 0 to samples (${r.samples}), got ${r.trajectories}.`);
  }
  if (!(r.lr > 0 && r.lr < 1)) throw new Error(`The learning rate must be between 0 and 1, got ${r.lr}.`);
  if (!Number.isFinite(r.pMean) || !(r.pStd > 0)) throw new Error(`pMean must be a number and pStd a positive number, got ${r.pMean} and ${r.pStd}.`);
  if (!Number.isFinite(r.seed)) throw new Error(`The seed must be a number, got ${r.seed}.`);
  return r;
}

/** [n, 2] row-major -> plain [x, y] pairs (for JSON and webviews). */
function toPoints(flat: Float32Array): Point[] {
  return Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]] as Point);
}

/** Lets queued messages (a cancel request, a webview's poll) through between batches of synchronous work. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One training step's random draw and loss: x, noise e and t from `rng`, v-loss of the MLP's clean estimate. */
function trainStep(net: ToyMlp, opt: AdamW, params: Map<string, tf.Variable>, emb: Embedding, o: ToyOptions,
  target: PredictionTarget, rng: Rng, lr: number): tf.Scalar {
  const B = o.batch;
  const D = emb.dim;
  const x2 = sampleToyData(o.data, rng, B); // [B, 2]
  const e = rng.fillNormal(new Float32Array(B * D), DIFFUSION.noiseScale); // [B, D]
  const t = sampleT(rng, B, o.pMean, o.pStd); // [B]
  return tf.tidy(() => {
    const x = tf.tensor4d(embedPoints(x2, emb), [B, D, 1, 1]);
    const eps = tf.tensor4d(e, [B, D, 1, 1]);
    const tt = tf.tensor1d(t);
    const { value, grads } = tf.variableGrads(() => {
      const z = noisy(x, eps, tt); // [B, D, 1, 1]
      const xHat = predictCleanPoints(net, z, tt, target, DIFFUSION.tEps);
      return tf.mean(vLossPerImage(xHat, x, z, tt, DIFFUSION.tEps)) as tf.Scalar;
    }, [...params.values()]);
    opt.apply(new Map([...params].map(([name, p]) => [name, grads[p.name]])), lr);
    return value;
  });
}

interface TrainedCell {
  net: ToyMlp;
  finalLoss: number;
}

async function trainCell(emb: Embedding, target: PredictionTarget, o: ToyOptions, cell: number, cells: number,
  hooks: ToyRunHooks): Promise<TrainedCell> {
  // Every target at a given D starts from the same weights and sees the same data, noise and t: a paired comparison.
  const rng = new Rng(`toy:${o.seed}:${emb.dim}`);
  const net = new ToyMlp(emb.dim, rng);
  const params = net.params();
  let opt!: AdamW;
  tf.tidy(() => void (opt = new AdamW(params, JIT_ADAMW))); // tidy frees the zero tensors its moments start from
  const schedule: LrSchedule = { kind: 'cosine', lr: o.lr, warmupSteps: Math.ceil(o.steps / 20), totalSteps: o.steps, minLr: 0 };
  let lossSum = tf.scalar(0);
  let since = 0;
  let finalLoss = NaN;
  try {
    for (let step = 1; step <= o.steps; step++) {
      if (hooks.signal?.aborted) throw new ToyRunCancelled();
      const loss = trainStep(net, opt, params, emb, o, target, rng, lrAt(schedule, step));
      const sum = tf.add(lossSum, loss) as tf.Scalar;
      tf.dispose([lossSum, loss]);
      lossSum = sum;
      since++;
      if (step % o.progressEvery === 0 || step === o.steps) {
        finalLoss = (await lossSum.data())[0] / since;
        lossSum.dispose();
        lossSum = tf.scalar(0);
        since = 0;
        hooks.onProgress?.({ type: 'train', dim: emb.dim, target, step, steps: o.steps, loss: finalLoss, cell, cells });
        await yieldToEventLoop();
      }
    }
    return { net, finalLoss };
  } catch (err) {
    net.dispose();
    throw err;
  } finally {
    lossSum.dispose();
    opt.dispose();
  }
}

/** Samples `o.samples` points with the shared sampler; returns them and the first few paths, projected to 2-D. */
async function sampleCell(net: ToyMlp, emb: Embedding, target: PredictionTarget, o: ToyOptions, signal?: AbortSignal):
  Promise<{ samples: Point[]; flat: Float32Array; trajectories: Point[][] }> {
  const D = emb.dim;
  const n = o.samples;
  const k = o.trajectories;
  // Same starting noise for every target at a given D, so their panels differ only by the model.
  const z0 = tf.tensor4d(initialNoise(new Rng(`toy-sample:${o.seed}:${D}`), n * D, DIFFUSION.noiseScale), [n, D, 1, 1]);
  const trajectories: Point[][] = Array.from({ length: k }, () => []);
  const record = (z: Float32Array) => toPoints(projectPoints(z.subarray(0, k * D), emb)).forEach((p, i) => trajectories[i].push(p));
  try {
    const final = await sample(new ToyDenoiser(net, target, DIFFUSION.tEps), z0, new Int32Array(n), {
      ...DEFAULT_SAMPLER, steps: o.sampleSteps, method: 'heun', cfgScale: 1, numClasses: 0, tEps: DIFFUSION.tEps,
    }, k > 0 ? (rec) => {
      record(rec.z);
      if (rec.step === o.sampleSteps - 1) record(rec.zNext);
    } : undefined, signal);
    const flat = projectPoints(final, emb); // [n, 2]
    return { samples: toPoints(flat), flat, trajectories };
  } catch (err) {
    if (err instanceof SamplingCancelled) throw new ToyRunCancelled();
    throw err;
  } finally {
    z0.dispose();
  }
}

/** Trains and samples one model per (D, target), D-major, and measures each against the true 2-D data. */
export async function runToyExperiment(options: Partial<ToyOptions>, hooks: ToyRunHooks = {}): Promise<ToyResult> {
  const o = resolveToyOptions(options);
  const truthFlat = sampleToyData(o.data, new Rng(`toy-truth:${o.seed}`), TRUTH_POINTS);
  const referenceDistance = slicedWasserstein(sampleToyData(o.data, new Rng(`toy-reference:${o.seed}`), o.samples), truthFlat);
  const cells: ToyCellResult[] = [];
  const total = o.dims.length * o.targets.length;
  for (const dim of o.dims) {
    const emb = randomEmbedding(dim, new Rng(`toy-embed:${o.seed}:${dim}`));
    for (const target of o.targets) {
      const cell = cells.length;
      const started = performance.now();
      const { net, finalLoss } = await trainCell(emb, target, o, cell, total, hooks);
      try {
        const trained = performance.now();
        hooks.onProgress?.({ type: 'sampling', dim, target, cell, cells: total });
        const s = await sampleCell(net, emb, target, o, hooks.signal);
        const result: ToyCellResult = {
          dim, target, distance: slicedWasserstein(s.flat, truthFlat), finalLoss, samples: s.samples, trajectories: s.trajectories,
          trainSeconds: (trained - started) / 1000, sampleSeconds: (performance.now() - trained) / 1000,
        };
        cells.push(result);
        hooks.onProgress?.({ type: 'cell', result, cell, cells: total });
      } finally {
        net.dispose();
      }
    }
  }
  return { options: o, truth: toPoints(truthFlat), referenceDistance, cells };
}
