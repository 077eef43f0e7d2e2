// Sampling from a checkpoint file into a PNG grid (and the run's samples/index.jsonl when the checkpoint
// belongs to a run): what `jit sample` and the extension's "JiT: Sample" do.
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import { loadWeights } from '../io/checkpoint';
import { writeImageGrid } from '../io/png';
import { appendJsonLine, runPaths } from '../io/runs';
import { DEFAULT_DIFFUSION } from '../jit/config';
import { TfDenoiser } from '../jit/denoiser';
import { JiTNetwork } from '../jit/model';
import { paramsFromOfficial } from '../jit/params';
import { Rng } from '../jit/random';
import { Denoiser, SamplingMethod, StepObserver, initialNoise, sample } from '../jit/sampler';
import type { WeightsChoice } from '../train/trainer';
import type { DiffusionConfig, JiTConfig } from '../jit/config';
import type { OfficialTensor } from '../jit/params';
import { OnnxDenoiser } from '../onnx/denoiser';
import { firstLine } from '../onnx/runtime';
import { OnnxOptions, checkpointSession } from '../onnx/session';
import { backendInfo } from './backend';

/** Which inference engine runs the network: ONNX Runtime when it loads (auto), or the one named. */
export type SamplingEngine = 'auto' | 'onnx' | 'tfjs';
export const SAMPLING_ENGINES: readonly SamplingEngine[] = ['auto', 'onnx', 'tfjs'];

/** The engine that ran the network, always reported with a sample. */
export interface EngineReport {
  engine: 'onnx' | 'tfjs';
  /** The ONNX Runtime execution provider ('cpu', 'cuda', ...) or the TensorFlow.js backend ('wasm', 'tensorflow', ...). */
  provider: string;
  /** One line for people, e.g. "ONNX Runtime, cpu execution provider, 2 threads". */
  description: string;
  /** Why a preferred engine or execution provider was not used. */
  notes: string[];
}

export interface SampleRequest {
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
  /** Default 'auto'. */
  engine?: SamplingEngine;
  /** ONNX Runtime threads and execution providers. */
  onnx?: OnnxOptions;
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
  const { model, weights, step, run } = loadWeights(req.checkpoint, req.weights);
  const diffusion = run?.diffusion ?? { ...DEFAULT_DIFFUSION, noiseScale: model.inputSize >= 512 ? 2 : 1 };
  const classes = req.classes?.length ? req.classes : Array.from({ length: model.numClasses }, (_, i) => i);
  for (const c of classes) if (!(Number.isInteger(c) && c >= 0 && c <= model.numClasses)) throw new Error(`Class ${c} is out of range: this model has classes 0-${model.numClasses - 1} (and ${model.numClasses} = unconditional).`);
  const labels = Int32Array.from({ length: req.n }, (_, i) => classes[i % classes.length]);
  const engine = await openDenoiser(req, model, weights, diffusion);
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
    const runDir = path.dirname(path.dirname(req.checkpoint));
    if (!req.out && fs.existsSync(runPaths(runDir).runFile)) {
      appendJsonLine(runPaths(runDir).samplesIndex, { step, file: path.basename(file), checkpoint: path.basename(req.checkpoint), seed: req.seed, n: req.n,
        steps: req.steps, method: req.method, cfg: req.cfgScale, interval: [req.intervalMin, req.intervalMax], weights: req.weights, labels: [...labels], time: new Date().toISOString() });
    }
    return { file, n: req.n, steps: req.steps, method: req.method, cfgScale: req.cfgScale, weights: req.weights, labels: [...labels], seconds, images, imageSize: S, engine: engine.report };
  } finally {
    z0.dispose();
    engine.dispose();
  }
}

/**
 * The denoiser for a request: ONNX Runtime (a cached session per checkpoint, weights copy and setting) unless TF.js
 * is asked for; with 'auto', TF.js when ONNX Runtime cannot load or start, with the reason in the report's notes.
 */
async function openDenoiser(req: SampleRequest, model: JiTConfig, weights: Map<string, OfficialTensor>, diffusion: Pick<DiffusionConfig, 'target' | 'tEps'>):
  Promise<{ denoiser: Denoiser; report: EngineReport; dispose(): void }> {
  const choice = req.engine ?? 'auto';
  if (!SAMPLING_ENGINES.includes(choice)) throw new Error(`Unknown sampling engine "${choice}": use ${SAMPLING_ENGINES.join(', ')}.`);
  const notes: string[] = [];
  if (choice !== 'tfjs') {
    try {
      const lease = await checkpointSession(req.checkpoint, req.weights, req.onnx ?? {}, () => ({ model, weights }));
      const report: EngineReport = { engine: 'onnx', provider: lease.net.provider, description: lease.net.describe(), notes: [...lease.net.notes] };
      return { denoiser: new OnnxDenoiser(lease.net, diffusion), report, dispose: () => lease.release() };
    } catch (e) {
      if (choice === 'onnx') throw e;
      notes.push(`${firstLine(e).replace(/\.$/, '')}; sampling with TensorFlow.js instead.`);
    }
  }
  const params = paramsFromOfficial(model, weights);
  const net = new JiTNetwork(model);
  const backend = backendInfo()?.backend ?? tf.getBackend();
  return {
    denoiser: new TfDenoiser(net, params, diffusion),
    report: { engine: 'tfjs', provider: backend, description: `TensorFlow.js, ${backend} backend`, notes },
    dispose: () => {
      net.dispose();
      tf.dispose([...params.values()]);
    },
  };
}

function defaultOutput(req: SampleRequest, step: number | undefined): string {
  const runDir = path.dirname(path.dirname(req.checkpoint));
  const dir = fs.existsSync(runPaths(runDir).runFile) ? runPaths(runDir).samples : path.dirname(req.checkpoint);
  const tag = `${step !== undefined ? `step-${step}` : path.basename(req.checkpoint, '.safetensors')}-${req.method}${req.steps}-cfg${req.cfgScale}-${req.weights}-seed${req.seed}`;
  return path.join(dir, `${tag}.png`);
}
