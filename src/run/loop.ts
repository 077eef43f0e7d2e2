// A whole training run on disk: create or resume the run folder, train, log metrics.jsonl, write preview
// sample grids and checkpoints, stop cleanly on request (with a resumable checkpoint) or on a diverged loss
// (keeping the last good checkpoint). The CLI and the extension's engine process both drive this.
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_PRESET, getPreset } from '../jit/config';
import { loadCheckpoint, runModelConfig, saveCheckpoint } from '../io/checkpoint';
import { writeImageGrid } from '../io/png';
import { RunPaths, SampleIndexLine, appendJsonLine, createRunDir, runPaths, writeJson } from '../io/runs';
import { RunEventLog } from '../io/tensorboard/runLog';
import { loadDataset } from '../train/data/load';
import type { Dataset } from '../train/data/dataset';
import { RunConfig, RunFile, RunOverrides, resolveRunConfig } from '../io/runConfig';
import { StepMetrics, TrainerDenoiser, TrainingDiverged } from '../train/trainer';
import { Trainer, createTrainer } from '../train/runtimeChoice';
import { RuntimeSetting } from '../runtime/networkRuntime';
import type { OnnxTrainerOptions } from '../train/onnxTrainer';
import { tfDenoiserFromOfficial } from '../jit/denoiser';
import { openOnnxDenoiser } from '../onnx/denoiser';
import { featuresDirOf } from '../quality/evaluate';
import { LiveQuality, QualityRecord } from '../quality/live';

export type TrainEvent =
  | { type: 'started'; runDir: string; config: RunConfig; dataset: string; resumedFrom?: string; step: number; workers: number; engine: string }
  | { type: 'step'; metrics: StepMetrics; totalSteps: number }
  | { type: 'samples'; step: number; file: string }
  | { type: 'checkpoint'; step: number; file: string }
  | { type: 'quality'; metrics: QualityRecord }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'finished'; step: number; reason: 'completed' | 'stopped' | 'diverged'; checkpoint?: string; message?: string };

export interface TrainRequest {
  /** New run: overrides of the preset defaults. */
  overrides?: RunOverrides;
  /** Folder under which a new run is created. */
  runsRoot: string;
  runName?: string;
  /** Resume: a checkpoint of an existing run; training continues in that run's folder. */
  resumeFrom?: string;
  /** Resume: train until this step (default: the run's configured steps). */
  untilStep?: number;
  backend?: string;
  /** The training engine: ONNX Runtime or TF.js ('auto': ONNX Runtime unless TF.js runs on a GPU). */
  engine?: RuntimeSetting;
  /** The TF.js backend runs on a GPU (tfjs-node-gpu with CUDA). */
  tfjsOnGpu?: boolean;
  /** ONNX Runtime training session settings (threads). */
  onnx?: OnnxTrainerOptions;
  /** TF.js: extra worker threads for data-parallel gradients ('auto': one per further core on the single-threaded backends, up to four threads in all). */
  workers?: number | 'auto';
  /** What samples the preview grids: ONNX Runtime when it starts (auto, 5-10x TF.js on wasm) or TF.js. */
  previewEngine?: 'auto' | 'tfjs';
}

/** Threads in all (the main one and its workers) that `workers: 'auto'` trains with at most. */
export const MAX_AUTO_TRAINING_THREADS = 4;

/** How many data-parallel workers 'auto' means on this machine and backend: one per further core, capped. */
export function autoWorkers(backend: string, cores = os.cpus().length): number {
  // The native TensorFlow backend already uses every core; wasm and cpu use one. Capped because every worker
  // holds a replica of the network.
  return backend === 'wasm' || backend === 'cpu' ? Math.max(0, Math.min(cores, MAX_AUTO_TRAINING_THREADS) - 1) : 0;
}

export interface TrainOutcome {
  runDir: string;
  step: number;
  reason: string;
}

export interface TrainControl {
  signal?: AbortSignal;
  /** Polled between steps: write a checkpoint now. */
  takeCheckpointRequest?: () => boolean;
  onEvent?: (e: TrainEvent) => void;
}

export async function runTraining(req: TrainRequest, ctl: TrainControl = {}): Promise<TrainOutcome> {
  const emit = (e: TrainEvent) => ctl.onEvent?.(e);
  let cfg: RunConfig;
  let paths: RunPaths;
  let dataset: Dataset;
  let state: Parameters<typeof createTrainer>[2];
  if (req.resumeFrom) {
    paths = runPaths(path.dirname(path.dirname(path.resolve(req.resumeFrom))));
    // A checkpoint copied from another run must still fit the model this run folder was made for.
    const ck = loadCheckpoint(req.resumeFrom, runModelConfig(paths.dir));
    cfg = { ...ck.config, steps: req.untilStep ?? ck.config.steps };
    dataset = await loadDataset(cfg.data, cfg.model.inputSize, emit);
    state = ck.state;
  } else {
    const o = req.overrides ?? {};
    const data = o.data ?? { kind: 'builtin' as const };
    dataset = await loadDataset(data, getPreset(o.preset ?? DEFAULT_PRESET).model.inputSize, emit);
    cfg = resolveRunConfig({ ...o, data, numClasses: dataset.numClasses });
    paths = createRunDir(req.runsRoot, req.runName ?? cfg.preset.replace('/', '-'));
  }
  const backend = req.backend ?? tf.getBackend();
  const made = await createTrainer(cfg, dataset, state, { setting: req.engine ?? 'auto', tfjsOnGpu: req.tfjsOnGpu ?? false, onnx: req.onnx });
  const trainer: Trainer = made.trainer;
  for (const message of made.notes) emit({ type: 'log', level: 'warn', message });
  let workers = 0;
  if (trainer.engine === 'tfjs') {
    workers = req.workers === 'auto' ? autoWorkers(backend) : req.workers ?? 0;
    if (workers > 0) {
      try {
        await trainer.useWorkers(workers, backend);
      } catch (e) {
        workers = 0;
        emit({ type: 'log', level: 'warn', message: `Training in one thread: the data-parallel workers did not start (${e instanceof Error ? e.message : String(e)}).` });
      }
    }
  }
  if (!req.resumeFrom) {
    const runFile: RunFile = {
      name: path.basename(paths.dir), preset: cfg.preset, created: new Date().toISOString(), engine: trainer.describe(), backend,
      dataset: dataset.describe(), datasetSize: Number.isFinite(dataset.size) ? dataset.size : undefined, classNames: dataset.classNames, config: cfg,
    };
    writeJson(paths.runFile, runFile);
  }
  emit({ type: 'started', runDir: paths.dir, config: cfg, dataset: dataset.describe(), resumedFrom: req.resumeFrom, step: trainer.step, workers, engine: trainer.describe() });
  const events = RunEventLog.open(paths.dir); // TensorBoard's view of metrics.jsonl and the preview grids

  const checkpoint = async () => {
    const file = saveCheckpoint(paths.checkpoints, cfg, await trainer.exportState(), cfg.keepCheckpoints);
    emit({ type: 'checkpoint', step: trainer.step, file });
    return file;
  };
  let previewOnTfjs = req.previewEngine === 'tfjs';
  /**
   * The preview grids' network: ONNX Runtime over the weights copy (a session per preview: the weights change every
   * step; 5-10x TF.js on wasm), or TF.js when asked or when ONNX Runtime does not start.
   */
  const previewDenoiser = async (): Promise<TrainerDenoiser> => {
    const which = cfg.preview.weights;
    if (previewOnTfjs && trainer.engine === 'tfjs') return trainer.denoiser(which);
    if (previewOnTfjs) {
      const tfNet = tfDenoiserFromOfficial(cfg.model, cfg.diffusion, await trainer.officialWeights(which));
      return { denoiser: tfNet.denoiser, engine: `TensorFlow.js, ${backend} backend`, dispose: async () => tfNet.dispose() };
    }
    if (trainer.engine === 'onnx') return trainer.denoiser(which);
    try {
      return await openOnnxDenoiser(cfg.model, cfg.diffusion, await trainer.officialWeights(which));
    } catch (e) {
      previewOnTfjs = true;
      emit({ type: 'log', level: 'warn', message: `Preview grids are sampled with TensorFlow.js: ONNX Runtime did not start (${e instanceof Error ? e.message : String(e)}).` });
      return trainer.denoiser(which);
    }
  };
  const previews = async () => {
    const p = cfg.preview;
    const net = await previewDenoiser();
    let images: Float32Array;
    try {
      ({ images } = await trainer.sampleImages({ n: p.n, seed: cfg.seed, weights: p.weights, denoiser: net.denoiser,
        sampler: { steps: p.steps, method: p.method, cfgScale: p.cfgScale, intervalMin: 0.1, intervalMax: 1.0 } }));
    } finally {
      await net.dispose();
    }
    const file = path.join(paths.samples, `step-${trainer.step}.png`);
    await writeImageGrid(file, images, p.n, cfg.model.inputSize, { scale: cfg.model.inputSize < 64 ? 2 : 1 });
    appendJsonLine<SampleIndexLine>(paths.samplesIndex, { step: trainer.step, file: path.basename(file), seed: cfg.seed, n: p.n, steps: p.steps, method: p.method, cfg: p.cfgScale, weights: p.weights,
      engine: net.engine, time: new Date().toISOString() });
    events.grid(trainer.step, file);
    emit({ type: 'samples', step: trainer.step, file });
  };

  const quality = new LiveQuality(cfg, dataset, featuresDirOf(paths.dir), (level, message) => emit({ type: 'log', level, message }));
  const measureQuality = async () => {
    const at = { step: trainer.step, seconds: trainer.seconds, imagesSeen: trainer.imagesSeen };
    const r = await quality.evaluateIfDue(at, () => trainer.officialWeights(cfg.preview.weights), ctl.signal);
    if (!r) return;
    appendJsonLine(paths.metrics, r);
    events.record('quality', r);
    emit({ type: 'quality', metrics: r });
  };

  let reason: 'completed' | 'stopped' | 'diverged' = 'completed';
  let lastCheckpoint: string | undefined;
  try {
    while (trainer.step < cfg.steps) {
      if (ctl.signal?.aborted) {
        reason = 'stopped';
        break;
      }
      let m: StepMetrics;
      try {
        m = await trainer.trainStep();
      } catch (e) {
        if (e instanceof TrainingDiverged) {
          emit({ type: 'finished', step: trainer.step, reason: 'diverged', message: e.message });
          return { runDir: paths.dir, step: trainer.step, reason: 'diverged' };
        }
        throw e;
      }
      appendJsonLine(paths.metrics, m);
      events.step(m);
      emit({ type: 'step', metrics: m, totalSteps: cfg.steps });
      // A step on the wasm/cpu backends never waits for I/O, so without this the event loop would not run until
      // training ends: stop and checkpoint requests (SIGINT, the engine's IPC messages) arrive as events.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (m.step % cfg.sampleEvery === 0) await previews();
      if (m.step % cfg.checkpointEvery === 0 || ctl.takeCheckpointRequest?.()) lastCheckpoint = await checkpoint();
      await measureQuality();
    }
    // Always leave a resumable checkpoint and a final grid at the step where training ended.
    if (!lastCheckpoint || !lastCheckpoint.endsWith(`step-${trainer.step}.safetensors`)) lastCheckpoint = await checkpoint();
    if (!fs.existsSync(path.join(paths.samples, `step-${trainer.step}.png`)) && reason === 'completed') await previews();
    if (reason === 'completed') await measureQuality();
    emit({ type: 'finished', step: trainer.step, reason, checkpoint: lastCheckpoint });
    return { runDir: paths.dir, step: trainer.step, reason };
  } finally {
    events.close();
    await trainer.dispose();
    quality.dispose();
  }
}
