// What anything that runs a checkpoint needs: its model, its diffusion settings, and a denoiser over one copy of
// its weights, run by ONNX Runtime when it loads (5-10x TensorFlow.js on wasm) or by TensorFlow.js. `jit sample`,
// the CFG x EMA grid and the Euler/Heun comparison all open their network here, so they pick the engine by the
// same rule and report it the same way.
import * as tf from '@tensorflow/tfjs-core';
import { loadWeights } from '../io/checkpoint';
import { readOfficialWeights } from '../io/convert';
import { isZipFile } from '../io/pth';
import { DEFAULT_DIFFUSION, DiffusionConfig, JiTConfig } from '../jit/config';
import { tfDenoiserFromOfficial } from '../jit/denoiser';
import type { OfficialTensor } from '../jit/params';
import type { Denoiser } from '../jit/sampler';
import { OnnxDenoiser } from '../onnx/denoiser';
import { firstLine } from '../onnx/runtime';
import { OnnxOptions, checkpointSession, createJiTSession } from '../onnx/session';
import { backendInfo } from '../runtime/tfjsBackend';
import type { RunConfig } from '../io/runConfig';
import type { WeightsChoice } from '../io/trainerState';

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

export interface EngineChoice {
  /** Default 'auto'. */
  engine?: SamplingEngine;
  /** ONNX Runtime threads and execution providers. */
  onnx?: OnnxOptions;
}

export interface CheckpointWeights {
  file: string;
  which: WeightsChoice;
  model: JiTConfig;
  diffusion: DiffusionConfig;
  weights: Map<string, OfficialTensor>;
  step?: number;
  run?: RunConfig;
}

export interface OpenDenoiser {
  denoiser: Denoiser;
  report: EngineReport;
  /** Frees the network (TF.js) or releases the cached session (ONNX). */
  dispose(): void;
}

/**
 * The chosen weights copy of a checkpoint with the diffusion settings it was trained with: a checkpoint of this
 * project, a bare state dict, or an official training checkpoint (.pth, read directly: its args give the
 * diffusion settings, its optimizer the step).
 */
export async function loadCheckpointWeights(file: string, which: WeightsChoice): Promise<CheckpointWeights> {
  const { model, weights, step, run } = isZipFile(file) ? await readOfficialWeights(file, which) : loadWeights(file, which);
  // A bare state dict records no diffusion settings: the official defaults (noise scale 2 from 512 px).
  const diffusion = run?.diffusion ?? { ...DEFAULT_DIFFUSION, noiseScale: model.inputSize >= 512 ? 2 : 1 };
  return { file, which, model, diffusion, weights, step, run };
}

/** The proj1 weight [d', C, p, p], whose d' rows are the bottleneck's basis patches. */
export function proj1Of(weights: Map<string, OfficialTensor>): OfficialTensor {
  const w = weights.get('net.x_embedder.proj1.weight');
  if (!w || w.shape.length !== 4) throw new Error('The checkpoint has no bottleneck patch embedding (net.x_embedder.proj1.weight [d\', C, p, p]).');
  return w;
}

/**
 * The denoiser over a loaded weights copy: ONNX Runtime (a cached session per checkpoint, weights copy and setting)
 * unless TF.js is asked for; with 'auto', TF.js when ONNX Runtime cannot load or start, with the reason in the
 * report's notes.
 */
export async function openDenoiser(ck: CheckpointWeights, choice: EngineChoice = {}): Promise<OpenDenoiser> {
  const engine = choice.engine ?? 'auto';
  if (!SAMPLING_ENGINES.includes(engine)) throw new Error(`Unknown sampling engine "${engine}": use ${SAMPLING_ENGINES.join(', ')}.`);
  const notes: string[] = [];
  if (engine !== 'tfjs') {
    try {
      const lease = await checkpointSession(ck.file, ck.which, choice.onnx ?? {}, () => ck);
      const report: EngineReport = { engine: 'onnx', provider: lease.net.provider, description: lease.net.describe(), notes: [...lease.net.notes] };
      return { denoiser: new OnnxDenoiser(lease.net, ck.diffusion), report, dispose: () => lease.release() };
    } catch (e) {
      if (engine === 'onnx') throw e;
      notes.push(`${firstLine(e).replace(/\.$/, '')}; sampling with TensorFlow.js instead.`);
    }
  }
  return tfjsDenoiser(ck.model, ck.diffusion, ck.weights, notes);
}

/**
 * The denoiser over a weights copy held in memory (e.g. a training run's current weights): a session of its own on
 * ONNX Runtime, or TensorFlow.js when that cannot start or is asked for, with the reason in the report's notes.
 */
export async function openWeightsDenoiser(model: JiTConfig, diffusion: DiffusionConfig, weights: Map<string, OfficialTensor>,
  choice: EngineChoice = {}): Promise<OpenDenoiser> {
  const notes: string[] = [];
  if (choice.engine !== 'tfjs') {
    try {
      const net = await createJiTSession(model, weights, '', choice.onnx ?? {});
      const report: EngineReport = { engine: 'onnx', provider: net.provider, description: net.describe(), notes: [...net.notes] };
      return { denoiser: new OnnxDenoiser(net, diffusion), report, dispose: () => void net.dispose().catch(() => undefined) };
    } catch (e) {
      if (choice.engine === 'onnx') throw e;
      notes.push(`${firstLine(e).replace(/\.$/, '')}; sampling with TensorFlow.js instead.`);
    }
  }
  return tfjsDenoiser(model, diffusion, weights, notes);
}

function tfjsDenoiser(model: JiTConfig, diffusion: DiffusionConfig, weights: Map<string, OfficialTensor>, notes: string[]): OpenDenoiser {
  const tfNet = tfDenoiserFromOfficial(model, diffusion, weights);
  const backend = backendInfo()?.backend ?? tf.getBackend();
  return { denoiser: tfNet.denoiser, report: { engine: 'tfjs', provider: backend, description: `TensorFlow.js, ${backend} backend`, notes }, dispose: tfNet.dispose };
}
