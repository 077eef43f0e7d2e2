// Data-parallel training on one machine: the wasm backend uses one core, so extra worker threads each hold a
// replica of the network and compute the gradient of their shard of every batch. The coordinating trainer draws
// the whole batch (so results do not depend on the number of workers), computes its own shard, combines the
// gradients weighted by shard size (the gradient of the batch-mean loss) and applies one AdamW update; the
// updated weights reach the replicas through shared memory. Gradients come back the same way, never as copies.
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { RunConfig } from '../io/runConfig';
import type { Shard } from './shard';

/** Where each named tensor lives in a flat float32 buffer. */
export interface FlatLayout {
  names: string[];
  shapes: number[][];
  offsets: number[];
  total: number;
}

export function flatLayout(tensors: Map<string, tf.Tensor>): FlatLayout {
  const names: string[] = [];
  const shapes: number[][] = [];
  const offsets: number[] = [];
  let total = 0;
  for (const [name, t] of tensors) {
    names.push(name);
    shapes.push(t.shape);
    offsets.push(total);
    total += t.size;
  }
  return { names, shapes, offsets, total };
}

export function sliceOf(view: Float32Array, layout: FlatLayout, i: number): Float32Array {
  const n = layout.shapes[i].reduce((a, b) => a * b, 1);
  return view.subarray(layout.offsets[i], layout.offsets[i] + n);
}

/** Copies tensors into a flat shared view (async reads: the backend may be busy). */
export async function writeFlat(view: Float32Array, layout: FlatLayout, tensors: Map<string, tf.Tensor>): Promise<void> {
  for (let i = 0; i < layout.names.length; i++) view.set((await tensors.get(layout.names[i])!.data()) as Float32Array, layout.offsets[i]);
}

export interface WorkerInit {
  config: RunConfig;
  backend: string;
  params: SharedArrayBuffer; // every tensor of the model, model layout
  paramLayout: FlatLayout;
  grads: SharedArrayBuffer; // this worker's gradient of its shard's mean loss, trainable tensors only
  gradLayout: FlatLayout;
}

export type ToWorker = { type: 'step'; version: number; shard: Shard };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; loss: number; perImage: Float32Array }
  | { type: 'error'; message: string };

function workerScript(): { file: string; execArgv: string[] } {
  const bundled = path.join(__dirname, 'gradient-worker.js');
  if (fs.existsSync(bundled)) return { file: bundled, execArgv: [] };
  // Unbundled (tests, tsx): run the TypeScript source through the same loader.
  return { file: path.join(__dirname, 'gradientWorker.ts'), execArgv: ['--require', require.resolve('tsx/cjs')] };
}

export class GradientPool {
  private version = 0;
  private published = -1;
  private readonly paramView: Float32Array;
  private readonly gradViews: Float32Array[];

  private constructor(private readonly workers: Worker[], private readonly paramLayout: FlatLayout, readonly gradLayout: FlatLayout,
    paramSab: SharedArrayBuffer, gradSabs: SharedArrayBuffer[]) {
    this.paramView = new Float32Array(paramSab);
    this.gradViews = gradSabs.map((s) => new Float32Array(s));
  }

  get size(): number {
    return this.workers.length;
  }

  /** Starts `count` worker threads with replicas of `params`. */
  static async create(config: RunConfig, backend: string, params: Map<string, tf.Variable>, trainable: Map<string, tf.Variable>, count: number): Promise<GradientPool> {
    const paramLayout = flatLayout(params);
    const gradLayout = flatLayout(trainable);
    const paramSab = new SharedArrayBuffer(paramLayout.total * 4);
    await writeFlat(new Float32Array(paramSab), paramLayout, params);
    const { file, execArgv } = workerScript();
    const gradSabs: SharedArrayBuffer[] = [];
    const workers: Worker[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const grads = new SharedArrayBuffer(gradLayout.total * 4);
        gradSabs.push(grads);
        const init: WorkerInit = { config, backend, params: paramSab, paramLayout, grads, gradLayout };
        const w = new Worker(file, { workerData: init, execArgv });
        workers.push(w);
        await nextMessage(w, 'ready');
      }
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const pool = new GradientPool(workers, paramLayout, gradLayout, paramSab, gradSabs);
    pool.published = 0;
    return pool;
  }

  /** Publishes updated weights to the replicas (before the next `compute`). */
  async publish(params: Map<string, tf.Tensor>): Promise<void> {
    await writeFlat(this.paramView, this.paramLayout, params);
    this.published = ++this.version;
  }

  /** Worker i computes the gradient of shards[i]; resolves when all are done (gradients in `gradients(i)`). */
  async compute(shards: Shard[]): Promise<{ loss: number; perImage: Float32Array }[]> {
    if (shards.length > this.workers.length) throw new Error(`${shards.length} shards for ${this.workers.length} workers`);
    return Promise.all(shards.map((shard, i) => {
      const done = nextMessage(this.workers[i], 'done') as Promise<{ loss: number; perImage: Float32Array }>;
      this.workers[i].postMessage({ type: 'step', version: this.published, shard } satisfies ToWorker);
      return done;
    }));
  }

  /** Worker i's gradient of tensor j (a view into shared memory, valid until the next `compute`). */
  gradient(i: number, j: number): Float32Array {
    return sliceOf(this.gradViews[i], this.gradLayout, j);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function nextMessage(w: Worker, type: 'ready' | 'done'): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      cleanup();
      if (m.type === 'error') reject(new Error(`A training worker failed: ${m.message}`));
      else if (m.type !== type) reject(new Error(`A training worker answered ${m.type} instead of ${type}.`));
      else resolve(m);
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new Error(`A training worker crashed: ${e.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`A training worker exited with code ${code}.`));
    };
    const cleanup = () => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}
