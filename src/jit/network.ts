// The JiT network net(z, t, y) -> network output, as in the official model_jit.py, written once over `Ops<T>` so
// that every interpreter (TF.js, ONNX graphs, FLOP counting) runs this same description. `declareJiT` names every
// parameter with its official state-dict name, shape, layout and initialisation, in state-dict order; `jitForward`
// is the forward pass over those parameters.
// Shapes: B batch, N image tokens, L in-context tokens, T tokens in the sequence (N, or L + N from block
// `inContextStart` on), h hidden, H heads, D head dim, d' bottleneck width, p patch side, C channels.
import { JiTConfig, dims } from './config';
import { ropeTables, timestepFrequencies } from './embeddings';
import type { Ops } from './ops';

/** RMSNorm epsilon of every norm in the network (official: 1e-6). */
export const NORM_EPS = 1e-6;
/** Width of the sinusoidal timestep features (the official t_embedder's frequency_embedding_size). */
export const TIME_FEATURES = 256;

/** How a tensor's official (PyTorch) layout maps to the layout TF.js multiplies with ([in, out]). */
export type Layout = 'linear' | 'conv' | 'same';
export type Init = 'xavier' | 'zeros' | 'ones' | 'normal02' | 'sincos';

export interface ParamSpec {
  name: string; // official name, e.g. net.blocks.0.attn.qkv.weight
  shape: number[]; // official (PyTorch) shape
  layout: Layout;
  init: Init;
  trainable: boolean;
}

export interface Linear<T> {
  weight: T;
  bias: T;
}

export interface JiTBlock<T> {
  norm1: T;
  attn: { qNorm: T; kNorm: T; qkv: Linear<T>; proj: Linear<T> };
  norm2: T;
  mlp: { w12: Linear<T>; w3: Linear<T> };
  adaLN: Linear<T>;
}

/** The parameters of the network, one handle per state-dict tensor. */
export interface JiTParams<T> {
  posEmbed: T; // [1, N, h], fixed 2-D sin-cos
  inContextPosemb?: T; // [1, L, h]
  tEmbedder: { mlp0: Linear<T>; mlp2: Linear<T> };
  yEmbedder: T; // [classes + 1, h]
  xEmbedder: { proj1: T; proj2: Linear<T> };
  blocks: JiTBlock<T>[];
  finalLayer: { norm: T; linear: Linear<T>; adaLN: Linear<T> };
}

/**
 * The network's parameters, each made by `leaf` from its spec, declared in the official state-dict order
 * (module parameters, then submodules in registration order, as `named_parameters()` lists them).
 */
export function declareJiT<T>(c: JiTConfig, leaf: (spec: ParamSpec) => T): JiTParams<T> {
  const d = dims(c);
  const h = c.hiddenSize;
  const add = (name: string, shape: number[], layout: Layout, init: Init, trainable = true) =>
    leaf({ name: `net.${name}`, shape, layout, init, trainable });
  const lin = (name: string, out: number, inp: number, wInit: Init = 'xavier', trainable = true): Linear<T> => ({
    weight: add(`${name}.weight`, [out, inp], 'linear', wInit, trainable),
    bias: add(`${name}.bias`, [out], 'same', 'zeros', trainable),
  });
  const posEmbed = add('pos_embed', [1, d.numPatches, h], 'same', 'sincos', false);
  const inContextPosemb = c.inContextLen > 0 ? add('in_context_posemb', [1, c.inContextLen, h], 'same', 'normal02') : undefined;
  const tEmbedder = { mlp0: lin('t_embedder.mlp.0', h, TIME_FEATURES, 'normal02'), mlp2: lin('t_embedder.mlp.2', h, h, 'normal02') };
  const yEmbedder = add('y_embedder.embedding_table.weight', [c.numClasses + 1, h], 'same', 'normal02');
  const pe = !c.freezePatchEmbed;
  const xEmbedder = {
    proj1: add('x_embedder.proj1.weight', [c.bottleneckDim, c.inChannels, c.patchSize, c.patchSize], 'conv', 'xavier', pe),
    proj2: {
      weight: add('x_embedder.proj2.weight', [h, c.bottleneckDim, 1, 1], 'conv', 'xavier', pe),
      bias: add('x_embedder.proj2.bias', [h], 'same', 'zeros', pe),
    },
  };
  const blocks: JiTBlock<T>[] = [];
  for (let i = 0; i < c.depth; i++) {
    const b = `blocks.${i}`;
    const norm1 = add(`${b}.norm1.weight`, [h], 'same', 'ones');
    const qNorm = add(`${b}.attn.q_norm.weight`, [d.headDim], 'same', 'ones');
    const kNorm = add(`${b}.attn.k_norm.weight`, [d.headDim], 'same', 'ones');
    const qkv = lin(`${b}.attn.qkv`, 3 * h, h);
    const proj = lin(`${b}.attn.proj`, h, h);
    const norm2 = add(`${b}.norm2.weight`, [h], 'same', 'ones');
    const mlp = { w12: lin(`${b}.mlp.w12`, 2 * d.mlpHidden, h), w3: lin(`${b}.mlp.w3`, h, d.mlpHidden) };
    const adaLN = lin(`${b}.adaLN_modulation.1`, 6 * h, h, 'zeros'); // adaLN-Zero
    blocks.push({ norm1, attn: { qNorm, kNorm, qkv, proj }, norm2, mlp, adaLN });
  }
  const finalLayer = {
    norm: add('final_layer.norm_final.weight', [h], 'same', 'ones'),
    linear: lin('final_layer.linear', d.patchDim, h, 'zeros'),
    adaLN: lin('final_layer.adaLN_modulation.1', 2 * h, h, 'zeros'),
  };
  return { posEmbed, inContextPosemb, tEmbedder, yEmbedder, xEmbedder, blocks, finalLayer };
}

/** Records an intermediate output under its golden-vector name (`t_emb`, `bottleneck`, `patch_embed`, `block<i>`). */
export type Tap<T> = (name: string, x: T) => void;

/**
 * net(z, t, y): z [B, C, S, S] noisy images, t [B] in [0, 1], y [B] labels (numClasses = the null class).
 * Returns the network output [B, C, S, S] (the clean image for x-prediction).
 */
export function jitForward<T>(o: Ops<T>, c: JiTConfig, p: JiTParams<T>, z: T, t: T, y: T, tap?: Tap<T>): T {
  const d = dims(c);
  const { freqs, ropeImage, ropeInContext } = jitConstants(o, c);

  // Conditioning: c = t_emb + y_emb  [B, h]
  const tFeat = o.timestepFeatures(t, freqs); // [B, 256]: [cos | sin]
  const tEmb = o.linear(o.silu(o.linear(tFeat, p.tEmbedder.mlp0.weight, p.tEmbedder.mlp0.bias)), p.tEmbedder.mlp2.weight, p.tEmbedder.mlp2.bias); // [B, h]
  tap?.('t_emb', tEmb);
  const yEmb = o.embed(p.yEmbedder, y); // [B, h]
  const cAct = o.silu(o.add(tEmb, yEmb)); // [B, h]: every adaLN reads SiLU(c)

  // Bottleneck patch embedding: patch (C p^2) -> d' (proj1, no bias) -> h (proj2), + fixed sin-cos positions
  const code = o.linear(o.patchify(z, c.patchSize), p.xEmbedder.proj1); // [B, N, d']
  if (tap) tap('bottleneck', o.tokensToGrid(code)); // [B, d', g, g] as the official Conv2d output
  let x = o.add(o.linear(code, p.xEmbedder.proj2.weight, p.xEmbedder.proj2.bias), p.posEmbed); // [B, N, h]
  // Recorded after the position embedding: the official code adds it in place (`x += self.pos_embed`), so the
  // embedder's output tensor that a forward hook sees already includes it, and the golden vectors do too.
  tap?.('patch_embed', x);

  p.blocks.forEach((b, i) => {
    if (c.inContextLen > 0 && i === c.inContextStart) {
      // L copies of the class embedding plus their learned position embedding, prepended
      const ctx = o.add(o.unsqueeze1(yEmb), p.inContextPosemb!); // [B, L, h]
      x = o.concatTokens(ctx, x); // [B, L + N, h]
    }
    x = block(o, c, b, x, cAct, c.inContextLen > 0 && i >= c.inContextStart ? ropeInContext : ropeImage);
    tap?.(`block${i}`, x);
  });
  if (c.inContextLen > 0) x = o.sliceTokens(x, c.inContextLen, d.numPatches); // [B, N, h]

  // Final layer: RMSNorm, adaLN (shift, scale), linear to p*p*C, unpatchify
  const f = p.finalLayer;
  const [shift, scale] = o.chunks(o.linear(cAct, f.adaLN.weight, f.adaLN.bias), 2); // 2 x [B, 1, h]
  x = o.modulate(o.rmsNorm(x, f.norm, NORM_EPS), shift, scale);
  return o.unpatchify(o.linear(x, f.linear.weight, f.linear.bias), c.patchSize, c.inChannels); // [B, N, p p C] -> [B, C, S, S]
}

/** The fixed tensors of the forward pass: the timestep frequencies and the RoPE tables. */
export function jitConstants<T>(o: Ops<T>, c: JiTConfig): { freqs: T; ropeImage: { cos: T; sin: T }; ropeInContext: { cos: T; sin: T } } {
  const d = dims(c);
  const freqs = o.constant('time_frequencies', () => ({ data: timestepFrequencies(TIME_FEATURES / 2), shape: [TIME_FEATURES / 2] }));
  // RoPE tables [T, 1, D] for the image tokens alone, and with L position-less in-context tokens in front
  const rope = (prefix: number) => {
    const n = prefix + d.numPatches;
    const tables = () => ropeTables(d.headDim, d.gridSize, prefix);
    return {
      cos: o.constant(`rope_cos_${n}`, () => ({ data: tables().cos, shape: [n, 1, d.headDim] })),
      sin: o.constant(`rope_sin_${n}`, () => ({ data: tables().sin, shape: [n, 1, d.headDim] })),
    };
  };
  const ropeImage = rope(0);
  return { freqs, ropeImage, ropeInContext: c.inContextLen > 0 ? rope(c.inContextLen) : ropeImage };
}

/** One transformer block with adaLN-Zero: x [B, T, h] -> [B, T, h]. */
function block<T>(o: Ops<T>, c: JiTConfig, b: JiTBlock<T>, x: T, cAct: T, rope: { cos: T; sin: T }): T {
  const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = o.chunks(o.linear(cAct, b.adaLN.weight, b.adaLN.bias), 6); // 6 x [B, 1, h]

  // Attention: per-head RMSNorm on q and k, then 2-D RoPE
  const a = o.modulate(o.rmsNorm(x, b.norm1, NORM_EPS), shiftMsa, scaleMsa);
  const [q, k, v] = o.linearSplit(a, b.attn.qkv.weight, b.attn.qkv.bias, 3); // 3 x [B, T, h]
  const prep = (u: T, norm: T) => o.rope(o.rmsNorm(o.heads(u, c.numHeads), norm, NORM_EPS), rope.cos, rope.sin); // [B, T, H, D]
  const attn = o.attention(prep(q, b.attn.qNorm), prep(k, b.attn.kNorm), o.heads(v, c.numHeads)); // [B, T, h]
  x = o.gatedAdd(x, gateMsa, o.linear(attn, b.attn.proj.weight, b.attn.proj.bias));

  // SwiGLU MLP: w3(silu(x1) * x2) with [x1 | x2] = w12(x)
  const m = o.modulate(o.rmsNorm(x, b.norm2, NORM_EPS), shiftMlp, scaleMlp);
  const [x1, x2] = o.linearSplit(m, b.mlp.w12.weight, b.mlp.w12.bias, 2); // 2 x [B, T, mlpHidden]
  return o.gatedAdd(x, gateMlp, o.linear(o.swiglu(x1, x2), b.mlp.w3.weight, b.mlp.w3.bias));
}
