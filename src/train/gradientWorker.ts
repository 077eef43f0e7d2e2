// A data-parallel training worker thread: a replica of the network that computes the gradient of its shard of
// each batch (see parallel.ts). Weights arrive through shared memory; gradients leave the same way.
import * as tf from '@tensorflow/tfjs-core';
import { parentPort, workerData } from 'worker_threads';
import { BackendChoice, initBackend } from '../runtime/tfjsBackend';
import { JiTNetwork } from '../jit/model';
import { paramSpecs } from '../jit/params';
import { FromWorker, ToWorker, WorkerInit, sliceOf } from './parallel';
import { shardGradients } from './shard';

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const port = parentPort!;
  await initBackend(init.backend as BackendChoice);
  const { config } = init;
  const net = new JiTNetwork(config.model);
  const paramView = new Float32Array(init.params);
  const gradView = new Float32Array(init.grads);
  const trainableNames = new Set(paramSpecs(config.model).filter((s) => s.trainable).map((s) => s.name));
  const params = new Map<string, tf.Variable>();
  const trainable = new Map<string, tf.Variable>();
  const prefix = 'replica/';
  init.paramLayout.names.forEach((name, i) => {
    const v = tf.variable(tf.tensor(sliceOf(paramView, init.paramLayout, i), init.paramLayout.shapes[i]), trainableNames.has(name), prefix + name);
    params.set(name, v);
    if (trainableNames.has(name)) trainable.set(name, v);
  });
  let version = 0;
  const S = config.model.inputSize;
  port.postMessage({ type: 'ready' } satisfies FromWorker);
  port.on('message', async (m: ToWorker) => {
    try {
      if (m.version !== version) {
        tf.tidy(() => init.paramLayout.names.forEach((name, i) => params.get(name)!.assign(tf.tensor(sliceOf(paramView, init.paramLayout, i), init.paramLayout.shapes[i]))));
        version = m.version;
      }
      const g = shardGradients(net, params, trainable, prefix, m.shard, config.diffusion, [config.model.inChannels, S, S]);
      const [loss, perImage] = await Promise.all([g.loss.data(), g.perImage.data()]);
      for (let j = 0; j < init.gradLayout.names.length; j++) gradView.set((await g.grads.get(init.gradLayout.names[j])!.data()) as Float32Array, init.gradLayout.offsets[j]);
      tf.dispose([g.loss, g.perImage, ...g.grads.values()]);
      port.postMessage({ type: 'done', loss: loss[0], perImage: perImage as Float32Array } satisfies FromWorker);
    } catch (e) {
      port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromWorker);
    }
  });
}

main().catch((e) => parentPort!.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromWorker));
