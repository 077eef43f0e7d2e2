// The JiT diffusion process (t = 0 is noise, t = 1 is data): noising, logit-normal t, prediction targets and
// the v-loss. Each formula is written once over `Arith<T>`, so the TF.js trainer and sampler and the ONNX training
// graph compute the same expressions; the TF.js forms below are what the rest of the TF.js code calls.
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionConfig, PredictionTarget } from './config';
import type { Arith } from './ops';
import type { Rng } from './random';
import { tfArith } from './tfOps';

/** z_t = t * x + (1 - t) * e; x, e [B, C, H, W], t [B]. */
export function noisyOf<T>(o: Arith<T>, x: T, e: T, t: T): T {
  const ts = o.perSample(t);
  return o.add(o.mul(ts, x), o.mul(o.sub(o.scalar(1), ts), e));
}

/** The velocity that moves z_t to x: (x - z) / max(1 - t, t_eps). */
export function velocityOf<T>(o: Arith<T>, x: T, z: T, t: T, tEps: number): T {
  return o.div(o.sub(x, z), o.maximum(o.sub(o.scalar(1), o.perSample(t)), tEps));
}

/**
 * The clean-image estimate implied by the network output for each prediction target:
 * x: the output itself; eps: x = (z - (1 - t) eps) / t; v: x = (1 - t) v + z.
 * (eps divides by t, which is 0 at the start of sampling; it is clamped at t_eps like 1 - t in `velocity`.)
 */
export function cleanImageOf<T>(o: Arith<T>, out: T, z: T, t: T, target: PredictionTarget, tEps: number): T {
  if (target === 'x') return out;
  const ts = o.perSample(t);
  const oneMinusT = o.sub(o.scalar(1), ts);
  if (target === 'eps') return o.div(o.sub(z, o.mul(oneMinusT, out)), o.maximum(ts, tEps));
  return o.add(o.mul(oneMinusT, out), z);
}

/** Per-image v-loss [B]: mean over C, H, W of (v - v_hat)^2. */
export function vLossPerImageOf<T>(o: Arith<T>, xHat: T, x: T, z: T, t: T, tEps: number): T {
  return o.meanPerSample(o.square(o.sub(velocityOf(o, x, z, t, tEps), velocityOf(o, xHat, z, t, tEps))));
}

/**
 * The v-loss of a batch given the network as a function: z = t x + (1 - t) e, x_hat from the network output,
 * loss = mean_B mean_CHW (v - v_hat)^2. Returns the scalar loss and the per-image losses [B].
 */
export function vLossOf<T>(o: Arith<T>, net: (z: T) => T, x: T, e: T, t: T, d: Pick<DiffusionConfig, 'target' | 'tEps'>): { loss: T; perImage: T } {
  const z = noisyOf(o, x, e, t);
  const xHat = cleanImageOf(o, net(z), z, t, d.target, d.tEps);
  const perImage = vLossPerImageOf(o, xHat, x, z, t, d.tEps);
  return { loss: o.mean(perImage), perImage };
}

// The TF.js forms.
export const noisy = (x: tf.Tensor4D, e: tf.Tensor4D, t: tf.Tensor1D) => noisyOf<tf.Tensor>(tfArith, x, e, t) as tf.Tensor4D;
export const velocity = (x: tf.Tensor4D, z: tf.Tensor4D, t: tf.Tensor1D, tEps: number) => velocityOf<tf.Tensor>(tfArith, x, z, t, tEps) as tf.Tensor4D;
export const toCleanImage = (out: tf.Tensor4D, z: tf.Tensor4D, t: tf.Tensor1D, target: PredictionTarget, tEps: number) =>
  cleanImageOf<tf.Tensor>(tfArith, out, z, t, target, tEps) as tf.Tensor4D;
export const vLossPerImage = (xHat: tf.Tensor4D, x: tf.Tensor4D, z: tf.Tensor4D, t: tf.Tensor1D, tEps: number) =>
  vLossPerImageOf<tf.Tensor>(tfArith, xHat, x, z, t, tEps) as tf.Tensor1D;

/** Training t ~ logit-normal: sigmoid(n), n ~ N(pMean, pStd^2). */
export function sampleT(rng: Rng, batch: number, pMean: number, pStd: number): Float32Array {
  const t = new Float32Array(batch);
  for (let i = 0; i < batch; i++) t[i] = 1 / (1 + Math.exp(-(rng.normal() * pStd + pMean)));
  return t;
}

/** Density of the logit-normal distribution of t, for plots of where training puts its effort. */
export function logitNormalDensity(t: number, pMean: number, pStd: number): number {
  if (t <= 0 || t >= 1) return 0;
  const n = Math.log(t / (1 - t));
  return Math.exp(-((n - pMean) ** 2) / (2 * pStd * pStd)) / (pStd * Math.sqrt(2 * Math.PI) * t * (1 - t));
}

/** Replaces each label by the null class (numClasses) with probability p (classifier-free guidance training). */
export function dropLabels(rng: Rng, labels: Int32Array, numClasses: number, p: number): Int32Array {
  const out = Int32Array.from(labels);
  if (p > 0) for (let i = 0; i < out.length; i++) if (rng.uniform() < p) out[i] = numClasses;
  return out;
}

/** Everything random about one training batch, drawn from the rng in a fixed order. */
export interface NoiseDraw {
  t: Float32Array; // [B]
  e: Float32Array; // [B, C, H, W], N(0, noise_scale^2)
  labels: Int32Array; // [B] after label drop
}

export function drawNoise(rng: Rng, labels: Int32Array, imageElems: number, numClasses: number, d: DiffusionConfig): NoiseDraw {
  const B = labels.length;
  const t = sampleT(rng, B, d.pMean, d.pStd);
  const e = rng.fillNormal(new Float32Array(B * imageElems), d.noiseScale);
  return { t, e, labels: dropLabels(rng, labels, numClasses, d.labelDropProb) };
}
