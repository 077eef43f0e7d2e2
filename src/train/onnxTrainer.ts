// The training step on ONNX Runtime: one session runs the training graph (the v-loss and every gradient, see
// src/onnx/trainingGraph.ts); then, only when the loss and the gradients are finite (so a NaN never reaches the
// weights), AdamW and both EMAs run as one fused loop over the flat vectors (src/jit/optim.ts). The weights, gradients,
// moments and EMA copies live in flat Float32Arrays in the official layout; ONNX Runtime reads the weights and writes
// the gradients in place (inputs wrapped without a copy, outputs pre-allocated on the same memory).
import type * as Ort from 'onnxruntime-node';
import { ParamSpec } from '../jit/network';
import { AdamWConfig, OptimizerArray, adamwStepScalars, compileAdamwEma, decays, JIT_ADAMW } from '../jit/optim';
import { OfficialTensor, initialOfficialTensors, paramSpecs } from '../jit/params';
import { encodeModel } from '../onnx/builder';
import { openOnnxDenoiser } from '../onnx/denoiser';
import { matrixShape } from '../onnx/graph';
import { OnnxOptions, OpenedSession, describeSession, openSession } from '../onnx/session';
import { TRAIN_IO, buildTrainingGraph } from '../onnx/trainingGraph';
import type { Dataset } from './data/dataset';
import type { RunConfig } from '../io/runConfig';
import { StepMetrics, TrainerBase, TrainerDenoiser, TrainingDiverged, fillFrozen } from './trainer';
import { TrainerState, WeightsChoice } from '../io/trainerState';

/** A trainable tensor's place in the flat vectors, and whether weight decay applies to it (the official groups). */
interface Slot {
  spec: ParamSpec;
  offset: number;
  size: number;
  decays: boolean;
}

type Vectors = Record<OptimizerArray, Float32Array>;

/** Settings of the training sessions; spinning is off by default, so an idle window costs no CPU. */
export type OnnxTrainerOptions = OnnxOptions;

export class OnnxTrainer extends TrainerBase {
  readonly engine = 'onnx' as const;
  private adamStep: number;
  private readonly trainFeeds: Record<string, Ort.Tensor> = {};
  private readonly trainFetches: Record<string, Ort.Tensor | null> = {};
  private readonly adam: AdamWConfig;
  private readonly optimizerLoop: ReturnType<typeof compileAdamwEma>;
  private disposed = false;

  private constructor(cfg: RunConfig, data: Dataset, state: TrainerState | undefined,
    private readonly slots: Slot[], private readonly vec: Vectors, private readonly frozen: Map<string, OfficialTensor>,
    private readonly train: OpenedSession, private readonly opts: OnnxTrainerOptions) {
    super(cfg, data, state);
    this.adamStep = state?.adamStep ?? 0;
    const T = train.ort.Tensor;
    for (const s of slots) {
      this.trainFeeds[s.spec.name] = new T('float32', this.view('params', s), matrixShape(s.spec));
      this.trainFetches[TRAIN_IO.grad(s.spec.name)] = new T('float32', this.view('grads', s), matrixShape(s.spec));
    }
    for (const name of [TRAIN_IO.loss, TRAIN_IO.perImage, TRAIN_IO.gradNormSq]) this.trainFetches[name] = null;
    this.adam = { ...JIT_ADAMW, weightDecay: cfg.weightDecay };
    this.optimizerLoop = compileAdamwEma(this.adam, [cfg.emaDecay1, cfg.emaDecay2]);
  }

  /** Builds both graphs and opens their sessions; throws one sentence when ONNX Runtime cannot train this model. */
  static async create(cfg: RunConfig, data: Dataset, state?: TrainerState, opts: OnnxTrainerOptions = {}): Promise<OnnxTrainer> {
    const sessionOpts = { spinning: false, ...opts };
    const online = state ? state.online : initialOfficialTensors(cfg.model, cfg.seed);
    const slots: Slot[] = [];
    let P = 0;
    for (const spec of paramSpecs(cfg.model)) {
      if (!spec.trainable) continue;
      const size = spec.shape.reduce((a, b) => a * b, 1);
      slots.push({ spec, offset: P, size, decays: decays(spec.name, spec.shape) });
      P += size;
    }
    const vec: Vectors = { params: new Float32Array(P), grads: new Float32Array(P), m: new Float32Array(P), v: new Float32Array(P), ema1: new Float32Array(P), ema2: new Float32Array(P) };
    const fill = (dst: Float32Array, src: Map<string, OfficialTensor>, what: string) => {
      for (const s of slots) {
        const t = src.get(s.spec.name);
        if (!t || t.data.length !== s.size) throw new Error(`The checkpoint's ${what} has no tensor ${s.spec.name} of ${s.size} values; it does not belong to this run.`);
        dst.set(t.data, s.offset);
      }
    };
    fill(vec.params, online, 'weights');
    fill(vec.ema1, state ? fillFrozen(state.ema1, online) : online, 'EMA copy ema1');
    fill(vec.ema2, state ? fillFrozen(state.ema2, online) : online, 'EMA copy ema2');
    if (state) {
      fill(vec.m, state.adamM, 'AdamW first moment');
      fill(vec.v, state.adamV, 'AdamW second moment');
    }
    const frozen = new Map<string, OfficialTensor>();
    for (const spec of paramSpecs(cfg.model)) if (!spec.trainable) frozen.set(spec.name, online.get(spec.name)!);

    const graph = buildTrainingGraph(cfg.model, cfg.diffusion, cfg.batch, frozen);
    const train = await openSession(encodeModel(graph.model), sessionOpts, async () => {});
    return new OnnxTrainer(cfg, data, state, slots, vec, frozen, train, sessionOpts);
  }

  private view(which: keyof Vectors, s: Slot): Float32Array {
    return this.vec[which].subarray(s.offset, s.offset + s.size);
  }

  describe(): string {
    return describeSession(this.train);
  }

  /** Why preferred execution providers were skipped. */
  get notes(): string[] {
    return this.train.notes;
  }

  async trainStep(): Promise<StepMetrics> {
    if (this.disposed) throw new Error('This ONNX Runtime trainer was disposed.');
    const started = performance.now();
    const { cfg } = this;
    const B = cfg.batch;
    const S = cfg.model.inputSize;
    const C = cfg.model.inChannels;
    const { step, lr, shard } = this.drawStep();
    const T = this.train.ort.Tensor;
    const feeds = {
      ...this.trainFeeds,
      [TRAIN_IO.x]: new T('float32', shard.images, [B, C, S, S]),
      [TRAIN_IO.e]: new T('float32', shard.e, [B, C, S, S]),
      [TRAIN_IO.t]: new T('float32', shard.t, [B]),
      [TRAIN_IO.y]: new T('int64', BigInt64Array.from(shard.labels, (v) => BigInt(v)), [B]),
    };
    const r = await this.train.session.run(feeds, this.trainFetches);
    const loss = (r[TRAIN_IO.loss].data as Float32Array)[0];
    const normSq = (r[TRAIN_IO.gradNormSq].data as Float32Array)[0];
    const perImage = Float32Array.from(r[TRAIN_IO.perImage].data as Float32Array);
    if (!Number.isFinite(loss) || !Number.isFinite(normSq)) throw new TrainingDiverged(step, loss);
    this.optimize(lr);
    return this.finishStep(step, lr, loss, Math.sqrt(normSq), shard.t, perImage, started);
  }

  /** AdamW and the EMAs over the flat vectors, tensor by tensor only where weight decay differs between them. */
  private optimize(lr: number): void {
    const k = adamwStepScalars(this.adam, this.adamStep + 1, lr);
    const all = { ...k, decay: 1 };
    if (this.adam.weightDecay === 0) this.optimizerLoop(this.vec, all, 0, this.vec.params.length);
    else for (const s of this.slots) this.optimizerLoop(this.vec, s.decays ? k : all, s.offset, s.offset + s.size);
    this.adamStep++;
  }

  /** One flat vector as official tensors (copies), with the frozen tensors added. */
  private tensors(which: keyof Vectors, withFrozen: boolean): Map<string, OfficialTensor> {
    const m = new Map<string, OfficialTensor>();
    for (const spec of paramSpecs(this.cfg.model)) {
      const slot = this.slots.find((s) => s.spec.name === spec.name);
      if (slot) m.set(spec.name, { shape: spec.shape, data: this.view(which, slot).slice() });
      else if (withFrozen) m.set(spec.name, this.frozen.get(spec.name)!);
    }
    return m;
  }

  async officialWeights(which: WeightsChoice): Promise<Map<string, OfficialTensor>> {
    return this.tensors(which === 'online' ? 'params' : which, true);
  }

  async denoiser(which: WeightsChoice): Promise<TrainerDenoiser> {
    return openOnnxDenoiser(this.cfg.model, this.cfg.diffusion, await this.officialWeights(which), { ...this.opts, providers: [this.train.provider] });
  }

  async exportState(): Promise<TrainerState> {
    return {
      step: this.step,
      imagesSeen: this.imagesSeen,
      seconds: this.seconds,
      online: this.tensors('params', true),
      ema1: this.tensors('ema1', true),
      ema2: this.tensors('ema2', true),
      adamStep: this.adamStep,
      adamM: this.tensors('m', false),
      adamV: this.tensors('v', false),
      dataRng: this.dataRng.state(),
      noiseRng: this.noiseRng.state(),
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.train.session.release();
  }
}
