// The toy denoiser of the paper's sec. 3.3: a 5-layer ReLU MLP with 256 hidden units that reads (z_t, t), t
// concatenated to z_t as one more input, and outputs a D-dimensional prediction of x, eps or v. `ToyDenoiser`
// turns that output into the clean-point estimate with the engine's `toCleanImage`, so training and the shared
// sampler treat it exactly like the image model (points [B, D] are viewed as images [B, D, 1, 1]).
import * as tf from '@tensorflow/tfjs-core';
import type { PredictionTarget } from '../jit/config';
import { toCleanImage } from '../jit/diffusion';
import { linear } from '../jit/tfOps';
import type { Rng } from '../jit/random';
import type { Denoiser } from '../jit/sampler';

export const TOY_HIDDEN = 256;
export const TOY_LAYERS = 5; // linear layers: (D + 1) -> 256 -> 256 -> 256 -> 256 -> D

export interface MlpLayer {
  w: tf.Variable; // [in, out]
  b: tf.Variable; // [out]
}

export class ToyMlp {
  readonly layers: MlpLayer[];

  /** PyTorch's default nn.Linear initialisation: weights and biases ~ U(-1/sqrt(in), 1/sqrt(in)). */
  constructor(readonly dim: number, rng: Rng, hidden = TOY_HIDDEN, depth = TOY_LAYERS) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`The MLP's data dimension must be a positive whole number, got ${dim}.`);
    const widths = [dim + 1, ...new Array(depth - 1).fill(hidden), dim];
    // tidy frees the initial tensors; the variables (which hold their own reference) survive it
    this.layers = tf.tidy(() => widths.slice(0, -1).map((inW, l) => {
      const outW = widths[l + 1];
      const bound = 1 / Math.sqrt(inW);
      return {
        w: tf.variable(tf.tensor2d(rng.fillUniform(new Float32Array(inW * outW), -bound, bound), [inW, outW])),
        b: tf.variable(tf.tensor1d(rng.fillUniform(new Float32Array(outW), -bound, bound))),
      };
    }));
  }

  /** z [B, D], t [B] -> raw output [B, D] (a prediction of x, eps or v, depending on how it is trained). */
  forward(z: tf.Tensor2D, t: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor2D = tf.concat([z, tf.reshape(t, [-1, 1])], 1); // [B, D + 1]
      this.layers.forEach(({ w, b }, l) => {
        h = linear(h, w, b); // [B, width of layer l]
        if (l < this.layers.length - 1) h = tf.relu(h);
      });
      return h;
    });
  }

  /** The trainable tensors keyed by name, in the form `AdamW` takes. */
  params(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>();
    this.layers.forEach(({ w, b }, l) => m.set(`layers.${l}.weight`, w).set(`layers.${l}.bias`, b));
    return m;
  }

  dispose(): void {
    for (const { w, b } of this.layers) tf.dispose([w, b]);
  }
}

/** The clean-point estimate [B, D, 1, 1] from z [B, D, 1, 1] and t [B] for a network trained for `target`. */
export function predictCleanPoints(net: ToyMlp, z: tf.Tensor4D, t: tf.Tensor1D, target: PredictionTarget, tEps: number): tf.Tensor4D {
  return tf.tidy(() => {
    const out = net.forward(tf.reshape(z, [-1, net.dim]), t); // [B, D]
    return toCleanImage(tf.reshape(out, z.shape), z, t, target, tEps);
  });
}

/** The MLP as the sampler's `Denoiser` (unconditional: the labels are ignored). */
export class ToyDenoiser implements Denoiser {
  constructor(readonly net: ToyMlp, readonly target: PredictionTarget, readonly tEps: number) {}

  async predictX(z: tf.Tensor4D, t: tf.Tensor1D): Promise<tf.Tensor4D> {
    return predictCleanPoints(this.net, z, t, this.target, this.tEps);
  }
}
