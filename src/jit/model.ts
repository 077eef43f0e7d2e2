// The JiT network, net(z, t, y) -> network output, as in the official model_jit.py.
// Tensors are float32; shapes in comments use B = batch, N = image tokens, L = in-context tokens,
// T = tokens in the sequence (N, or L + N from block `inContextStart` on), h = hidden, H = heads, D = head dim.
import * as tf from '@tensorflow/tfjs-core';
import { Dims, JiTConfig, dims } from './config';
import { ropeTables, rotateHalfMatrix, timestepFeatures } from './embeddings';
import { bmm, linear, silu, swapLast } from './ops';
import type { TensorMap } from './params';

/** RMSNorm epsilon of every norm in the network (official: 1e-6). */
export const NORM_EPS = 1e-6;

/** Intermediate outputs, named as in the golden vectors (`t_emb`, `bottleneck`, `patch_embed`, `blockN`). */
export type Activations = Map<string, tf.Tensor>;

export class JiTNetwork {
  readonly d: Dims;
  private readonly rope: { cos: tf.Tensor3D; sin: tf.Tensor3D }; // [N, 1, D], image tokens only
  private readonly ropeInContext: { cos: tf.Tensor3D; sin: tf.Tensor3D }; // [L + N, 1, D]
  private readonly rotateHalf: tf.Tensor2D; // [D, D]

  constructor(readonly cfg: JiTConfig) {
    this.d = dims(cfg);
    const table = (prefix: number) => {
      const { cos, sin } = ropeTables(this.d.headDim, this.d.gridSize, prefix);
      const n = prefix + this.d.numPatches;
      return { cos: tf.keep(tf.tensor3d(cos, [n, 1, this.d.headDim])), sin: tf.keep(tf.tensor3d(sin, [n, 1, this.d.headDim])) };
    };
    this.rope = table(0);
    this.ropeInContext = table(cfg.inContextLen);
    this.rotateHalf = tf.keep(tf.tensor2d(rotateHalfMatrix(this.d.headDim), [this.d.headDim, this.d.headDim]));
  }

  dispose(): void {
    for (const t of [this.rope.cos, this.rope.sin, this.ropeInContext.cos, this.ropeInContext.sin, this.rotateHalf]) t.dispose();
  }

  /**
   * z: [B, C, H, W] noisy images, t: [B] in [0, 1], y: [B] int32 labels (numClasses = null class).
   * Returns the network output [B, C, H, W] (the clean image for x-prediction).
   */
  forward(p: TensorMap, z: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D, acts?: Activations): tf.Tensor4D {
    const { cfg, d } = this;
    const w = (name: string) => {
      const v = p.get(`net.${name}`);
      if (!v) throw new Error(`missing parameter net.${name}`);
      return v;
    };
    const B = z.shape[0];
    const record = (name: string, x: tf.Tensor) => acts?.set(name, tf.keep(x.clone()));

    // Conditioning: c = t_emb + y_emb  [B, h]
    const tEmb = linear(silu(linear(timestepFeatures(t), w('t_embedder.mlp.0.weight'), w('t_embedder.mlp.0.bias'))),
      w('t_embedder.mlp.2.weight'), w('t_embedder.mlp.2.bias')); // [B, h]
    record('t_emb', tEmb);
    const yOneHot = tf.cast(tf.oneHot(tf.cast(y, 'int32'), cfg.numClasses + 1), 'float32'); // [B, C+1]: a matmul, so wasm can differentiate it
    const yEmb = linear(yOneHot, w('y_embedder.embedding_table.weight')); // [B, h]
    const c = tf.add(tEmb, yEmb); // [B, h]
    const cAct = silu(c);

    // Bottleneck patch embedding: patch (3p^2) -> d' (proj1, no bias) -> h (proj2)
    const patches = this.patchify(z); // [B, N, 3p^2], (c, kh, kw) order as Conv2d
    const code = linear(patches, w('x_embedder.proj1.weight')); // [B, N, d']
    if (acts) record('bottleneck', tf.reshape(swapLast(code), [B, cfg.bottleneckDim, d.gridSize, d.gridSize]));
    let x = linear(code, w('x_embedder.proj2.weight'), w('x_embedder.proj2.bias')) as tf.Tensor3D; // [B, N, h]
    x = tf.add(x, w('pos_embed')) as tf.Tensor3D; // + [1, N, h]
    // Recorded after the position embedding: the official code adds it in place (`x += self.pos_embed`), so the
    // embedder's output tensor that a forward hook sees already includes it, and the golden vectors do too.
    record('patch_embed', x);

    for (let i = 0; i < cfg.depth; i++) {
      if (cfg.inContextLen > 0 && i === cfg.inContextStart) {
        // L copies of the class embedding plus their own learned position embedding, prepended
        const ctx = tf.add(tf.reshape(yEmb, [B, 1, cfg.hiddenSize]), w('in_context_posemb')); // [B, L, h]
        x = tf.concat([ctx, x], 1) as tf.Tensor3D; // [B, L + N, h]
      }
      const rope = cfg.inContextLen > 0 && i >= cfg.inContextStart ? this.ropeInContext : this.rope;
      x = this.block(p, `blocks.${i}`, x, cAct, rope);
      record(`block${i}`, x);
    }
    if (cfg.inContextLen > 0) x = tf.slice(x, [0, cfg.inContextLen, 0], [B, d.numPatches, cfg.hiddenSize]); // [B, N, h]

    // Final layer: RMSNorm, adaLN (shift, scale), linear to p*p*C
    const [shift, scale] = tf.split(linear(cAct, w('final_layer.adaLN_modulation.1.weight'), w('final_layer.adaLN_modulation.1.bias')), 2, 1);
    x = modulate(rmsNorm(x, w('final_layer.norm_final.weight')), shift, scale);
    const out = linear(x, w('final_layer.linear.weight'), w('final_layer.linear.bias')); // [B, N, p*p*C]
    return this.unpatchify(out);
  }

  private block(p: TensorMap, b: string, x: tf.Tensor3D, cAct: tf.Tensor, rope: { cos: tf.Tensor3D; sin: tf.Tensor3D }): tf.Tensor3D {
    const w = (name: string) => p.get(`net.${b}.${name}`)!;
    // adaLN-Zero: shift/scale/gate for attention and MLP, each [B, h]
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = tf.split(
      linear(cAct, w('adaLN_modulation.1.weight'), w('adaLN_modulation.1.bias')), 6, 1);
    const a = this.attention(p, b, modulate(rmsNorm(x, w('norm1.weight')), shiftMsa, scaleMsa), rope);
    x = tf.add(x, tf.mul(tf.expandDims(gateMsa, 1), a)) as tf.Tensor3D;
    const m = this.swiglu(p, b, modulate(rmsNorm(x, w('norm2.weight')), shiftMlp, scaleMlp));
    return tf.add(x, tf.mul(tf.expandDims(gateMlp, 1), m)) as tf.Tensor3D;
  }

  private attention(p: TensorMap, b: string, x: tf.Tensor3D, rope: { cos: tf.Tensor3D; sin: tf.Tensor3D }): tf.Tensor3D {
    const { cfg, d } = this;
    const w = (name: string) => p.get(`net.${b}.attn.${name}`)!;
    const [B, T, h] = x.shape;
    const H = cfg.numHeads;
    const D = d.headDim;
    const [q, k, v] = tf.split(linear(x, w('qkv.weight'), w('qkv.bias')), 3, 2); // 3 x [B, T, h], h = (H, D)
    // Per-head RMSNorm on q and k, then 2-D RoPE; rank-4 [B, T, H, D] throughout (rank-5 transposes are slow)
    const prep = (u: tf.Tensor, norm: tf.Tensor) => {
      const n = rmsNorm(tf.reshape(u, [B, T, H, D]), norm); // [B, T, H, D]
      const rot = linear(n, this.rotateHalf); // rotate_half(n)
      return tf.add(tf.mul(n, rope.cos), tf.mul(rot, rope.sin)); // cos/sin [T, 1, D]
    };
    const qh = tf.transpose(prep(q, w('q_norm.weight')), [0, 2, 1, 3]); // [B, H, T, D]
    const kT = tf.transpose(prep(k, w('k_norm.weight')), [0, 2, 3, 1]); // [B, H, D, T]
    const vh = tf.transpose(tf.reshape(v, [B, T, H, D]), [0, 2, 1, 3]); // [B, H, T, D]
    const scores = tf.mul(bmm(qh, kT), 1 / Math.sqrt(D)); // [B, H, T, T]
    const o = bmm(tf.softmax(scores), vh); // [B, H, T, D]
    const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, T, h]) as tf.Tensor3D; // [B, T, h]
    return linear(merged, w('proj.weight'), w('proj.bias'));
  }

  private swiglu(p: TensorMap, b: string, x: tf.Tensor3D): tf.Tensor3D {
    const w = (name: string) => p.get(`net.${b}.mlp.${name}`)!;
    const [x1, x2] = tf.split(linear(x, w('w12.weight'), w('w12.bias')), 2, 2); // 2 x [B, T, mlpHidden]
    return linear(tf.mul(silu(x1), x2), w('w3.weight'), w('w3.bias'));
  }

  /** [B, C, H, W] -> [B, N, C*p*p], each token's vector in (c, kh, kw) order, tokens row-major. */
  patchify(z: tf.Tensor4D): tf.Tensor3D {
    const { cfg, d } = this;
    const [B, C] = z.shape;
    const g = d.gridSize;
    const ps = cfg.patchSize;
    // (B, C, gh, ph, gw, pw) -> (B, C, gh, gw, ph, pw) -> (B, gh*gw, C, ph*pw), with two rank-4 transposes
    const a = tf.transpose(tf.reshape(z, [B * C * g, ps, g, ps]), [0, 2, 1, 3]); // [B*C*gh, gw, ph, pw]
    const b = tf.transpose(tf.reshape(a, [B, C, g * g, ps * ps]), [0, 2, 1, 3]); // [B, N, C, ph*pw]
    return tf.reshape(b, [B, g * g, C * ps * ps]);
  }

  /** [B, N, p*p*C] in (ph, pw, c) order (the official final layer) -> [B, C, H, W]. */
  unpatchify(x: tf.Tensor3D): tf.Tensor4D {
    const { cfg, d } = this;
    const B = x.shape[0];
    const C = cfg.inChannels;
    const g = d.gridSize;
    const ps = cfg.patchSize;
    const a = tf.transpose(tf.reshape(x, [B, g * g, ps * ps, C]), [0, 3, 1, 2]); // [B, C, gh*gw, ph*pw]
    const b = tf.transpose(tf.reshape(a, [B * C * g, g, ps, ps]), [0, 2, 1, 3]); // [B*C*gh, ph, gw, pw]
    return tf.reshape(b, [B, C, cfg.inputSize, cfg.inputSize]);
  }
}

/** RMSNorm over the last axis with a learned scale. */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor): T {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, NORM_EPS))), weight) as T;
}

/** adaLN modulation: x * (1 + scale) + shift, with per-sample [B, h] scale and shift. */
function modulate<T extends tf.Tensor>(x: T, shift: tf.Tensor, scale: tf.Tensor): T {
  return tf.add(tf.mul(x, tf.add(tf.expandDims(scale, 1), 1)), tf.expandDims(shift, 1)) as T;
}
