// What the analyses need from a checkpoint file: its model, its diffusion settings and a TF.js denoiser over one
// copy of its weights. The analyses drive the sampler directly (one network for many settings), so they build the
// denoiser here rather than through sampleFromCheckpoint, which loads the file and writes a PNG on every call.
import * as tf from '@tensorflow/tfjs-core';
import { loadWeights } from '../io/checkpoint';
import { DEFAULT_DIFFUSION, DiffusionConfig, JiTConfig } from '../jit/config';
import { TfDenoiser } from '../jit/denoiser';
import type { JiTNetwork } from '../jit/model';
import { OfficialTensor, paramsFromOfficial } from '../jit/params';
import type { RunConfig } from '../train/runConfig';
import type { WeightsChoice } from '../train/trainer';

export interface CheckpointWeights {
  model: JiTConfig;
  diffusion: DiffusionConfig;
  weights: Map<string, OfficialTensor>;
  step?: number;
  run?: RunConfig;
}

/** The chosen weights copy of a checkpoint with the diffusion settings it was trained with. */
export function loadCheckpointWeights(file: string, which: WeightsChoice): CheckpointWeights {
  const { model, weights, step, run } = loadWeights(file, which);
  // A bare state dict records no diffusion settings: the official defaults, as sampleFromCheckpoint assumes.
  const diffusion = run?.diffusion ?? { ...DEFAULT_DIFFUSION, noiseScale: model.inputSize >= 512 ? 2 : 1 };
  return { model, diffusion, weights, step, run };
}

/** The proj1 weight [d', C, p, p], whose d' rows are the bottleneck's basis patches. */
export function proj1Of(weights: Map<string, OfficialTensor>): OfficialTensor {
  const w = weights.get('net.x_embedder.proj1.weight');
  if (!w || w.shape.length !== 4) throw new Error('The checkpoint has no bottleneck patch embedding (net.x_embedder.proj1.weight [d\', C, p, p]).');
  return w;
}

/** A TF.js denoiser over `weights`, sharing `net`; dispose() frees the weights, not the network. */
export function weightsDenoiser(net: JiTNetwork, c: CheckpointWeights): { denoiser: TfDenoiser; dispose(): void } {
  const params = paramsFromOfficial(c.model, c.weights);
  return { denoiser: new TfDenoiser(net, params, c.diffusion), dispose: () => tf.dispose([...params.values()]) };
}
