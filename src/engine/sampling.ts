// Sampling from a checkpoint file into a PNG grid (and the run's samples/index.jsonl when the checkpoint
// belongs to a run): what `jit sample` and the extension's "JiT: Sample" do.
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'path';
import { writeImageGrid } from '../io/png';
import { isRunFolder, runDirOfCheckpoint } from '../io/officialOutput';
import { appendJsonLine, runPaths } from '../io/runs';
import { Rng } from '../jit/random';
import { SamplingMethod, StepObserver, initialNoise, sample } from '../jit/sampler';
import type { WeightsChoice } from '../train/trainer';
import { EngineChoice, EngineReport, loadCheckpointWeights, openDenoiser } from '../analysis/checkpointModel';

export { SAMPLING_ENGINES } from '../analysis/checkpointModel';
export type { EngineReport, SamplingEngine } from '../analysis/checkpointModel';

export interface SampleRequest extends EngineChoice {
  checkpoint: string;
  n: number;
  steps: number;
  method: SamplingMethod;
  cfgScale: number;
  intervalMin: number;
  intervalMax: number;
  seed: number;
  weights: WeightsChoice;
  classes?: number[];
  out?: string;
}

export interface SampleResult {
  file: string;
  n: number;
  steps: number;
  method: SamplingMethod;
  cfgScale: number;
  weights: WeightsChoice;
  labels: number[];
  seconds: number;
  images: Float32Array;
  imageSize: number;
  engine: EngineReport;
}

export async function sampleFromCheckpoint(req: SampleRequest, onProgress?: (evals: number, total: number) => void,
  observer?: StepObserver, signal?: AbortSignal): Promise<SampleResult> {
  const started = performance.now();
  const ck = await loadCheckpointWeights(req.checkpoint, req.weights);
  const { model, diffusion, step } = ck;
  const classes = req.classes?.length ? req.classes : Array.from({ length: model.numClasses }, (_, i) => i);
  for (const c of classes) if (!(Number.isInteger(c) && c >= 0 && c <= model.numClasses)) throw new Error(`Class ${c} is out of range: this model has classes 0-${model.numClasses - 1} (and ${model.numClasses} = unconditional).`);
  const labels = Int32Array.from({ length: req.n }, (_, i) => classes[i % classes.length]);
  const engine = await openDenoiser(ck, req);
  const S = model.inputSize;
  const z0 = tf.tensor4d(initialNoise(new Rng(`sample:${req.seed}`), req.n * model.inChannels * S * S, diffusion.noiseScale), [req.n, model.inChannels, S, S]);
  const evalsPerStep = req.method === 'heun' ? 2 : 1;
  const total = (req.steps - 1) * evalsPerStep + 1;
  let done = 0;
  try {
    const images = await sample(engine.denoiser, z0, labels, {
      steps: req.steps, method: req.method, cfgScale: req.cfgScale, intervalMin: req.intervalMin, intervalMax: req.intervalMax,
      tEps: diffusion.tEps, numClasses: model.numClasses,
    }, async (rec) => {
      done += rec.vNext ? 2 : 1;
      onProgress?.(done, total);
      await observer?.(rec);
    }, signal);
    const file = req.out ?? defaultOutput(req, step);
    await writeImageGrid(file, images, req.n, S, { scale: S < 64 ? 2 : 1 });
    const seconds = (performance.now() - started) / 1000;
    const runDir = runDirOfCheckpoint(req.checkpoint);
    if (!req.out && isRunFolder(runDir)) {
      appendJsonLine(runPaths(runDir).samplesIndex, { step, file: path.basename(file), checkpoint: path.basename(req.checkpoint), seed: req.seed, n: req.n,
        steps: req.steps, method: req.method, cfg: req.cfgScale, interval: [req.intervalMin, req.intervalMax], weights: req.weights, labels: [...labels], time: new Date().toISOString() });
    }
    return { file, n: req.n, steps: req.steps, method: req.method, cfgScale: req.cfgScale, weights: req.weights, labels: [...labels], seconds, images, imageSize: S, engine: engine.report };
  } finally {
    z0.dispose();
    engine.dispose();
  }
}

function defaultOutput(req: SampleRequest, step: number | undefined): string {
  // A run's samples/ (an official output folder gets one too), else next to the checkpoint.
  const runDir = runDirOfCheckpoint(req.checkpoint);
  const dir = isRunFolder(runDir) ? runPaths(runDir).samples : path.dirname(req.checkpoint);
  const tag = `${step !== undefined ? `step-${step}` : path.basename(req.checkpoint, '.safetensors')}-${req.method}${req.steps}-cfg${req.cfgScale}-${req.weights}-seed${req.seed}`;
  return path.join(dir, `${tag}.png`);
}
