// Forward-pass throughput of the JiT network on ONNX Runtime and on TensorFlow.js (whatever backend is initialised),
// with the same random non-zero weights and inputs, for `npm run bench` and the engine comparison.
import * as tf from '@tensorflow/tfjs-core';
import { JiTConfig } from '../jit/config';
import { JiTNetwork } from '../jit/model';
import { OfficialTensor, initialValue, paramSpecs, paramsFromOfficial } from '../jit/params';
import { Rng } from '../jit/random';
import { GraphBuilder, encodeModel } from './builder';
import { createJiTSession, describeSession, OnnxOptions, openSession } from './session';

/**
 * Official-layout weights (`net.*`) with the official initialisation plus N(0, std^2) noise on every trainable tensor,
 * so that the zero-initialised adaLN and output layers act too (a fresh model would output zeros).
 */
export function randomOfficialWeights(cfg: JiTConfig, seed: number, std = 0.02): Map<string, OfficialTensor> {
  const rng = new Rng(`random-weights:${seed}`);
  const out = new Map<string, OfficialTensor>();
  for (const spec of paramSpecs(cfg)) {
    const data = initialValue(cfg, spec, rng);
    if (spec.init !== 'sincos') for (let i = 0; i < data.length; i++) data[i] += std * rng.normal();
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}

/** Random inputs of a batch: z ~ N(0, 1) [B, C, H, W], t uniform [B], y uniform over classes and the null class [B]. */
export function randomInputs(cfg: JiTConfig, batch: number, seed: number): { z: Float32Array; t: Float32Array; y: Int32Array } {
  const rng = new Rng(`random-inputs:${seed}`);
  const z = rng.fillNormal(new Float32Array(batch * cfg.inChannels * cfg.inputSize * cfg.inputSize));
  const t = Float32Array.from({ length: batch }, () => rng.uniform());
  const y = Int32Array.from({ length: batch }, () => rng.int(cfg.numClasses + 1));
  return { z, t, y };
}

export type BenchEngine = 'onnx' | 'tfjs';

export interface ForwardBench {
  engine: BenchEngine;
  /** e.g. "ONNX Runtime, cpu execution provider, 2 threads" or "TensorFlow.js, wasm backend". */
  description: string;
  batch: number;
  passes: number;
  seconds: number;
  passesPerSecond: number;
  imagesPerSecond: number;
  /** Fastest and median single pass in milliseconds (on a shared CPU the fastest shows what the engine can do). */
  bestPassMs: number;
  medianPassMs: number;
}

/**
 * Runs forward passes of a batch for about `seconds` (after two untimed warm-up passes) and reports the rate.
 * TF.js runs on the backend already initialised (initBackend); each pass includes reading the output back.
 */
export async function benchForward(engine: BenchEngine, cfg: JiTConfig, batch: number, seconds: number, onnx: OnnxOptions = {}): Promise<ForwardBench> {
  if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`batch must be a positive whole number, got ${batch}.`);
  if (!(seconds > 0)) throw new Error(`seconds must be positive, got ${seconds}.`);
  const weights = randomOfficialWeights(cfg, 0);
  const { z, t, y } = randomInputs(cfg, batch, 0);
  let pass: () => Promise<unknown>;
  let description: string;
  let release: () => Promise<void> | void;
  if (engine === 'onnx') {
    const net = await createJiTSession(cfg, weights, '', onnx);
    pass = () => net.forward(z, t, y);
    description = net.describe();
    release = () => net.dispose();
  } else {
    const params = paramsFromOfficial(cfg, weights);
    const network = new JiTNetwork(cfg);
    const S = cfg.inputSize;
    const zt = tf.tensor4d(z, [batch, cfg.inChannels, S, S]);
    const tt = tf.tensor1d(t);
    const yt = tf.tensor1d(y, 'int32');
    pass = async () => {
      const out = tf.tidy(() => network.forward(params, zt, tt, yt));
      await out.data();
      out.dispose();
    };
    description = `TensorFlow.js, ${tf.getBackend()} backend`;
    release = () => {
      network.dispose();
      tf.dispose([...params.values(), zt, tt, yt]);
    };
  }
  try {
    await pass();
    await pass();
    const durations: number[] = [];
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < seconds * 1000) {
      const before = performance.now();
      await pass();
      durations.push(performance.now() - before);
      elapsed = performance.now() - start;
    }
    const passes = durations.length;
    const s = elapsed / 1000;
    durations.sort((a, b) => a - b);
    return {
      engine, description, batch, passes, seconds: s, passesPerSecond: passes / s, imagesPerSecond: (passes * batch) / s,
      bestPassMs: durations[0], medianPassMs: durations[Math.floor(passes / 2)],
    };
  } finally {
    await release();
  }
}

/** ONNX Runtime's own large-matmul speed under the given session settings: a 1024^3 float32 product (GFLOP/s). */
export async function onnxMatmulGflops(opts: OnnxOptions = {}, n = 1024, reps = 5): Promise<{ gflops: number; description: string }> {
  const g = new GraphBuilder();
  g.output('c', g.op1('MatMul', [g.input('a', 'float32', [n, n]), g.input('b', 'float32', [n, n])]), [n, n]);
  const { ort, session, provider, threads } = await openSession(encodeModel(g.model('matmul', `${n}^3 matmul`)), opts, async () => {});
  try {
    const rng = new Rng('matmul');
    const feeds = { a: new ort.Tensor('float32', rng.fillNormal(new Float32Array(n * n)), [n, n]), b: new ort.Tensor('float32', rng.fillNormal(new Float32Array(n * n)), [n, n]) };
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    return { gflops: (2 * n ** 3) / times[Math.floor(reps / 2)] / 1e9, description: describeSession({ provider, threads }) };
  } finally {
    await session.release();
  }
}
