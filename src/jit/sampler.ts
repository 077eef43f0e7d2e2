// The JiT ODE sampler: integrate dz/dt = v(z, t) from t = 0 (noise) to t = 1 (data) on linspace(0, 1, steps + 1),
// Heun steps then one final Euler step (Heun would evaluate at t = 1), or Euler throughout; classifier-free
// guidance inside an interval of t, with the conditional and unconditional branches in one batched forward.
// The network is reached only through `Denoiser`, so every inference engine runs this same code.
import * as tf from '@tensorflow/tfjs-core';
import { velocity } from './diffusion';
import type { Rng } from './random';
import type { SamplingMethod } from '../wire/samplingNames';

/** Anything that predicts the clean image x from (z_t, t, y). */
export interface Denoiser {
  /** z [B, C, H, W], t [B], y [B] int32 -> x_hat [B, C, H, W]. The caller disposes the result. */
  predictX(z: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D): Promise<tf.Tensor4D>;
}


export interface SamplerOptions {
  steps: number;
  method: SamplingMethod;
  cfgScale: number;
  intervalMin: number;
  intervalMax: number;
  tEps: number;
  /** The null class used by the unconditional branch. */
  numClasses: number;
}

export const DEFAULT_SAMPLER: Omit<SamplerOptions, 'numClasses'> = {
  steps: 50,
  method: 'heun',
  cfgScale: 1.0,
  intervalMin: 0.1,
  intervalMax: 1.0,
  tEps: 0.05,
};

/** What the observer sees at each step, computed from evaluations the sampler makes anyway. */
export interface StepRecord {
  step: number; // 0-based
  t: number;
  tNext: number;
  method: SamplingMethod; // of this step (the last step is always Euler)
  cfgActive: boolean; // guidance scale != 1 at t
  z: Float32Array; // state at t
  xPred: Float32Array; // guided clean-image estimate at t: z + max(1 - t, t_eps) * v
  v: Float32Array; // guided velocity at t
  vNext?: Float32Array; // Heun: guided velocity at t_next of the Euler predictor
  zNext: Float32Array; // state after the step
}

export type StepObserver = (rec: StepRecord) => void | Promise<void>;

/** CFG scale in force at t: the scale inside (intervalMin, intervalMax), 1 outside (official interval mask). */
export function guidanceAt(t: number, o: Pick<SamplerOptions, 'cfgScale' | 'intervalMin' | 'intervalMax'>): number {
  const inside = t < o.intervalMax && (o.intervalMin === 0 || t > o.intervalMin);
  return inside ? o.cfgScale : 1;
}

/** Initial noise z_0 ~ N(0, noise_scale^2). */
export function initialNoise(rng: Rng, elems: number, noiseScale: number): Float32Array {
  return rng.fillNormal(new Float32Array(elems), noiseScale);
}

export function timeGrid(steps: number): number[] {
  return Array.from({ length: steps + 1 }, (_, i) => i / steps);
}

export class SamplingCancelled extends Error {
  constructor() {
    super('Sampling was cancelled.');
    this.name = 'SamplingCancelled';
  }
}

/**
 * Samples from z0 [B, C, H, W] with class labels [B]. Returns the final state as float32 NCHW.
 * `observer` receives a StepRecord per step; `signal` cancels between network evaluations.
 */
export async function sample(
  den: Denoiser,
  z0: tf.Tensor4D,
  labels: Int32Array,
  o: SamplerOptions,
  observer?: StepObserver,
  signal?: AbortSignal,
): Promise<Float32Array> {
  if (!(o.steps >= 1)) throw new Error(`steps must be at least 1, got ${o.steps}`);
  const B = z0.shape[0];
  const y = tf.tensor1d(labels, 'int32');
  const yBoth = tf.tensor1d([...labels, ...new Array(B).fill(o.numClasses)], 'int32');

  // Guided velocity at (z, t) [B, C, H, W]: one forward of 2B when guidance is active, of B otherwise.
  const guidedVelocity = async (z: tf.Tensor4D, t: number): Promise<tf.Tensor4D> => {
    if (signal?.aborted) throw new SamplingCancelled();
    const s = guidanceAt(t, o);
    if (s === 1) {
      const tt = tf.fill([B], t) as tf.Tensor1D;
      const x = await den.predictX(z, tt, y);
      const v = tf.tidy(() => velocity(x, z, tt, o.tEps));
      tf.dispose([tt, x]);
      return v;
    }
    const zz = tf.concat([z, z], 0);
    const tt = tf.fill([2 * B], t) as tf.Tensor1D;
    const x = await den.predictX(zz, tt, yBoth);
    const v = tf.tidy(() => {
      const [vCond, vUncond] = tf.split(velocity(x, zz, tt, o.tEps), 2, 0);
      return tf.add(vUncond, tf.mul(s, tf.sub(vCond, vUncond))) as tf.Tensor4D;
    });
    tf.dispose([zz, tt, x]);
    return v;
  };

  const ts = timeGrid(o.steps);
  let z = tf.clone(z0);
  try {
    for (let i = 0; i < o.steps; i++) {
      const t = ts[i];
      const tNext = ts[i + 1];
      const dt = tNext - t;
      const heun = o.method === 'heun' && i < o.steps - 1;
      // Every tensor of the step is released in `finally`, also when the denoiser, the observer or a cancel throws.
      const step: tf.Tensor[] = [];
      let zNext: tf.Tensor4D | undefined;
      try {
        const v = await guidedVelocity(z, t);
        step.push(v);
        let vNext: tf.Tensor4D | undefined;
        if (heun) {
          const zEuler = tf.tidy(() => tf.add(z, tf.mul(dt, v)) as tf.Tensor4D);
          step.push(zEuler);
          vNext = await guidedVelocity(zEuler, tNext);
          step.push(vNext);
          const vn = vNext;
          zNext = tf.tidy(() => tf.add(z, tf.mul(dt, tf.mul(0.5, tf.add(v, vn)))) as tf.Tensor4D);
        } else {
          zNext = tf.tidy(() => tf.add(z, tf.mul(dt, v)) as tf.Tensor4D);
        }
        if (observer) {
          const xPred = tf.tidy(() => tf.add(z, tf.mul(Math.max(1 - t, o.tEps), v)));
          step.push(xPred);
          await observer({
            step: i, t, tNext, method: heun ? 'heun' : 'euler', cfgActive: guidanceAt(t, o) !== 1,
            z: (await z.data()) as Float32Array,
            xPred: (await xPred.data()) as Float32Array,
            v: (await v.data()) as Float32Array,
            vNext: vNext ? ((await vNext.data()) as Float32Array) : undefined,
            zNext: (await zNext.data()) as Float32Array,
          });
        }
      } catch (e) {
        zNext?.dispose();
        throw e;
      } finally {
        tf.dispose(step);
      }
      z.dispose();
      z = zNext;
    }
    return (await z.data()) as Float32Array;
  } finally {
    tf.dispose([z, y, yBoth]);
  }
}
