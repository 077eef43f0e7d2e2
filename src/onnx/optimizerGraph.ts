// AdamW and the two EMA updates over the flat vector of every trainable parameter, as one ONNX graph: the same
// formulas the TF.js engine runs (src/jit/optim.ts), here multi-threaded by ONNX Runtime. The per-step numbers
// (step size, bias correction, weight-decay factor) are scalar inputs; which elements decay is a constant mask.
import type { onnx } from 'onnx-proto';
import { AdamWConfig, adamwUpdateOf, emaUpdateOf } from '../jit/optim';
import { GraphBuilder } from './builder';
import { OnnxOps } from './ops';

export const OPTIMIZER_IO = {
  params: 'params', grads: 'grads', m: 'exp_avg', v: 'exp_avg_sq', ema1: 'ema1', ema2: 'ema2', // [P] each
  stepSize: 'step_size', sqrtBc2: 'sqrt_bias_correction2', decay: 'decay', // []
  out: (name: string) => `${name}_next`,
} as const;

/** The state vectors the graph reads and writes (each input X has the output X_next). */
export const OPTIMIZER_STATE = [OPTIMIZER_IO.params, OPTIMIZER_IO.m, OPTIMIZER_IO.v, OPTIMIZER_IO.ema1, OPTIMIZER_IO.ema2] as const;

/**
 * `decayMask` [P] is 1 where weight decay applies (the official add_weight_decay groups) and 0 elsewhere; with a
 * weight decay of 0 the graph has no decay input at all.
 */
export function buildOptimizerGraph(size: number, c: AdamWConfig, emaDecays: [number, number], decayMask: Float32Array): onnx.ModelProto {
  const o = new OnnxOps(new GraphBuilder());
  const vec = (name: string) => o.input(name, 'float32', [size]);
  const [p, g, m, v, e1, e2] = [OPTIMIZER_IO.params, OPTIMIZER_IO.grads, OPTIMIZER_IO.m, OPTIMIZER_IO.v, OPTIMIZER_IO.ema1, OPTIMIZER_IO.ema2].map(vec);
  const stepSize = o.input(OPTIMIZER_IO.stepSize, 'float32', []);
  const sqrtBc2 = o.input(OPTIMIZER_IO.sqrtBc2, 'float32', []);
  let decay;
  if (c.weightDecay > 0) {
    // per element: 1 - mask (1 - decay), i.e. `decay` where the tensor decays and 1 elsewhere
    const mask = o.initializer('decay_mask', decayMask, [size]);
    decay = o.sub(o.scalar(1), o.mul(mask, o.sub(o.scalar(1), o.input(OPTIMIZER_IO.decay, 'float32', []))));
  }
  const next = adamwUpdateOf(o, c, { stepSize, sqrtBc2, decay }, p, g, m, v);
  o.output(OPTIMIZER_IO.out(OPTIMIZER_IO.params), next.p);
  o.output(OPTIMIZER_IO.out(OPTIMIZER_IO.m), next.m);
  o.output(OPTIMIZER_IO.out(OPTIMIZER_IO.v), next.v);
  o.output(OPTIMIZER_IO.out(OPTIMIZER_IO.ema1), emaUpdateOf(o, e1, next.p, emaDecays[0]));
  o.output(OPTIMIZER_IO.out(OPTIMIZER_IO.ema2), emaUpdateOf(o, e2, next.p, emaDecays[1]));
  return o.g.model('jit_adamw_ema', `AdamW (betas ${c.beta1}, ${c.beta2}, eps ${c.eps}, weight decay ${c.weightDecay}) and EMAs (${emaDecays.join(', ')}) over ${size} parameters`);
}
