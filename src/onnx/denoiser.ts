// The ONNX Runtime network behind the sampler's `Denoiser` interface, so the one sampler (src/jit/sampler.ts: Heun/Euler,
// CFG interval, per-step observer) drives it exactly as it drives the TensorFlow.js network.
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionConfig, JiTConfig } from '../jit/config';
import type { OfficialTensor } from '../jit/params';
import { toCleanImage } from '../jit/diffusion';
import type { Denoiser } from '../jit/sampler';
import { OnnxJiT, OnnxOptions, createJiTSession } from './session';

export class OnnxDenoiser implements Denoiser {
  constructor(readonly net: OnnxJiT, private readonly d: Pick<DiffusionConfig, 'target' | 'tEps'>) {}

  /** z [B, C, H, W], t [B], y [B] -> x_hat [B, C, H, W]; targets other than x go through the engine's toCleanImage. */
  async predictX(z: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D): Promise<tf.Tensor4D> {
    const out = await this.net.forward((await z.data()) as Float32Array, (await t.data()) as Float32Array, Int32Array.from(await y.data()));
    const raw = tf.tensor4d(out, z.shape);
    const x = tf.tidy(() => toCleanImage(raw, z, t, this.d.target, this.d.tEps));
    if (x !== raw) raw.dispose();
    return x;
  }
}

/** A new ONNX Runtime session over official-layout weights (`net.*`) as a denoiser, with its description. */
export async function openOnnxDenoiser(model: JiTConfig, d: Pick<DiffusionConfig, 'target' | 'tEps'>, weights: Map<string, OfficialTensor>,
  opts: OnnxOptions = {}): Promise<{ denoiser: OnnxDenoiser; engine: string; dispose(): Promise<void> }> {
  const net = await createJiTSession(model, weights, '', opts);
  return { denoiser: new OnnxDenoiser(net, d), engine: net.describe(), dispose: () => net.dispose() };
}
