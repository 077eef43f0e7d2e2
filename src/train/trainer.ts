// The training step: v-loss gradients, AdamW, two EMA copies; deterministic from the seed, and its whole
// state (weights, EMA, moments, RNG streams, step) exportable so a resumed run continues exactly.
import * as tf from '@tensorflow/tfjs-core';
import { drawNoise } from '../jit/diffusion';
import { TfDenoiser } from '../jit/denoiser';
import { JiTNetwork } from '../jit/model';
import { OfficialTensor, TensorMap, initParams, paramSpecs, paramsFromOfficial, paramsToOfficial } from '../jit/params';
import { Rng, RngState } from '../jit/random';
import { Denoiser, SamplerOptions, StepObserver, initialNoise, sample } from '../jit/sampler';
import { AdamW } from './adamw';
import type { Dataset } from './data/dataset';
import { GradientPool } from './parallel';
import { shardGradients, shardSize, splitShard } from './shard';
import type { RunConfig } from './runConfig';
import { LrSchedule, lrAt } from './schedule';

/** Buckets of t for "loss by t": where in the noise range the model struggles. */
export const T_BUCKETS = 10;

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

/** Everything needed to continue a run, in official tensor layouts. */
export interface TrainerState {
  step: number;
  imagesSeen: number;
  seconds: number;
  online: Map<string, OfficialTensor>;
  ema1: Map<string, OfficialTensor>;
  ema2: Map<string, OfficialTensor>;
  adamStep: number;
  adamM: Map<string, OfficialTensor>;
  adamV: Map<string, OfficialTensor>;
  dataRng: RngState;
  noiseRng: RngState;
}

export type WeightsChoice = 'online' | 'ema1' | 'ema2';

let instances = 0;

export class Trainer {
  readonly net: JiTNetwork;
  readonly params: Map<string, tf.Variable>; // every tensor of the state dict, model layout
  readonly trainable: Map<string, tf.Variable>;
  readonly ema1: Map<string, tf.Variable>; // of the trainable tensors
  readonly ema2: Map<string, tf.Variable>;
  readonly opt: AdamW;
  step = 0;
  imagesSeen = 0;
  seconds = 0;
  private dataRng: Rng;
  private noiseRng: Rng;
  private readonly prefix = `trainer${++instances}/`;
  private readonly schedule: LrSchedule;
  private pool: GradientPool | undefined;

  constructor(readonly cfg: RunConfig, readonly data: Dataset, state?: TrainerState) {
    if (data.imageSize !== cfg.model.inputSize) throw new Error(`The dataset has ${data.imageSize} px images but ${cfg.preset} needs ${cfg.model.inputSize} px.`);
    this.net = new JiTNetwork(cfg.model);
    const init = state ? paramsFromOfficial(cfg.model, state.online) : initParams(cfg.model, cfg.seed);
    const specs = paramSpecs(cfg.model);
    this.params = new Map();
    this.trainable = new Map();
    for (const s of specs) {
      const v = tf.variable(init.get(s.name)!, s.trainable, this.prefix + s.name);
      this.params.set(s.name, v);
      if (s.trainable) this.trainable.set(s.name, v);
    }
    tf.dispose([...init.values()]);
    const copy = (src: Map<string, OfficialTensor> | undefined) => {
      const m = new Map<string, tf.Variable>();
      const loaded = src ? paramsFromOfficial(cfg.model, fillFrozen(src, state!.online)) : undefined;
      for (const name of this.trainable.keys()) m.set(name, tf.variable(loaded ? loaded.get(name)! : this.params.get(name)!, false));
      if (loaded) tf.dispose([...loaded.values()]);
      return m;
    };
    this.ema1 = copy(state?.ema1);
    this.ema2 = copy(state?.ema2);
    this.opt = new AdamW(this.trainable, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: cfg.weightDecay });
    if (state) {
      const restore = (dst: Map<string, tf.Variable>, src: Map<string, OfficialTensor>) => {
        const loaded = paramsFromOfficial(cfg.model, fillFrozen(src, state.online));
        for (const [name, v] of dst) v.assign(loaded.get(name)!);
        tf.dispose([...loaded.values()]);
      };
      restore(this.opt.m, state.adamM);
      restore(this.opt.v, state.adamV);
      this.opt.step = state.adamStep;
      this.step = state.step;
      this.imagesSeen = state.imagesSeen;
      this.seconds = state.seconds;
    }
    this.dataRng = state ? Rng.fromState(state.dataRng) : new Rng(`data:${cfg.seed}`);
    this.noiseRng = state ? Rng.fromState(state.noiseRng) : new Rng(`noise:${cfg.seed}`);
    this.schedule = { kind: cfg.schedule, lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps, minLr: cfg.minLr };
  }

  lrAt(step: number): number {
    return lrAt(this.schedule, step);
  }

  /**
   * Uses `workers` extra threads for data-parallel gradients (see parallel.ts); 0 trains in this thread only.
   * The batch is drawn here either way, so the run is the same up to float summation order.
   */
  async useWorkers(workers: number, backend: string): Promise<void> {
    await this.pool?.dispose();
    this.pool = undefined;
    if (workers > 0) {
      this.pool = await GradientPool.create(this.cfg, backend, this.params, this.trainable, Math.min(workers, this.cfg.batch - 1));
    }
  }

  /** One optimisation step. Throws TrainingDiverged (weights untouched) if the loss is not finite. */
  async trainStep(): Promise<StepMetrics> {
    const started = performance.now();
    const { cfg, data } = this;
    const B = cfg.batch;
    const S = cfg.model.inputSize;
    const C = cfg.model.inChannels;
    const batch = data.batch(this.dataRng, B);
    const noise = drawNoise(this.noiseRng, batch.labels, C * S * S, cfg.model.numClasses, cfg.diffusion);
    const step = this.step + 1;
    const lr = this.lrAt(step);

    const shards = splitShard({ images: batch.images, e: noise.e, t: noise.t, labels: noise.labels }, 1 + (this.pool?.size ?? 0));
    const remote = this.pool?.compute(shards.slice(1)); // workers start on their shards while this thread does shard 0
    const own = shardGradients(this.net, this.params, this.trainable, this.prefix, shards[0], cfg.diffusion, [C, S, S]);
    const others = remote ? await remote : [];
    // Gradient of the batch-mean loss: shard gradients weighted by shard size.
    const weights = shards.map((sh) => shardSize(sh) / B);
    const grads = new Map<string, tf.Tensor>();
    let j = 0;
    for (const [name, g] of own.grads) {
      const k = j++;
      grads.set(name, others.length === 0 ? g : tf.tidy(() => tf.addN([tf.mul(g, weights[0]),
        ...others.map((_, i) => tf.mul(tf.tensor(this.pool!.gradient(i, k), g.shape), weights[i + 1]))])));
    }
    const gradNorm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))));
    // One read of the loss, per-image losses and the gradient norm per step; the update waits for it so a NaN never
    // reaches the weights.
    const [ownLoss, ownPer, normArr] = await Promise.all([own.loss.data(), own.perImage.data(), gradNorm.data()]);
    const perImage = Float32Array.from([...ownPer, ...others.flatMap((o) => [...o.perImage])]);
    const loss = others.reduce((acc, o, i) => acc + o.loss * weights[i + 1], ownLoss[0] * weights[0]);
    try {
      if (!Number.isFinite(loss)) throw new TrainingDiverged(step, loss);
      this.opt.apply(grads, lr);
      this.updateEma();
      if (this.pool) await this.pool.publish(this.params);
    } finally {
      tf.dispose([own.loss, own.perImage, gradNorm, ...own.grads.values(), ...(others.length ? grads.values() : [])]);
    }
    this.step = step;
    this.imagesSeen += B;
    const elapsed = (performance.now() - started) / 1000;
    this.seconds += elapsed;
    return { step, loss, lr, gradNorm: normArr[0], imagesPerSec: B / elapsed, seconds: this.seconds, imagesSeen: this.imagesSeen, lossByT: bucketLoss(noise.t, perImage),
      rssMB: process.memoryUsage.rss() / 2 ** 20 };
  }

  private updateEma(): void {
    tf.tidy(() => {
      for (const [ema, decay] of [[this.ema1, this.cfg.emaDecay1], [this.ema2, this.cfg.emaDecay2]] as const) {
        for (const [name, e] of ema) e.assign(tf.add(tf.mul(e, decay), tf.mul(this.params.get(name)!, 1 - decay)));
      }
    });
  }

  /** A full parameter set for sampling: the online weights or an EMA copy (frozen tensors shared). */
  weights(which: WeightsChoice): TensorMap {
    if (which === 'online') return this.params;
    const ema = which === 'ema1' ? this.ema1 : this.ema2;
    const m: TensorMap = new Map();
    for (const [name, v] of this.params) m.set(name, ema.get(name) ?? v);
    return m;
  }

  /**
   * Samples images [n, C, S, S] with the given weights from a fixed seed (the same noise at every call), on this
   * trainer's TF.js network unless `denoiser` (e.g. ONNX Runtime over the same weights, see officialWeights) is given.
   */
  async sampleImages(opts: { n: number; seed: number; weights: WeightsChoice; sampler: Omit<SamplerOptions, 'numClasses' | 'tEps'>; labels?: Int32Array;
    observer?: StepObserver; signal?: AbortSignal; denoiser?: Denoiser }): Promise<{ images: Float32Array; labels: Int32Array }> {
    const { model, diffusion } = this.cfg;
    const S = model.inputSize;
    const labels = opts.labels ?? Int32Array.from({ length: opts.n }, (_, i) => i % model.numClasses);
    const z0 = tf.tensor4d(initialNoise(new Rng(`sample:${opts.seed}`), opts.n * model.inChannels * S * S, diffusion.noiseScale), [opts.n, model.inChannels, S, S]);
    try {
      const images = await sample(opts.denoiser ?? new TfDenoiser(this.net, this.weights(opts.weights), diffusion), z0, labels,
        { ...opts.sampler, tEps: diffusion.tEps, numClasses: model.numClasses }, opts.observer, opts.signal);
      return { images, labels };
    } finally {
      z0.dispose();
    }
  }

  /** One weights copy in the official layout (`net.*`), e.g. to build an ONNX Runtime session over it. */
  officialWeights(which: WeightsChoice): Promise<Map<string, OfficialTensor>> {
    return paramsToOfficial(this.cfg.model, this.weights(which));
  }

  async exportState(): Promise<TrainerState> {
    const m = this.cfg.model;
    const emaFull = async (ema: Map<string, tf.Variable>) => paramsToOfficial(m, this.weights(ema === this.ema1 ? 'ema1' : 'ema2'));
    return {
      step: this.step,
      imagesSeen: this.imagesSeen,
      seconds: this.seconds,
      online: await paramsToOfficial(m, this.params),
      ema1: await emaFull(this.ema1),
      ema2: await emaFull(this.ema2),
      adamStep: this.opt.step,
      adamM: await paramsToOfficial(m, this.opt.m, true),
      adamV: await paramsToOfficial(m, this.opt.v, true),
      dataRng: this.dataRng.state(),
      noiseRng: this.noiseRng.state(),
    };
  }

  dispose(): void {
    void this.pool?.dispose();
    this.net.dispose();
    this.opt.dispose();
    tf.dispose([...this.params.values(), ...this.ema1.values(), ...this.ema2.values()]);
  }
}

/** Optimizer moments exist only for trainable tensors; give frozen ones their (unused) online values to load. */
function fillFrozen(src: Map<string, OfficialTensor>, online: Map<string, OfficialTensor>): Map<string, OfficialTensor> {
  const m = new Map(src);
  for (const [k, v] of online) if (!m.has(k)) m.set(k, v);
  return m;
}

function bucketLoss(t: Float32Array, per: Float32Array): (number | null)[] {
  const sum = new Array<number>(T_BUCKETS).fill(0);
  const count = new Array<number>(T_BUCKETS).fill(0);
  for (let i = 0; i < t.length; i++) {
    const b = Math.min(T_BUCKETS - 1, Math.floor(t[i] * T_BUCKETS));
    sum[b] += per[i];
    count[b]++;
  }
  return sum.map((s, i) => (count[i] ? s / count[i] : null));
}
