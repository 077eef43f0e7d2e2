// Sample quality as numbers, one implementation for `jit eval`, the live evaluation during training and the CFG x
// EMA grid. Two disjoint sets of n real images, A and B, are drawn once; samples are made with B's labels (so they
// have the data's class mix) and compared with A exactly as B is compared with A. B's numbers are each metric's
// floor: what a perfect model would score with the same n (the Fréchet distance of finite sets is never 0).
import * as fs from 'fs';
import * as path from 'path';
import type { DiffusionConfig, JiTConfig } from '../jit/config';
import type { Denoiser } from '../jit/sampler';
import type { Dataset } from '../train/data/dataset';
import { SamplingRuntimeChoice, loadCheckpointWeights, openDenoiser } from '../sampling/checkpointModel';
import { loadCheckpointSeconds, loadWeights } from '../io/checkpoint';
import { runPaths } from '../io/runs';
import { loadDataset } from '../train/data/load';
import type { DataSpec } from '../io/runConfig';
import type { WeightsChoice } from '../wire/samplingNames';
import { FEATURE_DIM, FeatureNet, FeatureNetCache, loadOrTrainFeatureNet } from './featureNet';
import { Gaussian, frechetDistance, gaussianFit } from './frechet';
import { precisionRecall } from './precisionRecall';
import { RealImages, realImages } from './realImages';
import { SampleSettings, sampleAll } from './sampleSet';
import { SeamEnergy, seamEnergy, seamScore } from './seam';
import type { QualityScores } from '../wire/qualityScores';

export type { QualityScores } from '../wire/qualityScores';

/** The sampler settings of an evaluation and how many images it compares. */
export interface QualitySettings extends SampleSettings {
  n: number;
  seed: number;
}

/** `jit eval`: the paper's sampler (50 Heun steps) on 512 images. */
export const EVAL_SETTINGS: QualitySettings = { n: 512, steps: 50, method: 'heun', cfgScale: 1.0, intervalMin: 0.1, intervalMax: 1.0, seed: 0 };

/** Scores with where they came from: the JSON of `jit eval` and the records in metrics.jsonl. */
export interface QualityMetrics extends QualityScores {
  step?: number;
  /** Training seconds when the weights were taken (wall clock of the training steps). */
  seconds?: number;
  weights?: WeightsChoice;
  cfg: number;
  steps: number;
  seed: number;
  /** Seconds the evaluation took (sampling and scoring). */
  evalSeconds: number;
}

interface RealSide {
  features: Float32Array;
  gauss: Gaussian;
  predicted: Int32Array;
}

/** The real reference of one data set, feature network and n: everything samples are compared with. */
export class QualityReference {
  private constructor(
    readonly net: FeatureNet,
    readonly n: number,
    /** Labels to sample with: set B's. */
    readonly labels: Int32Array,
    private readonly a: RealSide,
    private readonly seamA: SeamEnergy,
    private readonly patchSize: number,
    private readonly classes: boolean,
    /** Set B's scores. */
    readonly real: Pick<QualityScores, 'fdFloor' | 'realAccuracy' | 'realPrecision' | 'realRecall' | 'realSeam'>,
  ) {}

  static async create(real: RealImages, net: FeatureNet, n: number, patchSize: number): Promise<QualityReference> {
    const m = Math.min(n, real.maxReference);
    if (m < 4) throw new Error(`Sample quality needs two disjoint sets of at least 4 real images, but the data set has ${real.dataset.size}; add images to it.`);
    const ds = real.dataset;
    const embed = async (images: Float32Array): Promise<RealSide> => {
      const e = await net.embed(images, m);
      return { features: e.features, gauss: gaussianFit(e.features, m, FEATURE_DIM), predicted: e.predicted };
    };
    const setA = real.reference('a', m);
    const setB = real.reference('b', m);
    const a = await embed(setA.images);
    const b = await embed(setB.images);
    const seamA = seamEnergy(setA.images, m, 3, ds.imageSize, patchSize);
    const classes = net.record.task === 'classes' && ds.numClasses > 1;
    const pr = precisionRecall(a.features, m, b.features, m, FEATURE_DIM);
    return new QualityReference(net, m, setB.labels, a, seamA, patchSize, classes, {
      fdFloor: frechetDistance(b.gauss, a.gauss),
      realAccuracy: classes ? accuracy(b.predicted, setB.labels) : null,
      realPrecision: pr.precision,
      realRecall: pr.recall,
      realSeam: seamScore(seamEnergy(setB.images, m, 3, ds.imageSize, patchSize), seamA),
    });
  }

  /** Scores n samples [n, 3, S, S] that were made with `this.labels`. */
  async score(images: Float32Array): Promise<QualityScores> {
    const { n } = this;
    const e = await this.net.embed(images, n);
    const pr = precisionRecall(this.a.features, n, e.features, n, FEATURE_DIM);
    return {
      n,
      fd: frechetDistance(gaussianFit(e.features, n, FEATURE_DIM), this.a.gauss),
      classAccuracy: this.classes ? accuracy(e.predicted, this.labels) : null,
      precision: pr.precision,
      recall: pr.recall,
      seam: seamScore(seamEnergy(images, n, 3, this.net.record.imageSize, this.patchSize), this.seamA),
      ...this.real,
    };
  }
}

function accuracy(predicted: Int32Array, labels: Int32Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;
  return right / labels.length;
}

/** The features cache of a runs folder: <runs root>/.features (beside the runs, found by every run in it). */
export function featuresDirOf(runDir: string): string {
  return path.join(path.dirname(path.resolve(runDir)), '.features');
}

/** Where a checkpoint's evaluations cache their feature network: its runs folder's, or beside a loose file. */
export function featuresDirForCheckpoint(file: string): string {
  const runDir = path.dirname(path.dirname(path.resolve(file)));
  return fs.existsSync(runPaths(runDir).runFile) ? featuresDirOf(runDir) : path.join(path.dirname(path.resolve(file)), '.features');
}

export interface EvaluatorOptions extends Omit<FeatureNetCache, 'dir'> {
  /** Where feature networks are cached. */
  featuresDir: string;
}

/** A data set's feature network and real reference for one n, reused over many evaluations (checkpoints, grid cells). */
export class QualityEvaluator {
  private constructor(readonly dataset: Dataset, readonly reference: QualityReference) {}

  static async create(dataset: Dataset, model: JiTConfig, n: number, opts: EvaluatorOptions): Promise<QualityEvaluator> {
    if (model.numClasses !== dataset.numClasses) {
      throw new Error(`The model has ${model.numClasses} classes but the data set has ${dataset.numClasses} (${dataset.describe()}); evaluate it on the data it was trained on.`);
    }
    if (model.inputSize !== dataset.imageSize) throw new Error(`The model makes ${model.inputSize} px images but the data set has ${dataset.imageSize} px.`);
    const real = realImages(dataset);
    const net = await loadOrTrainFeatureNet(real, { ...opts, dir: opts.featuresDir });
    try {
      return new QualityEvaluator(dataset, await QualityReference.create(real, net, n, model.patchSize));
    } catch (e) {
      net.dispose();
      throw e;
    }
  }

  get net(): FeatureNet {
    return this.reference.net;
  }

  /** Samples with the reference's labels through `den` and scores them. */
  async evaluate(den: Denoiser, model: JiTConfig, diffusion: DiffusionConfig, settings: Omit<QualitySettings, 'n'>,
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<QualityScores & { evalSeconds: number }> {
    const started = performance.now();
    const images = await sampleAll(den, model, diffusion, this.reference.labels, settings, settings.seed, opts);
    const scores = await this.reference.score(images);
    return { ...scores, evalSeconds: (performance.now() - started) / 1000 };
  }

  /** One checkpoint's weights copy, sampled on ONNX Runtime when it loads. */
  async evaluateCheckpoint(file: string, weights: WeightsChoice, settings: Omit<QualitySettings, 'n'>,
    opts: SamplingRuntimeChoice & { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<QualityMetrics> {
    const ck = await loadCheckpointWeights(file, weights);
    const den = await openDenoiser(ck, opts);
    try {
      const scores = await this.evaluate(den.denoiser, ck.model, ck.diffusion, settings, opts);
      return { step: ck.step, seconds: loadCheckpointSeconds(file), weights, cfg: settings.cfgScale, steps: settings.steps, seed: settings.seed, ...scores };
    } finally {
      den.dispose();
    }
  }

  dispose(): void {
    this.reference.net.dispose();
  }
}

/**
 * The evaluator for a checkpoint: the data set its run trained on (or `data`, which a bare state dict needs), and the
 * feature network cached for its runs folder (or in `featuresDir`).
 */
export async function evaluatorForCheckpoint(file: string, n: number, opts: Partial<EvaluatorOptions> & { data?: DataSpec; onLog?: (message: string) => void } = {}): Promise<QualityEvaluator> {
  const { model, run } = loadWeights(file, 'online');
  const data = opts.data ?? run?.data;
  if (!data) throw new Error(`${path.basename(file)} does not record the data set it was trained on; pass it with --data builtin or --data <folder>.`);
  const dataset = await loadDataset(data, model.inputSize, (e) => opts.onLog?.(e.message));
  return QualityEvaluator.create(dataset, model, n, { ...opts, featuresDir: opts.featuresDir ?? featuresDirForCheckpoint(file) });
}
