// The host <-> engine protocol: every method the engine serves, what it streams while it runs, the notices it
// sends, and the binary layout in which tensors cross (one ArrayBuffer plus an offset table, never JSON
// arrays). The extension host imports only this file (and rpc.ts) from the engine side.
import type { BackendChoice, BackendInfo } from '../runtime/tfjsBackend';
import type { SampleRequest, SampleResult } from '../tasks/sampleCheckpoint';
import type { TrainEvent, TrainOutcome, TrainRequest } from '../run/loop';
import type { Notice } from './rpc';
import type { TensorPack } from '../wire/tensorPack';
import type { SanityWarning } from '../io/checkpointSanity';
import type { OfficialExport, OfficialExportOptions } from '../io/officialRun';

export interface ExportOfficialParams extends Omit<OfficialExportOptions, 'datasetSize'> {
  checkpoint: string;
  outputDir: string;
  /** Default: the images of the run's data folder, counted. */
  datasetSize?: number;
}
import type { ExportCheckpointParams, ExportCheckpointResult, ImportCheckpointParams, ImportCheckpointResult, InspectCompareParams, InspectOpenParams, InspectTensorParams } from './inspectorService';
import type { InspectCompareResult, InspectOpenResult, InspectTensorResult } from '../wire/inspectorMessages';
import type { LabParams } from './labService';
import type { LabProgress, LabResult } from '../wire/labMessages';
import type { BottleneckParams, BottleneckView, CompareParams, GridParams, GridScoreParams, GridView, MethodComparison, TrajectoryView, TrajectoryViewParams } from '../wire/explorerResults';
import type { GridScores } from '../wire/qualityScores';

export interface EngineProcessInfo {
  pid: number;
  /** process.version of the runtime that runs the engine. */
  node: string;
  /** 'node' for a plain Node.js, 'electron' for VS Code's own runtime with ELECTRON_RUN_AS_NODE. */
  runtime: 'node' | 'electron';
  execPath: string;
  rssMB: number;
}

export interface EngineInfo {
  process: EngineProcessInfo;
  /** Undefined until `init` chose a backend. */
  backend?: BackendInfo;
  /** Folders searched for @tensorflow/tfjs-node(-gpu). */
  nativeSearchPaths: string[];
}

export interface InitParams {
  backend: BackendChoice;
  nativeSearchPaths: string[];
}

/** What the host asks of a training; the engine fills in the backend and the rest of the TrainRequest. */
export type TrainParams = Pick<TrainRequest, 'overrides' | 'runsRoot' | 'runName' | 'resumeFrom' | 'untilStep' | 'engine' | 'workers'>;

export interface SampleProgress {
  evals: number;
  total: number;
}

/** A sampling's result as it crosses to the host: the images as bytes in a pack instead of float32 arrays. */
export type SampleOutcome = Pick<SampleResult, 'file' | 'n' | 'steps' | 'method' | 'cfgScale' | 'weights' | 'labels' | 'seconds' | 'imageSize'> & {
  /** 'images': uint8 [n, size, size, 3] (HWC RGB, the bytes of the PNG grid's tiles). */
  tensors: TensorPack;
  /** The trajectory of every image, recorded while sampling, saved next to the grid (its .trajectory.json). */
  trajectory?: string;
};

export interface DensityParams {
  pMean: number;
  pStd: number;
  points: number;
}

/** Methods the engine serves. */
export interface EngineMethods {
  /** Chooses and starts the TensorFlow.js backend (once per process; later calls report the first choice). */
  init: { params: InitParams; result: EngineInfo; progress: never };
  info: { params: Record<string, never>; result: EngineInfo; progress: never };
  /** Trains until done; cancelling stops after the current step with a checkpoint and still answers. */
  train: { params: TrainParams; result: TrainOutcome; progress: TrainEvent };
  /** Asks the running training to write a checkpoint after its current step. */
  saveCheckpoint: { params: Record<string, never>; result: { accepted: boolean }; progress: never };
  sample: { params: SampleRequest; result: SampleOutcome; progress: SampleProgress };
  /** The logit-normal density of training t on a grid: 't' and 'density', float64 [points]. */
  tDensity: { params: DensityParams; result: TensorPack; progress: never };
  /** Ends the engine after stopping (and checkpointing) any training. */
  shutdown: { params: Record<string, never>; result: { stopped: boolean }; progress: never };
  /** Opens a checkpoint for the inspector: its header only (tensor data is read per request, by byte range). */
  inspectOpen: { params: InspectOpenParams; result: InspectOpenResult; progress: never };
  /** One tensor's statistics, histogram, a 2-D slice and (for the patch embedding) its filters. */
  inspectTensor: { params: InspectTensorParams; result: InspectTensorResult; progress: never };
  /** ||dW|| / ||W|| per tensor against another checkpoint or an EMA copy, with overlaid histograms. */
  inspectCompare: { params: InspectCompareParams; result: InspectCompareResult; progress: never };
  inspectClose: { params: { session: number }; result: { closed: boolean }; progress: never };
  /** Converts an official .pth into this project's checkpoint (a new run folder or a .safetensors file). */
  importCheckpoint: { params: ImportCheckpointParams; result: ImportCheckpointResult; progress: never };
  /** What looks wrong with a checkpoint: weights still at the initialisation, EMA copies equal to the weights. */
  checkpointSanity: { params: { file: string }; result: { warnings: SanityWarning[] }; progress: never };
  /** Writes <outputDir>/checkpoint-last.pth that the official main_jit.py --resume continues, and the torchrun line. */
  exportOfficial: { params: ExportOfficialParams; result: OfficialExport; progress: never };
  /** Writes a checkpoint's weights as the official state dict. */
  exportCheckpoint: { params: ExportCheckpointParams; result: ExportCheckpointResult; progress: never };
  /** The manifold lab's D x target experiment; cancelling stops it. */
  manifoldLab: { params: LabParams; result: LabResult; progress: LabProgress };
  /** A grid's recorded trajectory as frames, per-step numbers and the PCA of its paths. */
  trajectoryView: { params: TrajectoryViewParams; result: TrajectoryView; progress: never };
  /** Euler against Heun from one recorded image's noise at an equal number of network evaluations. */
  compareMethods: { params: CompareParams; result: MethodComparison; progress: never };
  /** The bottleneck latent viewer's analysis of one checkpoint. */
  bottleneckView: { params: BottleneckParams; result: BottleneckView; progress: never };
  /** The CFG x EMA grid; progress counts cells. */
  gridView: { params: GridParams; result: GridView; progress: { done: number; total: number } };
  /** Sample-quality scores of every cell of the grid (saved beside the run's sample grids); progress counts cells. */
  gridScores: { params: GridScoreParams; result: GridScores; progress: { done: number; total: number } };
}

/** Methods the host serves (none yet: the engine only streams). */
export type HostMethods = Record<never, never>;

export type EngineNotice = { name: 'log'; data: { level: 'info' | 'warn' | 'error'; message: string } } & Notice;

/** How long the host waits for each method (training and sampling run as long as they need). */
export const ENGINE_TIMEOUTS: { [K in keyof EngineMethods]: number } = {
  init: 120_000, // the native addon can take a while to load its libraries
  info: 15_000,
  train: Infinity,
  saveCheckpoint: 15_000,
  sample: Infinity,
  tDensity: 15_000,
  shutdown: 60_000,
  inspectOpen: 60_000,
  inspectTensor: 120_000, // a large tensor is read from disk and scanned twice
  inspectCompare: 600_000,
  inspectClose: 15_000,
  importCheckpoint: 600_000,
  checkpointSanity: 120_000,
  exportOfficial: 1_800_000, // a JiT-L run with its moments is ~9 GB to write
  exportCheckpoint: 600_000,
  manifoldLab: Infinity,
  trajectoryView: 120_000,
  compareMethods: Infinity,
  bottleneckView: 600_000,
  gridView: Infinity,
  gridScores: Infinity,
};
