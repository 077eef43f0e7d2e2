// AdamW over TF.js variables, with the formulas of src/jit/optim.ts (torch.optim.AdamW with the official groups).
import * as tf from '@tensorflow/tfjs-core';
import { AdamWConfig, JIT_ADAMW, adamwStepScalars, adamwUpdateOf, decays } from '../jit/optim';
import { tfArith } from '../jit/tfOps';

/** AdamW over TF.js variables. */
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
    const k = adamwStepScalars(this.cfg, this.step, lr);
    tf.tidy(() => {
      const s = { stepSize: tf.scalar(k.stepSize), sqrtBc2: tf.scalar(k.sqrtBc2) };
      const decay = tf.scalar(k.decay);
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) throw new Error(`no gradient for ${name}`);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const next = adamwUpdateOf<tf.Tensor>(tfArith, this.cfg, { ...s, decay: this.cfg.weightDecay > 0 && decays(name, p.shape) ? decay : undefined }, p, g, m, v);
        m.assign(next.m);
        v.assign(next.v);
        p.assign(next.p);
      }
    });
  }

  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
  }
}
