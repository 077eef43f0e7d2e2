// The JiT training step as one ONNX graph: the v-loss of a batch and the gradient of every trainable parameter,
// built by running the one forward pass (src/jit/network.ts) and the diffusion formulas (src/jit/diffusion.ts)
// through the differentiating ONNX interpreter (ops.ts). The trainable weights are graph inputs (in the official
// layout, conv weights as [out, in kh kw]); frozen tensors (the sin-cos positions, a frozen patch embedding) are
// initializers. t, the noise and the label drop are drawn by the caller, so both engines train on the same data.
import type { onnx } from 'onnx-proto';
import type { DiffusionConfig, JiTConfig } from '../jit/config';
import { vLossOf } from '../jit/diffusion';
import { ParamSpec, declareJiT, jitForward } from '../jit/network';
import type { OfficialTensor } from '../jit/params';
import { GraphBuilder, attr } from './builder';
import { matrixShape, officialTensor } from './graph';
import { OnnxOps, V } from './ops';

/** Names of the training graph's inputs and outputs. */
export const TRAIN_IO = {
  x: 'x', // [B, C, S, S] clean images in [-1, 1]
  e: 'e', // [B, C, S, S] noise
  t: 't', // [B]
  y: 'y', // [B] int64 labels after label drop
  loss: 'loss', // [] mean v-loss
  perImage: 'loss_per_image', // [B]
  gradNormSq: 'grad_norm_sq', // [] squared L2 norm of all gradients together
  grad: (name: string) => `grad.${name}`,
} as const;

export interface TrainingGraph {
  model: onnx.ModelProto;
  /** The trainable parameters, in state-dict order: each is an input `name` and has an output `grad.name`. */
  trainable: ParamSpec[];
}

/**
 * The training graph for a fixed batch size. `frozen` supplies the non-trainable tensors by official name (every
 * trainable tensor is fed at run time instead).
 */
export function buildTrainingGraph(cfg: JiTConfig, diffusion: Pick<DiffusionConfig, 'target' | 'tEps'>, batch: number,
  frozen: Map<string, OfficialTensor>): TrainingGraph {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`The training graph needs a positive whole batch size, got ${batch}.`);
  const o = new OnnxOps(new GraphBuilder(), true);
  const trainable: { spec: ParamSpec; v: V }[] = [];
  const params = declareJiT(cfg, (spec) => {
    if (!spec.trainable) return o.initializer(spec.name, officialTensor(frozen, '', spec).data, matrixShape(spec));
    const v = o.input(spec.name, 'float32', matrixShape(spec), true);
    trainable.push({ spec, v });
    return v;
  });
  const S = cfg.inputSize;
  const image = [batch, cfg.inChannels, S, S];
  const x = o.input(TRAIN_IO.x, 'float32', image);
  const e = o.input(TRAIN_IO.e, 'float32', image);
  const t = o.input(TRAIN_IO.t, 'float32', [batch]);
  const y = o.input(TRAIN_IO.y, 'int64', [batch]);
  const { loss, perImage } = vLossOf(o, (z) => jitForward(o, cfg, params, z, t, y), x, e, t, diffusion);
  const grads = o.backward(loss, trainable.map((p) => p.v));
  o.output(TRAIN_IO.loss, loss);
  o.output(TRAIN_IO.perImage, perImage);
  const g = o.g;
  const squares: string[] = [];
  trainable.forEach(({ spec, v }, i) => {
    // A parameter the loss does not reach (none in JiT; kept general) has a zero gradient.
    const grad = grads[i] ?? o.constant(`zero_grad.${spec.name}`, () => ({ data: new Float32Array(count(v.shape as number[])), shape: v.shape as number[] }));
    o.output(TRAIN_IO.grad(spec.name), grad);
    squares.push(g.op1('ReduceSumSquare', [grad.name], [attr.int('keepdims', 0)]));
  });
  g.output(TRAIN_IO.gradNormSq, g.op1('Sum', squares), []);
  return {
    model: g.model('jit_train', `JiT training step (v-loss and gradients): ${S} px, patch ${cfg.patchSize}, hidden ${cfg.hiddenSize}, depth ${cfg.depth}, batch ${batch}, target ${diffusion.target}`),
    trainable: trainable.map((p) => p.spec),
  };
}

function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
