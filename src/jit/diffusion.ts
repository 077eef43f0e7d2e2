// The JiT diffusion process (t = 0 is noise, t = 1 is data): noising, logit-normal t, prediction targets and
// the v-loss. Each formula lives here once; the trainer and the sampler both call these.
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionConfig, PredictionTarget } from './config';
import type { Rng } from './random';

/** Broadcasts per-sample t [B] against images [B, C, H, W]. */
function perSample(t: tf.Tensor1D): tf.Tensor4D {
  return tf.reshape(t, [-1, 1, 1, 1]);
}

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

/** z_t = t * x + (1 - t) * e. */
export function noisy(x: tf.Tensor4D, e: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
  const ts = perSample(t);
  return tf.add(tf.mul(ts, x), tf.mul(tf.sub(1, ts), e));
}

/** The velocity that moves z_t to x: (x - z) / max(1 - t, t_eps). */
export function velocity(x: tf.Tensor4D, z: tf.Tensor4D, t: tf.Tensor1D, tEps: number): tf.Tensor4D {
  return tf.div(tf.sub(x, z), tf.maximum(tf.sub(1, perSample(t)), tEps));
}

/**
 * The clean-image estimate implied by the network output for each prediction target:
 * x: the output itself; eps: x = (z - (1 - t) eps) / t; v: x = (1 - t) v + z.
 * (eps divides by t, which is 0 at the start of sampling; it is clamped at t_eps like 1 - t in `velocity`.)
 */
export function toCleanImage(out: tf.Tensor4D, z: tf.Tensor4D, t: tf.Tensor1D, target: PredictionTarget, tEps: number): tf.Tensor4D {
  if (target === 'x') return out;
  const ts = perSample(t);
  if (target === 'eps') return tf.div(tf.sub(z, tf.mul(tf.sub(1, ts), out)), tf.maximum(ts, tEps));
  return tf.add(tf.mul(tf.sub(1, ts), out), z);
}

/** Per-image v-loss [B]: mean over C, H, W of (v - v_hat)^2. */
export function vLossPerImage(xHat: tf.Tensor4D, x: tf.Tensor4D, z: tf.Tensor4D, t: tf.Tensor1D, tEps: number): tf.Tensor1D {
  const diff = tf.sub(velocity(x, z, t, tEps), velocity(xHat, z, t, tEps));
  return tf.mean(tf.square(diff), [1, 2, 3]) as tf.Tensor1D;
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
