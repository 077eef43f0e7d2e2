// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), with the official JiT
// parameter groups: no weight decay on biases and 1-D tensors (norm scales).
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const JIT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 };

/** The official add_weight_decay rule. */
export function decays(name: string, shape: number[]): boolean {
  return !(shape.length === 1 || name.endsWith('.bias'));
}

export class AdamW {
  /** Steps taken so far (torch's per-parameter `step`; identical for every parameter here). */
  step = 0;
  readonly m = new Map<string, tf.Variable>(); // exp_avg
  readonly v = new Map<string, tf.Variable>(); // exp_avg_sq

  constructor(readonly params: Map<string, tf.Variable>, readonly cfg: AdamWConfig = JIT_ADAMW) {
    // tidy releases the zero tensors; each variable keeps its own reference to the data.
    tf.tidy(() => {
      for (const [name, p] of params) {
        this.m.set(name, tf.variable(tf.zerosLike(p), false));
        this.v.set(name, tf.variable(tf.zerosLike(p), false));
      }
    });
  }

  /** One update with learning rate `lr`; `grads` are keyed like `params`. */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) throw new Error(`no gradient for ${name}`);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(m1);
        v.assign(v1);
        // p <- p * (1 - lr * wd) - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
        const decayed = weightDecay > 0 && decays(name, p.shape) ? tf.mul(p, 1 - lr * weightDecay) : p;
        const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(bc2)), eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), lr / bc1)));
      }
    });
  }

  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
  }
}
