// Many samples with given labels, in chunks: the noise is one stream from the seed (so the images do not depend on
// the chunk size, and image i is image i of `jit sample` with the same seed and labels), and only a chunk of
// network inputs is in memory at a time, so tens of thousands of samples fit.
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionConfig, JiTConfig } from '../jit/config';
import { Rng } from '../jit/random';
import { Denoiser, SamplerOptions, initialNoise, sample } from '../jit/sampler';

export type SampleSettings = Omit<SamplerOptions, 'numClasses' | 'tEps'>;

/** Images per network batch: large enough to keep ONNX Runtime's kernels busy, small enough to bound memory. */
export const SAMPLE_CHUNK = 64;

/** Labels 0, 1, ..., K-1, 0, 1, ...: the same number of images of every class (up to one). */
export function balancedLabels(n: number, numClasses: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i % numClasses);
}

/**
 * Samples one image per label; `onChunk` receives each chunk's images [m, C, S, S] and the index of its first image.
 * `onProgress(imagesDone, total)` after each chunk.
 */
export async function sampleInChunks(den: Denoiser, model: JiTConfig, diffusion: DiffusionConfig, labels: Int32Array, settings: SampleSettings, seed: number,
  onChunk: (images: Float32Array, offset: number) => void | Promise<void>, opts: { chunk?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<void> {
  const S = model.inputSize;
  const C = model.inChannels;
  const chunk = opts.chunk ?? SAMPLE_CHUNK;
  const rng = new Rng(`sample:${seed}`);
  for (let offset = 0; offset < labels.length; offset += chunk) {
    const m = Math.min(chunk, labels.length - offset);
    const z0 = tf.tensor4d(initialNoise(rng, m * C * S * S, diffusion.noiseScale), [m, C, S, S]);
    try {
      const images = await sample(den, z0, labels.subarray(offset, offset + m), { ...settings, tEps: diffusion.tEps, numClasses: model.numClasses }, undefined, opts.signal);
      await onChunk(images, offset);
    } finally {
      z0.dispose();
    }
    opts.onProgress?.(offset + m, labels.length);
  }
}

/** All samples in one array [n, C, S, S]. */
export async function sampleAll(den: Denoiser, model: JiTConfig, diffusion: DiffusionConfig, labels: Int32Array, settings: SampleSettings, seed: number,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<Float32Array> {
  const stride = model.inChannels * model.inputSize * model.inputSize;
  const out = new Float32Array(labels.length * stride);
  await sampleInChunks(den, model, diffusion, labels, settings, seed, (images, offset) => out.set(images, offset * stride), opts);
  return out;
}
