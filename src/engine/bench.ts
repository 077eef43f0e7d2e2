// `jit bench`: training and sampling speed of the CPU presets on the active backend, as one JSON object.
// Warm-up is excluded and each number is the median of several repetitions.
import * as tf from '@tensorflow/tfjs-core';
import { trainFlopsPerImage } from '../jit/flops';
import { createShapesDataset } from '../train/data/shapes';
import { resolveRunConfig } from '../train/runConfig';
import { TfjsTrainer } from '../train/tfjsTrainer';
import { backendInfo } from './backend';
import { ForwardBench, benchForward } from '../onnx/bench';
import { OnnxDenoiser } from '../onnx/denoiser';
import { createJiTSession } from '../onnx/session';
import type { Denoiser } from '../jit/sampler';
import { autoWorkers } from '../train/loop';

export interface PresetBench {
  preset: string;
  batch: number;
  trainImagesPerSec: number;
  trainFlopsPerImage: number;
  trainEfficiency: number;
  sampleEvalsPerSec: number;
  heun50Batch16Seconds: number;
  peakRssMb: number;
  tensorsLeaked: number;
  /**
   * Sampling engines side by side: forward passes per second of a batch of 32, i.e. 16 images with the
   * conditional and unconditional CFG branches together, on TF.js (the backend above) and on ONNX Runtime.
   */
  samplingEngines: { engine: string; description: string; passesPerSecond: number; imagesPerSecond: number; bestPassMs: number; heun50Batch16Seconds?: number }[];
  /** Training with data-parallel worker threads (one per further core; see src/train/parallel.ts), when there are any. */
  dataParallel?: { workers: number; trainImagesPerSec: number; trainEfficiency: number };
}

export interface BenchResult {
  backend: string;
  devices: string[];
  matmulGflops: number;
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

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const info = backendInfo();
  if (!info) throw new Error('initialise a backend before benchmarking');
  o.onProgress?.('measuring the backend\'s matmul speed');
  const gflops = await matmulGflops(o.smoke ? 256 : 1024, o.smoke ? 1 : 5);
  const presets: PresetBench[] = [];
  for (const p of o.presets) {
    o.onProgress?.(`training ${p.preset} at batch ${p.batch}`);
    const cfg = resolveRunConfig({ preset: p.preset, numClasses: 8, batch: p.batch, steps: 1_000_000 });
    const trainer = new TfjsTrainer(cfg, createShapesDataset(cfg.model.inputSize));
    /** Training images per second after one warm-up step (kernels, wasm memory growth, replicas). */
    const trainRate = async () => {
      await trainer.trainStep();
      const rates: number[] = [];
      for (let r = 0; r < o.repetitions; r++) {
        const t0 = performance.now();
        for (let i = 0; i < o.trainSteps; i++) await trainer.trainStep();
        rates.push((o.trainSteps * p.batch) / ((performance.now() - t0) / 1000));
      }
      return median(rates);
    };
    const tensorsBefore = tf.memory().numTensors;
    const trainImagesPerSec = await trainRate();
    const flops = trainFlopsPerImage(cfg.model);
    o.onProgress?.(`sampling ${p.preset}: ${o.sampleSteps} Heun steps, batch 16`);
    const sampleSeconds = async (denoiser?: Denoiser) => {
      const once = async () => {
        const t0 = performance.now();
        await trainer.sampleImages({ n: o.smoke ? 2 : 16, seed: 0, weights: 'ema1', denoiser, sampler: { steps: o.sampleSteps, method: 'heun', cfgScale: 1, intervalMin: 0.1, intervalMax: 1 } });
        return (performance.now() - t0) / 1000;
      };
      await once(); // warm-up
      const times: number[] = [];
      for (let r = 0; r < (o.smoke ? 1 : 2); r++) times.push(await once());
      return median(times);
    };
    const heunSeconds = await sampleSeconds();
    const evals = 2 * (o.sampleSteps - 1) + 1;
    const leaked = tf.memory().numTensors - tensorsBefore;
    let onnxHeunSeconds: number | undefined;
    try {
      const net = await createJiTSession(cfg.model, await trainer.officialWeights('ema1'));
      try {
        onnxHeunSeconds = await sampleSeconds(new OnnxDenoiser(net, cfg.diffusion));
      } finally {
        await net.dispose();
      }
    } catch (e) {
      o.onProgress?.(`ONNX Runtime is not available: ${e instanceof Error ? e.message : String(e)}`);
    }
    let dataParallel: PresetBench['dataParallel'];
    const workers = autoWorkers(info.backend);
    if (workers > 0 && !o.smoke) {
      o.onProgress?.(`training ${p.preset} at batch ${p.batch} with ${workers} data-parallel worker${workers > 1 ? 's' : ''}`);
      await trainer.useWorkers(workers, info.backend);
      const rate = await trainRate();
      dataParallel = { workers, trainImagesPerSec: rate, trainEfficiency: (rate * flops) / 1e9 / gflops };
    }
    trainer.dispose();
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
    presets.push({
      preset: p.preset,
      batch: p.batch,
      trainImagesPerSec,
      trainFlopsPerImage: flops,
      trainEfficiency: (trainImagesPerSec * flops) / 1e9 / gflops,
      sampleEvalsPerSec: evals / heunSeconds,
      heun50Batch16Seconds: heunSeconds,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      tensorsLeaked: leaked,
      samplingEngines,
      dataParallel,
    });
  }
  return { backend: info.backend, devices: info.devices, matmulGflops: gflops, presets, settings: { repetitions: o.repetitions, trainSteps: o.trainSteps, smoke: o.smoke } };
}
