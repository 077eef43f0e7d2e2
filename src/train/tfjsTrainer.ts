// The training step on TensorFlow.js: v-loss gradients by TF.js's autodiff, AdamW and two EMA copies on variables,
// optionally with data-parallel worker threads (parallel.ts) on the single-threaded backends. The reference engine,
// and the one that runs on tfjs-node-gpu's CUDA backend.
import * as tf from '@tensorflow/tfjs-core';
import { TfDenoiser } from '../jit/denoiser';
import { JiTNetwork } from '../jit/model';
import { OfficialTensor, TensorMap, initParams, paramSpecs, paramsFromOfficial, paramsToOfficial } from '../jit/params';
import { emaUpdateOf } from '../jit/optim';
import { AdamW } from './adamw';
import type { Dataset } from './data/dataset';
import { GradientPool } from './parallel';
import { shardGradients, shardSize, splitShard } from './shard';
import type { RunConfig } from '../io/runConfig';
import { StepMetrics, TrainerBase, TrainerDenoiser, TrainingDiverged, fillFrozen } from './trainer';
import { TrainerState, WeightsChoice } from '../io/trainerState';
import { tfArith } from '../jit/tfOps';

let instances = 0;

export class TfjsTrainer extends TrainerBase {
  readonly engine = 'tfjs' as const;
  readonly net: JiTNetwork;
  readonly params: Map<string, tf.Variable>; // every tensor of the state dict, model layout
  readonly trainable: Map<string, tf.Variable>;
  readonly ema1: Map<string, tf.Variable>; // of the trainable tensors
  readonly ema2: Map<string, tf.Variable>;
  readonly opt: AdamW;
  private readonly prefix = `trainer${++instances}/`;
  private pool: GradientPool | undefined;

  constructor(cfg: RunConfig, data: Dataset, state?: TrainerState) {
    super(cfg, data, state);
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
    }
  }

  describe(): string {
    return `TensorFlow.js, ${tf.getBackend()} backend${this.pool ? `, ${this.pool.size + 1} threads (data-parallel)` : ''}`;
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

  async trainStep(): Promise<StepMetrics> {
    const started = performance.now();
    const { cfg } = this;
    const B = cfg.batch;
    const S = cfg.model.inputSize;
    const C = cfg.model.inChannels;
    const { step, lr, shard } = this.drawStep();

    const shards = splitShard(shard, 1 + (this.pool?.size ?? 0));
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
      if (!Number.isFinite(loss) || !Number.isFinite(normArr[0])) throw new TrainingDiverged(step, loss);
      this.opt.apply(grads, lr);
      this.updateEma();
      if (this.pool) await this.pool.publish(this.params);
    } finally {
      tf.dispose([own.loss, own.perImage, gradNorm, ...own.grads.values(), ...(others.length ? grads.values() : [])]);
    }
    return this.finishStep(step, lr, loss, normArr[0], shard.t, perImage, started);
  }

  private updateEma(): void {
    tf.tidy(() => {
      for (const [ema, decay] of [[this.ema1, this.cfg.emaDecay1], [this.ema2, this.cfg.emaDecay2]] as const) {
        for (const [name, e] of ema) e.assign(emaUpdateOf<tf.Tensor>(tfArith, e, this.params.get(name)!, decay));
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

  async denoiser(which: WeightsChoice): Promise<TrainerDenoiser> {
    return { denoiser: new TfDenoiser(this.net, this.weights(which), this.cfg.diffusion), engine: `TensorFlow.js, ${tf.getBackend()} backend`, dispose: async () => {} };
  }

  officialWeights(which: WeightsChoice): Promise<Map<string, OfficialTensor>> {
    return paramsToOfficial(this.cfg.model, this.weights(which));
  }

  async exportState(): Promise<TrainerState> {
    const m = this.cfg.model;
    return {
      step: this.step,
      imagesSeen: this.imagesSeen,
      seconds: this.seconds,
      online: await paramsToOfficial(m, this.params),
      ema1: await paramsToOfficial(m, this.weights('ema1')),
      ema2: await paramsToOfficial(m, this.weights('ema2')),
      adamStep: this.opt.step,
      adamM: await paramsToOfficial(m, this.opt.m, true),
      adamV: await paramsToOfficial(m, this.opt.v, true),
      dataRng: this.dataRng.state(),
      noiseRng: this.noiseRng.state(),
    };
  }

  async dispose(): Promise<void> {
    this.net.dispose();
    this.opt.dispose();
    tf.dispose([...this.params.values(), ...this.ema1.values(), ...this.ema2.values()]);
    await this.pool?.dispose();
  }
}
