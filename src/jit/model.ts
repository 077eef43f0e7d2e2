// The JiT network on TensorFlow.js tensors: network.ts's forward pass run by the TF.js interpreter, over a parameter
// set in the model layout keyed by official names (params.ts).
import * as tf from '@tensorflow/tfjs-core';
import { Dims, JiTConfig, dims } from './config';
import { JiTParams, declareJiT, jitConstants, jitForward } from './network';
import type { TensorMap } from './params';
import { TfOps } from './tfOps';

/** Intermediate outputs, named as in the golden vectors (`t_emb`, `bottleneck`, `patch_embed`, `blockN`). */
export type Activations = Map<string, tf.Tensor>;

export class JiTNetwork {
  readonly d: Dims;
  private readonly ops = new TfOps(); // holds the RoPE tables and frequencies

  constructor(readonly cfg: JiTConfig) {
    this.d = dims(cfg);
    // The network's fixed tensors now, so that forward passes never change the number of live tensors.
    jitConstants(this.ops, cfg);
    this.ops.rotateHalf(this.d.headDim);
  }

  dispose(): void {
    this.ops.dispose();
  }

  /**
   * z: [B, C, H, W] noisy images, t: [B] in [0, 1], y: [B] int32 labels (numClasses = null class).
   * Returns the network output [B, C, H, W] (the clean image for x-prediction).
   */
  forward(p: TensorMap, z: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D, acts?: Activations): tf.Tensor4D {
    const tap = acts ? (name: string, x: tf.Tensor) => acts.set(name, tf.keep(x.clone())) : undefined;
    return jitForward(this.ops, this.cfg, tfParams(this.cfg, p), z, t, y, tap) as tf.Tensor4D;
  }

  /** [B, C, H, W] -> [B, N, C*p*p], each token's vector in (c, kh, kw) order, tokens row-major. */
  patchify(z: tf.Tensor4D): tf.Tensor3D {
    return this.ops.patchify(z, this.cfg.patchSize) as tf.Tensor3D;
  }

  /** [B, N, p*p*C] in (ph, pw, c) order (the official final layer) -> [B, C, H, W]. */
  unpatchify(x: tf.Tensor3D): tf.Tensor4D {
    return this.ops.unpatchify(x, this.cfg.patchSize, this.cfg.inChannels) as tf.Tensor4D;
  }
}

/** The parameter tree over a tensor map; a missing tensor is named. */
function tfParams(c: JiTConfig, p: TensorMap): JiTParams<tf.Tensor> {
  return declareJiT(c, (spec) => {
    const v = p.get(spec.name);
    if (!v) throw new Error(`missing parameter ${spec.name}`);
    return v;
  });
}
