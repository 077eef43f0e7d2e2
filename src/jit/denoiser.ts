// The network wrapped as a denoiser (the official Denoiser): the training loss on a batch, and the clean-image
// prediction the sampler integrates.
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionConfig, JiTConfig } from './config';
import { toCleanImage, vLossOf } from './diffusion';
import { Activations, JiTNetwork } from './model';
import { OfficialTensor, TensorMap, paramsFromOfficial } from './params';
import type { Denoiser } from './sampler';
import { tfArith } from './tfOps';

/** The network's clean-image estimate x_hat = net(z, t, y), converted from its prediction target. */
export function predictCleanImage(net: JiTNetwork, p: TensorMap, z: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D,
  d: Pick<DiffusionConfig, 'target' | 'tEps'>, acts?: Activations): tf.Tensor4D {
  return toCleanImage(net.forward(p, z, t, y, acts), z, t, d.target, d.tEps);
}

/**
 * The v-loss of a batch: z = t x + (1 - t) e; loss = mean_B mean_CHW (v - v_hat)^2.
 * x, e [B, C, H, W]; t [B]; labels [B] (already label-dropped). Returns the scalar loss and per-image losses [B].
 */
export function trainingLoss(net: JiTNetwork, p: TensorMap, x: tf.Tensor4D, e: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D,
  d: Pick<DiffusionConfig, 'target' | 'tEps'>): { loss: tf.Scalar; perImage: tf.Tensor1D } {
  const r = vLossOf<tf.Tensor>(tfArith, (z) => net.forward(p, z as tf.Tensor4D, t, labels), x, e, t, d);
  return { loss: r.loss as tf.Scalar, perImage: r.perImage as tf.Tensor1D };
}

/** A TensorFlow.js denoiser over a fixed set of weights (online or an EMA copy). */
export class TfDenoiser implements Denoiser {
  constructor(private readonly net: JiTNetwork, private readonly params: TensorMap, private readonly d: Pick<DiffusionConfig, 'target' | 'tEps'>) {}

  async predictX(z: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D): Promise<tf.Tensor4D> {
    return tf.tidy(() => predictCleanImage(this.net, this.params, z, t, y, this.d));
  }
}

/** A TF.js network over official-layout weights (`net.*`), as a denoiser; `dispose` frees the network and weights. */
export function tfDenoiserFromOfficial(model: JiTConfig, d: Pick<DiffusionConfig, 'target' | 'tEps'>, weights: Map<string, OfficialTensor>): { denoiser: TfDenoiser; dispose(): void } {
  const params = paramsFromOfficial(model, weights);
  const net = new JiTNetwork(model);
  return {
    denoiser: new TfDenoiser(net, params, d),
    dispose: () => {
      net.dispose();
      tf.dispose([...params.values()]);
    },
  };
}
