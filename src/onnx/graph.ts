// The JiT network net(z, t, y) as an ONNX graph, built from a config and official-layout weights: the same
// computation as src/jit/model.ts, step for step, in operators ONNX Runtime's CPU kernels run fast (Gemm with the bias
// for token linears, MatMul + Add, RMSNorm from Pow/ReduceMean/Add/Sqrt/Div/Mul, which its optimiser fuses into one
// kernel, Softmax, Sigmoid * x). The weights, RoPE tables and time frequencies are constant initializers; only the
// batch dimension is dynamic.
// Shapes in comments: B = batch, N = image tokens, L = in-context tokens, T = tokens in the sequence, h = hidden,
// H = heads, D = head dim, m = SwiGLU width, d' = bottleneck width, g = grid side, p = patch side, C = channels.
import type { onnx } from 'onnx-proto';
import { JiTConfig, dims, Dims } from '../jit/config';
import { ropeTables, rotateHalfMatrix, timestepFrequencies } from '../jit/embeddings';
import { NORM_EPS } from '../jit/model';
import { OfficialTensor, ParamSpec, fromOfficial, modelShape, paramSpecs } from '../jit/params';
import { Dim, ExternalWeights, GraphBuilder, attr, encodeModel } from './builder';

/** Names of the graph's inputs and output. */
export const GRAPH_IO = { z: 'z', t: 't', y: 'y', out: 'x' } as const;
const BATCH = 'batch';
const TIME_FEATURES = 256; // width of the sinusoidal timestep features (the official t_embedder's frequency_embedding_size)

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
  const d = dims(cfg);
  const g = new GraphBuilder(opts.external);
  const specs = new Map(paramSpecs(cfg).map((s) => [s.name, s]));
  const w = (name: string): string => {
    const t = modelTensor(specs, weights, prefix, `net.${name}`);
    return g.floats(`net.${name}`, t.data, t.shape);
  };
  // A linear layer's weight [in, k out] and bias [k out] as k layers of width `out` (q/k/v, the two SwiGLU halves)
  const wParts = (name: string, k: number): { w: string; b: string }[] => {
    const wt = modelTensor(specs, weights, prefix, `net.${name}.weight`);
    const bt = modelTensor(specs, weights, prefix, `net.${name}.bias`);
    const [rows, cols] = wt.shape;
    const out = cols / k;
    return Array.from({ length: k }, (_, c) => {
      const part = new Float32Array(rows * out);
      for (let r = 0; r < rows; r++) part.set(wt.data.subarray(r * cols + c * out, r * cols + (c + 1) * out), r * out);
      return { w: g.floats(`net.${name}.weight[${c}/${k}]`, part, [rows, out]), b: g.floats(`net.${name}.bias[${c}/${k}]`, bt.data.slice(c * out, (c + 1) * out), [out]) };
    });
  };
  const B = BATCH;
  const { hiddenSize: h, inChannels: C, inputSize: S } = cfg;

  const z = g.input(GRAPH_IO.z, 'float32', [B, C, S, S]);
  const t = g.input(GRAPH_IO.t, 'float32', [B]);
  const y = g.input(GRAPH_IO.y, 'int64', [B]);
  const nn = new Layers(g, d, h);
  const act = (name: string, value: string, shape: Dim[]) => {
    if (opts.activations) g.output(name, value, shape);
  };

  // Conditioning: c = t_emb + y_emb  [B, h]
  const half = TIME_FEATURES / 2;
  const args = g.op1('Mul', [g.op1('Unsqueeze', [t, g.int64s([1])]), g.floats('time_frequencies', timestepFrequencies(half), [1, half])]); // [B, half]
  const tFeat = g.op1('Concat', [g.op1('Cos', [args]), g.op1('Sin', [args])], [attr.int('axis', 1)]); // [B, 256]: [cos | sin]
  const tEmb = nn.linear(nn.silu(nn.linear(tFeat, w('t_embedder.mlp.0.weight'), w('t_embedder.mlp.0.bias'))),
    w('t_embedder.mlp.2.weight'), w('t_embedder.mlp.2.bias')); // [B, h]
  act('t_emb', tEmb, [B, h]);
  const yEmb = g.op1('Gather', [w('y_embedder.embedding_table.weight'), y], [attr.int('axis', 0)]); // [B, h]
  const cAct = nn.silu(g.op1('Add', [tEmb, yEmb])); // [B, h]

  // Bottleneck patch embedding: patch (C p^2) -> d' (proj1, no bias) -> h (proj2), + fixed sin-cos positions
  const code = g.op1('MatMul', [nn.patchify(z, C, cfg.patchSize), w('x_embedder.proj1.weight')]); // [B, N, d']
  if (opts.activations) {
    const nchw = g.op1('Reshape', [g.op1('Transpose', [code], [attr.ints('perm', [0, 2, 1])]), g.int64s([-1, cfg.bottleneckDim, d.gridSize, d.gridSize])]);
    act('bottleneck', nchw, [B, cfg.bottleneckDim, d.gridSize, d.gridSize]); // [B, d', g, g] as the official Conv2d output
  }
  let x = nn.tokenLinear(code, w('x_embedder.proj2.weight'), w('x_embedder.proj2.bias'), d.numPatches); // [B, N, h]
  x = g.op1('Add', [x, w('pos_embed')]); // + [1, N, h]
  act('patch_embed', x, [B, d.numPatches, h]);

  // RoPE tables [T, 1, D] for the image tokens alone and with the (position-less) in-context tokens in front
  const rope = (prefixLen: number) => {
    const { cos, sin } = ropeTables(d.headDim, d.gridSize, prefixLen);
    const n = prefixLen + d.numPatches;
    return { cos: g.floats(`rope_cos_${n}`, cos, [n, 1, d.headDim]), sin: g.floats(`rope_sin_${n}`, sin, [n, 1, d.headDim]), tokens: n };
  };
  const ropeImage = rope(0);
  const ropeInContext = cfg.inContextLen > 0 ? rope(cfg.inContextLen) : ropeImage;

  for (let i = 0; i < cfg.depth; i++) {
    if (cfg.inContextLen > 0 && i === cfg.inContextStart) {
      // L copies of the class embedding plus their learned position embedding, prepended
      const ctx = g.op1('Add', [g.op1('Unsqueeze', [yEmb, g.int64s([1])]), w('in_context_posemb')]); // [B, L, h]
      x = g.op1('Concat', [ctx, x], [attr.int('axis', 1)]); // [B, L + N, h]
    }
    const r = cfg.inContextLen > 0 && i >= cfg.inContextStart ? ropeInContext : ropeImage;
    x = nn.block((n) => w(`blocks.${i}.${n}`), (n, k) => wParts(`blocks.${i}.${n}`, k), x, cAct, r);
    act(`block${i}`, x, [B, r.tokens, h]);
  }
  if (cfg.inContextLen > 0) {
    x = g.op1('Slice', [x, g.int64s([cfg.inContextLen]), g.int64s([cfg.inContextLen + d.numPatches]), g.int64s([1])]); // [B, N, h]
  }

  // Final layer: RMSNorm, adaLN (shift, scale), linear to p*p*C, unpatchify
  const [shift, scale] = nn.modulation(nn.linear(cAct, w('final_layer.adaLN_modulation.1.weight'), w('final_layer.adaLN_modulation.1.bias')), 2); // 2 x [B, 1, h]
  x = nn.modulate(nn.rmsNorm(x, w('final_layer.norm_final.weight')), shift, scale);
  const out = nn.tokenLinear(x, w('final_layer.linear.weight'), w('final_layer.linear.bias'), d.numPatches); // [B, N, p*p*C]
  g.output(GRAPH_IO.out, nn.unpatchify(out, C, cfg.patchSize), [B, C, S, S]);
  return g.model('jit', `JiT network: ${S} px, patch ${cfg.patchSize}, hidden ${h}, depth ${cfg.depth}, ${cfg.numHeads} heads, bottleneck ${cfg.bottleneckDim}, ${cfg.numClasses} classes, ${cfg.inContextLen} in-context tokens from block ${cfg.inContextStart}`);
}

/** The model's protobuf bytes (initializers inline). */
export function buildJiTModelBytes(cfg: JiTConfig, weights: Map<string, OfficialTensor>, prefix = '', opts: Omit<GraphOptions, 'external'> = {}): Uint8Array {
  return encodeModel(buildJiTModel(cfg, weights, prefix, opts));
}

/** One official tensor in the model layout (Linear weights [in, out], proj1 as [C p p, d']), checked against the config. */
function modelTensor(specs: Map<string, ParamSpec>, source: Map<string, OfficialTensor>, prefix: string, name: string): { data: Float32Array; shape: number[] } {
  const spec = specs.get(name);
  if (!spec) throw new Error(`internal: ${name} is not a parameter of this configuration`);
  const t = source.get(prefix + name);
  if (!t) throw new Error(`The weights have no tensor ${prefix + name}; they do not hold a model of this configuration.`);
  if (t.shape.length !== spec.shape.length || t.shape.some((s, i) => s !== spec.shape[i])) {
    throw new Error(`Tensor ${prefix + name} has shape [${t.shape.join(', ')}] but this model needs [${spec.shape.join(', ')}]: the weights belong to another configuration.`);
  }
  return { data: fromOfficial(spec, t.data), shape: modelShape(spec) };
}

/** The network's layers as graph fragments (each takes and returns value names). */
class Layers {
  private readonly one: string;
  private readonly two: string;
  private readonly eps: string;
  private readonly attnScale: string;
  private readonly rotateHalf: string;

  constructor(private readonly g: GraphBuilder, private readonly d: Dims, private readonly hidden: number) {
    this.one = g.scalar('one', 1);
    this.two = g.scalar('two', 2);
    this.eps = g.scalar('rms_eps', NORM_EPS);
    this.attnScale = g.scalar('attn_scale', 1 / Math.sqrt(d.headDim));
    this.rotateHalf = g.floats('rotate_half', rotateHalfMatrix(d.headDim), [d.headDim, d.headDim]);
  }

  /** y = x @ w (+ b) over the last axis; w [in, out]. */
  linear(x: string, w: string, b?: string): string {
    const y = this.g.op1('MatMul', [x, w]);
    return b ? this.g.op1('Add', [y, b]) : y;
  }

  /** y = x @ w + b for tokens x [B, T, in] as one Gemm over B T rows (bias fused) -> [B, T, out]. */
  tokenLinear(x: string, w: string, b: string, tokens: number): string {
    const g = this.g;
    const [inDim, outDim] = g.shapeOf(w);
    const rows = g.op1('Reshape', [x, g.int64s([-1, inDim])]); // [B T, in]
    return g.op1('Reshape', [g.op1('Gemm', [rows, w, b]), g.int64s([-1, tokens, outDim])]); // [B, T, out]
  }

  silu(x: string): string {
    return this.g.op1('Mul', [x, this.g.op1('Sigmoid', [x])]);
  }

  /** RMSNorm over the last axis with a learned scale: x / sqrt(mean(x^2) + eps) * w (the pattern ORT fuses). */
  rmsNorm(x: string, w: string): string {
    const g = this.g;
    const ms = g.op1('ReduceMean', [g.op1('Pow', [x, this.two])], [attr.ints('axes', [-1]), attr.int('keepdims', 1)]);
    return g.op1('Mul', [g.op1('Div', [x, g.op1('Sqrt', [g.op1('Add', [ms, this.eps])])]), w]);
  }

  /** x * (1 + scale) + shift with per-sample scale and shift [B, 1, h]. */
  modulate(x: string, shift: string, scale: string): string {
    return this.g.op1('Add', [this.g.op1('Mul', [x, this.g.op1('Add', [scale, this.one])]), shift]);
  }

  /** adaLN output [B, k h] -> k chunks [B, 1, h] (shift, scale, gate, ...). */
  modulation(m: string, k: number): string[] {
    const chunks = this.g.op1('Reshape', [m, this.g.int64s([-1, k, this.hidden])]); // [B, k, h]
    return this.g.op('Split', [chunks], [attr.int('axis', 1)], k); // k x [B, 1, h]
  }

  block(w: (name: string) => string, parts: (name: string, k: number) => { w: string; b: string }[], x: string, cAct: string,
    rope: { cos: string; sin: string; tokens: number }): string {
    const g = this.g;
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = this.modulation(this.linear(cAct, w('adaLN_modulation.1.weight'), w('adaLN_modulation.1.bias')), 6);
    const a = this.attention(w, parts, this.modulate(this.rmsNorm(x, w('norm1.weight')), shiftMsa, scaleMsa), rope); // [B, T, h]
    x = g.op1('Add', [x, g.op1('Mul', [gateMsa, a])]);
    const m = this.swiglu(w, parts, this.modulate(this.rmsNorm(x, w('norm2.weight')), shiftMlp, scaleMlp), rope.tokens); // [B, T, h]
    return g.op1('Add', [x, g.op1('Mul', [gateMlp, m])]);
  }

  private attention(w: (name: string) => string, parts: (name: string, k: number) => { w: string; b: string }[], x: string,
    rope: { cos: string; sin: string; tokens: number }): string {
    const g = this.g;
    const { headDim: D } = this.d;
    const H = this.hidden / D;
    const T = rope.tokens;
    // q, k, v as three Gemms (the qkv weight split by columns at build time): no Split copy of a [B, T, 3h] tensor
    const [q, k, v] = parts('attn.qkv', 3).map((p) => this.tokenLinear(x, p.w, p.b, T)); // 3 x [B, T, h]
    const heads = g.int64s([-1, T, H, D]);
    // Per-head RMSNorm on q and k, then 2-D RoPE: n cos + rotate_half(n) sin, tables [T, 1, D]
    const prep = (u: string, norm: string) => {
      const n = this.rmsNorm(g.op1('Reshape', [u, heads]), norm); // [B, T, H, D]
      const rot = g.op1('MatMul', [n, this.rotateHalf]);
      return g.op1('Add', [g.op1('Mul', [n, rope.cos]), g.op1('Mul', [rot, rope.sin])]);
    };
    const qh = g.op1('Transpose', [prep(q, w('attn.q_norm.weight'))], [attr.ints('perm', [0, 2, 1, 3])]); // [B, H, T, D]
    const kT = g.op1('Transpose', [prep(k, w('attn.k_norm.weight'))], [attr.ints('perm', [0, 2, 3, 1])]); // [B, H, D, T]
    const vh = g.op1('Transpose', [g.op1('Reshape', [v, heads])], [attr.ints('perm', [0, 2, 1, 3])]); // [B, H, T, D]
    const scores = g.op1('Mul', [g.op1('MatMul', [qh, kT]), this.attnScale]); // [B, H, T, T]
    const o = g.op1('MatMul', [g.op1('Softmax', [scores], [attr.int('axis', -1)]), vh]); // [B, H, T, D]
    const merged = g.op1('Reshape', [g.op1('Transpose', [o], [attr.ints('perm', [0, 2, 1, 3])]), g.int64s([-1, T, H * D])]); // [B, T, h]
    return this.tokenLinear(merged, w('attn.proj.weight'), w('attn.proj.bias'), T);
  }

  private swiglu(w: (name: string) => string, parts: (name: string, k: number) => { w: string; b: string }[], x: string, T: number): string {
    const [x1, x2] = parts('mlp.w12', 2).map((p) => this.tokenLinear(x, p.w, p.b, T)); // 2 x [B, T, m]
    return this.tokenLinear(this.g.op1('Mul', [this.silu(x1), x2]), w('mlp.w3.weight'), w('mlp.w3.bias'), T);
  }

  /** [B, C, H, W] -> [B, N, C p p], each token's vector in (c, kh, kw) order as Conv2d's weight, tokens row-major. */
  patchify(z: string, C: number, p: number): string {
    const gs = this.d.gridSize;
    const g = this.g;
    const split = g.op1('Reshape', [z, g.int64s([-1, C, gs, p, gs, p])]); // [B, C, gh, ph, gw, pw]
    const tokens = g.op1('Transpose', [split], [attr.ints('perm', [0, 2, 4, 1, 3, 5])]); // [B, gh, gw, C, ph, pw]
    return g.op1('Reshape', [tokens, g.int64s([-1, gs * gs, C * p * p])]);
  }

  /** [B, N, p p C] in (ph, pw, c) order (the official final layer) -> [B, C, H, W]. */
  unpatchify(x: string, C: number, p: number): string {
    const gs = this.d.gridSize;
    const g = this.g;
    const split = g.op1('Reshape', [x, g.int64s([-1, gs, gs, p, p, C])]); // [B, gh, gw, ph, pw, C]
    const image = g.op1('Transpose', [split], [attr.ints('perm', [0, 5, 1, 3, 2, 4])]); // [B, C, gh, ph, gw, pw]
    return g.op1('Reshape', [image, g.int64s([-1, C, gs * p, gs * p])]);
  }
}
