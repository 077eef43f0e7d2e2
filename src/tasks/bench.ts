// `jit bench`: training and sampling speed of the CPU presets on every engine, as one JSON object. Warm-up is
// excluded and each number is the median of several repetitions. Training efficiency is measured against each
// engine's own 1024^3 matmul speed in the same run, so the numbers compare across machines as ratios.
import * as tf from '@tensorflow/tfjs-core';
import { trainFlopsPerImage } from '../jit/flops';
import { createShapesDataset } from '../train/data/shapes';
import { resolveRunConfig } from '../io/runConfig';
import { TfjsTrainer } from '../train/tfjsTrainer';
import { OnnxTrainer } from '../train/onnxTrainer';
import { preferredEngine } from '../train/engineChoice';
import type { TrainerBase, TrainerDenoiser, TrainingEngineName } from '../train/trainer';
import { backendInfo } from '../runtime/tfjsBackend';
import { ForwardBench, benchForward, onnxMatmulGflops } from '../onnx/bench';
import { openOnnxDenoiser } from '../onnx/denoiser';
import { autoWorkers } from '../run/loop';

export interface TrainEngineBench {
  engine: TrainingEngineName;
  /** e.g. "ONNX Runtime, cpu execution provider, 2 threads" or "TensorFlow.js, wasm backend". */
  description: string;
  trainImagesPerSec: number;
  /** Achieved training FLOP/s over this engine's own matmul GFLOP/s (matmulGflops of its entry). */
  trainEfficiency: number;
  /** TF.js on the single-threaded backends: the same training with one worker thread per further core, up to four threads in all. */
  dataParallel?: { workers: number; trainImagesPerSec: number; trainEfficiency: number };
}

export interface PresetBench {
  preset: string;
  batch: number;
  /** The default engine's training speed (what `jit train` gets), and its efficiency. */
  trainImagesPerSec: number;
  trainEfficiency: number;
  trainFlopsPerImage: number;
  /** Every training engine that runs here. */
  trainEngines: TrainEngineBench[];
  sampleEvalsPerSec: number;
  heun50Batch16Seconds: number;
  peakRssMb: number;
  tensorsLeaked: number;
  /**
   * Sampling engines side by side: forward passes per second of a batch of 32, i.e. 16 images with the
   * conditional and unconditional CFG branches together, on TF.js (the backend above) and on ONNX Runtime.
   */
  samplingEngines: { engine: string; description: string; passesPerSecond: number; imagesPerSecond: number; bestPassMs: number; heun50Batch16Seconds?: number }[];
}

export interface BenchResult {
  backend: string;
  devices: string[];
  /** TF.js's 1024^3 matmul on the backend above. */
  matmulGflops: number;
  /** ONNX Runtime's 1024^3 matmul under the training sessions' settings, when it loads. */
  onnx?: { matmulGflops: number; description: string };
  /** The engine `jit train` uses by default here. */
  defaultTrainingEngine: TrainingEngineName;
  presets: PresetBench[];
  settings: { repetitions: number; trainSteps: number; smoke: boolean };
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The backend's own large-matmul speed: a 1024^3 float32 product (GFLOP/s). */
export async function matmulGflops(n = 1024, reps = 5): Promise<number> {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const run = async () => {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
    return (performance.now() - t0) / 1000;
  };
  await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await run());
  tf.dispose([a, b]);
  return (2 * n ** 3) / median(times) / 1e9;
}

export interface BenchOptions {
  presets: { preset: string; batch: number }[];
  /** Timed training steps per repetition. */
  trainSteps: number;
  repetitions: number;
  /** Heun steps for the timed sampling run (50 in the full benchmark). */
  sampleSteps: number;
  smoke: boolean;
  onProgress?: (message: string) => void;
}

export const FULL_BENCH: BenchOptions = {
  presets: [{ preset: 'JiT-Ti/16', batch: 32 }, { preset: 'JiT-Ti/4', batch: 16 }],
  trainSteps: 5,
  repetitions: 3,
  sampleSteps: 50,
  smoke: false,
};

/** A seconds-long run that exercises every field (for CI); its numbers are not meaningful. */
export const SMOKE_BENCH: BenchOptions = {
  presets: [{ preset: 'JiT-Ti/4', batch: 2 }],
  trainSteps: 1,
  repetitions: 1,
  sampleSteps: 2,
  smoke: true,
};

/** Training images per second after one warm-up step (kernels, memory growth, replicas). */
async function trainRate(trainer: TrainerBase, o: BenchOptions, batch: number): Promise<number> {
  await trainer.trainStep();
  const rates: number[] = [];
  for (let r = 0; r < o.repetitions; r++) {
    const t0 = performance.now();
    for (let i = 0; i < o.trainSteps; i++) await trainer.trainStep();
    rates.push((o.trainSteps * batch) / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const info = backendInfo();
  if (!info) throw new Error('initialise a backend before benchmarking');
  o.onProgress?.('measuring the matmul speed of TF.js and ONNX Runtime');
  const gflops = await matmulGflops(o.smoke ? 256 : 1024, o.smoke ? 1 : 5);
  const onnx = await onnxMatmulGflops({ spinning: false }, o.smoke ? 256 : 1024, o.smoke ? 1 : 5).catch((e: unknown) => {
    o.onProgress?.(`ONNX Runtime is not available: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  });
  const defaultTrainingEngine = onnx ? preferredEngine({ setting: 'auto', tfjsOnGpu: info.devices.some((d) => d.startsWith('GPU')) }) : 'tfjs';
  const presets: PresetBench[] = [];
  for (const p of o.presets) {
    const cfg = resolveRunConfig({ preset: p.preset, numClasses: 8, batch: p.batch, steps: 1_000_000 });
    const data = createShapesDataset(cfg.model.inputSize);
    const flops = trainFlopsPerImage(cfg.model);
    const efficiency = (rate: number, matmul: number) => (rate * flops) / 1e9 / matmul;
    const trainEngines: TrainEngineBench[] = [];

    if (onnx) {
      o.onProgress?.(`training ${p.preset} at batch ${p.batch} on ONNX Runtime`);
      const trainer = await OnnxTrainer.create(cfg, data);
      try {
        const rate = await trainRate(trainer, o, p.batch);
        trainEngines.push({ engine: 'onnx', description: trainer.describe(), trainImagesPerSec: rate, trainEfficiency: efficiency(rate, onnx.gflops) });
      } finally {
        await trainer.dispose();
      }
    }

    o.onProgress?.(`training ${p.preset} at batch ${p.batch} on TensorFlow.js`);
    const trainer = new TfjsTrainer(cfg, data);
    const tensorsBefore = tf.memory().numTensors; // the trainer's own variables excluded
    const rate = await trainRate(trainer, o, p.batch);
    const tfjs: TrainEngineBench = { engine: 'tfjs', description: trainer.describe(), trainImagesPerSec: rate, trainEfficiency: efficiency(rate, gflops) };
    trainEngines.push(tfjs);

    o.onProgress?.(`sampling ${p.preset}: ${o.sampleSteps} Heun steps, batch 16`);
    const sampleSeconds = async (net: TrainerDenoiser) => {
      const denoiser = net.denoiser;
      try {
        const once = async () => {
          const t0 = performance.now();
          await trainer.sampleImages({ n: o.smoke ? 2 : 16, seed: 0, weights: 'ema1', denoiser, sampler: { steps: o.sampleSteps, method: 'heun', cfgScale: 1, intervalMin: 0.1, intervalMax: 1 } });
          return (performance.now() - t0) / 1000;
        };
        await once(); // warm-up
        const times: number[] = [];
        for (let r = 0; r < (o.smoke ? 1 : 2); r++) times.push(await once());
        return median(times);
      } finally {
        await net.dispose();
      }
    };
    const heunSeconds = await sampleSeconds(await trainer.denoiser('ema1'));
    const evals = 2 * (o.sampleSteps - 1) + 1;
    const leaked = tf.memory().numTensors - tensorsBefore;
    const onnxHeunSeconds = onnx ? await sampleSeconds(await openOnnxDenoiser(cfg.model, cfg.diffusion, await trainer.officialWeights('ema1'))) : undefined;

    const workers = autoWorkers(info.backend);
    if (workers > 0 && !o.smoke) {
      o.onProgress?.(`training ${p.preset} at batch ${p.batch} on TensorFlow.js with ${workers} data-parallel worker${workers > 1 ? 's' : ''}`);
      await trainer.useWorkers(workers, info.backend);
      const dp = await trainRate(trainer, o, p.batch);
      tfjs.dataParallel = { workers, trainImagesPerSec: dp, trainEfficiency: efficiency(dp, gflops) };
    }
    await trainer.dispose();

    const samplingEngines: PresetBench['samplingEngines'] = [];
    for (const engine of ['tfjs', 'onnx'] as const) {
      o.onProgress?.(`forward passes of ${p.preset} at batch 32 on ${engine}`);
      try {
        const r: ForwardBench = await benchForward(engine, cfg.model, o.smoke ? 2 : 32, o.smoke ? 0.2 : 5);
        samplingEngines.push({ engine, description: r.description, passesPerSecond: r.passesPerSecond, imagesPerSecond: r.imagesPerSecond, bestPassMs: r.bestPassMs,
          heun50Batch16Seconds: engine === 'tfjs' ? heunSeconds : onnxHeunSeconds });
      } catch (e) {
        o.onProgress?.(`${engine} is not available: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const byDefault = trainEngines.find((t) => t.engine === defaultTrainingEngine) ?? tfjs;
    presets.push({
      preset: p.preset,
      batch: p.batch,
      trainImagesPerSec: byDefault.trainImagesPerSec,
      trainEfficiency: byDefault.trainEfficiency,
      trainFlopsPerImage: flops,
      trainEngines,
      sampleEvalsPerSec: evals / heunSeconds,
      heun50Batch16Seconds: heunSeconds,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      tensorsLeaked: leaked,
      samplingEngines,
    });
  }
  return {
    backend: info.backend, devices: info.devices, matmulGflops: gflops, onnx: onnx && { matmulGflops: onnx.gflops, description: onnx.description }, defaultTrainingEngine,
    presets, settings: { repetitions: o.repetitions, trainSteps: o.trainSteps, smoke: o.smoke },
  };
}
