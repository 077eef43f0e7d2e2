// Sampling from a checkpoint file into a PNG grid (and the run's samples/index.jsonl when the checkpoint
// belongs to a run): what `jit sample` and the extension's "JiT: Sample Images" do.
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { encodePng, toRgbBytes, writeImageGrid } from '../io/png';
import { isRunFolder, runDirOfCheckpoint } from '../io/officialOutput';
import { SampleIndexLine, appendJsonLine, runPaths, writeJson } from '../io/runs';
import { Rng } from '../jit/random';
import { StepObserver, initialNoise, sample } from '../jit/sampler';
import { SamplingMethod } from '../wire/samplingNames';
import type { SamplingSettings, WeightsChoice } from '../wire/samplingNames';
import { SamplingRuntimeChoice, RuntimeReport, loadCheckpointWeights, openDenoiser } from '../sampling/checkpointModel';
import { balancedLabels, sampleInChunks } from '../quality/sampleSet';


export interface SampleRequest extends SamplingRuntimeChoice, SamplingSettings {
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
  engine: RuntimeReport;
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
      appendJsonLine<SampleIndexLine>(runPaths(runDir).samplesIndex, { step, file: path.basename(file), checkpoint: path.basename(req.checkpoint), seed: req.seed, n: req.n,
        steps: req.steps, method: req.method, cfg: req.cfgScale, interval: [req.intervalMin, req.intervalMax], weights: req.weights, labels: [...labels], time: new Date().toISOString() });
    }
    return { file, n: req.n, steps: req.steps, method: req.method, cfgScale: req.cfgScale, weights: req.weights, labels: [...labels], seconds, images, imageSize: S, engine: engine.report };
  } finally {
    z0.dispose();
    engine.dispose();
  }
}

export interface FolderSampleRequest extends Omit<SampleRequest, 'out' | 'classes'> {
  /** Folder to write <index>.png files into (created; must hold no PNG files yet). */
  outDir: string;
}

export interface FolderSampleResult {
  dir: string;
  n: number;
  seconds: number;
  engine: RuntimeReport;
}

/**
 * One PNG per image, 000000.png, 000001.png, ..., with class-balanced labels (0, 1, ..., K-1, 0, ...), in one flat
 * folder: the layout torch-fidelity (and clean-fid, pytorch-fid) read, so the official Inception FID can be computed
 * elsewhere. samples.json beside them records the settings and every image's label.
 */
export async function sampleToFolder(req: FolderSampleRequest, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<FolderSampleResult> {
  const started = performance.now();
  const dir = path.resolve(req.outDir);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new Error(`${dir} is a file; --out-dir needs a folder.`);
  if (fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.toLowerCase().endsWith('.png'))) {
    throw new Error(`${dir} already holds PNG files, which would be mixed with the new samples; pass an empty or new folder.`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const ck = await loadCheckpointWeights(req.checkpoint, req.weights);
  const { model, diffusion } = ck;
  const labels = balancedLabels(req.n, model.numClasses);
  const digits = Math.max(6, String(req.n - 1).length);
  const engine = await openDenoiser(ck, req);
  const S = model.inputSize;
  try {
    await sampleInChunks(engine.denoiser, model, diffusion, labels,
      { steps: req.steps, method: req.method, cfgScale: req.cfgScale, intervalMin: req.intervalMin, intervalMax: req.intervalMax }, req.seed, async (images, offset) => {
        const m = images.length / (3 * S * S);
        for (let i = 0; i < m; i++) {
          await fs.promises.writeFile(path.join(dir, `${String(offset + i).padStart(digits, '0')}.png`), await encodePng(toRgbBytes(images, i, S), S, S));
        }
      }, { signal, onProgress });
  } finally {
    engine.dispose();
  }
  writeJson(path.join(dir, 'samples.json'), {
    checkpoint: req.checkpoint, step: ck.step, weights: req.weights, seed: req.seed, n: req.n, steps: req.steps, method: req.method, cfg: req.cfgScale,
    interval: [req.intervalMin, req.intervalMax], engine: engine.report.description, numClasses: model.numClasses, labels: [...labels], time: new Date().toISOString(),
  });
  return { dir, n: req.n, seconds: (performance.now() - started) / 1000, engine: engine.report };
}

function defaultOutput(req: SampleRequest, step: number | undefined): string {
  // A run's samples/ (an official output folder gets one too), else next to the checkpoint.
  const runDir = runDirOfCheckpoint(req.checkpoint);
  const dir = isRunFolder(runDir) ? runPaths(runDir).samples : path.dirname(req.checkpoint);
  const tag = `${step !== undefined ? `step-${step}` : path.basename(req.checkpoint, '.safetensors')}-${req.method}${req.steps}-cfg${req.cfgScale}-${req.weights}-seed${req.seed}`;
  return path.join(dir, `${tag}.png`);
}
