// The optimizer's mathematics: AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments)
// with the official JiT parameter groups (no weight decay on biases and 1-D tensors), and the EMA update of the
// official Denoiser. Each formula is written once over `Arith<T>`: the TF.js engine runs it on tensors
// (src/train/adamw.ts), the ONNX Runtime engine as one fused loop over its flat vectors (compileAdamwEma).
import { ElementwiseLoop, compileElementwise } from './elementwise';
import type { Arith } from './ops';

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

/** The numbers of AdamW step `step` (1-based) that change from step to step. */
export interface AdamWStepScalars {
  /** lr / (1 - beta1^step) */
  stepSize: number;
  /** sqrt(1 - beta2^step) */
  sqrtBc2: number;
  /** 1 - lr * weight_decay, the factor on decayed tensors */
  decay: number;
}

export function adamwStepScalars(c: AdamWConfig, step: number, lr: number): AdamWStepScalars {
  return { stepSize: lr / (1 - Math.pow(c.beta1, step)), sqrtBc2: Math.sqrt(1 - Math.pow(c.beta2, step)), decay: 1 - lr * c.weightDecay };
}

/**
 * One AdamW update of a tensor p with gradient g and moments m, v, as torch does it:
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p = p * decay - stepSize * m / (sqrt(v) / sqrtBc2 + eps).
 * `s` holds the per-step scalars as values of the interpreter; `decay` is omitted for tensors without weight decay.
 */
export function adamwUpdateOf<T>(o: Arith<T>, c: AdamWConfig, s: { stepSize: T; sqrtBc2: T; decay?: T }, p: T, g: T, m: T, v: T): { p: T; m: T; v: T } {
  const m1 = o.add(o.mul(m, o.scalar(c.beta1)), o.mul(g, o.scalar(1 - c.beta1)));
  const v1 = o.add(o.mul(v, o.scalar(c.beta2)), o.mul(o.square(g), o.scalar(1 - c.beta2)));
  const denom = o.add(o.div(o.sqrt(v1), s.sqrtBc2), o.scalar(c.eps));
  const decayed = s.decay ? o.mul(p, s.decay) : p;
  return { p: o.sub(decayed, o.mul(o.div(m1, denom), s.stepSize)), m: m1, v: v1 };
}

/** The EMA update of the official Denoiser: e = e * decay + p * (1 - decay). */
export function emaUpdateOf<T>(o: Arith<T>, e: T, p: T, decay: number): T {
  return o.add(o.mul(e, o.scalar(decay)), o.mul(p, o.scalar(1 - decay)));
}

/** The arrays of the fused AdamW + EMA loop. */
export const OPTIMIZER_ARRAYS = ['params', 'grads', 'm', 'v', 'ema1', 'ema2'] as const;
export type OptimizerArray = (typeof OPTIMIZER_ARRAYS)[number];

/**
 * AdamW and both EMA updates as one fused loop over flat vectors (compiled from the formulas above): per call, the
 * step's scalars, with `decay` = 1 - lr wd for tensors that decay and 1 for the others.
 */
export function compileAdamwEma(c: AdamWConfig, emaDecays: [number, number]): ElementwiseLoop<OptimizerArray, keyof AdamWStepScalars> {
  return compileElementwise(OPTIMIZER_ARRAYS, ['stepSize', 'sqrtBc2', 'decay'] as const, (o, x, s) => {
    const next = adamwUpdateOf(o, c, s, x.params, x.grads, x.m, x.v);
    return { params: next.p, m: next.m, v: next.v, ema1: emaUpdateOf(o, x.ema1, next.p, emaDecays[0]), ema2: emaUpdateOf(o, x.ema2, next.p, emaDecays[1]) };
  });
}
