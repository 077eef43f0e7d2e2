// Sampling a trainer's images with a fixed seed: the preview grids, the benchmark and the tests all draw the same
// initial noise for a seed, whichever engine runs the network.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../jit/random';
import { Denoiser, initialNoise, sample } from '../jit/sampler';
import type { RunConfig } from '../io/runConfig';
import type { SampleRequest } from './trainer';

export async function sampleWithDenoiser(cfg: RunConfig, denoiser: Denoiser, o: SampleRequest): Promise<{ images: Float32Array; labels: Int32Array }> {
  const { model, diffusion } = cfg;
  const S = model.inputSize;
  const labels = o.labels ?? Int32Array.from({ length: o.n }, (_, i) => i % model.numClasses);
  const z0 = tf.tensor4d(initialNoise(new Rng(`sample:${o.seed}`), o.n * model.inChannels * S * S, diffusion.noiseScale), [o.n, model.inChannels, S, S]);
  try {
    const images = await sample(denoiser, z0, labels, { ...o.sampler, tEps: diffusion.tEps, numClasses: model.numClasses }, o.observer, o.signal);
    return { images, labels };
  } finally {
    z0.dispose();
  }
}
