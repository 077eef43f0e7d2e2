// The JiT network net(z, t, y) as an ONNX inference graph: network.ts's forward pass run by the ONNX interpreter
// (ops.ts), with the weights as constant initializers in the official layout. Only the batch dimension is dynamic.
import type { onnx } from 'onnx-proto';
import { JiTConfig } from '../jit/config';
import { ParamSpec, declareJiT, jitForward } from '../jit/network';
import type { OfficialTensor } from '../jit/params';
import { ExternalWeights, GraphBuilder, encodeModel } from './builder';
import { OnnxOps, V } from './ops';

/** Names of the graph's inputs and output. */
export const GRAPH_IO = { z: 'z', t: 't', y: 'y', out: 'x' } as const;
const BATCH = 'batch';

export interface GraphOptions {
  /** Also output the golden-vector activations (`t_emb`, `bottleneck`, `patch_embed`, `block<i>`). */
  activations?: boolean;
  /** Put large initializers into an external weights file (for models beyond protobuf's 2 GB limit). */
  external?: ExternalWeights;
}

/**
 * Builds the ONNX model of net(z [B, C, H, W] float, t [B] float, y [B] int64) -> x [B, C, H, W] from weights named
 * `${prefix}net.*` in the official (PyTorch) layout. Every tensor of the config's state dict must be present.
 */
export function buildJiTModel(cfg: JiTConfig, weights: Map<string, OfficialTensor>, prefix = '', opts: GraphOptions = {}): onnx.ModelProto {
  const o = new OnnxOps(new GraphBuilder(opts.external));
  const params = declareJiT(cfg, (spec) => {
    const t = officialTensor(weights, prefix, spec);
    return o.initializer(spec.name, t.data, matrixShape(spec));
  });
  const S = cfg.inputSize;
  const z = o.input(GRAPH_IO.z, 'float32', [BATCH, cfg.inChannels, S, S]);
  const t = o.input(GRAPH_IO.t, 'float32', [BATCH]);
  const y = o.input(GRAPH_IO.y, 'int64', [BATCH]);
  const tap = opts.activations ? (name: string, x: V) => o.output(name, x) : undefined;
  o.output(GRAPH_IO.out, jitForward(o, cfg, params, z, t, y, tap));
  return o.g.model('jit', `JiT network: ${S} px, patch ${cfg.patchSize}, hidden ${cfg.hiddenSize}, depth ${cfg.depth}, ${cfg.numHeads} heads, bottleneck ${cfg.bottleneckDim}, ${cfg.numClasses} classes, ${cfg.inContextLen} in-context tokens from block ${cfg.inContextStart}`);
}

/** The model's protobuf bytes (initializers inline). */
export function buildJiTModelBytes(cfg: JiTConfig, weights: Map<string, OfficialTensor>, prefix = '', opts: Omit<GraphOptions, 'external'> = {}): Uint8Array {
  return encodeModel(buildJiTModel(cfg, weights, prefix, opts));
}

/**
 * The shape a weight has in ONNX graphs: linear weights as PyTorch's [out, in], a Conv2d weight [out, in, kh, kw] as
 * the matrix [out, in kh kw] (the same values in the same order), everything else as in the state dict.
 */
export function matrixShape(spec: Pick<ParamSpec, 'shape' | 'layout'>): number[] {
  const s = spec.shape;
  return spec.layout === 'conv' ? [s[0], s[1] * s[2] * s[3]] : s;
}

/** One tensor of the state dict, checked against the config. */
export function officialTensor(source: Map<string, OfficialTensor>, prefix: string, spec: ParamSpec): OfficialTensor {
  const t = source.get(prefix + spec.name);
  if (!t) throw new Error(`The weights have no tensor ${prefix + spec.name}; they do not hold a model of this configuration.`);
  if (t.shape.length !== spec.shape.length || t.shape.some((s, i) => s !== spec.shape[i])) {
    throw new Error(`Tensor ${prefix + spec.name} has shape [${t.shape.join(', ')}] but this model needs [${spec.shape.join(', ')}]: the weights belong to another configuration.`);
  }
  return t;
}
