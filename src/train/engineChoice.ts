// Which engine trains a run: ONNX Runtime on a CPU (a gradient graph, several times faster than TF.js's wasm backend),
// TF.js when its native backend reports a GPU (or when asked), and TF.js with one message when ONNX Runtime does not
// start. A checkpoint is the same whichever engine wrote it, so a run can resume on the other one.
import type { Dataset } from './data/dataset';
import { OnnxTrainer, OnnxTrainerOptions } from './onnxTrainer';
import type { RunConfig } from '../io/runConfig';
import { TfjsTrainer } from './tfjsTrainer';
import type { TrainingEngineName } from './trainer';
import type { TrainerState } from '../io/trainerState';

export const ENGINE_SETTINGS = ['auto', 'onnx', 'tfjs'] as const;
export type EngineSetting = (typeof ENGINE_SETTINGS)[number];

export type Trainer = OnnxTrainer | TfjsTrainer;

export interface EngineChoice {
  setting: EngineSetting;
  /** The TF.js backend in this process runs on a GPU (tfjs-node-gpu with CUDA): `auto` then trains on TF.js. */
  tfjsOnGpu: boolean;
  onnx?: OnnxTrainerOptions;
}

/** The engine `auto` picks before trying it. */
export function preferredEngine(c: Pick<EngineChoice, 'setting' | 'tfjsOnGpu'>): TrainingEngineName {
  return c.setting === 'auto' ? (c.tfjsOnGpu ? 'tfjs' : 'onnx') : c.setting;
}

/** Makes the trainer; `notes` says why the preferred engine was not used. */
export async function createTrainer(cfg: RunConfig, data: Dataset, state: TrainerState | undefined, c: EngineChoice): Promise<{ trainer: Trainer; notes: string[] }> {
  if (preferredEngine(c) === 'tfjs') return { trainer: new TfjsTrainer(cfg, data, state), notes: [] };
  try {
    const trainer = await OnnxTrainer.create(cfg, data, state, c.onnx);
    return { trainer, notes: trainer.notes.map((n) => `ONNX Runtime: ${n}`) };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (c.setting === 'onnx') throw new Error(`ONNX Runtime cannot train this run: ${why}`);
    return { trainer: new TfjsTrainer(cfg, data, state), notes: [`Training on TensorFlow.js: ONNX Runtime did not start (${why}).`] };
  }
}
