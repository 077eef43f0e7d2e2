// The gradient of the v-loss on one shard of a batch: the unit of work that a single process does for the whole
// batch, and that data-parallel workers each do for their part of it.
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionConfig } from '../jit/config';
import { trainingLoss } from '../jit/denoiser';
import type { JiTNetwork } from '../jit/model';
import type { TensorMap } from '../jit/params';

/** Everything random about (part of) a batch, drawn by the coordinating process so the run does not depend on how it is split. */
export interface Shard {
  images: Float32Array; // [n, C, S, S]
  e: Float32Array; // [n, C, S, S]
  t: Float32Array; // [n]
  labels: Int32Array; // [n], after label drop
}

export function shardSize(s: Shard): number {
  return s.t.length;
}

/** Splits a batch into `k` shards of near-equal size (the first ones one larger). */
export function splitShard(s: Shard, k: number): Shard[] {
  const n = shardSize(s);
  const per = s.images.length / n;
  const out: Shard[] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const size = Math.floor(n / k) + (i < n % k ? 1 : 0);
    if (size === 0) break;
    const end = start + size;
    out.push({ images: s.images.subarray(start * per, end * per), e: s.e.subarray(start * per, end * per), t: s.t.subarray(start, end), labels: s.labels.subarray(start, end) });
    start = end;
  }
  return out;
}

export interface ShardGradients {
  loss: tf.Scalar; // mean v-loss over the shard
  perImage: tf.Tensor1D; // [n]
  grads: Map<string, tf.Tensor>; // d loss / d parameter, model layout
}

/** Gradients of the shard's mean loss with respect to `trainable` (name -> variable, variable names = prefix + name). */
export function shardGradients(net: JiTNetwork, params: TensorMap, trainable: Map<string, tf.Variable>, prefix: string,
  s: Shard, d: Pick<DiffusionConfig, 'target' | 'tEps'>, imageShape: [number, number, number]): ShardGradients {
  const n = shardSize(s);
  let perImage: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const r = trainingLoss(net, params, tf.tensor4d(s.images, [n, ...imageShape]), tf.tensor4d(s.e, [n, ...imageShape]),
      tf.tensor1d(s.t), tf.tensor1d(s.labels, 'int32'), d);
    perImage = tf.keep(r.perImage);
    return r.loss;
  }, [...trainable.values()]);
  const byName = new Map<string, tf.Tensor>();
  for (const name of trainable.keys()) byName.set(name, grads[prefix + name]);
  return { loss: value, perImage: perImage!, grads: byName };
}
