// Matrix products with gradients that avoid tf.matMul's transpose flags. On the wasm backend a matMul with
// transposeA/transposeB set is ~14x slower than an explicit transpose followed by a plain matMul, and tfjs-core's
// own matMul gradient uses those flags; these custom gradients transpose explicitly instead.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // gradients are opt-in in tfjs-core

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
