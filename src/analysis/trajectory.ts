// The Heun trajectory viewer's numbers, recorded from the sampler's observer while it samples (never by sampling a
// second time): z_t and the clean-image estimate at every step, |v| and Heun's correction |v(t_next) - v(t)|,
// where guidance was active; Euler against Heun at an equal number of network evaluations; a 2-D PCA of paths.
import * as tf from '@tensorflow/tfjs-core';
import { TensorPack, packTensors } from '../wire/tensorPack';
import { Denoiser, SamplerOptions, SamplingMethod, StepObserver, StepRecord, sample } from '../jit/sampler';
import { matrix, pca, pcaProject } from './linalg';

export interface StepSummary {
  step: number;
  t: number;
  tNext: number;
  method: SamplingMethod;
  cfgActive: boolean;
  /** [K] RMS over the pixels of the guided velocity v(z_t, t), per recorded image. */
  vRms: number[];
  /** [K] RMS of v(t_next) - v(t) (the Heun slope at the Euler predictor minus the Euler slope); null on Euler steps. */
  heunCorrectionRms: number[] | null;
}

export interface Trajectory {
  /** The batch indices recorded, K of them. */
  indices: number[];
  /** [C, H, W] of one image. */
  imageShape: [number, number, number];
  /** One per step, S in all. */
  steps: StepSummary[];
  /** [S + 1, K, C, H, W]: z_0 (the noise), the state after each step, the last being the sample. */
  z: Float32Array;
  /** [S, K, C, H, W]: the guided clean-image estimate at each step's t. */
  xPred: Float32Array;
}

/**
 * Collects a Trajectory from the StepRecords of one sampling run of `batch` images (NCHW, square, `channels`
 * channels); pass `observer` to the sampler (or to sampleFromCheckpoint).
 */
export class TrajectoryRecorder {
  readonly observer: StepObserver;
  private readonly indices: number[];
  private readonly steps: StepSummary[] = [];
  private readonly zFrames: Float32Array[] = [];
  private readonly xFrames: Float32Array[] = [];
  private imageShape?: [number, number, number];

  constructor(private readonly batch: number, opts: { indices?: number[]; channels?: number } = {}) {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`The batch size must be a positive whole number, got ${batch}.`);
    this.indices = opts.indices ?? Array.from({ length: batch }, (_, i) => i);
    if (!this.indices.length || this.indices.some((i) => !Number.isInteger(i) || i < 0 || i >= batch)) {
      throw new Error(`Recorded indices must be batch positions 0-${batch - 1}, got [${this.indices.join(', ')}].`);
    }
    if (new Set(this.indices).size !== this.indices.length) throw new Error(`Recorded indices must be distinct, got [${this.indices.join(', ')}].`);
    const channels = opts.channels ?? 3;
    this.observer = (rec) => this.record(rec, channels);
  }

  private record(rec: StepRecord, channels: number): void {
    if (rec.step !== this.steps.length) throw new Error(`The recorder expected step ${this.steps.length} but got step ${rec.step}; use one recorder per sampling run.`);
    const per = rec.z.length / this.batch;
    const side = Math.round(Math.sqrt(per / channels));
    if (side * side * channels !== per) throw new Error(`A state of ${rec.z.length} values is not ${this.batch} square ${channels}-channel images.`);
    this.imageShape ??= [channels, side, side];
    if (rec.step === 0) this.zFrames.push(this.select(rec.z, per));
    this.zFrames.push(this.select(rec.zNext, per));
    this.xFrames.push(this.select(rec.xPred, per));
    const vNext = rec.vNext;
    this.steps.push({
      step: rec.step, t: rec.t, tNext: rec.tNext, method: rec.method, cfgActive: rec.cfgActive,
      vRms: this.indices.map((i) => rms(rec.v, i * per, per)),
      heunCorrectionRms: vNext ? this.indices.map((i) => rmsDifference(vNext, rec.v, i * per, per)) : null,
    });
  }

  /** The recorded images of a batch state [B, C, H, W] -> [K, C, H, W], copied. */
  private select(state: Float32Array, per: number): Float32Array {
    const out = new Float32Array(this.indices.length * per);
    this.indices.forEach((i, k) => out.set(state.subarray(i * per, (i + 1) * per), k * per));
    return out;
  }

  result(): Trajectory {
    if (!this.imageShape) throw new Error('Nothing was recorded: pass the recorder\'s observer to the sampler before asking for the trajectory.');
    return { indices: [...this.indices], imageShape: this.imageShape, steps: [...this.steps], z: concat(this.zFrames), xPred: concat(this.xFrames) };
  }
}

function rms(a: Float32Array, offset: number, n: number): number {
  let s = 0;
  for (let j = offset; j < offset + n; j++) s += a[j] * a[j];
  return Math.sqrt(s / n);
}

function rmsDifference(a: Float32Array, b: Float32Array, offset: number, n: number): number {
  let s = 0;
  for (let j = offset; j < offset + n; j++) s += (a[j] - b[j]) ** 2;
  return Math.sqrt(s / n);
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The frames of recorded image k (a position in `indices`) [S + 1, C H W]: one path through image space. */
export function pathOf(t: Trajectory, k: number): Float32Array {
  const K = t.indices.length;
  if (!Number.isInteger(k) || k < 0 || k >= K) throw new Error(`The trajectory holds ${K} recorded images; ${k} is not one of them.`);
  const per = t.imageShape[0] * t.imageShape[1] * t.imageShape[2];
  const frames = t.z.length / (K * per);
  const out = new Float32Array(frames * per);
  for (let f = 0; f < frames; f++) out.set(t.z.subarray((f * K + k) * per, (f * K + k + 1) * per), f * per);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Euler against Heun at an equal number of network evaluations

/** Counts calls to the network: one call is one (batched) evaluation, whether or not guidance doubles the batch. */
class CountingDenoiser implements Denoiser {
  calls = 0;
  constructor(private readonly inner: Denoiser) {}
  predictX(z: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D): Promise<tf.Tensor4D> {
    this.calls++;
    return this.inner.predictX(z, t, y);
  }
}

export interface MethodRun {
  method: SamplingMethod;
  steps: number;
  /** Network evaluations counted during the run. */
  evaluations: number;
  trajectory: Trajectory;
  /** [B, C, H, W] the final samples of the whole batch. */
  images: Float32Array;
}

export interface EulerHeunComparison {
  heun: MethodRun;
  euler: MethodRun;
  /** [K] RMS difference between the two final samples of each recorded image. */
  finalRmsDifference: number[];
}

/** Heun steps S cost 2S - 1 evaluations (the last step is Euler); Euler with that many steps costs the same. */
export function eulerStepsMatching(heunSteps: number): number {
  return 2 * heunSteps - 1;
}

/**
 * Samples the same noise z0 [B, C, H, W] with Heun in `heunSteps` steps and with Euler in 2 heunSteps - 1 steps,
 * recording both, and counts the evaluations each made.
 */
export async function compareEulerHeun(den: Denoiser, z0: tf.Tensor4D, labels: Int32Array, o: Omit<SamplerOptions, 'method' | 'steps'>,
  heunSteps: number, opts: { indices?: number[]; signal?: AbortSignal } = {}): Promise<EulerHeunComparison> {
  if (!Number.isInteger(heunSteps) || heunSteps < 1) throw new Error(`Heun needs a positive whole number of steps, got ${heunSteps}.`);
  const run = async (method: SamplingMethod, steps: number): Promise<MethodRun> => {
    const counter = new CountingDenoiser(den);
    const recorder = new TrajectoryRecorder(z0.shape[0], { indices: opts.indices, channels: z0.shape[1] });
    const images = await sample(counter, z0, labels, { ...o, method, steps }, recorder.observer, opts.signal);
    return { method, steps, evaluations: counter.calls, trajectory: recorder.result(), images };
  };
  const heun = await run('heun', heunSteps);
  const euler = await run('euler', eulerStepsMatching(heunSteps));
  const per = heun.images.length / z0.shape[0];
  return { heun, euler, finalRmsDifference: heun.trajectory.indices.map((i) => rmsDifference(heun.images, euler.images, i * per, per)) };
}

// ---------------------------------------------------------------------------------------------------------
// Paths in a 2-D PCA

export interface PcaPaths {
  /** One per input path [frames_i, 2]: the states' scores on the first two principal components. */
  paths: Float32Array[];
  /** [2] share of the variance of all states on each axis. */
  explainedRatio: number[];
}

/** Fits one PCA on every state of every path (each [frames_i, dim]) and projects each path on its first two axes. */
export function pcaPaths(paths: Float32Array[], dim: number): PcaPaths {
  if (!paths.length) throw new Error('A PCA of paths needs at least one path.');
  if (paths.some((p) => p.length === 0 || p.length % dim !== 0)) throw new Error(`Every path must hold whole states of ${dim} values.`);
  const rows = paths.reduce((a, p) => a + p.length / dim, 0);
  const all = matrix(rows, dim);
  let o = 0;
  for (const p of paths) {
    all.data.set(p, o);
    o += p.length;
  }
  const fit = pca(all, 2);
  const scores = pcaProject(all, fit); // [rows, <= 2]
  let r = 0;
  const out = paths.map((p) => {
    const frames = p.length / dim;
    const xy = new Float32Array(frames * 2); // an axis missing for degenerate data stays 0
    for (let f = 0; f < frames; f++, r++) for (let c = 0; c < scores.cols; c++) xy[2 * f + c] = scores.data[r * scores.cols + c];
    return xy;
  });
  return { paths: out, explainedRatio: [0, 1].map((i) => fit.explainedRatio[i] ?? 0) };
}

// ---------------------------------------------------------------------------------------------------------
// For a webview

export interface PackedTrajectory {
  /** Everything but the frames, small enough for JSON. */
  meta: Omit<Trajectory, 'z' | 'xPred'>;
  /** 'z' [S + 1, K, C, H, W] and 'xPred' [S, K, C, H, W], float32, in one buffer with an offset table. */
  pack: TensorPack;
}

export function packTrajectory(t: Trajectory): PackedTrajectory {
  const { z, xPred, ...meta } = t;
  const [C, H, W] = t.imageShape;
  const K = t.indices.length;
  const S = t.steps.length;
  return {
    meta,
    pack: packTensors([
      { name: 'z', shape: [S + 1, K, C, H, W], data: z },
      { name: 'xPred', shape: [S, K, C, H, W], data: xPred },
    ]),
  };
}
