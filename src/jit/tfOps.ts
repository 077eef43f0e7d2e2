// The TensorFlow.js interpreter of `Ops` (ops.ts): the reference implementation of the JiT network, differentiated
// by TF.js itself. Matrix products use custom gradients that avoid tf.matMul's transpose flags: on the wasm backend a
// matMul with transposeA/transposeB set is ~14x slower than an explicit transpose followed by a plain matMul, and
// tfjs-core's own matMul gradient uses those flags. Weights are in the model layout ([in, out], see params.ts).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // gradients are opt-in in tfjs-core
import { rotateHalfMatrix } from './embeddings';
import type { ConstantSource, Ops } from './ops';

/** Swap the last two axes (rank 2, 3 or 4). */
export function swapLast<T extends tf.Tensor>(x: T): T {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

type Grad = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };
// tf.customGrad's typing takes a rest parameter of tensors and the save function; these wrappers name them.
const customGrad2 = (f: (a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => Grad) =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
const customGrad3 = (f: (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, save: tf.GradSaveFunc) => Grad) =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor;

/** a @ b with gradients da = dy @ b^T, db = a^T @ dy, transposed explicitly. Rank 2, 3 or 4 (batched). */
const matMulExplicitGrad = customGrad2((a, b, save) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy, [as, bs]) => [tf.matMul(dy, swapLast(bs)), tf.matMul(swapLast(as), dy)],
  };
});

const denseBias = customGrad3((x, w, b, save) => {
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
    gradFunc: (dy, [xs, ws]) => [tf.matMul(dy, swapLast(ws)), tf.matMul(swapLast(xs), dy), tf.sum(dy, 0)],
  };
});

/** y = x @ w (+ b) over the last axis of x: x [..., in], w [in, out], b [out] -> [..., out]. */
export function linear<T extends tf.Tensor>(x: T, w: tf.Tensor, b?: tf.Tensor): T {
  const inDim = x.shape[x.rank - 1];
  const outDim = w.shape[1] as number;
  const x2 = tf.reshape(x, [-1, inDim]);
  const y = b ? denseBias(x2, w, b) : matMulExplicitGrad(x2, w);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]) as T;
}

/** Batched a @ b for rank-3/4 tensors with explicit-transpose gradients. */
export function bmm<T extends tf.Tensor>(a: T, b: T): T {
  return matMulExplicitGrad(a, b) as T;
}

/** SiLU (x * sigmoid(x)); tfjs-core has no silu op. */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * `Ops` on TF.js tensors. Call inside tf.tidy (or a gradient tape); the constants it makes are kept until `dispose`.
 */
export class TfOps implements Ops<tf.Tensor> {
  private readonly constants = new Map<string, tf.Tensor>();

  dispose(): void {
    tf.dispose([...this.constants.values()]);
    this.constants.clear();
  }

  add = (a: tf.Tensor, b: tf.Tensor) => tf.add(a, b);
  sub = (a: tf.Tensor, b: tf.Tensor) => tf.sub(a, b);
  mul = (a: tf.Tensor, b: tf.Tensor) => tf.mul(a, b);
  div = (a: tf.Tensor, b: tf.Tensor) => tf.div(a, b);
  square = (x: tf.Tensor) => tf.square(x);
  sqrt = (x: tf.Tensor) => tf.sqrt(x);
  scalar = (v: number) => tf.scalar(v);
  maximum = (x: tf.Tensor, floor: number) => tf.maximum(x, floor);
  perSample = (t: tf.Tensor) => tf.reshape(t, [-1, 1, 1, 1]);
  meanPerSample = (x: tf.Tensor) => tf.mean(x, [...Array(x.rank).keys()].slice(1));
  mean = (x: tf.Tensor) => tf.mean(x);

  constant(key: string, make: ConstantSource): tf.Tensor {
    let c = this.constants.get(key);
    if (!c) {
      const { data, shape } = make();
      c = tf.keep(tf.tensor(data, shape));
      this.constants.set(key, c);
    }
    return c;
  }

  linear = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => linear(x, w, b);
  linearSplit = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, k: number) => tf.split(linear(x, w, b), k, x.rank - 1);
  silu = (x: tf.Tensor) => silu(x);
  swiglu = (a: tf.Tensor, b: tf.Tensor) => tf.mul(silu(a), b);

  rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
  }

  chunks = (m: tf.Tensor, k: number) => tf.split(m, k, 1).map((c) => tf.expandDims(c, 1)); // k x [B, 1, h]
  modulate = (x: tf.Tensor, shift: tf.Tensor, scale: tf.Tensor) => tf.add(tf.mul(x, tf.add(scale, 1)), shift);
  gatedAdd = (x: tf.Tensor, gate: tf.Tensor, y: tf.Tensor) => tf.add(x, tf.mul(gate, y));

  heads(x: tf.Tensor, numHeads: number): tf.Tensor {
    const [B, T, h] = x.shape;
    return tf.reshape(x, [B, T, numHeads, h / numHeads]);
  }

  rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(x, cos), tf.mul(linear(x, this.rotateHalf(x.shape[3] as number)), sin));
  }

  /** The [D, D] matrix of rotate_half (x @ R), kept like the other constants. */
  rotateHalf(D: number): tf.Tensor {
    return this.constant(`rotate_half_${D}`, () => ({ data: rotateHalfMatrix(D), shape: [D, D] }));
  }

  attention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
    const [B, T, H, D] = q.shape;
    // rank-4 transposes throughout (rank-5 ones are ~50x slower on wasm)
    const qh = tf.transpose(q, [0, 2, 1, 3]); // [B, H, T, D]
    const kT = tf.transpose(k, [0, 2, 3, 1]); // [B, H, D, T]
    const vh = tf.transpose(v, [0, 2, 1, 3]); // [B, H, T, D]
    const scores = tf.mul(bmm(qh, kT), 1 / Math.sqrt(D)); // [B, H, T, T]
    const o = bmm(tf.softmax(scores), vh); // [B, H, T, D]
    return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, T, H * D]);
  }

  timestepFeatures(t: tf.Tensor, freqs: tf.Tensor): tf.Tensor {
    const args = tf.mul(tf.reshape(t, [-1, 1]), tf.reshape(freqs, [1, -1])); // [B, n]
    return tf.concat([tf.cos(args), tf.sin(args)], 1);
  }

  embed(table: tf.Tensor, y: tf.Tensor): tf.Tensor {
    // A one-hot matmul rather than a gather: the wasm backend lacks the kernel tf.gather's gradient needs.
    return linear(tf.cast(tf.oneHot(tf.cast(y, 'int32'), table.shape[0]), 'float32'), table);
  }

  patchify(z: tf.Tensor, p: number): tf.Tensor {
    const [B, C, S] = z.shape as [number, number, number, number];
    const g = S / p;
    // (B, C, gh, ph, gw, pw) -> (B, C, gh, gw, ph, pw) -> (B, gh*gw, C, ph*pw), with two rank-4 transposes
    const a = tf.transpose(tf.reshape(z, [B * C * g, p, g, p]), [0, 2, 1, 3]); // [B*C*gh, gw, ph, pw]
    const b = tf.transpose(tf.reshape(a, [B, C, g * g, p * p]), [0, 2, 1, 3]); // [B, N, C, ph*pw]
    return tf.reshape(b, [B, g * g, C * p * p]);
  }

  unpatchify(x: tf.Tensor, p: number, C: number): tf.Tensor {
    const [B, N] = x.shape;
    const g = Math.round(Math.sqrt(N));
    const a = tf.transpose(tf.reshape(x, [B, N, p * p, C]), [0, 3, 1, 2]); // [B, C, gh*gw, ph*pw]
    const b = tf.transpose(tf.reshape(a, [B * C * g, g, p, p]), [0, 2, 1, 3]); // [B*C*gh, ph, gw, pw]
    return tf.reshape(b, [B, C, g * p, g * p]);
  }

  tokensToGrid(x: tf.Tensor): tf.Tensor {
    const [B, N, d] = x.shape;
    const g = Math.round(Math.sqrt(N));
    return tf.reshape(swapLast(x), [B, d, g, g]);
  }

  unsqueeze1 = (x: tf.Tensor) => tf.expandDims(x, 1);
  concatTokens = (a: tf.Tensor, b: tf.Tensor) => tf.concat([a, b], 1);

  sliceTokens(x: tf.Tensor, start: number, length: number): tf.Tensor {
    const [B, , h] = x.shape;
    return tf.slice(x, [0, start, 0], [B, length, h]);
  }
}

/** Element-wise arithmetic on TF.js tensors (the diffusion formulas' TF.js form); makes no constants. */
export const tfArith = new TfOps();
