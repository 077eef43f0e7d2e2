// `jit bench`: training and sampling speed of the CPU presets on the active backend, as one JSON object.
// Warm-up is excluded and each number is the median of several repetitions.
import * as tf from '@tensorflow/tfjs-core';
import { trainFlopsPerImage } from '../jit/flops';
import { createShapesDataset } from '../train/data/shapes';
import { resolveRunConfig } from '../train/runConfig';
import { Trainer } from '../train/trainer';
import { backendInfo } from './backend';
import { ForwardBench, benchForward } from '../onnx/bench';

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
  samplingEngines: { engine: string; description: string; passesPerSecond: number; imagesPerSecond: number; bestPassMs: number }[];
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
    const trainer = new Trainer(cfg, createShapesDataset(cfg.model.inputSize));
    await trainer.trainStep(); // warm-up: kernels, wasm memory growth
    const tensorsBefore = tf.memory().numTensors;
    const rates: number[] = [];
    for (let r = 0; r < o.repetitions; r++) {
      const t0 = performance.now();
      for (let i = 0; i < o.trainSteps; i++) await trainer.trainStep();
      rates.push((o.trainSteps * p.batch) / ((performance.now() - t0) / 1000));
    }
    const trainImagesPerSec = median(rates);
    o.onProgress?.(`sampling ${p.preset}: ${o.sampleSteps} Heun steps, batch 16`);
    const sampleOnce = async () => {
      const t0 = performance.now();
      await trainer.sampleImages({ n: o.smoke ? 2 : 16, seed: 0, weights: 'ema1', sampler: { steps: o.sampleSteps, method: 'heun', cfgScale: 1, intervalMin: 0.1, intervalMax: 1 } });
      return (performance.now() - t0) / 1000;
    };
    await sampleOnce(); // warm-up
    const sampleTimes: number[] = [];
    for (let r = 0; r < (o.smoke ? 1 : 2); r++) sampleTimes.push(await sampleOnce());
    const heunSeconds = median(sampleTimes);
    const evals = 2 * (o.sampleSteps - 1) + 1;
    const leaked = tf.memory().numTensors - tensorsBefore;
    trainer.dispose();
    const samplingEngines: PresetBench['samplingEngines'] = [];
    for (const engine of ['tfjs', 'onnx'] as const) {
      o.onProgress?.(`forward passes of ${p.preset} at batch 32 on ${engine}`);
      try {
        const r: ForwardBench = await benchForward(engine, cfg.model, o.smoke ? 2 : 32, o.smoke ? 0.2 : 5);
        samplingEngines.push({ engine, description: r.description, passesPerSecond: r.passesPerSecond, imagesPerSecond: r.imagesPerSecond, bestPassMs: r.bestPassMs });
      } catch (e) {
        o.onProgress?.(`${engine} is not available: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const flops = trainFlopsPerImage(cfg.model);
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
    });
  }
  return { backend: info.backend, devices: info.devices, matmulGflops: gflops, presets, settings: { repetitions: o.repetitions, trainSteps: o.trainSteps, smoke: o.smoke } };
}
