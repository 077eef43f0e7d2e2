// What every training engine shares: the step's data (drawn from seeded streams, so the same seed trains on the same
// batches on every engine), the learning-rate schedule, the step/images/seconds counters, the metrics of a step and
// the whole state a checkpoint holds in official layouts, so a run resumes exactly, and on either engine.
import type { OfficialTensor } from '../jit/params';
import { drawNoise } from '../jit/diffusion';
import { Rng } from '../jit/random';
import type { SamplerOptions, StepObserver, Denoiser } from '../jit/sampler';
import type { Dataset } from './data/dataset';
import type { RunConfig } from '../io/runConfig';
import type { TrainerState, WeightsChoice } from '../io/trainerState';
import { T_BUCKETS } from '../wire/dashboardMessages';
import { sampleWithDenoiser } from './sampleImages';
import type { Shard } from './shard';
import { LrSchedule, lrAt } from '../jit/schedule';

/** Where a run trains: ONNX Runtime (a gradient graph, CPU or its GPU execution providers) or TensorFlow.js. */
export type TrainingEngineName = 'onnx' | 'tfjs';

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  imagesPerSec: number;
  /** Wall-clock seconds of training so far (excluding sampling and checkpointing). */
  seconds: number;
  imagesSeen: number;
  /** Mean v-loss of this batch's images per t-bucket [0, 0.1), ..., [0.9, 1]; null where no image fell. */
  lossByT: (number | null)[];
  /** Resident memory of the training process after the step, in MiB (worker threads included); absent in runs
   *  written before it was logged. */
  rssMB?: number;
}

export class TrainingDiverged extends Error {
  constructor(readonly step: number, readonly loss: number) {
    super(`Training stopped at step ${step}: the loss became ${loss}. Lower the learning rate (--lr) and resume from the last checkpoint.`);
    this.name = 'TrainingDiverged';
  }
}

/** A sampling network over one weights copy of a trainer, and how to release it. */
export interface TrainerDenoiser {
  denoiser: Denoiser;
  /** What runs it, e.g. "ONNX Runtime, cpu execution provider, 2 threads". */
  engine: string;
  dispose(): Promise<void>;
}

export interface SampleRequest {
  n: number;
  seed: number;
  weights: WeightsChoice;
  sampler: Omit<SamplerOptions, 'numClasses' | 'tEps'>;
  labels?: Int32Array;
  observer?: StepObserver;
  signal?: AbortSignal;
  /** The network to sample with; default: the engine's own over `weights`. */
  denoiser?: Denoiser;
}

/** The parts of a training step that do not depend on the engine. */
export abstract class TrainerBase {
  abstract readonly engine: TrainingEngineName;
  step = 0;
  imagesSeen = 0;
  seconds = 0;
  protected dataRng: Rng;
  protected noiseRng: Rng;
  private readonly schedule: LrSchedule;

  constructor(readonly cfg: RunConfig, readonly data: Dataset, state?: TrainerState) {
    if (data.imageSize !== cfg.model.inputSize) throw new Error(`The dataset has ${data.imageSize} px images but ${cfg.preset} needs ${cfg.model.inputSize} px.`);
    this.dataRng = state ? Rng.fromState(state.dataRng) : new Rng(`data:${cfg.seed}`);
    this.noiseRng = state ? Rng.fromState(state.noiseRng) : new Rng(`noise:${cfg.seed}`);
    this.schedule = { kind: cfg.schedule, lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps, minLr: cfg.minLr };
    if (state) {
      this.step = state.step;
      this.imagesSeen = state.imagesSeen;
      this.seconds = state.seconds;
    }
  }

  lrAt(step: number): number {
    return lrAt(this.schedule, step);
  }

  /** One optimisation step. Throws TrainingDiverged (weights untouched) if the loss is not finite. */
  abstract trainStep(): Promise<StepMetrics>;
  /** One weights copy in the official layout (`net.*`), e.g. to build an ONNX Runtime session over it. */
  abstract officialWeights(which: WeightsChoice): Promise<Map<string, OfficialTensor>>;
  abstract exportState(): Promise<TrainerState>;
  /** The engine's own network over a weights copy, for sampling. */
  abstract denoiser(which: WeightsChoice): Promise<TrainerDenoiser>;
  /** One line naming the engine and its settings, for run.json, logs and the status bar. */
  abstract describe(): string;
  abstract dispose(): Promise<void>;

  /** The next batch and its noise, drawn in a fixed order from the data and noise streams. */
  protected drawStep(): { step: number; lr: number; shard: Shard } {
    const { cfg } = this;
    const S = cfg.model.inputSize;
    const batch = this.data.batch(this.dataRng, cfg.batch);
    const noise = drawNoise(this.noiseRng, batch.labels, cfg.model.inChannels * S * S, cfg.model.numClasses, cfg.diffusion);
    const step = this.step + 1;
    return { step, lr: this.lrAt(step), shard: { images: batch.images, e: noise.e, t: noise.t, labels: noise.labels } };
  }

  /** Counts a finished step and makes its metrics. */
  protected finishStep(step: number, lr: number, loss: number, gradNorm: number, t: Float32Array, perImage: Float32Array, started: number): StepMetrics {
    const B = this.cfg.batch;
    this.step = step;
    this.imagesSeen += B;
    const elapsed = (performance.now() - started) / 1000;
    this.seconds += elapsed;
    return { step, loss, lr, gradNorm, imagesPerSec: B / elapsed, seconds: this.seconds, imagesSeen: this.imagesSeen, lossByT: bucketLoss(t, perImage),
      rssMB: process.memoryUsage.rss() / 2 ** 20 };
  }

  /**
   * Samples images [n, C, S, S] with the given weights from a fixed seed (the same noise at every call), on this
   * engine's own network unless `denoiser` is given.
   */
  async sampleImages(o: SampleRequest): Promise<{ images: Float32Array; labels: Int32Array }> {
    const own = o.denoiser ? undefined : await this.denoiser(o.weights);
    try {
      return await sampleWithDenoiser(this.cfg, o.denoiser ?? own!.denoiser, o);
    } finally {
      await own?.dispose();
    }
  }
}

/** Optimizer moments exist only for trainable tensors; give frozen ones their (unused) online values to load. */
export function fillFrozen(src: Map<string, OfficialTensor>, online: Map<string, OfficialTensor>): Map<string, OfficialTensor> {
  const m = new Map(src);
  for (const [k, v] of online) if (!m.has(k)) m.set(k, v);
  return m;
}

export function bucketLoss(t: Float32Array, per: Float32Array): (number | null)[] {
  const sum = new Array<number>(T_BUCKETS).fill(0);
  const count = new Array<number>(T_BUCKETS).fill(0);
  for (let i = 0; i < t.length; i++) {
    const b = Math.min(T_BUCKETS - 1, Math.floor(t[i] * T_BUCKETS));
    sum[b] += per[i];
    count[b]++;
  }
  return sum.map((s, i) => (count[i] ? s / count[i] : null));
}
